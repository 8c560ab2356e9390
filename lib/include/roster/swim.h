// roster::Swim: one member's SWIM + Lifeguard protocol state machine.
//
// Swim does no I/O. It reacts to inputs (a datagram arrived, a push-pull
// exchange arrived or finished, a timer fired, the application called Join,
// Leave, Broadcast or SetMeta) and acts only through its Runtime and
// Delegate. It is not thread-safe: one thread drives it, and that thread is
// the one its Runtime and Delegate are called on.
//
// Applications normally use roster::Node (lib/net), which drives a Swim over
// real sockets; the simulator drives thousands of them on one virtual clock.
#ifndef ROSTER_SWIM_H_
#define ROSTER_SWIM_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "roster/config.h"
#include "roster/counters.h"
#include "roster/keyring.h"
#include "roster/member.h"
#include "roster/runtime.h"
#include "roster/types.h"  // the API's string, status and time types

namespace roster {

class Swim {
 public:
  // Validates `config`. `runtime` and `delegate` (which may be null) must
  // outlive the Swim. Nothing is sent until Start().
  static absl::StatusOr<std::unique_ptr<Swim>> Create(Config config,
                                                      Runtime* runtime,
                                                      Delegate* delegate);
  ~Swim();
  Swim(const Swim&) = delete;
  Swim& operator=(const Swim&) = delete;

  // Declares this member alive and starts its timers.
  void Start();

  // Inputs from the runtime.
  void HandlePacket(std::string_view from, std::string_view bytes);
  // One TCP request, its whole frame in and the whole reply frame out:
  // push-pull (merges the request, answers with our state), this member's
  // list (as `roster members` asks), or an application message or
  // request (Delegate::OnAppMessage). A request that is unreadable,
  // malformed, from
  // outside the allowed networks or refused gets an error reply, counted
  // in Counters::streams_refused.
  //
  // With this form an application message or request must be answered
  // from inside Delegate::OnAppMessage; one answered later is refused
  // ("its handler answers later").
  std::string HandleStream(std::string_view from, std::string_view frame);
  // The same, for a runtime that can write the reply later: `reply` gets
  // the reply frame once, from inside this call for every kind but an
  // application message or request, whose reply waits for the
  // Delegate::OnAppMessage answer. `keep_open` says whether the connection
  // may carry another request: true after an application message or
  // request was answered (its sender keeps the connection for the next
  // one), false after anything else (close once the reply is written).
  using StreamReply = std::function<void(std::string frame, bool keep_open)>;
  void HandleStream(std::string_view from, std::string_view frame,
                    StreamReply reply);
  void HandleSyncResponse(std::string_view from, std::string_view response);
  // `why` says what went wrong, for JoinResult's messages.
  void HandleSyncFailed(
      std::string_view to,
      const absl::Status& why = absl::UnavailableError("push-pull failed"));
  void HandleTimer(const Timer& timer);
  // The addresses of a seed the runtime took to resolve
  // (Runtime::ResolveSeed), or why there are none. They replace the seed's
  // earlier addresses.
  void HandleSeedResolved(
      std::string_view seed,
      const absl::StatusOr<std::vector<std::string>>& addrs);

  // The request frame carrying `payload` to another member's
  // Delegate::OnAppMessage as a message (as Node::SendTo sends it).
  std::string MessageRequest(std::string_view payload);
  // Reads the reply to such a request: Ok; the receiver's refusal with its
  // code (FailedPrecondition for a build that says only why); or DataLoss
  // when it cannot be read.
  absl::Status ReadReply(std::string_view frame);
  // The request frame asking another member's Delegate::OnAppMessage for a
  // response to `payload` (as Node::Request sends it).
  std::string RequestFrame(std::string_view payload);
  // Reads the reply to such a request: the response, or the failure as
  // ReadReply words it (a build before requests refuses them as an
  // unknown request kind: FailedPrecondition).
  absl::StatusOr<std::string> ReadResponse(std::string_view frame);

