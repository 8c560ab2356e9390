// Gossip: datagrams out with queued news piggybacked, the fair split
// between membership news and application broadcasts, the gossip rounds.
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/swim_impl.h"
#include "core/wire/encode.h"
#include "util/string_view.h"

namespace roster {

void Swim::Impl::Send(const std::string& to, std::string entries,
                      bool piggyback) {
  size_t overhead = FrameOverhead() + entries.size();
  if (piggyback && overhead < cfg_.packet_budget) {
    FillBroadcasts(cfg_.packet_budget - overhead,
                   !serf_.empty() && SpeaksEvents(to), &entries);
  }
  if (entries.empty()) return;
  std::string frame = Seal(entries);
  ++counters_.packets_sent;
  counters_.bytes_sent += frame.size();
  rt_.SendPacket(to, std::move(frame));
}

// While both kinds wait, membership news leaves room for at least half a
// packet of the application's (broadcasts, user events and queries), or
// for the next of those whole if it is bigger; the application's then
// take what is left, user events and queries first. Neither kind can
// starve the other, and each queue is filled once, so no entry rides
// twice.
void Swim::Impl::FillBroadcasts(size_t budget, bool events, std::string* out) {
  events = events && !serf_.empty();
  if (news_.empty() && user_.empty() && !events) return;
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
  if (!user_.empty() || events) {
    // A broadcast too big for this datagram waits for an emptier one; it
    // must not keep membership news out meanwhile.
    const size_t next =
        std::max(user_.NextSize(), events ? serf_.NextSize() : 0);
    reserve = next <= budget ? std::max(budget / 2, next) : budget / 2;
  }
  size_t used = news_.Fill(budget - reserve, limit, out);
  if (events) used += serf_.Fill(budget - used, limit, out);
  user_.Fill(budget - used, limit, out);
}

std::string Swim::Impl::AliveEntry(const Member& m) {
  return core::AliveEntry(m.name(), m.addr(), m.incarnation(), m.meta(),
                          m.life(), table_.PreviousLife(m), m.protocol_min(),
                          m.protocol_max());
}

std::string Swim::Impl::SuspectEntry(const Member& m, std::string_view from) {
  return core::SuspectEntry(m.name(), m.incarnation(), from, m.life());
}

void Swim::Impl::QueueAlive(const Member& m) {
  news_.Push(m.name(), AliveEntry(m));
}

void Swim::Impl::QueueSuspect(const Member& m, std::string_view from) {
  news_.Push(m.name(), SuspectEntry(m, from));
}

void Swim::Impl::QueueDead(const Member& m, std::string_view from, bool prune) {
  news_.Push(m.name(),
             core::DeadEntry(m.name(), m.incarnation(), from, m.life(), prune));
}

void Swim::Impl::OnGossipTimer() {
  rt_.After(cfg_.gossip_interval, core::MakeTimer(core::TimerKind::kGossip));
  if (news_.empty() && user_.empty() && serf_.empty()) return;
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
    if (news_.empty() && user_.empty() && serf_.empty()) break;
    Send(std::string(t->addr()), {});
  }
}

// Each life numbers its broadcasts from 1, so the origin's life is part
// of what tells two broadcasts apart.
std::string Swim::Impl::BroadcastKey(std::string_view origin, uint32_t life,
                                     uint64_t id) {
  return absl::StrCat(util::ToAbsl(origin), "/", life, "/", id);
}

absl::Status Swim::Impl::Broadcast(std::string payload) {
  const uint64_t id = next_broadcast_id_++;
  std::string entry = core::UserEntry(payload, cfg_.name, id, self_->life());
  if (entry.size() + FrameOverhead() > cfg_.packet_budget) {
    return absl::InvalidArgumentError(absl::StrCat(
        "broadcast of ", payload.size(),
        " bytes does not fit in the packet budget of ", cfg_.packet_budget));
  }
  seen_broadcasts_.Insert(BroadcastKey(cfg_.name, self_->life(), id));
  user_.Push({}, std::move(entry));
  size_t dropped = user_.Prune(cfg_.limits.max_queued_user_broadcasts);
  for (size_t i = 0; i < dropped; ++i) Drop(DropReason::kQueueFull);
  return absl::OkStatus();
}

void Swim::Impl::OnUser(const core::UserView& user) {
  if (!seen_broadcasts_.Insert(
          BroadcastKey(user.origin(), user.life(), user.id())))
    return;
  ++counters_.broadcasts_delivered;
  app_->OnBroadcast(user.origin(), user.payload());
  std::string entry = core::UserEntryFromBody(user.body());
  // Passed on only if it fits our own datagrams (a peer with a larger
  // budget, or a hostile one, may send bigger).
  if (entry.size() + FrameOverhead() > cfg_.packet_budget) {
    Drop(DropReason::kTooLarge);
    return;
  }
  user_.Push({}, std::move(entry));
  size_t dropped = user_.Prune(cfg_.limits.max_queued_user_broadcasts);
  for (size_t i = 0; i < dropped; ++i) Drop(DropReason::kQueueFull);
}

}  // namespace roster
