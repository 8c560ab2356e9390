// The seam between the protocol core and the world it runs in.
//
// The core (roster::Swim) never touches a socket, a clock or a random
// source: it asks its Runtime. lib/net implements Runtime over libuv; sim/
// implements it over a virtual clock and a modelled network, which is why
// every simulated run replays exactly from its seed. The application's side
// (events, broadcasts, state for push-pull) is the Delegate.
#ifndef ROSTER_RUNTIME_H_
#define ROSTER_RUNTIME_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "roster/member.h"

namespace roster {

enum class TimerKind : uint8_t {
  kProbe,            // start the next protocol period
  kProbeTimeout,     // direct ping unanswered: go indirect (token = seq)
  kProbeDeadline,    // end of the period: suspect if still unanswered
  kSuspicion,        // a suspicion may have run out (token = generation)
  kSuspicionNotice,  // still suspect: tell the member (token = incarnation)
  kGossip,
  kPushPull,
  kReconnect,
  kRelayNack,    // a relayed ping is late: tell the requester (nack)
  kRelayExpire,  // stop waiting for a relayed ping
};

// A timer is plain data: the runtime hands it back to Swim::HandleTimer()
// when it fires. Timers are never cancelled; the core ignores stale ones by
// their token.
struct Timer {
  TimerKind kind = TimerKind::kProbe;
  uint64_t token = 0;
  std::string member;
};

class Runtime {
 public:
  virtual ~Runtime() = default;

  virtual absl::Time Now() = 0;
  virtual uint64_t Random() = 0;
  // Best effort, like UDP: the datagram may be lost, late or duplicated.
  virtual void SendPacket(const std::string& to, std::string bytes) = 0;
  // A reliable request-response exchange (TCP push-pull). The runtime gives
  // `request` to the peer's Swim::HandleSyncRequest() and its answer to our
  // Swim::HandleSyncResponse(), or calls Swim::HandleSyncFailed().
  virtual void StartSync(const std::string& to, std::string request) = 0;
  virtual void After(absl::Duration delay, Timer timer) = 0;
};

// The application's hooks. Every call happens on the thread that drives the
// Swim instance, from inside one of its Handle* or API calls.
class Delegate {
 public:
  virtual ~Delegate() = default;
  virtual void OnEvent(const Event& event) { (void)event; }
  virtual void OnBroadcast(std::string_view payload) { (void)payload; }
  // State exchanged in push-pull, on join and periodically.
  virtual std::string LocalState(bool join) {
    (void)join;
    return {};
  }
  virtual void MergeRemoteState(std::string_view state, bool join) {
    (void)state;
    (void)join;
  }
  // Admission: asked before a member enters the table (from gossip or a
  // push-pull) and before a known member moves to a new address. False
  // keeps it out: no event, not gossiped on, its push-pull requests
  // refused; the news is counted as DropReason::kNotAdmitted. Asked again
  // each time news of it arrives, so it must be quick and may change its
  // mind later.
  virtual bool AllowMember(const MemberInfo& member) {
    (void)member;
    return true;
  }
};

}  // namespace roster

#endif  // ROSTER_RUNTIME_H_