  // Application calls.
  // Starts a push-pull exchange with every seed: an address, or a name the
  // runtime resolves (Runtime::ResolveSeed). Seeds that are this member's
  // own address are skipped. Every seed is tried; the newest 64 (each with
  // at most 64 addresses) are remembered and, while this member is alone,
  // retried every reconnect interval (and, when it is not, about once an
  // interval across the cluster, the seeds not known as live members, so
  // that separate groups merge). Delegate::OnJoinDone reports the outcome
  // with `token`: at the first seed's answer (the rest go on, their
  // outcomes logged through Delegate::OnLog), or with
  // Config::join_waits_for_all_seeds once every seed has settled.
  //
  // A reply that shows another life holding this member's name live at
  // another address starts a takeover check: the holder is pinged, then
  // pinged through up to Config::indirect_checks members of the reply. If
  // it answers, the name is taken: the outcome is AlreadyExists and
  // Counters::name_conflicts counts it; if not, this life replaces it
  // (Counters::takeovers) and the seed is asked again. A reply from a
  // holder that does not say its life is not merged, with AlreadyExists.
  //
  // After Leave, Join starts a new life of this member (a new life id,
  // broadcasts numbered from 1 again): peers see it as a member that
  // joined.
  void Join(const std::vector<std::string>& seeds, uint64_t token = 0);
  // Announces a graceful leave; LeaveComplete() turns true once the news
  // has been sent its full retransmit count (or nobody is left to tell).
  void Leave();
  bool LeaveComplete() const;
  // An operator's removal of a failed member (Serf's force-leave): marks
  // it left and gossips that as a leave, so that every member stops
  // trying to reach it. With `prune`, every member also forgets it from
  // its table at once (and ignores stale news of that life) instead of
  // keeping it as left for Config::dead_retention. NotFound for a name the
  // table does not hold; FailedPrecondition for this member itself (use
  // Leave) and for a member alive or suspect, which would refute it.
  absl::Status ForceLeave(std::string_view name, bool prune = false);
  // Gossips an application payload to every member, best effort.
  absl::Status Broadcast(std::string payload);
  // Sends a user event (roster/events.h) to every member, this one
  // included (Delegate::OnUserEvent), stamped with the next time of this
  // member's event clock. InvalidArgument when the name is empty or not
  // text, or name and payload are over Limits::max_user_event_bytes or do
  // not fit one datagram; FailedPrecondition before Start or after Leave.
  absl::Status UserEvent(std::string_view name, std::string payload,
                         bool coalesce = false);
  // Sends a query (roster/events.h) to every member the filter selects,
  // this one included. Acknowledgements and responses come to
  // Delegate::OnQueryAck and OnQueryResponse with `token` as they arrive,
  // and the summary to OnQueryDone at the deadline. InvalidArgument for a
  // name, size, filter (a regex RE2 refuses), relay factor or timeout out
  // of bounds; ResourceExhausted with Limits::max_pending_queries of this
  // member's queries waiting; FailedPrecondition before Start or after
  // Leave.
  absl::Status Query(const QueryParams& params, uint64_t token = 0);
  // The Lamport clocks of user events and queries, and a restart's way to
  // go on from those of its previous life (a clock never goes back).
  LamportClocks Clocks() const;
  void RestoreClocks(const LamportClocks& clocks);
  absl::Status SetMeta(std::string meta);
  // Starts sealing (or, with nullptr, stops) with `keyring` from now on:
  // how a running plaintext cluster turns encryption on (see
  // roster/keyring.h). Rotating keys needs no call: the keyring is shared.
  void SetKeyring(std::shared_ptr<Keyring> keyring);

  // Adds members believed alive without announcing them or raising
  // events: for a process restoring a snapshot of its view, and for
  // simulations that start converged. Members already known, members that
  // fail validation and members past Limits::max_members are skipped.
  void Preload(const std::vector<MemberInfo>& members);

  // Queries.
  std::vector<MemberInfo> Members() const;
  std::optional<MemberInfo> Lookup(std::string_view name) const;
  size_t NumAlive() const;  // alive or suspect, this member included
  size_t Count(MemberState state) const;  // this member included
  MemberInfo Self() const;
  // Lifeguard's local health score: 0 is healthy; timeouts scale by 1+score.
  int HealthScore() const;
  const Counters& counters() const;
  // The gossip queues' lengths (QueueDepths' first three fields).
  QueueDepths queue_depths() const;
  const Config& config() const;
  // True from the first successful push-pull with a seed or any peer.
  bool Joined() const;
  // Whether `addr` lies in Config::allowed_networks (always, without
  // them): the admission rule every input meets, for a runtime that turns
  // connections away before reading them.
  bool Admits(std::string_view addr) const;

 private:
  class Impl;
  explicit Swim(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace roster

#endif  // ROSTER_SWIM_H_
