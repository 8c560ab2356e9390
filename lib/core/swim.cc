// The SWIM + Lifeguard state machine. The parts it wires together live in
// their own files: the member table and precedence rules, suspicion,
// awareness, the broadcast queue and the wire codec.
#include "roster/swim.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/swim_impl.h"
#include "core/wire_checks.h"
#include "core/wire_entries.h"

namespace roster {

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
  rt_.After(phase(cfg_.probe_interval),
            core::MakeTimer(core::TimerKind::kProbe));
  rt_.After(phase(cfg_.gossip_interval),
            core::MakeTimer(core::TimerKind::kGossip));
  if (cfg_.push_pull_interval > absl::ZeroDuration()) {
    const absl::Duration interval = PushPullInterval();
    rt_.After(interval + phase(interval),
              core::MakeTimer(core::TimerKind::kPushPull));
  }
  if (cfg_.reconnect_interval > absl::ZeroDuration()) {
    rt_.After(cfg_.reconnect_interval + phase(cfg_.reconnect_interval),
              core::MakeTimer(core::TimerKind::kReconnect));
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

bool Swim::Impl::LeaveComplete() const {
  return leaving_ && (!news_.Contains(cfg_.name) || table_.NumAlive() == 0);
}

absl::Status Swim::Impl::Broadcast(std::string payload) {
  const uint64_t id = next_broadcast_id_++;
  std::string entry = core::UserEntry(payload, cfg_.name, id);
  if (entry.size() + FrameOverhead() > cfg_.packet_budget) {
    return absl::InvalidArgumentError(absl::StrCat(
        "broadcast of ", payload.size(),
        " bytes does not fit in the packet budget of ", cfg_.packet_budget));
  }
  std::string key = absl::StrCat(cfg_.name, "/", id);
  MarkSeen(std::move(key));
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
std::string Swim::HandleStream(std::string_view from, std::string_view frame) {
  return impl_->HandleStream(from, frame);
}
std::string Swim::MessageRequest(std::string_view payload) {
  return impl_->MessageRequest(payload);
}
absl::Status Swim::ReadReply(std::string_view frame) {
  return impl_->ReadReply(frame);
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
bool Swim::LeaveComplete() const { return impl_->LeaveComplete(); }
absl::Status Swim::Broadcast(std::string payload) {
  return impl_->Broadcast(std::move(payload));
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
bool Swim::Admits(std::string_view addr) const {
  return impl_->networks().Admits(addr);
}

}  // namespace roster
