// What the application sees of one member, and the events it is told about.
#ifndef ROSTER_MEMBER_H_
#define ROSTER_MEMBER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "roster/coordinate.h"
#include "roster/types.h"  // the API's string, status and time types

namespace roster {

enum class MemberState : uint8_t { kAlive, kSuspect, kDead, kLeft };
std::string_view MemberStateName(MemberState state);

// How this member last reached another: over UDP, or only over TCP (its
// UDP probes failed and a TCP probe was answered: the member's inbound UDP
// is likely blocked).
enum class Reachability : uint8_t { kUdp, kTcpOnly };
std::string_view ReachabilityName(Reachability reachability);

enum class EventType : uint8_t {
  kJoined,     // a member is alive for the first time, or again after death
  kUpdated,    // a member changed its metadata or address
  kSuspected,  // a member stopped answering and is under suspicion
  kRecovered,  // a suspected member refuted the suspicion
  kFailed,     // a member was declared dead
  kLeft,       // a member left gracefully
  kRestarted,  // a member known alive came back as a new process (a new
               // life), at the same address or a new one: whatever it held
               // in memory is gone
  // About this member itself (event.member is Swim::Self()): news arrived
  // that others suspect it, or declared it dead. It has refuted already
  // (a higher incarnation is on its way to them), so there is no separate
  // "recovered" event: the next probes settle it. Event::accuser names the
  // member that raised the suspicion or death when the news said (empty
  // when it came from a peer's table in push-pull). Types of their own,
  // not kSuspected/kFailed, so that a handler that drops failed members
  // never drops itself; not shown as a member's last change. Frequent
  // ones mean this member's network is lossy or it runs too slowly.
  kSelfSuspected,
  kSelfFailed,
};
std::string_view EventTypeName(EventType type);

struct MemberInfo {
  std::string name;
  std::string addr;
  MemberState state = MemberState::kAlive;
  uint64_t incarnation = 0;
  std::string meta;
  // When this member last changed state, or had any other event
  // (last_change: updated, restarted).
  absl::Time state_changed;
  // This start of the member's process: a random nonzero id drawn at each
  // start (0: not known, as from builds before lives).
  uint32_t life = 0;
  Reachability reachability = Reachability::kUdp;
  EventType last_change = EventType::kJoined;  // the last event about it
  // The protocol versions this life advertised it speaks (0: not known, as
  // from builds before versions, which speak version 1).
  uint32_t protocol_min = 0;
  uint32_t protocol_max = 0;
  // The smoothed round-trip time of this member's direct UDP probes of it
  // (an EWMA with weight 1/8, the first sample as it is; relayed and TCP
  // probe acks are not counted), to microseconds; ZeroDuration until the
  // first probe is answered, and for this member itself.
  absl::Duration rtt = absl::ZeroDuration();
  // The network coordinate this member last heard from it, in the ack of
  // a direct probe (for this member itself, its own); none until then,
  // or with Config::coordinates off. EstimateRtt(a, b) compares two.
  std::optional<Coordinate> coordinate = std::nullopt;

  bool operator==(const MemberInfo&) const = default;
};

struct Event {
  EventType type;
  MemberInfo member;
  // Who declared the suspicion or death, for kSuspected, kFailed,
  // kSelfSuspected and kSelfFailed: the member the news names as its
  // source (this member's own name when its own probes or timers
  // decided); empty when the news came in a peer's table in push-pull,
  // which does not say, and for every other type.
  std::string accuser;
};

}  // namespace roster

#endif  // ROSTER_MEMBER_H_
