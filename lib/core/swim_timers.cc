// Timers: probing, suspicion timeouts, gossip, anti-entropy, healing.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/swim_impl.h"
#include "core/wire_entries.h"

namespace roster {

void Swim::Impl::HandleTimer(const Timer& timer) {
  if (!started_) return;
  switch (core::KindOf(timer)) {
    case core::TimerKind::kProbe:
      OnProbeTimer();
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
    case core::TimerKind::kSuspicionNotice: {
      Member* m = table_.Find(timer.member);
      if (m != nullptr && m->incarnation() == timer.token) TellSuspect(m);
      break;
    }
    case core::TimerKind::kGossip:
      OnGossipTimer();
      break;
    case core::TimerKind::kPushPull:
      OnPushPullTimer();
      break;
    case core::TimerKind::kReconnect:
      OnReconnectTimer();
      break;
    case core::TimerKind::kRelayNack: {
      auto it = relays_.find(static_cast<uint32_t>(timer.token));
      if (it != relays_.end() && it->second.want_nack) {
        it->second.want_nack = false;
        Send(it->second.requester_addr,
             core::NackEntry(it->second.requester_seq));
      }
      break;
    }
    case core::TimerKind::kRelayExpire:
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
  rt_.After(period, core::MakeTimer(core::TimerKind::kProbe));
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
  // No source address: the target answers the datagram's source, so that
  // would be 10 to 50 bytes in every probe for nothing.
  entries += core::PingEntry(probe_.seq, target->name(), cfg_.name, {});
  Send(std::string(target->addr()), std::move(entries));
  rt_.After(Scaled(cfg_.probe_timeout),
            core::MakeTimer(core::TimerKind::kProbeTimeout, probe_.seq));
  rt_.After(period,
            core::MakeTimer(core::TimerKind::kProbeDeadline, probe_.seq));
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
    Send(std::string(relay->addr()),
         core::IndirectPingEntry(seq, target->name(), target->addr(), cfg_.name,
                                 cfg_.advertise_addr, cfg_.lifeguard));
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
  rt_.After(std::max(delay, absl::ZeroDuration()),
            core::MakeTimer(core::TimerKind::kSuspicion, state.generation,
                            std::string(m.name())));
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
  rt_.After(cfg_.gossip_interval, core::MakeTimer(core::TimerKind::kGossip));
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
  rt_.After(PushPullInterval(), core::MakeTimer(core::TimerKind::kPushPull));
  auto peer = table_.Sample(1, random_, [&](const Member& m) {
    return &m != self_ && m.state() == MemberState::kAlive;
  });
  if (!peer.empty()) StartSync(std::string(peer[0]->addr()), false);
}

void Swim::Impl::OnReconnectTimer() {
  if (leaving_) return;
  rt_.After(cfg_.reconnect_interval,
            core::MakeTimer(core::TimerKind::kReconnect));
  const size_t alive = table_.NumAlive();
  if (alive <= 1 && !seeds_.empty()) {
    // Alone: knock on a seed's door again.
    RetrySeeds();
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

}  // namespace roster
