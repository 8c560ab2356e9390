// The SWIM + Lifeguard state machine. The parts it wires together live in
// their own files: the member table and precedence rules, suspicion,
// awareness, the broadcast queue and the wire codec.
#include "roster/swim.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/awareness.h"
#include "core/broadcast_queue.h"
#include "core/member_table.h"
#include "core/suspicion.h"
#include "core/wire.h"

namespace roster {

using core::Member;
using core::Verdict;

class Swim::Impl {
 public:
  Impl(Config config, Runtime* runtime, Delegate* delegate)
      : cfg_(std::move(config)),
        rt_(*runtime),
        app_(delegate != nullptr ? delegate : &no_delegate_),
        awareness_(cfg_.awareness_max_multiplier) {
    MemberInfo info;
    info.name = cfg_.name;
    info.addr = cfg_.advertise_addr;
    info.meta = cfg_.meta;
    info.incarnation = cfg_.initial_incarnation;
    info.state = MemberState::kAlive;
    info.state_changed = rt_.Now();
    self_ = table_.Add(info, random_);
  }

  void Start();
  void HandlePacket(std::string_view from, std::string_view bytes);
  absl::StatusOr<std::string> HandleSyncRequest(std::string_view from,
                                                std::string_view request);
  void HandleSyncResponse(std::string_view from, std::string_view response);
  void HandleSyncFailed(std::string_view to);
  void HandleTimer(const Timer& timer);
  void Join(const std::vector<std::string>& seeds);
  void Preload(const std::vector<MemberInfo>& members);
  void Leave();
  bool LeaveComplete() const;
  absl::Status Broadcast(std::string payload);
  absl::Status SetMeta(std::string meta);

  const core::MemberTable& table() const { return table_; }
  const Member& self() const { return *self_; }
  int health() const { return awareness_.score(); }
  const Counters& counters() const { return counters_; }
  const Config& config() const { return cfg_; }
  bool joined() const { return joined_; }

 private:
  // A probe in flight: one per protocol period.
  struct Probe {
    uint32_t seq = 0;
    std::string target;
    bool active = false;
    bool acked = false;
    int nacks = 0;
    int expected_nacks = 0;
  };
  // An indirect ping we relay for another member.
  struct Relay {
    uint32_t requester_seq;
    std::string requester_addr;
    bool want_nack;
  };
  static constexpr size_t kMaxRelays = 4096;
  static constexpr size_t kSeenBroadcasts = 8192;

  absl::Duration Scaled(absl::Duration d) const {
    return cfg_.lifeguard ? awareness_.Scale(d) : d;
  }
  void Emit(EventType type, const Member& m) {
    app_->OnEvent(Event{type, m.Info()});
  }

  // Sending.
  void Send(const std::string& to, std::string entries);
  void FillBroadcasts(size_t budget, std::string* out);
  void QueueAlive(const Member& m);
  std::string SuspectEntry(const Member& m, std::string_view from);
  std::string AliveEntry(const Member& m);
  void QueueSuspect(const Member& m, std::string_view from);
  void ResendRefutation();
  void TellSuspect(Member* sender);
  void QueueDead(const Member& m, std::string_view from);
  std::string SyncBody(bool join);
  void StartSync(const std::string& to, bool join);

  // Inbound messages.
  void HandleMessages(const wire::Packet& packet);
  void OnPing(std::string_view from, const wire::Ping& ping);
  void OnIndirectPing(const wire::IndirectPing& req);
  void OnAck(uint32_t seq);
  void OnNack(uint32_t seq);
  void OnUser(const wire::UserBroadcast& user);

  // Membership news, from gossip or push-pull.
  void OnAlive(std::string_view name, std::string_view addr,
               uint64_t incarnation, std::string_view meta);
  void OnSuspect(std::string_view name, uint64_t incarnation,
                 std::string_view from, bool from_peer_table = false);
  void OnDead(std::string_view name, uint64_t incarnation,
              std::string_view from);
  void Refute(uint64_t incarnation);
  void Merge(const wire::PushPull& remote);

  // Timers.
  void OnProbeTimer();
  void OnProbeTimeout(uint32_t seq);
  void ConcludeProbe();
  void OnSuspicionTimer(const Timer& timer);
  void OnGossipTimer();
  void OnPushPullTimer();
  void OnReconnectTimer();
  void ScheduleSuspicion(Member& m);
  absl::Duration PushPullInterval() const;

