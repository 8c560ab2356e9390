// Push-pull anti-entropy and healing: the state exchanged, the periodic
// exchange, serving a peer's request, and retrying failed members.
#include <cmath>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "core/swim_impl.h"
#include "core/wire/encode.h"
#include "util/string_view.h"

namespace roster {

std::string Swim::Impl::SyncBody(bool join, const core::PushPullView* peer) {
  // An answer leaves out what the requester just told us in the same
  // words: after the merge we agree on those members, and in a steady
  // cluster that is nearly all of them, which halves push-pull traffic.
  absl::flat_hash_map<absl::string_view, const core::MemberRecordView*> told;
  if (peer != nullptr) {
    told.reserve(peer->members().size());
    for (const core::MemberRecordView& r : peer->members()) {
      told.emplace(util::ToAbsl(r.name()), &r);
    }
  }
  core::PushPullWriter state(join, cfg_.name);
  for (const Member* m : table_.members()) {
    const uint32_t previous_life = table_.PreviousLife(*m);
    if (!told.empty()) {
      auto it = told.find(util::ToAbsl(m->name()));
      if (it != told.end()) {
        const core::MemberRecordView& r = *it->second;
        if (r.incarnation() == m->incarnation() &&
            r.state() == static_cast<wire::MemberState>(m->state()) &&
            r.addr() == m->addr() && r.meta() == m->meta() &&
            r.life() == m->life() && r.previous_life() == previous_life &&
            r.protocol_min() == m->protocol_min() &&
            r.protocol_max() == m->protocol_max())
          continue;
      }
    }
    state.AddMember(m->name(), m->addr(), m->incarnation(), m->state(),
                    m->meta(), m->life(), previous_life, m->protocol_min(),
                    m->protocol_max());
  }
  std::string user = app_->LocalState(join);
  if (user.size() > cfg_.limits.max_user_state_bytes) user.clear();
  // As Serf's push-pull, the recent user events go both ways: a member
  // that gossip missed gets them there (builds before version 2 do not
  // know the field), and so does a joiner that asked to replay them.
  const std::string recent = event_log_.Recent(kMaxReplayBytes);
  return SealStream(
      peer != nullptr ? wire::STREAM_KIND_OK : wire::STREAM_KIND_PUSH_PULL,
      state.Finish(user, event_clock_.time(), query_clock_.time(), recent));
}

void Swim::Impl::StartSync(const std::string& to, bool join) {
  ++counters_.syncs_started;
  ++syncs_in_flight_[to];
  rt_.StartSync(to, SyncBody(join));
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
  rt_.After(PushPullInterval(),
            core::MakeTimer(core::TimerKind::kPushPull, epoch_));
  auto peer = table_.Sample(1, random_, [&](const Member& m) {
    return &m != self_ && m.state() == MemberState::kAlive;
  });
  if (!peer.empty()) StartSync(std::string(peer[0]->addr()), false);
}

void Swim::Impl::OnReconnectTimer() {
  if (leaving_) return;
  rt_.After(cfg_.reconnect_interval,
            core::MakeTimer(core::TimerKind::kReconnect, epoch_));
  const size_t alive = table_.NumAlive();
  if (alive <= 1 && !seeds_.empty()) {
    // Alone: knock on a seed's door again.
    RetrySeeds();
    return;
  }
  // Not alone, about once an interval across the cluster: groups that
  // formed through different seeds, or lost each other for longer than
  // dead_retention, find each other through the seeds they share.
  if (!seeds_.empty() && core::RandomBelow(random_, alive) == 0) RetrySeeds();
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

std::string Swim::Impl::ServePushPull(std::string_view from,
                                      std::string_view body) {
  core::PushPullReader state;
  core::WireError error;
  if (!state.Read(body, cfg_.limits, &error)) {
    Drop(error.reason);
    return Refuse(error.message);
  }
  const core::PushPullView& remote = state.state();
  if (remote.source() == cfg_.name) {
    // Another live process claims our name. Merging its record would
    // refute it, and each of its retries would bump our incarnation and
    // gossip the bump to everyone. Unmerged, and before admission (it is
    // refused either way): our own record alone shows it the name is
    // taken, and it learns nothing else of the cluster or the application.
    ++counters_.name_conflicts;
    Log(LogLevel::kWarning,
        absl::StrCat("a push-pull from ", util::ToAbsl(from),
                     " claims this member's name: another process was given "
                     "it; answered with this member's record alone"));
    core::PushPullWriter self(remote.join(), cfg_.name);
    self.AddMember(self_->name(), self_->addr(), self_->incarnation(),
                   self_->state(), self_->meta(), self_->life(),
                   table_.PreviousLife(*self_), self_->protocol_min(),
                   self_->protocol_max());
    return SealStream(wire::STREAM_KIND_OK, self.Finish({}));
  }
  // A member kept out learns nothing of the cluster from us.
  const core::MemberRecordView* source = nullptr;
  for (const core::MemberRecordView& r : remote.members()) {
    if (r.name() == remote.source()) source = &r;
  }
  if (!Admits(remote.source(), source != nullptr ? source->addr() : from,
              source != nullptr ? source->incarnation() : 0,
              source != nullptr ? source->meta() : "")) {
    return Refuse(absl::StrCat("member ", util::ToAbsl(remote.source()),
                               " is not admitted to this cluster"));
  }
  ++counters_.syncs_served;
  Merge(remote);
  MergeEvents(remote, /*answer_to_our_join=*/false);
  return SyncBody(remote.join(), &remote);
}

void Swim::Impl::HandleSyncResponse(std::string_view from,
                                    std::string_view response) {
  std::string opened;
  wire::StreamKind kind = wire::STREAM_KIND_UNSET;
  auto body = OpenReply(response, &opened, &kind);
  if (kind == wire::STREAM_KIND_ACK) {
    EndTcpProbe(from);
    if (body.ok()) OnTcpProbeAck(*body);
    return;
  }
  if (!body.ok()) {
    if (IsTcpProbeFailure(from)) return;
    ++counters_.syncs_failed;
    SettleJoinSync(from, body.status());
    return;
  }
  core::PushPullReader state;
  core::WireError error;
  if (!state.Read(*body, cfg_.limits, &error)) {
    Drop(error.reason);
    ++counters_.syncs_failed;
    SettleJoinSync(from, absl::DataLossError(absl::StrCat(
                             "its answer is malformed: ", error.message)));
    return;
  }
  const core::PushPullView& remote = state.state();
  if (remote.join() || join_syncs_.contains(util::ToAbsl(from))) {
    // Our name held by a live process of another life elsewhere: it may
    // be the one we replace (a crash, then a move), or a conflict. Ask it.
    if (const core::MemberRecordView* holder = HolderOfOurName(remote);
        holder != nullptr) {
      SyncEnded(from);
      StartTakeover(from, *holder, remote);
      return;
    }
    // Merging would meet our own name with another member's facts and
    // refute it, and every retry would bump both incarnations: stay out,
    // and say who holds the name.
    if (std::string conflict = NameConflict(remote); !conflict.empty()) {
      ++counters_.name_conflicts;
      // A Join waiting on it logs the outcome itself.
      if (!join_syncs_.contains(util::ToAbsl(from)))
        Log(LogLevel::kError, absl::StrCat("push-pull with ",
                                           util::ToAbsl(from), ": ", conflict));
      SettleJoinSync(from, absl::AlreadyExistsError(conflict));
      return;
    }
  }
  // Only a member's first join draws the line under old events: a member
  // already in the cluster that knocks on a seed again (healing) must not
  // start ignoring events still in flight.
  const bool first_join = !joined_;
  joined_ = true;
  Merge(remote);
  MergeEvents(remote, /*answer_to_our_join=*/remote.join() && first_join);
  SettleJoinSync(from, absl::OkStatus());
}

int Swim::Impl::EndInFlight(absl::flat_hash_map<std::string, int>& in_flight,
                            std::string_view addr) {
  auto n = in_flight.find(util::ToAbsl(addr));
  if (n == in_flight.end()) return -1;
  const int remaining = --n->second;
  if (remaining == 0) in_flight.erase(n);
  return remaining;
}

bool Swim::Impl::IsTcpProbeFailure(std::string_view addr) {
  return !syncs_in_flight_.contains(util::ToAbsl(addr)) && EndTcpProbe(addr);
}

void Swim::Impl::HandleSyncFailed(std::string_view to,
                                  const absl::Status& why) {
  if (IsTcpProbeFailure(to)) return;
  ++counters_.syncs_failed;
  SettleJoinSync(to,
                 why.ok() ? absl::UnavailableError("push-pull failed") : why);
}

}  // namespace roster
