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
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "roster/events.h"
#include "roster/member.h"

namespace roster {

// How much a line from the core (Delegate::OnLog) matters to an operator.
enum class LogLevel : uint8_t { kDebug, kInfo, kWarning, kError };
std::string_view LogLevelName(LogLevel level);

// A timer is opaque data: the core sets it, the runtime keeps it unread
// and hands it back to Swim::HandleTimer() when it fires. Timers are never
// cancelled; the core ignores stale ones by their token. (What the fields
// mean is the core's business, lib/core/timers.h.)
struct Timer {
  uint8_t kind = 0;
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
  // `request` to the peer's Swim::HandleStream() and its answer to our
  // Swim::HandleSyncResponse(), or calls Swim::HandleSyncFailed(): exactly
  // one of them, later, for every StartSync.
  virtual void StartSync(const std::string& to, std::string request) = 0;
  virtual void After(absl::Duration delay, Timer timer) = 0;
  // Where a seed given to Swim::Join lives when it is not itself an
  // address this runtime sends to (a DNS name, say): returns true and
  // hands the answer to Swim::HandleSeedResolved() later, never from
  // inside this call; returns false when `seed` is an address. Asked on
  // Join, and again each time a member that is alone retries its seeds, so
  // a name that moves is followed.
  virtual bool ResolveSeed(const std::string& seed) {
    (void)seed;
    return false;
  }
};

// What became of one Swim::Join call: as soon as one seed has answered a
// push-pull (unless Config::join_waits_for_all_seeds), otherwise once every
// seed has answered, failed or been found to be this member itself.
struct JoinResult {
  uint64_t token = 0;  // as given to Join
  // Ok once a seed answered a push-pull (or every seed was this member).
  // Otherwise AlreadyExists when a seed showed a live member holding this
  // member's name at another address (the message names that address),
  // or Unavailable naming each seed and why it failed.
  absl::Status status;
  // "seed (why)" for each seed that failed, also when status is Ok; with
  // an early Ok, only those that had failed by then (the later failures
  // are logged, Delegate::OnLog).
  std::vector<std::string> failed;
};

// What an application message asks of its receiver: to be handled
// (Node::SendTo), or to be answered with a response (Node::Request).
enum class AppMessageKind : uint8_t { kMessage, kRequest };
// The receiver's answer to an application message: the response (ignored
// for a kMessage), or why it was refused.
using AppAnswer = std::function<void(absl::StatusOr<std::string> response)>;

// The application's hooks. Every call happens on the thread that drives the
// Swim instance, from inside one of its Handle* or API calls.
class Delegate {
 public:
  virtual ~Delegate() = default;
  virtual void OnEvent(const Event& event) { (void)event; }
  // An application broadcast, once per (origin, origin's life, id);
  // `origin` is the name of the member that broadcast it.
  virtual void OnBroadcast(std::string_view origin, std::string_view payload) {
    (void)origin;
    (void)payload;
  }
  // State exchanged in push-pull, on join and periodically.
  virtual std::string LocalState(bool join) {
    (void)join;
    return {};
  }
  virtual void MergeRemoteState(std::string_view state, bool join) {
    (void)state;
    (void)join;
  }
  // An application message from member `from` (Node::SendTo). Its status
  // goes back to the sender: Ok once handled; by default, a refusal.
  virtual absl::Status OnMessage(std::string_view from,
                                 std::string_view payload) {
    (void)from;
    (void)payload;
    return absl::FailedPreconditionError("this member has no message handler");
  }
  // An application message or request from member `from`. `answer` takes
  // what goes back to the sender: call it once, on the thread that drives
  // the Swim, now or later, and not after the Swim is gone (later calls
  // are ignored). By default a message goes to OnMessage and is answered
  // with its status at once, and a request is refused (FailedPrecondition).
  virtual void OnAppMessage(std::string_view from, std::string_view payload,
                            AppMessageKind kind, AppAnswer answer) {
    if (kind == AppMessageKind::kRequest) {
      answer(
          absl::FailedPreconditionError("this member has no request handler"));
      return;
    }
    absl::Status handled = OnMessage(from, payload);
    if (handled.ok()) {
      answer(std::string());
    } else {
      answer(std::move(handled));
    }
  }
  // The outcome of a Swim::Join (see JoinResult). Called once per Join.
  virtual void OnJoinDone(const JoinResult& result) { (void)result; }
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
  // A small payload for every ack this member sends in answer to a ping
  // (memberlist's PingDelegate): called each time, so it must be quick. One
  // over Limits::max_ack_payload_bytes is not sent (the ack goes without
  // it), counted in Counters::ack_payloads_refused.
  virtual std::string AckPayload() { return {}; }
  // The ack of one of this member's direct UDP probes arrived from `from`
  // (a member name), `rtt` after the ping went out, with the payload its
  // AckPayload gave (empty if none). Acks relayed by indirect probes and TCP
  // probe acks carry no payload and are not reported: their time is not the
  // round trip to the member.
  virtual void OnAckPayload(std::string_view from, std::string_view payload,
                            absl::Duration rtt) {
    (void)from;
    (void)payload;
    (void)rtt;
  }
  // A user event (Swim::UserEvent), once per origin, origin's life,
  // Lamport time and name; this member's own too.
  virtual void OnUserEvent(const UserEvent& event) { (void)event; }
  // A query that selects this member (its own included). `answer` takes
  // the response: call it once, on the thread that drives the Swim, now or
  // later (an answer after query.deadline is not sent), and not after the
  // Swim is gone. By default there is no response (an acknowledgement, if
  // asked, has gone already).
  virtual void OnQuery(const QueryRequest& query, QueryAnswer answer) {
    (void)query;
    answer(std::nullopt);
  }
  // One of this member's queries (Swim::Query's token) was acknowledged,
  // or answered, by `from`: once per member, as it arrives.
  virtual void OnQueryAck(uint64_t token, std::string_view from) {
    (void)token;
    (void)from;
  }
  virtual void OnQueryResponse(uint64_t token, std::string_view from,
                               std::string_view payload) {
    (void)token;
    (void)from;
    (void)payload;
  }
  // One of this member's queries reached its deadline: what it got.
  virtual void OnQueryDone(const QueryResult& result) { (void)result; }
  // A line for the operator: join attempts and their outcomes, name
  // conflicts and takeovers, members first probed over TCP, and inputs
  // dropped (per reason at most one line per 10 s of the Runtime's clock,
  // with the count since the last line). Called rarely; the message has no
  // trailing newline.
  virtual void OnLog(LogLevel level, std::string_view message) {
    (void)level;
    (void)message;
  }
};

}  // namespace roster

#endif  // ROSTER_RUNTIME_H_
