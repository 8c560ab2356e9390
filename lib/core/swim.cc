// roster::Swim: the public API, starting and leaving, and the dispatch of
// datagrams and timers to the protocol's parts, which live by idea:
//   swim_probe.cc       probing: pings, indirect probes, acks and nacks
//   swim_gossip.cc      gossip: datagrams out, the broadcast queues
//   swim_membership.cc  membership: alive, suspect, dead, refute, merge
//   swim_sync.cc        push-pull anti-entropy and healing
//   swim_join.cc        joining: seeds, their outcomes, retries
//   swim_streams.cc     TCP requests served, and every stream frame
//   swim_coordinates.cc network coordinates from direct acks
#include "roster/swim.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/config_check.h"
#include "core/swim_impl.h"
#include "core/wire/checks.h"
#include "core/wire/encode.h"

namespace roster {

void Swim::Impl::Start() {
  if (started_) return;
  started_ = true;
  QueueAlive(*self_);
  StartPeriodicTimers();
  rt_.After(Phase(cfg_.gossip_interval),
            core::MakeTimer(core::TimerKind::kGossip));
}

// Random phases, so members started together do not act in lockstep.
absl::Duration Swim::Impl::Phase(absl::Duration interval) {
  int64_t ns = absl::ToInt64Nanoseconds(interval);
  return absl::Nanoseconds(
      ns > 0 ? core::RandomBelow(random_, static_cast<size_t>(ns)) : 0);
}

void Swim::Impl::StartPeriodicTimers() {
  rt_.After(Phase(cfg_.probe_interval),
            core::MakeTimer(core::TimerKind::kProbe, epoch_));
  if (cfg_.push_pull_interval > absl::ZeroDuration()) {
    const absl::Duration interval = PushPullInterval();
    rt_.After(interval + Phase(interval),
              core::MakeTimer(core::TimerKind::kPushPull, epoch_));
  }
  if (cfg_.reconnect_interval > absl::ZeroDuration()) {
    rt_.After(cfg_.reconnect_interval + Phase(cfg_.reconnect_interval),
              core::MakeTimer(core::TimerKind::kReconnect, epoch_));
  }
}

core::Decoded<std::string_view> Swim::Impl::Open(std::string_view frame,
                                                 size_t max_bytes,
                                                 std::string* opened) {
  auto payload =
      core::OpenFrame(frame, cfg_.label, max_bytes, cfg_.keyring.get(), opened);
  if (!payload.ok()) Drop(payload.error.reason);
  return payload;
}

void Swim::Impl::HandlePacket(std::string_view from, std::string_view bytes) {
  ++counters_.packets_received;
  counters_.bytes_received += bytes.size();
  if (!networks_.Admits(from)) {
    Drop(DropReason::kNotAdmitted);
    return;
  }
  // An encrypted datagram's plaintext; the messages read are views into
  // it (or into `bytes`), so it lives as long as they are handled.
  std::string opened;
  auto payload = Open(bytes, cfg_.limits.max_packet_bytes, &opened);
  if (!payload.ok()) return;
  // The reader's memory is reused from datagram to datagram; it is taken
  // out meanwhile, in case handling one leads to handling another.
  core::PacketReader reader = std::move(reader_);
  core::WireError error;
  // A member configured as an older build reads as one: the kinds of
  // later versions are unknown to it.
  if (!reader.Read(payload.value, cfg_.limits, &error,
                   core::KnownKinds(cfg_.protocol_max))) {
    Drop(error.reason);
    reader_ = std::move(reader);
    return;
  }
  Inbound in{from};
  PrefetchMembers(reader.messages());
  HandleMessages(in, reader.messages());
  reader_ = std::move(reader);
  if (in.owe_refutation) Send(std::string(from), AliveEntry(*self_));
  if (table_.count(MemberState::kSuspect) > 0)
    TellSuspect(table_.FindByAddr(from));
}

void Swim::Impl::HandleMessages(
    Inbound& in, const std::vector<core::MessageView>& messages) {
  for (const core::MessageView& msg : messages) {
    switch (msg.body_case()) {
      case wire::Message::kPing:
        OnPing(in, msg.ping());
        break;
      case wire::Message::kIndirectPing:
        OnIndirectPing(in, msg.indirect_ping());
        break;
      case wire::Message::kAck:
        OnAck(in, msg.ack());
        break;
      case wire::Message::kNack:
        OnNack(msg.nack().seq());
        break;
      case wire::Message::kAlive:
        OnAlive(msg.alive().name(), msg.alive().addr(),
                msg.alive().incarnation(), msg.alive().meta(),
                msg.alive().life(), msg.alive().previous_life(),
                {msg.alive().protocol_min(), msg.alive().protocol_max()});
        break;
      case wire::Message::kSuspect:
        OnSuspect(msg.suspect().name(), msg.suspect().life(),
                  msg.suspect().incarnation(), msg.suspect().from(), &in);
        break;
      case wire::Message::kDead:
        OnDead(msg.dead().name(), msg.dead().life(), msg.dead().incarnation(),
               msg.dead().from(), &in, msg.dead().prune());
        break;
      case wire::Message::kUser:
        OnUser(msg.user());
        break;
      case wire::Message::kHello:
        ++counters_.hellos_received;
        break;
      case wire::Message::kUserEvent:
        OnUserEvent(msg.user_event());
        break;
      case wire::Message::kQuery:
        OnQuery(msg.query());
        break;
      case wire::Message::kQueryResponse:
        OnQueryResponse(msg.query_response());
        break;
      case wire::Message::BODY_NOT_SET:
        // Only unknown kinds get past the checks without a body.
        ++counters_.unknown_kinds_skipped;
        break;
    }
  }
}

void Swim::Impl::HandleTimer(const Timer& timer) {
  if (!started_) return;
  switch (core::KindOf(timer)) {
    case core::TimerKind::kProbe:
      if (timer.token == epoch_) OnProbeTimer();
      break;
    case core::TimerKind::kProbeTimeout:
      OnProbeTimeout(static_cast<uint32_t>(timer.token));
      break;
    case core::TimerKind::kProbeDeadline:
      if (probe_.active && probe_.seq == timer.token) ConcludeProbe();
      break;
    case core::TimerKind::kSuspicion:
      OnSuspicionTimer(timer);
      break;
    case core::TimerKind::kSuspicionNotice:
      OnSuspicionNotice(timer);
      break;
    case core::TimerKind::kGossip:
      OnGossipTimer();
      break;
    case core::TimerKind::kPushPull:
      if (timer.token == epoch_) OnPushPullTimer();
      break;
    case core::TimerKind::kReconnect:
      if (timer.token == epoch_) OnReconnectTimer();
      break;
    case core::TimerKind::kRelayNack:
      OnRelayNack(static_cast<uint32_t>(timer.token));
      break;
    case core::TimerKind::kRelayExpire:
      relays_.erase(static_cast<uint32_t>(timer.token));
      break;
    case core::TimerKind::kTakeover:
      OnTakeoverTimer(static_cast<uint32_t>(timer.token));
      break;
    case core::TimerKind::kCoalesce:
      OnCoalesceTimer();
      break;
    case core::TimerKind::kQueryDeadline:
      OnQueryDeadline(static_cast<uint32_t>(timer.token));
      break;
    case core::TimerKind::kQueryRetry:
      OnQueryRetry(static_cast<uint32_t>(timer.token));
      break;
    case core::TimerKind::kAnsweringDeadline:
      OnAnsweringDeadline(timer.token);
      break;
  }
}

void Swim::Impl::Preload(const std::vector<MemberInfo>& members) {
  const absl::Time now = rt_.Now();
  core::WireError error;
  for (const MemberInfo& m : members) {
    if (table_.size() >= cfg_.limits.max_members) return;
    // The wire's rule: a member peers would refuse is not taken either.
    if (!core::CheckMemberName(m.name, "name", cfg_.limits, &error) ||
        !core::CheckMemberAddr(m.addr, "addr", cfg_.limits, &error) ||
        m.meta.size() > cfg_.limits.max_meta_bytes ||
        m.incarnation > core::kMaxIncarnation + 1 ||
        table_.Find(m.name) != nullptr)
      continue;
    MemberInfo info = m;
    info.state = MemberState::kAlive;
    info.state_changed = now;
    table_.Add(info, random_);
  }
}

void Swim::Impl::Leave() {
  if (leaving_ || !started_) return;
  leaving_ = true;
  probe_.active = false;
  table_.SetState(*self_, MemberState::kLeft, rt_.Now());
  QueueDead(*self_, cfg_.name);
}

void Swim::Impl::Rebirth() {
  // Peers hold the old life as left and ignore its news from now on; the
  // new one names it, and its alive replaces the queued leave.
  const uint32_t previous = self_->life();
  self_->set_life(NewLife(previous));
  table_.EndLife(*self_, previous);
  leaving_ = false;
  joined_ = false;
  ++epoch_;  // the old life's periodic timers stop
  next_broadcast_id_ = 1;
  table_.SetState(*self_, MemberState::kAlive, rt_.Now());
  QueueAlive(*self_);
  StartPeriodicTimers();
}

bool Swim::Impl::LeaveComplete() const {
  return leaving_ && (!news_.Contains(cfg_.name) || table_.NumAlive() == 0);
}

absl::Status Swim::Impl::SetMeta(std::string meta) {
  if (meta.size() > cfg_.limits.max_meta_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metadata of ", meta.size(), " bytes exceeds the limit of ",
        cfg_.limits.max_meta_bytes));
  }
  // News of us that does not fit in a datagram spreads only through
  // push-pull, seconds instead of milliseconds: refuse it, and say so.
  const size_t alive =
      core::AliveEntry(cfg_.name, self_->addr(), self_->incarnation() + 1, meta,
                       self_->life(), table_.PreviousLife(*self_),
                       self_->protocol_min(), self_->protocol_max())
          .size() +
      FrameOverhead();
  if (alive > cfg_.packet_budget) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metadata of ", meta.size(), " bytes makes this member's news ", alive,
        " bytes, over the packet budget of ", cfg_.packet_budget,
        ": it could not be gossiped (raise packet_budget or send less)"));
  }
  cfg_.meta = meta;
  table_.SetMeta(*self_, meta);
  self_->set_incarnation(self_->incarnation() + 1);
  QueueAlive(*self_);
  return absl::OkStatus();
}

