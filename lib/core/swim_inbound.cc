// Datagrams in: pings, acks, nacks, indirect probes, broadcasts.
#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/swim_impl.h"
#include "core/wire_entries.h"

namespace roster {

void Swim::Impl::HandlePacket(std::string_view from, std::string_view bytes) {
  ++counters_.packets_received;
  counters_.bytes_received += bytes.size();
  if (!networks_.Admits(from)) {
    counters_.Drop(DropReason::kNotAdmitted);
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
  if (!reader.Read(payload.value, cfg_.limits, &error)) {
    counters_.Drop(error.reason);
    reader_ = std::move(reader);
    return;
  }
  packet_from_ = from;
  refute_to_sender_ = false;
  relays_this_packet_ = 0;
  PrefetchMembers(reader.messages());
  HandleMessages(reader.messages());
  reader_ = std::move(reader);
  if (refute_to_sender_) Send(std::string(from), AliveEntry(*self_));
  if (table_.count(MemberState::kSuspect) > 0)
    TellSuspect(table_.FindByAddr(from));
  refute_to_sender_ = false;
  packet_from_ = {};
}

void Swim::Impl::HandleMessages(
    const std::vector<core::MessageView>& messages) {
  const std::string_view from = packet_from_;
  for (const core::MessageView& msg : messages) {
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

void Swim::Impl::OnPing(std::string_view from, const core::PingView& ping) {
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
  entries += core::AckEntry(ping.seq());
  // News rides along only to a member known at that address: the source
  // of a datagram can be forged, and a replayed ping must not turn into
  // 1,400-byte answers aimed wherever the forger likes.
  const bool known = prober != nullptr && prober->addr() == from;
  Send(std::string(from), std::move(entries), known);
}

void Swim::Impl::OnIndirectPing(const core::IndirectPingView& req) {
  // An honest prober asks a relay once per datagram; more would turn one
  // datagram into a fan-out of pings to addresses of the sender's choice.
  if (++relays_this_packet_ > 1 || relays_.size() >= kMaxRelays) {
    counters_.Drop(DropReason::kOverloaded);
    return;
  }
  if (!networks_.Admits(req.target_addr()) ||
      !networks_.Admits(req.source_addr())) {
    counters_.Drop(DropReason::kNotAdmitted);
    return;
  }
  uint32_t seq = next_seq_++;
  relays_[seq] =
      Relay{req.seq(), std::string(req.source_addr()), req.want_nack()};
  // News rides along only to a member we know at that address: gossip
  // sent to nobody would be counted as spread.
  const bool known = table_.FindByAddr(req.target_addr()) != nullptr;
  Send(std::string(req.target_addr()),
       core::PingEntry(seq, req.target(), cfg_.name, {}), known);
  // Lifeguard: the nack goes out early enough to reach the requester
  // before its own deadline.
  rt_.After(cfg_.probe_timeout * 4 / 5,
            core::MakeTimer(core::TimerKind::kRelayNack, seq));
  rt_.After(cfg_.probe_timeout,
            core::MakeTimer(core::TimerKind::kRelayExpire, seq));
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
  const uint32_t requester_seq = it->second.requester_seq;
  std::string to = std::move(it->second.requester_addr);
  relays_.erase(it);
  Send(to, core::AckEntry(requester_seq));
}

void Swim::Impl::OnNack(uint32_t seq) {
  if (probe_.active && seq == probe_.seq) {
    ++probe_.nacks;
    ++counters_.nacks_received;
    return;
  }
  counters_.Drop(DropReason::kUnknownAck);
}

void Swim::Impl::OnUser(const core::UserView& user) {
  if (!MarkSeen(absl::StrCat(core::ToAbsl(user.origin()), "/", user.id())))
    return;
  ++counters_.broadcasts_delivered;
  app_->OnBroadcast(user.payload());
  std::string entry = core::UserEntryFromBody(user.body());
  // Passed on only if it fits our own datagrams (a peer with a larger
  // budget, or a hostile one, may send bigger).
  if (entry.size() + FrameOverhead() > cfg_.packet_budget) {
    counters_.Drop(DropReason::kTooLarge);
    return;
  }
  user_.Push({}, std::move(entry));
  size_t dropped = user_.Prune(cfg_.limits.max_queued_user_broadcasts);
  for (size_t i = 0; i < dropped; ++i) counters_.Drop(DropReason::kQueueFull);
}

}  // namespace roster
