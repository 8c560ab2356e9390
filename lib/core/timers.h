// The core's timers: what each kind of roster::Timer means. The public
// Timer is opaque, so a change here never changes the public headers.
#ifndef ROSTER_CORE_TIMERS_H_
#define ROSTER_CORE_TIMERS_H_

#include <cstdint>
#include <string>
#include <utility>

#include "roster/runtime.h"

namespace roster::core {

// The periodic kinds (kProbe, kPushPull, kReconnect) carry the epoch of
// the life that started them as their token.
enum class TimerKind : uint8_t {
  kProbe,            // start the next protocol period
  kProbeTimeout,     // direct ping unanswered: go indirect (token = seq)
  kProbeDeadline,    // end of the period: suspect if still unanswered
  kSuspicion,        // a suspicion may have run out (token = generation)
  kSuspicionNotice,  // still suspect: tell the member (token = incarnation)
  kGossip,
  kPushPull,
  kReconnect,          // alone: retry the seeds; else maybe a failed member
  kRelayNack,          // a relayed ping is late: tell the requester (nack)
  kRelayExpire,        // stop waiting for a relayed ping
  kTakeover,           // a takeover check's ping is unanswered (token = seq)
  kCoalesce,           // deliver the coalesced user events (token = epoch)
  kQueryDeadline,      // one of our queries is over (token = its id)
  kAnsweringDeadline,  // too late to answer a query (token = its key)
  kQueryRetry,         // ask the silent members of a query again (id)
};

inline Timer MakeTimer(TimerKind kind, uint64_t token = 0,
                       std::string member = {}) {
  return Timer{static_cast<uint8_t>(kind), token, std::move(member)};
}

inline TimerKind KindOf(const Timer& timer) {
  return static_cast<TimerKind>(timer.kind);
}

}  // namespace roster::core

#endif  // ROSTER_CORE_TIMERS_H_
