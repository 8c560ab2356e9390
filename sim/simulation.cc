#include "sim/simulation.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace roster::sim {

struct Simulation::Node {
  std::string name;
  std::string addr;
  uint32_t life = 0;  // bumped by crash and restart: older work is void
  bool running = false;
  absl::Time paused_until = absl::InfinitePast();
  absl::Duration slow = absl::ZeroDuration();
  // The build it runs since its last Upgrade: applied at every boot.
  std::function<void(Config&)> build;
  std::unique_ptr<NodeRuntime> runtime;
  std::unique_ptr<Swim> swim;
};

// The Runtime one simulated member sees.
class Simulation::NodeRuntime : public Runtime, public Delegate {
 public:
  NodeRuntime(Simulation* sim, int index, uint64_t seed)
      : sim_(sim), index_(index), rng_(seed) {}

  absl::Time Now() override { return sim_->now_; }
  uint64_t Random() override { return rng_.Next(); }
  void SendPacket(const std::string& to, std::string bytes) override {
    sim_->SendPacket(index_, to, std::move(bytes));
  }
  void StartSync(const std::string& to, std::string request) override {
    sim_->StartSync(index_, to, std::move(request));
  }
  void After(absl::Duration delay, Timer timer) override {
    Pending p;
    p.kind = Kind::kTimer;
    p.node = index_;
    p.peer = index_;
    p.timer = std::move(timer);
    p.life = sim_->nodes_[index_]->life;
    sim_->Schedule(delay, std::move(p));
  }

  void OnEvent(const Event& event) override {
    if (sim_->on_event) sim_->on_event(index_, event);
  }
  void OnBroadcast(std::string_view origin, std::string_view payload) override {
    if (sim_->on_broadcast) sim_->on_broadcast(index_, origin, payload);
  }
  void OnJoinDone(const JoinResult& result) override {
    if (sim_->on_join_done) sim_->on_join_done(index_, result);
  }
  bool AllowMember(const MemberInfo& member) override {
    return !sim_->allow_member || sim_->allow_member(index_, member);
  }
  std::string AckPayload() override {
    return sim_->ack_payload ? sim_->ack_payload(index_) : std::string();
  }
  void OnAckPayload(std::string_view from, std::string_view payload,
                    absl::Duration rtt) override {
    if (sim_->on_ack_payload) sim_->on_ack_payload(index_, from, payload, rtt);
  }
  void OnUserEvent(const UserEvent& event) override {
    if (sim_->on_user_event) sim_->on_user_event(index_, event);
  }
  void OnQuery(const QueryRequest& query, QueryAnswer answer) override {
    answer(sim_->on_query ? sim_->on_query(index_, query) : std::nullopt);
  }
  void OnQueryAck(uint64_t token, std::string_view from) override {
    if (sim_->on_query_ack) sim_->on_query_ack(index_, token, from);
  }
  void OnQueryResponse(uint64_t token, std::string_view from,
                       std::string_view payload) override {
    if (sim_->on_query_response)
      sim_->on_query_response(index_, token, from, payload);
  }
  void OnQueryDone(const QueryResult& result) override {
    if (sim_->on_query_done) sim_->on_query_done(index_, result);
  }
  void OnLog(LogLevel level, std::string_view message) override {
    ++sim_->log_lines_;
    if (sim_->on_log) sim_->on_log(index_, level, message);
  }

 private:
  Simulation* sim_;
  int index_;
  Rng rng_;
};