std::vector<MemberInfo> Swim::Impl::Members() const {
  std::vector<MemberInfo> out;
  out.reserve(table_.size());
  for (const Member* m : table_.members()) out.push_back(table_.Info(*m));
  std::sort(
      out.begin(), out.end(),
      [](const MemberInfo& a, const MemberInfo& b) { return a.name < b.name; });
  return out;
}

// ---------------------------------------------------------------- Swim

absl::StatusOr<std::unique_ptr<Swim>> Swim::Create(Config config,
                                                   Runtime* runtime,
                                                   Delegate* delegate) {
  if (runtime == nullptr) return absl::InvalidArgumentError("null runtime");
  auto networks = core::CheckConfig(config);
  if (!networks.ok()) return networks.status();
  return std::unique_ptr<Swim>(new Swim(std::make_unique<Impl>(
      std::move(config), *std::move(networks), runtime, delegate)));
}

Swim::Swim(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Swim::~Swim() = default;

void Swim::Start() { impl_->Start(); }
void Swim::HandlePacket(std::string_view from, std::string_view bytes) {
  impl_->HandlePacket(from, bytes);
}
std::string Swim::HandleStream(std::string_view from, std::string_view frame) {
  return impl_->HandleStream(from, frame);
}
void Swim::HandleStream(std::string_view from, std::string_view frame,
                        StreamReply reply) {
  impl_->HandleStream(from, frame, std::move(reply));
}
std::string Swim::MessageRequest(std::string_view payload) {
  return impl_->MessageRequest(payload);
}
absl::Status Swim::ReadReply(std::string_view frame) {
  return impl_->ReadReply(frame);
}
std::string Swim::RequestFrame(std::string_view payload) {
  return impl_->RequestFrame(payload);
}
absl::StatusOr<std::string> Swim::ReadResponse(std::string_view frame) {
  return impl_->ReadResponse(frame);
}
void Swim::HandleSyncResponse(std::string_view from,
                              std::string_view response) {
  impl_->HandleSyncResponse(from, response);
}
void Swim::HandleSyncFailed(std::string_view to, const absl::Status& why) {
  impl_->HandleSyncFailed(to, why);
}
void Swim::HandleSeedResolved(
    std::string_view seed,
    const absl::StatusOr<std::vector<std::string>>& addrs) {
  impl_->HandleSeedResolved(seed, addrs);
}
void Swim::HandleTimer(const Timer& timer) { impl_->HandleTimer(timer); }
void Swim::Join(const std::vector<std::string>& seeds, uint64_t token) {
  impl_->Join(seeds, token);
}
void Swim::Leave() { impl_->Leave(); }
absl::Status Swim::ForceLeave(std::string_view name, bool prune) {
  return impl_->ForceLeave(name, prune);
}
bool Swim::LeaveComplete() const { return impl_->LeaveComplete(); }
absl::Status Swim::Broadcast(std::string payload) {
  return impl_->Broadcast(std::move(payload));
}

absl::Status Swim::UserEvent(std::string_view name, std::string payload,
                             bool coalesce) {
  return impl_->UserEvent(name, std::move(payload), coalesce);
}

absl::Status Swim::Query(const QueryParams& params, uint64_t token) {
  return impl_->Query(params, token);
}

LamportClocks Swim::Clocks() const { return impl_->Clocks(); }

void Swim::RestoreClocks(const LamportClocks& clocks) {
  impl_->RestoreClocks(clocks);
}
absl::Status Swim::SetMeta(std::string meta) {
  return impl_->SetMeta(std::move(meta));
}

void Swim::SetKeyring(std::shared_ptr<Keyring> keyring) {
  impl_->SetKeyring(std::move(keyring));
}

std::vector<MemberInfo> Swim::Members() const { return impl_->Members(); }

std::optional<MemberInfo> Swim::Lookup(std::string_view name) const {
  const Member* m = impl_->table().Find(name);
  if (m == nullptr) return std::nullopt;
  return impl_->table().Info(*m);
}

size_t Swim::NumAlive() const { return impl_->table().NumAlive(); }
size_t Swim::Count(MemberState state) const {
  return impl_->table().count(state);
}
void Swim::Preload(const std::vector<MemberInfo>& members) {
  impl_->Preload(members);
}
MemberInfo Swim::Self() const { return impl_->table().Info(impl_->self()); }
int Swim::HealthScore() const { return impl_->health(); }
const Counters& Swim::counters() const { return impl_->counters(); }
QueueDepths Swim::queue_depths() const { return impl_->queue_depths(); }
const Config& Swim::config() const { return impl_->config(); }
bool Swim::Joined() const { return impl_->joined(); }
bool Swim::Admits(std::string_view addr) const {
  return impl_->networks().Admits(addr);
}

}  // namespace roster
