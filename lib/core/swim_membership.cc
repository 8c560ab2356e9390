// Membership transitions: alive, suspect and dead news by the precedence
// rules, Lifeguard's suspicion timeouts and buddy system, refutation, and
// merging a peer's table.
#include <algorithm>
#include <string>
#include <string_view>

#include "core/swim_impl.h"

namespace roster {

bool Swim::Impl::Admits(std::string_view name, std::string_view addr,
                        uint64_t incarnation, std::string_view meta) {
  bool admitted = networks_.Admits(addr);
  if (admitted) {
    MemberInfo info;
    info.name = std::string(name);
    info.addr = std::string(addr);
    info.meta = std::string(meta);
    info.incarnation = incarnation;
    info.state = MemberState::kAlive;
    info.state_changed = rt_.Now();
    admitted = app_->AllowMember(info);
  }
  if (!admitted) Drop(DropReason::kNotAdmitted);
  return admitted;
}

void Swim::Impl::OnAlive(std::string_view name, std::string_view addr,
                         uint64_t incarnation, std::string_view meta,
                         uint32_t life, uint32_t previous_life,
                         core::Protocols protocols) {
  const absl::Time now = rt_.Now();
  if (name == cfg_.name) {
    OnAliveOfSelf(addr, incarnation, meta, life, previous_life);
    return;
  }
  Member* m = table_.Find(name);
  if (m == nullptr) {
    // Stale news of a life an operator pruned (ForceLeave).
    if (Pruned(name, life)) return;
    if (table_.size() >= cfg_.limits.max_members) {
      Drop(DropReason::kTableFull);
      return;
    }
    if (!Admits(name, addr, incarnation, meta)) return;
    MemberInfo info;
    info.name = std::string(name);
    info.addr = std::string(addr);
    info.incarnation = incarnation;
    info.life = life;
    info.protocol_min = protocols.min;
    info.protocol_max = protocols.max;
    info.meta = std::string(meta);
    info.state = MemberState::kAlive;
    info.state_changed = now;
    m = table_.Add(info, random_);
    if (previous_life != life) table_.EndLife(*m, previous_life);
    QueueAlive(*m);
    Emit(EventType::kJoined, *m);
    return;
  }
  if (!SameLife(*m, life)) {
    OnNewLife(*m, addr, incarnation, meta, life, previous_life, protocols);
    return;
  }
  bool moved = addr != m->addr();
  if (moved) {
    // A life never moves (one process, one socket), so a new address under
    // a life we hold is a sender that did not say its life. It moves the
    // name only once the old holder is gone; otherwise two live processes
    // would fight over one name.
    bool gone = m->state() == MemberState::kLeft ||
                (m->state() == MemberState::kDead &&
                 now - m->state_changed() >= cfg_.dead_reclaim_time);
    if (!gone) {
      Drop(DropReason::kAddressConflict);
      return;
    }
    if (!Admits(name, addr, incarnation, meta)) return;
  } else if (core::AliveVerdict(m->state(), m->incarnation(), incarnation) !=
             Verdict::kApply) {
    // The same facts may still teach us its life (preloaded, or told by a
    // member that did not say), and the life this one replaced.
    if (m->life() == 0 && life != 0) m->set_life(life);
    LearnProtocols(*m, protocols);
    if (previous_life != 0 && previous_life != m->life() &&
        table_.EndLife(*m, previous_life))
      QueueAlive(*m);
    return;
  }
  if (incarnation < m->incarnation()) return;
  const MemberState before = m->state();
  const bool meta_changed = meta != m->meta();
  m->set_incarnation(incarnation);
  if (life != 0) m->set_life(life);
  LearnProtocols(*m, protocols);
  if (previous_life != m->life()) table_.EndLife(*m, previous_life);
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

// A new start of a known member is taken at once, whatever its address and
// incarnation, if it cannot be two live processes: the life we hold ended
// (dead or left), or the new one has its socket, or the new one names it
// as the life it replaced (it checked the holder was gone: StartTakeover).
void Swim::Impl::OnNewLife(Member& m, std::string_view addr,
                           uint64_t incarnation, std::string_view meta,
                           uint32_t life, uint32_t previous_life,
                           core::Protocols protocols) {
  if (table_.Ended(m, life)) return;  // stale news of an earlier life
  const MemberState before = m.state();
  const bool ended =
      before == MemberState::kDead || before == MemberState::kLeft;
  if (!ended && addr != m.addr() && previous_life != m.life()) {
    // Another process claims the name of a live member elsewhere and has
    // not shown that the holder is gone.
    ++counters_.name_conflicts;
    Drop(DropReason::kAddressConflict);
    return;
  }
  if (!Admits(m.name(), addr, incarnation, meta)) return;
  if (previous_life != m.life()) table_.EndLife(m, previous_life);
  table_.EndLife(m, m.life());
  m.set_life(life);
  // A new process may be another build: what it did not say is version 1.
  m.set_protocols(protocols.min, protocols.max);
  m.set_incarnation(incarnation);
  table_.SetAddr(m, std::string(addr));
  table_.SetMeta(m, meta);
  table_.ClearSuspicion(m);
  table_.SetState(m, MemberState::kAlive, rt_.Now());
  ++counters_.restarts_seen;
  QueueAlive(m);
  Emit(ended ? EventType::kJoined : EventType::kRestarted, m);
}

void Swim::Impl::OnAliveOfSelf(std::string_view addr, uint64_t incarnation,
                               std::string_view meta, uint32_t life,
                               uint32_t previous_life) {
  if (leaving_) return;
  if (life != 0 && life != self_->life()) {
    if (table_.Ended(*self_, life)) return;  // our predecessor's news
    if (addr == self_->addr()) {
      // It had our socket, so it is gone: it was the process before us.
      NotePredecessor(life);
      return;
    }
    // Another process at another address claims our name. Refuting would
    // not help: members take a new life over only on proof that the old
    // one is gone, and a refutation of ours they would ignore the same way.
    ++counters_.name_conflicts;
    return;
  }
  if (previous_life != 0 && previous_life != self_->life())
    NotePredecessor(previous_life);
  if (incarnation < self_->incarnation()) return;
  if (incarnation == self_->incarnation() && addr == self_->addr() &&
      meta == self_->meta())
    return;  // our own news coming back
  // Someone speaks for us with other facts: overrule it.
  Refute(incarnation);
}

void Swim::Impl::NotePredecessor(uint32_t life) {
  if (life == 0 || life == self_->life()) return;
  if (table_.EndLife(*self_, life)) QueueAlive(*self_);
}

void Swim::Impl::OnSuspect(std::string_view name, uint32_t life,
                           uint64_t incarnation, std::string_view from,
                           Inbound* in, bool from_peer_table) {
  Member* m = name == cfg_.name ? self_ : table_.Find(name);
  if (m == nullptr) return;
  // A suspicion of another life is not about the one we hold: the process
  // it suspected is gone, or has not reached us yet.
  if (!SameLife(*m, life)) return;
  Verdict verdict =
      core::SuspectVerdict(m->state(), m->incarnation(), incarnation);
  if (m == self_ && incarnation < self_->incarnation()) {
    ResendRefutation(in);
    return;
  }
  if (verdict == Verdict::kIgnore) return;
  if (m == self_) {
    if (leaving_) return;
    Refute(incarnation);
    if (cfg_.lifeguard) awareness_.ApplyDelta(1);
    EmitAboutSelf(EventType::kSelfSuspected, from_peer_table ? "" : from);
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
    rt_.After(at, core::MakeTimer(core::TimerKind::kSuspicionNotice,
                                  incarnation, std::string(m->name())));
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
  // A peer's table does not say who suspected the member.
  if (!was_suspect)
    Emit(EventType::kSuspected, *m, from_peer_table ? "" : from);
}

void Swim::Impl::OnDead(std::string_view name, uint32_t life,
                        uint64_t incarnation, std::string_view from,
                        Inbound* in, bool prune) {
  Member* m = name == cfg_.name ? self_ : table_.Find(name);
  if (m == nullptr) return;
  if (!SameLife(*m, life)) {
    // The end of another life never ends this one. Of our own name, it
    // was the process before us.
    if (m == self_) NotePredecessor(life);
    return;
  }
  if (m == self_) {
    if (leaving_) return;  // our own leave echoing back
    if (incarnation < self_->incarnation()) {
      ResendRefutation(in);
      return;
    }
    Refute(incarnation);
    if (cfg_.lifeguard) awareness_.ApplyDelta(1);
    // News that we left comes only from a peer's table (a leave is ours
    // to send): nobody to name.
    EmitAboutSelf(EventType::kSelfFailed, from == cfg_.name ? "" : from);
    return;
  }
  const bool left = from == name;
  // A leave of a member we hold failed is an operator's forced leave (or a
  // leave that came after we timed it out): left says more than failed.
  const bool dead_to_left = left && m->state() == MemberState::kDead &&
                            incarnation >= m->incarnation();
  if (core::DeadVerdict(m->state(), m->incarnation(), incarnation) !=
          Verdict::kApply &&
      !dead_to_left) {
    if (prune && left && m->state() == MemberState::kLeft &&
        incarnation >= m->incarnation()) {
      QueueDead(*m, from, /*prune=*/true);
      Prune(m);
    }
    return;
  }
  m->set_incarnation(incarnation);
  table_.ClearSuspicion(*m);
  table_.SetState(*m, left ? MemberState::kLeft : MemberState::kDead,
                  rt_.Now());
  QueueDead(*m, from, prune && left);
  if (left) {
    Emit(EventType::kLeft, *m);
    if (prune) Prune(m);
  } else {
    Emit(EventType::kFailed, *m, from);
  }
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
  OnDead(m->name(), m->life(), m->incarnation(), cfg_.name, nullptr);
}

void Swim::Impl::OnSuspicionNotice(const Timer& timer) {
  Member* m = table_.Find(timer.member);
  if (m != nullptr && m->incarnation() == timer.token) TellSuspect(m);
}

void Swim::Impl::Refute(uint64_t incarnation) {
  // The decoder bounds news at kMaxIncarnation, so this never overflows and
  // peers always accept the result.
  self_->set_incarnation(
      std::min(std::max(incarnation, self_->incarnation()) + 1,
               core::kMaxIncarnation + 1));
  ++counters_.refutations;
  QueueAlive(*self_);
}

// Someone still holds a suspicion or death of us that we already refuted:
// our refutation's gossip missed it. Answer the sender directly, in the
// same datagram as our ack if the news came with a ping (so the ack cannot
// arrive without it), and spread the refutation again.
void Swim::Impl::ResendRefutation(Inbound* in) {
  if (leaving_) return;
  if (in != nullptr) in->owe_refutation = true;
  if (!news_.Contains(cfg_.name)) QueueAlive(*self_);
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

// The reference's rule: a peer's "dead" only makes us suspect, so we probe
// the member ourselves (and it can refute) rather than trusting a stale view.
void Swim::Impl::Merge(const core::PushPullView& remote) {
  for (const core::MemberRecordView& r : remote.members()) {
    switch (r.state()) {
      case wire::MEMBER_STATE_ALIVE:
        OnAlive(r.name(), r.addr(), r.incarnation(), r.meta(), r.life(),
                r.previous_life(), {r.protocol_min(), r.protocol_max()});
        break;
      case wire::MEMBER_STATE_SUSPECT:
      case wire::MEMBER_STATE_DEAD:
        if (r.name() == cfg_.name && r.life() != 0 &&
            r.life() != self_->life()) {
          // Another life under our name: the process before us if it
          // failed, or had our address; a suspect elsewhere may be a live
          // holder (a join checks it: StartTakeover).
          if (r.addr() == self_->addr() || r.state() == wire::MEMBER_STATE_DEAD)
            NotePredecessor(r.life());
          break;
        }
        OnSuspect(r.name(), r.life(), r.incarnation(), cfg_.name, nullptr,
                  /*from_peer_table=*/true);
        break;
      case wire::MEMBER_STATE_LEFT:
        OnDead(r.name(), r.life(), r.incarnation(), r.name(), nullptr);
        break;
      default:
        break;  // rejected by the decoder
    }
  }
  if (!remote.user_state().empty()) {
    app_->MergeRemoteState(remote.user_state(), remote.join());
  }
}

}  // namespace roster
