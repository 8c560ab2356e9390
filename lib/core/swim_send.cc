// Filling datagrams: piggybacked news, fair shares, encoded entries.
#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/string_view.h"
#include "core/swim_impl.h"
#include "core/wire_entries.h"

namespace roster {

void Swim::Impl::Send(const std::string& to, std::string entries,
                      bool piggyback) {
  size_t overhead = FrameOverhead() + entries.size();
  if (piggyback && overhead < cfg_.packet_budget) {
    FillBroadcasts(cfg_.packet_budget - overhead, &entries);
  }
  if (entries.empty()) return;
  std::string frame = Seal(entries);
  ++counters_.packets_sent;
  counters_.bytes_sent += frame.size();
  rt_.SendPacket(to, std::move(frame));
}

bool Swim::Impl::MarkSeen(std::string key) {
  if (!seen_.insert(key).second) return false;
  seen_order_.push_back(std::move(key));
  while (seen_order_.size() > kSeenBroadcasts) {
    seen_.erase(seen_order_.front());
    seen_order_.pop_front();
  }
  return true;
}

// While both kinds wait, membership news leaves room for at least half a
// packet of application broadcasts, or for the next broadcast whole if it
// is bigger; broadcasts then take what is left. Neither kind can starve the
// other, and each queue is filled once, so no entry rides twice.
void Swim::Impl::FillBroadcasts(size_t budget, std::string* out) {
  if (news_.empty() && user_.empty()) return;
  // In a small cluster RetransmitMult * ceil(log10(n + 1)) can be fewer
  // sends than one gossip round's fan-out (the Local profile sends news
  // twice when gossiping to 3), and news then misses members outright.
  // With L sends by each holder, a member misses news with probability
  // about e^-L: the floor of two rounds' fan-out plus two (8 by default)
  // makes that 0.03%. At L = 4 a simulated 6-member Local cluster missed a
  // broadcast or a leave in 6 of 400 seeds; at 8, in none.
  int limit = std::max(core::BroadcastQueue::TransmitLimit(cfg_.retransmit_mult,
                                                           table_.NumAlive()),
                       2 * (cfg_.gossip_nodes + 1));
  size_t reserve = 0;
  if (!user_.empty()) {
    // A broadcast too big for this datagram waits for an emptier one; it
    // must not keep membership news out meanwhile.
    const size_t next = user_.NextSize();
    reserve = next <= budget ? std::max(budget / 2, next) : budget / 2;
  }
  size_t used = news_.Fill(budget - reserve, limit, out);
  user_.Fill(budget - used, limit, out);
}

std::string Swim::Impl::AliveEntry(const Member& m) {
  return core::AliveEntry(m.name(), m.addr(), m.incarnation(), m.meta());
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
  return core::SuspectEntry(m.name(), m.incarnation(), from);
}

void Swim::Impl::QueueSuspect(const Member& m, std::string_view from) {
  news_.Push(m.name(), SuspectEntry(m, from));
}

void Swim::Impl::QueueDead(const Member& m, std::string_view from) {
  news_.Push(m.name(), core::DeadEntry(m.name(), m.incarnation(), from));
}

std::string Swim::Impl::SyncBody(bool join, const core::PushPullView* peer) {
  // An answer leaves out what the requester just told us in the same
  // words: after the merge we agree on those members, and in a steady
  // cluster that is nearly all of them, which halves push-pull traffic.
  absl::flat_hash_map<absl::string_view, const core::MemberRecordView*> told;
  if (peer != nullptr) {
    told.reserve(peer->members().size());
    for (const core::MemberRecordView& r : peer->members()) {
      told.emplace(core::ToAbsl(r.name()), &r);
    }
  }
  core::PushPullWriter state(join, cfg_.name);
  for (const Member* m : table_.members()) {
    if (!told.empty()) {
      auto it = told.find(core::ToAbsl(m->name()));
      if (it != told.end()) {
        const core::MemberRecordView& r = *it->second;
        if (r.incarnation() == m->incarnation() &&
            r.state() == static_cast<wire::MemberState>(m->state()) &&
            r.addr() == m->addr() && r.meta() == m->meta())
          continue;
      }
    }
    state.AddMember(m->name(), m->addr(), m->incarnation(), m->state(),
                    m->meta());
  }
  std::string user = app_->LocalState(join);
  if (user.size() > cfg_.limits.max_user_state_bytes) user.clear();
  return SealStream(
      peer != nullptr ? wire::STREAM_KIND_OK : wire::STREAM_KIND_PUSH_PULL,
      state.Finish(user));
}

void Swim::Impl::StartSync(const std::string& to, bool join) {
  ++counters_.syncs_started;
  rt_.StartSync(to, SyncBody(join));
}

}  // namespace roster
