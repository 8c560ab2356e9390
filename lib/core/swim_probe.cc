// Probing: one probe per protocol period, direct then indirect through
// relays, Lifeguard's nacks, and the pings this member answers or relays.
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/swim_impl.h"
#include "core/wire/encode.h"
#include "util/string_view.h"

namespace roster {

void Swim::Impl::OnProbeTimer() {
  if (leaving_) return;
  // The deadline of the previous period may share this instant; settle it
  // first so probes never overlap.
  if (probe_.active) ConcludeProbe();
  const absl::Duration period = Scaled(cfg_.probe_interval);
  rt_.After(period, core::MakeTimer(core::TimerKind::kProbe, epoch_));
  Member* target = table_.NextProbeTarget(cfg_.name, random_, rt_.Now(),
                                          cfg_.dead_retention);
  ForgetCoordinatePeers();
  if (target == nullptr) return;
  probe_ = Probe{};
  probe_.seq = next_seq_++;
  probe_.target = std::string(target->name());
  probe_.active = true;
  probe_.sent = rt_.Now();
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
  // Once a life: the ping goes to that member alone, unlike gossip, which
  // would carry a newer kind to members of any version.
  if (BothSpeak(*target, core::kHelloVersion)) {
    auto [it, fresh] =
        hello_sent_.try_emplace(std::string(target->name()), target->life());
    if (fresh || it->second != target->life()) {
      it->second = target->life();
      entries += core::HelloEntry(cfg_.name);
    }
  }
  Send(std::string(target->addr()), std::move(entries));
  rt_.After(Scaled(cfg_.probe_timeout),
            core::MakeTimer(core::TimerKind::kProbeTimeout, probe_.seq));
  rt_.After(period,
            core::MakeTimer(core::TimerKind::kProbeDeadline, probe_.seq));
}

void Swim::Impl::OnProbeTimeout(uint32_t seq) {
  if (!probe_.active || probe_.seq != seq || probe_.acked) return;
  Member* target = table_.Find(probe_.target);
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
  // As memberlist does: a member whose inbound UDP is blocked still
  // answers over TCP, and must not be declared dead for a firewall rule.
  if (cfg_.tcp_probes) StartTcpProbe(*target);
}

void Swim::Impl::StartTcpProbe(Member& target) {
  if (!target.tcp_probed()) {
    // Once per member: its UDP probes failing is news to an operator
    // (a firewall rule, a NAT), every later TCP probe of it is not.
    target.set_tcp_probed();
    Log(LogLevel::kInfo,
        absl::StrCat("member ", util::ToAbsl(target.name()), " at ",
                     util::ToAbsl(target.addr()),
                     " did not answer a UDP probe in time; probing it over "
                     "TCP (logged once per member)"));
  }
  probe_.over_tcp = true;
  ++counters_.tcp_probes;
  ++tcp_probes_in_flight_[std::string(target.addr())];
  rt_.StartSync(
      std::string(target.addr()),
      SealStream(wire::STREAM_KIND_PING,
                 core::PingEntry(probe_.seq, target.name(), cfg_.name, {})));
}

const core::MessageView* Swim::Impl::ReadTcpProbeMessage(
    core::PacketReader& reader, std::string_view body,
    wire::Message::BodyCase kind, std::string* why) {
  core::WireError error;
  if (!reader.Read(body, cfg_.limits, &error)) {
    Drop(error.reason);
    *why = std::move(error.message);
    return nullptr;
  }
  if (reader.messages().size() != 1 ||
      reader.messages()[0].body_case() != kind) {
    Drop(DropReason::kMalformed);
    *why = "a TCP probe and its answer hold one ping and one ack";
    return nullptr;
  }
  return &reader.messages()[0];
}

std::string Swim::Impl::ServeTcpProbe(std::string_view body) {
  core::PacketReader reader;
  std::string why;
  const core::MessageView* message =
      ReadTcpProbeMessage(reader, body, wire::Message::kPing, &why);
  if (message == nullptr) return Refuse(why);
  const core::PingView& ping = message->ping();
  if (ping.target() != cfg_.name) {
    Drop(DropReason::kWrongTarget);
    return Refuse(absl::StrCat("this is not ", util::ToAbsl(ping.target())));
  }
  // No payload: a TCP probe's ack is not timed as a round trip (OnAck).
  return SealStream(wire::STREAM_KIND_ACK, core::AckEntry(ping.seq()));
}

void Swim::Impl::OnTcpProbeAck(std::string_view body) {
  core::PacketReader reader;
  std::string why;
  const core::MessageView* message =
      ReadTcpProbeMessage(reader, body, wire::Message::kAck, &why);
  if (message == nullptr) return;
  const uint32_t seq = message->ack().seq();
  if (!probe_.active || seq != probe_.seq || probe_.acked) {
    Drop(DropReason::kUnknownAck);
    return;
  }
  // Answered, though not over UDP: no suspicion, and no credit to our
  // health either (the failure may be ours).
  probe_.acked = true;
  probe_.active = false;
  ++counters_.tcp_probe_acks;
  if (Member* target = table_.Find(probe_.target); target != nullptr)
    SetReachability(*target, Reachability::kTcpOnly);
}

void Swim::Impl::SetReachability(Member& m, Reachability reachability) {
  if (m.reachability() == reachability) return;
  m.set_reachability(reachability);
  Emit(EventType::kUpdated, m);
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
  OnSuspect(target->name(), target->life(), target->incarnation(), cfg_.name,
            nullptr);
}

void Swim::Impl::OnPing(Inbound& in, const core::PingView& ping) {
  const std::string_view from = in.from;
  if (ping.target() != cfg_.name) {
    // Another member used to live at this address (a restart under a new
    // name, a reused pod IP): do not answer for it.
    Drop(DropReason::kWrongTarget);
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
  if (in.owe_refutation) {
    entries += AliveEntry(*self_);
    in.owe_refutation = false;
  }
  entries += core::AckEntry(ping.seq(), AckPayload(), own_coordinate_);
  // News rides along only to a member known at that address: the source
  // of a datagram can be forged, and a replayed ping must not turn into
  // 1,400-byte answers aimed wherever the forger likes.
  const bool known = prober != nullptr && prober->addr() == from;
  Send(std::string(from), std::move(entries), known);
}

void Swim::Impl::OnIndirectPing(Inbound& in,
                                const core::IndirectPingView& req) {
  // An honest prober asks a relay once per datagram; more would turn one
  // datagram into a fan-out of pings to addresses of the sender's choice.
  if (++in.relays > 1 || relays_.size() >= kMaxRelays) {
    Drop(DropReason::kOverloaded);
    return;
  }
  if (!networks_.Admits(req.target_addr()) ||
      !networks_.Admits(req.source_addr())) {
    Drop(DropReason::kNotAdmitted);
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

std::string Swim::Impl::AckPayload() {
  std::string payload = app_->AckPayload();
  if (payload.size() > cfg_.limits.max_ack_payload_bytes) {
    ++counters_.ack_payloads_refused;
    payload.clear();
  }
  return payload;
}

void Swim::Impl::OnAck(const Inbound& in, const core::AckView& ack) {
  const uint32_t seq = ack.seq();
  if (probe_.active && seq == probe_.seq) {
    if (!probe_.acked) {
      probe_.acked = true;
      probe_.active = false;
      awareness_.ApplyDelta(-1);
      if (Member* target = table_.Find(probe_.target); target != nullptr) {
        SetReachability(*target, Reachability::kUdp);
        // From a relay, the ack took two round trips and a relay's delay:
        // not the target's RTT (nor its payload, which relays drop).
        if (target->addr() == in.from) OnDirectAck(*target, ack);
      }
    }
    return;
  }
  if (OnTakeoverAck(seq)) return;
  auto it = relays_.find(seq);
  if (it == relays_.end()) {
    Drop(DropReason::kUnknownAck);
    return;
  }
  const uint32_t requester_seq = it->second.requester_seq;
  std::string to = std::move(it->second.requester_addr);
  relays_.erase(it);
  Send(to, core::AckEntry(requester_seq));
}

void Swim::Impl::OnDirectAck(Member& target, const core::AckView& ack) {
  const absl::Duration rtt = rt_.Now() - probe_.sent;
  table_.AddRttSample(target, rtt);
  LearnCoordinate(target, ack.coordinate(), rtt);
  std::string_view payload = ack.payload();
  if (payload.size() > cfg_.limits.max_ack_payload_bytes) {
    // The ack still proves the target lives; only its payload is refused.
    Drop(DropReason::kTooLarge);
    payload = {};
  }
  // The name is copied: the application may call back into us.
  const std::string name(target.name());
  app_->OnAckPayload(name, payload, rtt);
}

void Swim::Impl::OnNack(uint32_t seq) {
  if (probe_.active && seq == probe_.seq) {
    ++probe_.nacks;
    ++counters_.nacks_received;
    return;
  }
  Drop(DropReason::kUnknownAck);
}

void Swim::Impl::OnRelayNack(uint32_t seq) {
  auto it = relays_.find(seq);
  if (it == relays_.end() || !it->second.want_nack) return;
  it->second.want_nack = false;
  Send(it->second.requester_addr, core::NackEntry(it->second.requester_seq));
}

}  // namespace roster