  Config cfg_;
  Runtime& rt_;
  std::function<uint64_t()> random_ = [this] { return rt_.Random(); };
  Delegate no_delegate_;
  Delegate* app_;
  core::MemberTable table_;
  Member* self_ = nullptr;
  core::Awareness awareness_;
  core::BroadcastQueue news_;  // membership news
  core::BroadcastQueue user_;  // application broadcasts
  Counters counters_;
  Probe probe_;
  absl::flat_hash_map<uint32_t, Relay> relays_;
  absl::flat_hash_set<std::string> seen_;  // (origin, id) of user broadcasts
  std::deque<std::string> seen_order_;
  uint64_t next_broadcast_id_ = 1;
  uint32_t next_seq_ = 1;
  std::vector<std::string> seeds_;
  std::string_view packet_from_;   // sender of the datagram being handled
  bool refute_to_sender_ = false;  // it holds stale news of us
  bool started_ = false;
  bool leaving_ = false;
  bool joined_ = false;
};

// ---------------------------------------------------------------- sending

void Swim::Impl::Send(const std::string& to, std::string entries) {
  size_t overhead = core::FrameOverhead(cfg_.label) + entries.size();
  if (overhead < cfg_.packet_budget) {
    FillBroadcasts(cfg_.packet_budget - overhead, &entries);
  }
  if (entries.empty()) return;
  std::string frame = core::SealFrame(entries, cfg_.label);
  ++counters_.packets_sent;
  counters_.bytes_sent += frame.size();
  rt_.SendPacket(to, std::move(frame));
}

// While both kinds wait, membership news leaves room for at least half a
// packet of application broadcasts, or for the next broadcast whole if it
// is bigger; broadcasts then take what is left. Neither kind can starve the
// other, and each queue is filled once, so no entry rides twice.
void Swim::Impl::FillBroadcasts(size_t budget, std::string* out) {
  if (news_.empty() && user_.empty()) return;
  int limit = core::BroadcastQueue::TransmitLimit(cfg_.retransmit_mult,
                                                  table_.NumAlive());
  size_t reserve = 0;
  if (!user_.empty()) {
    reserve = std::min(budget, std::max(budget / 2, user_.NextSize()));
  }
  size_t used = news_.Fill(budget - reserve, limit, out);
  user_.Fill(budget - used, limit, out);
}

std::string Swim::Impl::AliveEntry(const Member& m) {
  wire::Message msg;
  wire::Alive* a = msg.mutable_alive();
  a->set_name(std::string(m.name()));
  a->set_addr(std::string(m.addr()));
  a->set_incarnation(m.incarnation());
  a->set_meta(std::string(m.meta()));
  return core::EncodeMessageEntry(msg);
}

void Swim::Impl::QueueAlive(const Member& m) {
  news_.Push(m.name(), AliveEntry(m));
}

// Buddy system, widened: any datagram from a member we suspect proves it
// runs, so tell it of the suspicion (at most once a probe interval) and it
// refutes, or resends a refutation that missed us.
void Swim::Impl::TellSuspect(Member* sender) {
  if (!cfg_.lifeguard || sender == nullptr || sender == self_ ||
      sender->state() != MemberState::kSuspect)
    return;
  const absl::Time now = rt_.Now();
  core::SuspicionState& state = table_.Suspicion(*sender);
  if (now - state.told_suspect < cfg_.probe_interval) return;
  state.told_suspect = now;
  Send(std::string(sender->addr()), SuspectEntry(*sender, cfg_.name));
}

// Someone still holds a suspicion or death of us that we already refuted:
// our refutation's gossip missed it. Answer the sender directly, in the
// same datagram as our ack if the news came with a ping (so the ack cannot
// arrive without it), and spread the refutation again.
void Swim::Impl::ResendRefutation() {
  if (leaving_) return;
  if (!packet_from_.empty()) refute_to_sender_ = true;
  if (!news_.Contains(cfg_.name)) QueueAlive(*self_);
}

std::string Swim::Impl::SuspectEntry(const Member& m, std::string_view from) {
  wire::Message msg;
  wire::Suspect* s = msg.mutable_suspect();
  s->set_name(std::string(m.name()));
  s->set_incarnation(m.incarnation());
  s->set_from(std::string(from));
  return core::EncodeMessageEntry(msg);
}

void Swim::Impl::QueueSuspect(const Member& m, std::string_view from) {
  news_.Push(m.name(), SuspectEntry(m, from));
}

void Swim::Impl::QueueDead(const Member& m, std::string_view from) {
  wire::Message msg;
  wire::Dead* d = msg.mutable_dead();
  d->set_name(std::string(m.name()));
  d->set_incarnation(m.incarnation());
  d->set_from(std::string(from));
  news_.Push(m.name(), core::EncodeMessageEntry(msg));
}

std::string Swim::Impl::SyncBody(bool join) {
  wire::PushPull state;
  state.set_join(join);
  state.set_source(cfg_.name);
  for (const Member* m : table_.members()) {
    wire::MemberRecord* r = state.add_members();
    r->set_name(std::string(m->name()));
    r->set_addr(std::string(m->addr()));
    r->set_incarnation(m->incarnation());
    r->set_state(static_cast<wire::MemberState>(m->state()));
    r->set_meta(std::string(m->meta()));
  }
  std::string user = app_->LocalState(join);
  if (user.size() <= cfg_.limits.max_user_state_bytes) {
    state.set_user_state(std::move(user));
  }
  return core::SealFrame(core::EncodePushPull(state), cfg_.label);
}

void Swim::Impl::StartSync(const std::string& to, bool join) {
  ++counters_.syncs_started;
  rt_.StartSync(to, SyncBody(join));
}

// ---------------------------------------------------------------- inbound

void Swim::Impl::HandlePacket(std::string_view from, std::string_view bytes) {
  ++counters_.packets_received;
  counters_.bytes_received += bytes.size();
  auto payload =
      core::OpenFrame(bytes, cfg_.label, cfg_.limits.max_packet_bytes);
  if (!payload.ok()) {
    counters_.Drop(payload.error.reason);
    return;
  }
  // A datagram's messages live on a stack-backed arena: no heap traffic
  // for the common small packet.
  alignas(8) char scratch[4096];
  google::protobuf::ArenaOptions options;
  options.initial_block = scratch;
  options.initial_block_size = sizeof(scratch);
  google::protobuf::Arena arena(options);
  auto* packet = google::protobuf::Arena::CreateMessage<wire::Packet>(&arena);
  core::WireError error;
  if (!core::DecodePacketInto(payload.value, cfg_.limits, packet, &error)) {
    counters_.Drop(error.reason);
    return;
  }
  packet_from_ = from;
  refute_to_sender_ = false;
  HandleMessages(*packet);
  if (refute_to_sender_) Send(std::string(from), AliveEntry(*self_));
  TellSuspect(table_.FindByAddr(from));
  refute_to_sender_ = false;
  packet_from_ = {};
}

void Swim::Impl::HandleMessages(const wire::Packet& packet) {
  const std::string_view from = packet_from_;
  for (const wire::Message& msg : packet.messages()) {
    switch (msg.body_case()) {
      case wire::Message::kPing:
        OnPing(from, msg.ping());
        break;
      case wire::Message::kIndirectPing:
        OnIndirectPing(msg.indirect_ping());
        break;
      case wire::Message::kAck:
        OnAck(msg.ack().seq());
        break;
      case wire::Message::kNack:
        OnNack(msg.nack().seq());
        break;
      case wire::Message::kAlive:
        OnAlive(msg.alive().name(), msg.alive().addr(),
                msg.alive().incarnation(), msg.alive().meta());
        break;
      case wire::Message::kSuspect:
        OnSuspect(msg.suspect().name(), msg.suspect().incarnation(),
                  msg.suspect().from());
        break;
      case wire::Message::kDead:
        OnDead(msg.dead().name(), msg.dead().incarnation(), msg.dead().from());
        break;
      case wire::Message::kUser:
        OnUser(msg.user());
        break;
      case wire::Message::BODY_NOT_SET:
        counters_.Drop(DropReason::kMalformed);
        break;
    }
  }
}

void Swim::Impl::OnPing(std::string_view from, const wire::Ping& ping) {
  if (ping.target() != cfg_.name) {
    // Another member used to live at this address (a restart under a new
    // name, a reused pod IP): do not answer for it.
    counters_.Drop(DropReason::kWrongTarget);
    return;
  }
  std::string entries;
  Member* prober = table_.Find(ping.source());
  if (cfg_.lifeguard && prober != nullptr &&
      prober->state() == MemberState::kSuspect) {
    // Buddy system, answering side: a member we suspect is probing us, so
    // tell it; if it has already refuted, it resends us its refutation.
    entries = SuspectEntry(*prober, cfg_.name);
    table_.Suspicion(*prober).told_suspect = rt_.Now();
  }
  if (refute_to_sender_) {
    entries += AliveEntry(*self_);
    refute_to_sender_ = false;
  }
  wire::Message reply;
  reply.mutable_ack()->set_seq(ping.seq());
  entries += core::EncodeMessageEntry(reply);
  Send(std::string(from), std::move(entries));
}

void Swim::Impl::OnIndirectPing(const wire::IndirectPing& req) {
  if (relays_.size() >= kMaxRelays) {
    counters_.Drop(DropReason::kOverloaded);
    return;
  }
  uint32_t seq = next_seq_++;
  relays_[seq] = Relay{req.seq(), req.source_addr(), req.want_nack()};
  wire::Message ping;
  wire::Ping* p = ping.mutable_ping();
  p->set_seq(seq);
  p->set_target(req.target());
  p->set_source(cfg_.name);
  p->set_source_addr(cfg_.advertise_addr);
  Send(req.target_addr(), core::EncodeMessageEntry(ping));
  // Lifeguard: the nack goes out early enough to reach the requester
  // before its own deadline.
  rt_.After(cfg_.probe_timeout * 4 / 5, Timer{TimerKind::kRelayNack, seq, {}});
  rt_.After(cfg_.probe_timeout, Timer{TimerKind::kRelayExpire, seq, {}});
}

void Swim::Impl::OnAck(uint32_t seq) {
  if (probe_.active && seq == probe_.seq) {
    if (!probe_.acked) {
      probe_.acked = true;
      probe_.active = false;
      awareness_.ApplyDelta(-1);
    }
    return;
  }
  auto it = relays_.find(seq);
  if (it == relays_.end()) {
    counters_.Drop(DropReason::kUnknownAck);
    return;
  }
  wire::Message ack;
  ack.mutable_ack()->set_seq(it->second.requester_seq);
  std::string to = std::move(it->second.requester_addr);
  relays_.erase(it);
  Send(to, core::EncodeMessageEntry(ack));
}

void Swim::Impl::OnNack(uint32_t seq) {
  if (probe_.active && seq == probe_.seq) {
    ++probe_.nacks;
    ++counters_.nacks_received;
    return;
  }
  counters_.Drop(DropReason::kUnknownAck);
}

void Swim::Impl::OnUser(const wire::UserBroadcast& user) {
  std::string key = absl::StrCat(user.origin(), "/", user.id());
  if (!seen_.insert(key).second) return;
  seen_order_.push_back(key);
  if (seen_order_.size() > kSeenBroadcasts) {
    seen_.erase(seen_order_.front());
    seen_order_.pop_front();
  }
  ++counters_.broadcasts_delivered;
  app_->OnBroadcast(user.payload());
  wire::Message msg;
  *msg.mutable_user() = user;
  user_.Push({}, core::EncodeMessageEntry(msg));
  size_t dropped = user_.Prune(cfg_.limits.max_queued_user_broadcasts);
  for (size_t i = 0; i < dropped; ++i) counters_.Drop(DropReason::kQueueFull);
}

// ---------------------------------------------------------------- news

void Swim::Impl::Refute(uint64_t incarnation) {
  self_->set_incarnation(std::max(incarnation, self_->incarnation()) + 1);
  ++counters_.refutations;
  QueueAlive(*self_);
}

void Swim::Impl::OnAlive(std::string_view name, std::string_view addr,
                         uint64_t incarnation, std::string_view meta) {
  const absl::Time now = rt_.Now();
  if (name == cfg_.name) {
    if (leaving_ || incarnation < self_->incarnation()) return;
    if (incarnation == self_->incarnation() && addr == self_->addr() &&
        meta == self_->meta())
      return;  // our own news coming back
    // Someone speaks for us with other facts: overrule it.
    Refute(incarnation);
    return;
  }
  Member* m = table_.Find(name);
  if (m == nullptr) {
    if (table_.size() >= cfg_.limits.max_members) {
      counters_.Drop(DropReason::kTableFull);
      return;
    }
    MemberInfo info;
    info.name = std::string(name);
    info.addr = std::string(addr);
    info.incarnation = incarnation;
    info.meta = std::string(meta);
    info.state = MemberState::kAlive;
    info.state_changed = now;
    m = table_.Add(info, random_);
    QueueAlive(*m);
    Emit(EventType::kJoined, *m);
    return;
  }
  bool moved = addr != m->addr();
  if (moved) {
    // A name moves to a new address only once its old holder is gone;
    // otherwise two live processes would fight over one name.
    bool gone = m->state() == MemberState::kLeft ||
                (m->state() == MemberState::kDead &&
                 now - m->state_changed() >= cfg_.dead_reclaim_time);
    if (!gone) {
      counters_.Drop(DropReason::kAddressConflict);
      return;
    }
  } else if (core::AliveVerdict(m->state(), m->incarnation(), incarnation) !=
             Verdict::kApply) {
    return;
  }
  if (incarnation < m->incarnation()) return;
  const MemberState before = m->state();
  const bool meta_changed = meta != m->meta();
  m->set_incarnation(incarnation);
  table_.SetAddr(*m, std::string(addr));
  table_.SetMeta(*m, meta);
  table_.ClearSuspicion(*m);
  table_.SetState(*m, MemberState::kAlive, now);
  QueueAlive(*m);
  if (before == MemberState::kDead || before == MemberState::kLeft) {
    Emit(EventType::kJoined, *m);
  } else if (before == MemberState::kSuspect) {
    Emit(EventType::kRecovered, *m);
    if (meta_changed || moved) Emit(EventType::kUpdated, *m);
  } else if (meta_changed || moved) {
    Emit(EventType::kUpdated, *m);
  }
}

void Swim::Impl::OnSuspect(std::string_view name, uint64_t incarnation,
                           std::string_view from, bool from_peer_table) {
  Member* m = name == cfg_.name ? self_ : table_.Find(name);
  if (m == nullptr) return;
  Verdict verdict =
      core::SuspectVerdict(m->state(), m->incarnation(), incarnation);
  if (m == self_ && incarnation < self_->incarnation()) {
    ResendRefutation();
    return;
  }
  if (verdict == Verdict::kIgnore) return;
  if (m == self_) {
    if (leaving_) return;
    Refute(incarnation);
    if (cfg_.lifeguard) awareness_.ApplyDelta(1);
    return;
  }
  if (verdict == Verdict::kConfirm) {
    // A copied table is not an independent confirmation.
    if (from_peer_table) return;
    core::SuspicionState* state = table_.FindSuspicion(*m);
    if (state != nullptr && state->suspicion != nullptr &&
        state->suspicion->Confirm(from)) {
      QueueSuspect(*m, from);
      ScheduleSuspicion(*m);
    }
    return;
  }
  const absl::Time now = rt_.Now();
  const size_t n = table_.NumAlive();
  absl::Duration min =
      core::SuspicionFloor(cfg_.suspicion_mult, n, cfg_.probe_interval);
  absl::Duration max = min;
  int expected = 0;
  if (cfg_.lifeguard) {
    max = min * cfg_.suspicion_max_timeout_mult;
    expected = cfg_.suspicion_mult - 2;
    // Too few members to confirm: do not wait for confirmations.
    if (n < static_cast<size_t>(expected) + 2) expected = 0;
  }
  const bool was_suspect = m->state() == MemberState::kSuspect;
  m->set_incarnation(incarnation);
  core::SuspicionState& state = table_.Suspicion(*m);
  state.suspicion =
      std::make_unique<core::Suspicion>(from, expected, min, max, now);
  table_.SetState(*m, MemberState::kSuspect, now);
  if (cfg_.lifeguard) {
    // Part way into the suspicion, a member still unconvinced of a
    // refutation asks the suspect directly: gossip of the refutation may
    // have missed it. Random, so a suspect is not asked by all at once.
    absl::Duration timeout = state.suspicion->Deadline() - now;
    absl::Duration at =
        timeout / 4 + absl::Nanoseconds(core::RandomBelow(
                          random_, absl::ToInt64Nanoseconds(timeout / 2) + 1));
    rt_.After(at, Timer{TimerKind::kSuspicionNotice, incarnation,
                        std::string(m->name())});
  }
  if (from_peer_table) {
    // Second-hand and possibly stale: gossiping it would count as a fresh
    // confirmation everywhere. Tell the member itself, so that it refutes
    // if it lives; our own probes of it carry the suspicion too.
    Send(std::string(m->addr()), SuspectEntry(*m, from));
  } else {
    QueueSuspect(*m, from);
  }
  ScheduleSuspicion(*m);
  if (!was_suspect) Emit(EventType::kSuspected, *m);
}

void Swim::Impl::OnDead(std::string_view name, uint64_t incarnation,
                        std::string_view from) {
  Member* m = name == cfg_.name ? self_ : table_.Find(name);
  if (m == nullptr) return;
  if (m == self_) {
    if (leaving_) return;  // our own leave echoing back
    if (incarnation < self_->incarnation()) {
      ResendRefutation();
      return;
    }
    Refute(incarnation);
    if (cfg_.lifeguard) awareness_.ApplyDelta(1);
    return;
  }
  if (core::DeadVerdict(m->state(), m->incarnation(), incarnation) !=
      Verdict::kApply)
    return;
  const bool left = from == name;
  m->set_incarnation(incarnation);
  table_.ClearSuspicion(*m);
  table_.SetState(*m, left ? MemberState::kLeft : MemberState::kDead,
                  rt_.Now());
  QueueDead(*m, from);
  Emit(left ? EventType::kLeft : EventType::kFailed, *m);
}

// The reference's rule: a peer's "dead" only makes us suspect, so we probe
// the member ourselves (and it can refute) rather than trusting a stale view.
void Swim::Impl::Merge(const wire::PushPull& remote) {
  for (const wire::MemberRecord& r : remote.members()) {
    switch (r.state()) {
      case wire::MEMBER_STATE_ALIVE:
        OnAlive(r.name(), r.addr(), r.incarnation(), r.meta());
        break;
      case wire::MEMBER_STATE_SUSPECT:
      case wire::MEMBER_STATE_DEAD:
        OnSuspect(r.name(), r.incarnation(), cfg_.name,
                  /*from_peer_table=*/true);
        break;
      case wire::MEMBER_STATE_LEFT:
        OnDead(r.name(), r.incarnation(), r.name());
        break;
      default:
        break;  // rejected by the decoder
    }
  }
  if (!remote.user_state().empty()) {
    app_->MergeRemoteState(remote.user_state(), remote.join());
  }
}

absl::StatusOr<std::string> Swim::Impl::HandleSyncRequest(
    std::string_view from, std::string_view request) {
  auto payload =
      core::OpenFrame(request, cfg_.label, cfg_.limits.max_stream_bytes);
  if (!payload.ok()) {
    counters_.Drop(payload.error.reason);
    return absl::InvalidArgumentError(payload.error.message);
  }
  auto state = core::DecodePushPull(payload.value, cfg_.limits);
  if (!state.ok()) {
    counters_.Drop(state.error.reason);
    return absl::InvalidArgumentError(state.error.message);
  }
  (void)from;
  ++counters_.syncs_served;
  Merge(state.value);
  return SyncBody(state.value.join());
}

void Swim::Impl::HandleSyncResponse(std::string_view from,
                                    std::string_view response) {
  (void)from;
  auto payload =
      core::OpenFrame(response, cfg_.label, cfg_.limits.max_stream_bytes);
  if (!payload.ok()) {
    counters_.Drop(payload.error.reason);
    ++counters_.syncs_failed;
    return;
  }
  auto state = core::DecodePushPull(payload.value, cfg_.limits);
  if (!state.ok()) {
    counters_.Drop(state.error.reason);
    ++counters_.syncs_failed;
    return;
  }
  joined_ = true;
  Merge(state.value);
}

void Swim::Impl::HandleSyncFailed(std::string_view to) {
  (void)to;
  ++counters_.syncs_failed;
}

// ---------------------------------------------------------------- timers

void Swim::Impl::HandleTimer(const Timer& timer) {
  if (!started_) return;
  switch (timer.kind) {
    case TimerKind::kProbe:
      OnProbeTimer();
      break;
    case TimerKind::kProbeTimeout:
      OnProbeTimeout(static_cast<uint32_t>(timer.token));
      break;
    case TimerKind::kProbeDeadline:
      if (probe_.active && probe_.seq == timer.token) ConcludeProbe();
      break;
    case TimerKind::kSuspicion:
      OnSuspicionTimer(timer);
      break;
    case TimerKind::kSuspicionNotice: {
      Member* m = table_.Find(timer.member);
      if (m != nullptr && m->incarnation() == timer.token) TellSuspect(m);
      break;
    }
    case TimerKind::kGossip:
      OnGossipTimer();
      break;
    case TimerKind::kPushPull:
      OnPushPullTimer();
      break;
    case TimerKind::kReconnect:
      OnReconnectTimer();
      break;
    case TimerKind::kRelayNack: {
      auto it = relays_.find(static_cast<uint32_t>(timer.token));
      if (it != relays_.end() && it->second.want_nack) {
        wire::Message nack;
        nack.mutable_nack()->set_seq(it->second.requester_seq);
        it->second.want_nack = false;
        Send(it->second.requester_addr, core::EncodeMessageEntry(nack));
      }
      break;
    }
    case TimerKind::kRelayExpire:
      relays_.erase(static_cast<uint32_t>(timer.token));
      break;
  }
}

void Swim::Impl::OnProbeTimer() {
  if (leaving_) return;
  // The deadline of the previous period may share this instant; settle it
  // first so probes never overlap.
  if (probe_.active) ConcludeProbe();
  const absl::Duration period = Scaled(cfg_.probe_interval);
  rt_.After(period, Timer{TimerKind::kProbe, 0, {}});
  Member* target = table_.NextProbeTarget(cfg_.name, random_, rt_.Now(),
                                          cfg_.dead_retention);
  if (target == nullptr) return;
  probe_ = Probe{next_seq_++, std::string(target->name()), true, false, 0, 0};
  ++counters_.probes;
  std::string entries;
  if (cfg_.lifeguard && target->state() == MemberState::kSuspect) {
    // Buddy system: tell the suspect directly so it can refute at once.
    entries = SuspectEntry(*target, cfg_.name);
    table_.Suspicion(*target).told_suspect = rt_.Now();
  }
  wire::Message ping;
  wire::Ping* p = ping.mutable_ping();
  p->set_seq(probe_.seq);
  p->set_target(std::string(target->name()));
  p->set_source(cfg_.name);
  p->set_source_addr(cfg_.advertise_addr);
  entries += core::EncodeMessageEntry(ping);
  Send(std::string(target->addr()), std::move(entries));
  rt_.After(Scaled(cfg_.probe_timeout),
            Timer{TimerKind::kProbeTimeout, probe_.seq, {}});
  rt_.After(period, Timer{TimerKind::kProbeDeadline, probe_.seq, {}});
}

void Swim::Impl::OnProbeTimeout(uint32_t seq) {
  if (!probe_.active || probe_.seq != seq || probe_.acked) return;
  const Member* target = table_.Find(probe_.target);
  if (target == nullptr) return;
  const std::string& target_name = probe_.target;
  auto relays =
      table_.Sample(cfg_.indirect_checks, random_, [&](const Member& m) {
        return m.state() == MemberState::kAlive && m.name() != cfg_.name &&
               m.name() != target_name;
      });
  for (const Member* relay : relays) {
    wire::Message msg;
    wire::IndirectPing* ip = msg.mutable_indirect_ping();
    ip->set_seq(seq);
    ip->set_target(std::string(target->name()));
    ip->set_target_addr(std::string(target->addr()));
    ip->set_source(cfg_.name);
    ip->set_source_addr(cfg_.advertise_addr);
    ip->set_want_nack(cfg_.lifeguard);
    Send(std::string(relay->addr()), core::EncodeMessageEntry(msg));
    ++counters_.indirect_probes;
  }
  if (cfg_.lifeguard) probe_.expected_nacks = static_cast<int>(relays.size());
}

void Swim::Impl::ConcludeProbe() {
  probe_.active = false;
  if (probe_.acked) return;
  ++counters_.probe_failures;
  if (cfg_.lifeguard) {
    // Relays that did not even nack suggest the fault is ours.
    int missing = probe_.expected_nacks - probe_.nacks;
    awareness_.ApplyDelta(probe_.expected_nacks > 0 ? std::max(0, missing) : 1);
  }
  Member* target = table_.Find(probe_.target);
  if (target == nullptr) return;
  if (target->state() == MemberState::kAlive) ++counters_.suspicions;
  OnSuspect(target->name(), target->incarnation(), cfg_.name);
}

void Swim::Impl::ScheduleSuspicion(Member& m) {
  core::SuspicionState& state = table_.Suspicion(m);
  state.generation = table_.NextGeneration();
  absl::Duration delay = state.suspicion->Deadline() - rt_.Now();
  rt_.After(
      std::max(delay, absl::ZeroDuration()),
      Timer{TimerKind::kSuspicion, state.generation, std::string(m.name())});
}

void Swim::Impl::OnSuspicionTimer(const Timer& timer) {
  Member* m = table_.Find(timer.member);
  if (m == nullptr || m->state() != MemberState::kSuspect ||
      table_.Suspicion(*m).generation != timer.token)
    return;
  ++counters_.deaths;
  OnDead(m->name(), m->incarnation(), cfg_.name);
}

void Swim::Impl::OnGossipTimer() {
  rt_.After(cfg_.gossip_interval, Timer{TimerKind::kGossip, 0, {}});
  if (news_.empty() && user_.empty()) return;
  const absl::Time now = rt_.Now();
  auto targets =
      table_.Sample(cfg_.gossip_nodes, random_, [&](const Member& m) {
        if (&m == self_) return false;
        switch (m.state()) {
          case MemberState::kAlive:
          case MemberState::kSuspect:
            return true;
          case MemberState::kDead:
            // Recently dead members still hear news so they can refute.
            return now - m.state_changed() <= cfg_.gossip_to_the_dead;
          case MemberState::kLeft:
            return false;
        }
        return false;
      });
  for (const Member* t : targets) {
    if (news_.empty() && user_.empty()) break;
    Send(std::string(t->addr()), {});
  }
}

absl::Duration Swim::Impl::PushPullInterval() const {
  constexpr double kBaseSize = 32;
  double n = static_cast<double>(table_.NumAlive());
  if (n <= kBaseSize) return cfg_.push_pull_interval;
  double mult = std::ceil(std::log2(n) - std::log2(kBaseSize)) + 1.0;
  return cfg_.push_pull_interval * mult;
}

void Swim::Impl::OnPushPullTimer() {
  if (leaving_) return;
  rt_.After(PushPullInterval(), Timer{TimerKind::kPushPull, 0, {}});
  auto peer = table_.Sample(1, random_, [&](const Member& m) {
    return &m != self_ && m.state() == MemberState::kAlive;
  });
  if (!peer.empty()) StartSync(std::string(peer[0]->addr()), false);
}

void Swim::Impl::OnReconnectTimer() {
  if (leaving_) return;
  rt_.After(cfg_.reconnect_interval, Timer{TimerKind::kReconnect, 0, {}});
  const size_t alive = table_.NumAlive();
  if (alive <= 1 && !seeds_.empty()) {
    // Alone: knock on a seed's door again.
    StartSync(seeds_[core::RandomBelow(random_, seeds_.size())], true);
    return;
  }
  // Retry one failed member, with probability failed/alive so that the
  // whole cluster makes about one attempt per failed member per interval.
  const size_t dead = table_.count(MemberState::kDead);
  if (dead == 0) return;
  if (core::RandomBelow(random_, alive) >= dead) return;
  auto peer = table_.Sample(1, random_, [](const Member& m) {
    return m.state() == MemberState::kDead;
  });
  if (!peer.empty()) StartSync(std::string(peer[0]->addr()), false);
}

// ---------------------------------------------------------------- API

void Swim::Impl::Start() {
  if (started_) return;
  started_ = true;
  QueueAlive(*self_);
  // Random phases, so members started together do not act in lockstep.
  auto phase = [&](absl::Duration interval) {
    int64_t ns = absl::ToInt64Nanoseconds(interval);
    return absl::Nanoseconds(
        ns > 0 ? core::RandomBelow(random_, static_cast<size_t>(ns)) : 0);
  };
  rt_.After(phase(cfg_.probe_interval), Timer{TimerKind::kProbe, 0, {}});
  rt_.After(phase(cfg_.gossip_interval), Timer{TimerKind::kGossip, 0, {}});
  if (cfg_.push_pull_interval > absl::ZeroDuration()) {
    const absl::Duration interval = PushPullInterval();
    rt_.After(interval + phase(interval), Timer{TimerKind::kPushPull, 0, {}});
  }
  if (cfg_.reconnect_interval > absl::ZeroDuration()) {
    rt_.After(cfg_.reconnect_interval + phase(cfg_.reconnect_interval),
              Timer{TimerKind::kReconnect, 0, {}});
  }
}

void Swim::Impl::Join(const std::vector<std::string>& seeds) {
  for (const std::string& seed : seeds) {
    if (seed == cfg_.advertise_addr) continue;
    if (std::find(seeds_.begin(), seeds_.end(), seed) == seeds_.end())
      seeds_.push_back(seed);
    StartSync(seed, true);
  }
}

void Swim::Impl::Preload(const std::vector<MemberInfo>& members) {
  const absl::Time now = rt_.Now();
  auto valid = [&](const std::string& text, size_t max) {
    if (text.empty() || text.size() > max) return false;
    for (char c : text) {
      if (static_cast<unsigned char>(c) < 0x20) return false;
    }
    return true;
  };
  for (const MemberInfo& m : members) {
    if (table_.size() >= cfg_.limits.max_members) return;
    if (!valid(m.name, cfg_.limits.max_name_bytes) ||
        !valid(m.addr, cfg_.limits.max_addr_bytes) ||
        m.meta.size() > cfg_.limits.max_meta_bytes ||
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

bool Swim::Impl::LeaveComplete() const {
  return leaving_ && (!news_.Contains(cfg_.name) || table_.NumAlive() == 0);
}

absl::Status Swim::Impl::Broadcast(std::string payload) {
  wire::Message msg;
  wire::UserBroadcast* u = msg.mutable_user();
  u->set_payload(std::move(payload));
  u->set_origin(cfg_.name);
  u->set_id(next_broadcast_id_++);
  std::string entry = core::EncodeMessageEntry(msg);
  if (entry.size() + core::FrameOverhead(cfg_.label) > cfg_.packet_budget) {
    return absl::InvalidArgumentError(absl::StrCat(
        "broadcast of ", u->payload().size(),
        " bytes does not fit in the packet budget of ", cfg_.packet_budget));
  }
  std::string key = absl::StrCat(cfg_.name, "/", u->id());
  if (seen_.insert(key).second) seen_order_.push_back(std::move(key));
  user_.Push({}, std::move(entry));
  size_t dropped = user_.Prune(cfg_.limits.max_queued_user_broadcasts);
  for (size_t i = 0; i < dropped; ++i) counters_.Drop(DropReason::kQueueFull);
  return absl::OkStatus();
}

absl::Status Swim::Impl::SetMeta(std::string meta) {
  if (meta.size() > cfg_.limits.max_meta_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metadata of ", meta.size(), " bytes exceeds the limit of ",
        cfg_.limits.max_meta_bytes));
  }
  cfg_.meta = meta;
  table_.SetMeta(*self_, meta);
  self_->set_incarnation(self_->incarnation() + 1);
  QueueAlive(*self_);
  return absl::OkStatus();
}

// ---------------------------------------------------------------- Swim

absl::StatusOr<std::unique_ptr<Swim>> Swim::Create(Config config,
                                                   Runtime* runtime,
                                                   Delegate* delegate) {
  if (runtime == nullptr) return absl::InvalidArgumentError("null runtime");
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  return std::unique_ptr<Swim>(
      new Swim(std::make_unique<Impl>(std::move(config), runtime, delegate)));
}

Swim::Swim(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Swim::~Swim() = default;

void Swim::Start() { impl_->Start(); }
void Swim::HandlePacket(std::string_view from, std::string_view bytes) {
  impl_->HandlePacket(from, bytes);
}
absl::StatusOr<std::string> Swim::HandleSyncRequest(std::string_view from,
                                                    std::string_view request) {
  return impl_->HandleSyncRequest(from, request);
}
void Swim::HandleSyncResponse(std::string_view from,
                              std::string_view response) {
  impl_->HandleSyncResponse(from, response);
}
void Swim::HandleSyncFailed(std::string_view to) {
  impl_->HandleSyncFailed(to);
}
void Swim::HandleTimer(const Timer& timer) { impl_->HandleTimer(timer); }
void Swim::Join(const std::vector<std::string>& seeds) { impl_->Join(seeds); }
void Swim::Leave() { impl_->Leave(); }
bool Swim::LeaveComplete() const { return impl_->LeaveComplete(); }
absl::Status Swim::Broadcast(std::string payload) {
  return impl_->Broadcast(std::move(payload));
}
absl::Status Swim::SetMeta(std::string meta) {
  return impl_->SetMeta(std::move(meta));
}

std::vector<MemberInfo> Swim::Members() const {
  std::vector<MemberInfo> out;
  out.reserve(impl_->table().size());
  for (const Member* m : impl_->table().members()) out.push_back(m->Info());
  std::sort(
      out.begin(), out.end(),
      [](const MemberInfo& a, const MemberInfo& b) { return a.name < b.name; });
  return out;
}

std::optional<MemberInfo> Swim::Lookup(std::string_view name) const {
  const Member* m = impl_->table().Find(name);
  if (m == nullptr) return std::nullopt;
  return m->Info();
}

size_t Swim::NumAlive() const { return impl_->table().NumAlive(); }
size_t Swim::Count(MemberState state) const {
  return impl_->table().count(state);
}
void Swim::Preload(const std::vector<MemberInfo>& members) {
  impl_->Preload(members);
}
MemberInfo Swim::Self() const { return impl_->self().Info(); }
int Swim::HealthScore() const { return impl_->health(); }
const Counters& Swim::counters() const { return impl_->counters(); }
const Config& Swim::config() const { return impl_->config(); }
bool Swim::Joined() const { return impl_->joined(); }

}  // namespace roster