Simulation::Simulation(SimOptions options)
    : options_(std::move(options)),
      network_(options_.network, DeriveSeed(options_.seed, 0)),
      start_(absl::FromUnixSeconds(1'700'000'000)),
      now_(start_) {}

Simulation::~Simulation() = default;

int Simulation::AddNode() {
  const int index = static_cast<int>(nodes_.size());
  auto node = std::make_unique<Node>();
  node->name = absl::StrCat("node-", index);
  int a = next_address_++;
  node->addr = absl::StrCat("10.", (a >> 16) & 255, ".", (a >> 8) & 255, ".",
                            a & 255, ":7946");
  by_addr_[node->addr] = index;
  nodes_.push_back(std::move(node));
  Boot(index);
  return index;
}

void Simulation::Boot(int index) {
  Node& node = *nodes_[index];
  ++node.life;
  node.swim.reset();
  node.runtime = std::make_unique<NodeRuntime>(
      this, index,
      DeriveSeed(options_.seed, (uint64_t{node.life} << 32) + index + 1));
  Config config = Config::ForProfile(options_.profile, node.name, node.addr);
  config.lifeguard = options_.lifeguard;
  if (options_.tune) options_.tune(index, config);
  if (node.build) node.build(config);
  auto swim =
      Swim::Create(std::move(config), node.runtime.get(), node.runtime.get());
  // The simulator builds every config itself: a failure here is a bug in
  // the caller's `tune`, reported loudly rather than simulated around.
  if (!swim.ok()) {
    fprintf(stderr, "roster-sim: %s\n", swim.status().ToString().c_str());
    std::abort();
  }
  node.swim = std::move(*swim);
  node.running = false;
  // A fresh process: whatever paused or slowed the old one is gone.
  node.paused_until = absl::InfinitePast();
  node.slow = absl::ZeroDuration();
}

void Simulation::Start(int index) {
  Node& node = *nodes_[index];
  node.running = true;
  node.swim->Start();
}

void Simulation::Join(int index, const std::vector<int>& seeds,
                      uint64_t token) {
  std::vector<std::string> addrs;
  for (int s : seeds) addrs.push_back(nodes_[s]->addr);
  nodes_[index]->swim->Join(addrs, token);
}

int Simulation::AddCluster(int count, int seed) {
  int first = static_cast<int>(nodes_.size());
  for (int i = 0; i < count; ++i) {
    int n = AddNode();
    Start(n);
    int via = seed >= 0 ? seed : first;
    if (via != n) Join(n, {via});
  }
  return first;
}

int Simulation::AddConverged(int count) {
  const int first = static_cast<int>(nodes_.size());
  for (int i = 0; i < count; ++i) AddNode();
  std::vector<MemberInfo> everyone;
  everyone.reserve(nodes_.size());
  for (const auto& node : nodes_) {
    MemberInfo info;
    info.name = node->name;
    info.addr = node->addr;
    info.life = node->swim->Self().life;
    info.protocol_min = node->swim->Self().protocol_min;
    info.protocol_max = node->swim->Self().protocol_max;
    everyone.push_back(std::move(info));
  }
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (static_cast<int>(i) >= first) {
      nodes_[i]->swim->Preload(everyone);
      Start(static_cast<int>(i));
    }
  }
  return first;
}

void Simulation::Crash(int index) {
  Node& node = *nodes_[index];
  node.running = false;
  ++node.life;
}

void Simulation::Restart(int index, bool new_address) {
  Node& node = *nodes_[index];
  if (new_address) {
    by_addr_.erase(node.addr);
    int a = next_address_++;
    node.addr = absl::StrCat("10.", (a >> 16) & 255, ".", (a >> 8) & 255, ".",
                             a & 255, ":7946");
    by_addr_[node.addr] = index;
  }
  Boot(index);
  Start(index);
}

void Simulation::Upgrade(int index, std::function<void(Config&)> build) {
  Crash(index);
  nodes_[index]->build = std::move(build);
  Restart(index);
}

void Simulation::Inject(int index, const std::string& from, std::string bytes) {
  Pending p;
  p.kind = Kind::kPacket;
  p.node = index;
  p.peer = -1;
  p.from = from;
  p.bytes = std::move(bytes);
  Schedule(absl::ZeroDuration(), std::move(p));
}

void Simulation::Leave(int index) { nodes_[index]->swim->Leave(); }

void Simulation::Pause(int index, absl::Duration duration) {
  nodes_[index]->paused_until = now_ + duration;
}

void Simulation::SetSlow(int index, absl::Duration delay) {
  nodes_[index]->slow = delay;
}

bool Simulation::running(int index) const { return nodes_[index]->running; }
uint32_t Simulation::life(int index) const { return nodes_[index]->life; }
Swim& Simulation::swim(int index) { return *nodes_[index]->swim; }
const std::string& Simulation::name(int index) const {
  return nodes_[index]->name;
}
const std::string& Simulation::addr(int index) const {
  return nodes_[index]->addr;
}

int Simulation::NodeAt(const std::string& addr) const {
  auto it = by_addr_.find(addr);
  return it == by_addr_.end() ? -1 : it->second;
}

void Simulation::Schedule(absl::Duration delay, Pending p) {
  uint32_t index;
  if (!free_slots_.empty()) {
    index = free_slots_.back();
    free_slots_.pop_back();
    slots_[index] = std::move(p);
  } else {
    index = static_cast<uint32_t>(slots_.size());
    slots_.push_back(std::move(p));
  }
  int64_t at = absl::ToUnixNanos(now_ + std::max(delay, absl::ZeroDuration()));
  queue_.push(Slot{at, next_seq_++, index});
}

void Simulation::SendPacket(int from, const std::string& to,
                            std::string bytes) {
  int dest = NodeAt(to);
  if (on_packet) on_packet(from, dest, bytes);
  if (dest < 0) return;  // nobody at that address: the datagram vanishes
  absl::Duration delays[2];
  int copies = network_.Route(from, dest, delays);
  for (int c = 0; c < copies; ++c) {
    Pending p;
    p.kind = Kind::kPacket;
    p.node = dest;
    p.peer = from;
    p.from = nodes_[from]->addr;
    p.bytes = c + 1 < copies ? bytes : std::move(bytes);
    Schedule(delays[c], std::move(p));
  }
}

void Simulation::StartSync(int from, const std::string& to,
                           std::string request) {
  int dest = NodeAt(to);
  Pending p;
  p.peer = from;
  p.from = nodes_[from]->addr;
  p.peer_life = nodes_[from]->life;
  if (dest < 0 || !network_.Reachable(from, dest)) {
    p.kind = Kind::kSyncFailed;
    p.node = from;
    p.life = p.peer_life;
    p.bytes = to;
    Schedule(network_.options().sync_timeout, std::move(p));
    return;
  }
  p.kind = Kind::kSyncRequest;
  p.node = dest;
  p.bytes = std::move(request);
  p.to = to;
  Schedule(network_.StreamDelay(from, dest), std::move(p));
}

void Simulation::Dispatch(Pending& p) {
  Node& node = *nodes_[p.node];
  // Work scheduled by or for an earlier life of this process is void.
  if (p.life != 0 && p.life != node.life) return;
  // A request to an address the node no longer holds (it restarted
  // elsewhere) finds nobody there, as one to a crashed node does.
  if (!node.running || (p.kind == Kind::kSyncRequest && node.addr != p.to)) {
    if (p.kind == Kind::kSyncRequest) {
      // The requester waits out its timeout, as with a dead TCP peer.
      Pending fail;
      fail.kind = Kind::kSyncFailed;
      fail.node = p.peer;
      fail.peer = p.node;
      fail.life = p.peer_life;
      fail.bytes = p.to;
      Schedule(network_.options().sync_timeout, std::move(fail));
    }
    return;
  }
  if (now_ < node.paused_until) {
    Schedule(node.paused_until - now_, std::move(p));
    return;
  }
  const bool inbound = p.kind != Kind::kTimer;
  if (inbound && node.slow > absl::ZeroDuration() && !p.slowed) {
    p.slowed = true;
    Schedule(node.slow, std::move(p));
    return;
  }
  switch (p.kind) {
    case Kind::kTimer:
      node.swim->HandleTimer(p.timer);
      break;
    case Kind::kPacket:
      node.swim->HandlePacket(p.from, p.bytes);
      break;
    case Kind::kSyncRequest: {
      std::string response = node.swim->HandleStream(p.from, p.bytes);
      Pending back;
      back.node = p.peer;
      back.peer = p.node;
      back.life = p.peer_life;
      back.from = p.to;
      if (network_.Reachable(p.node, p.peer)) {
        back.kind = Kind::kSyncResponse;
        back.bytes = std::move(response);
        Schedule(network_.StreamDelay(p.node, p.peer), std::move(back));
      } else {
        back.kind = Kind::kSyncFailed;
        back.bytes = p.to;
        Schedule(network_.StreamDelay(p.node, p.peer), std::move(back));
      }
      break;
    }
    case Kind::kSyncResponse:
      node.swim->HandleSyncResponse(p.from, p.bytes);
      break;
    case Kind::kSyncFailed:
      node.swim->HandleSyncFailed(
          p.bytes, absl::UnavailableError(
                       "no answer (unreachable, crashed or refused)"));
      break;
  }
}

void Simulation::RunFor(absl::Duration duration) {
  const int64_t until = absl::ToUnixNanos(now_ + duration);
  while (!queue_.empty() && queue_.top().at_ns <= until) {
    Slot slot = queue_.top();
    queue_.pop();
    now_ = absl::FromUnixNanos(slot.at_ns);
    Pending p = std::move(slots_[slot.index]);
    free_slots_.push_back(slot.index);
    ++events_processed_;
    Dispatch(p);
  }
  now_ = absl::FromUnixNanos(until);
}

bool Simulation::RunUntil(const std::function<bool()>& done,
                          absl::Duration limit, absl::Duration step) {
  const absl::Time deadline = now_ + limit;
  while (!done()) {
    if (now_ >= deadline) return false;
    RunFor(std::min(step, deadline - now_));
  }
  return true;
}

}  // namespace roster::sim
