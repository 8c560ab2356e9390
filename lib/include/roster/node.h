// roster::Node: one cluster member over real sockets.
//
// A Node drives a roster::Swim with libuv: UDP for the protocol datagrams,
// TCP for push-pull anti-entropy, reliable messages (SendTo) and member
// queries, and c-ares for DNS seeds.
//
//   roster::NodeConfig config = roster::NodeConfig::ForProfile(
//       roster::Profile::kLan, "cache-7", "0.0.0.0:7946");
//   config.swim.advertise_addr = "10.0.0.7:7946";
//   config.on_event = [](const roster::Event& e) { ... };
//   auto node = roster::Node::Start(std::move(config));
//   if (!node.ok()) return node.status();  // "... already in use ...", ...
//   absl::Status joined = (*node)->Join({"10.0.0.1:7946"});
//
// Threads. A Node runs on one libuv loop: by default its own, on a thread
// it starts and joins; or a caller's loop (NodeConfig::loop), which the
// caller runs. That thread answers probes, so nothing the application does
// may hold it up:
//
//  - on_event, on_broadcast, on_user_event, merge_remote_state, on_log
//    and a QueryAsync's handlers run on the node's delivery thread (its own,
//    started with the first call), one at a time, in the order the protocol
//    raised them, each with copies of what it is told. They may take as long as
//    they like, call any method (Join, Leave, SendTo and Request block only the
//    delivery thread), and shut the node down or destroy it. While one runs,
//    later calls wait in a queue of at most max_pending_callbacks; past that
//    they are dropped and counted (NetCounters::callbacks_dropped), never
//    waited for. By the time a callback runs, the reads below already show what
//    it is told.
//  - on_message, on_request and on_query run on the node's handlers'
//    thread, one at
//    a time, in the order the calls arrived, and may take as long as they
//    like and call any method: the caller's SendTo or Request waits for
//    the handler (within its own deadline), the loop does not. Calls past
//    max_pending_messages waiting are refused: the sender gets
//    ResourceExhausted (NetCounters::messages_overflowed).
//  - local_state and allow_member return what the protocol needs at once,
//    so they run on the loop thread, as memberlist's delegates do: they
//    must be quick (bounded: no I/O, no lock held long by another thread)
//    and must not call Join, Leave, SendTo, Request or Shutdown, nor
//    destroy the node. The same holds for the `done` of JoinAsync,
//    SendToAsync and RequestAsync, which run there too.
//
// Every public method is safe to call from any thread. The reads (Members,
// Lookup, Self, NumAlive, HealthScore, counters) never block: they answer
// from a snapshot the loop thread publishes at the end of each turn of the
// loop that changed anything, so they lag the loop by at most the turn
// under way (a change of another member's incarnation that raises no event
// shows within a second, or n/1000 seconds for n members beyond a
// thousand). SetMeta, Broadcast and SetKeyring hand their work to the loop
// thread and wait for it to run that one task (behind the turn under way,
// never behind a delivery-thread callback), and a read after they return
// sees their effect. JoinAsync, SendToAsync and RequestAsync never block.
// The blocking calls are bounded: Join by the DNS and stream timeouts and a
// takeover check's probes, Leave by its timeout, SendTo and Request by
// their own timeout; called on the loop thread (a caller's loop) they
// return FailedPrecondition. Shutdown() and the destructor wait for a
// delivery-thread callback or a handler under way to return, except from
// inside one or on the loop thread: do not call them holding a lock that a
// callback waits for.
//
// With a caller's loop, the thread that calls Start() is taken to be the
// one that runs the loop: call Start() there, before or while the loop
// runs. Shutdown() and the destructor may run on any thread; the node's
// handles close as the loop goes on running (uv_run returns once they and
// the caller's own handles have closed).
#ifndef ROSTER_NODE_H_
#define ROSTER_NODE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "roster/config.h"
#include "roster/counters.h"
#include "roster/events.h"
#include "roster/keyring.h"
#include "roster/member.h"
#include "roster/runtime.h"  // LogLevel
#include "roster/tags.h"     // EncodeTags and DecodeTags, for SetMeta
#include "roster/types.h"    // the API's string, status and time types

struct uv_loop_s;  // libuv's uv_loop_t; the header does not include uv.h

namespace roster {

// Which members Node::Members lists.
enum class MemberFilter : uint8_t {
  kLive,  // alive or suspect: the members to talk to (memberlist's Members)
  kAll,   // every state, failed and left members too
};

struct NodeConfig {
  // Identity, timing and limits. swim.advertise_addr is where peers reach
  // this member ("1.2.3.4:7946" or "[v6]:7946"); empty means the bind
  // address, or with a wildcard bind the first non-loopback interface
  // address. A port of 0 in it means the port actually bound.
  Config swim;
  // Where the UDP and TCP sockets listen, both on the same port. Port 0
  // picks a free port (see Node::addr()). "[::]:PORT" is dual-stack.
  std::string bind_addr = "0.0.0.0:7946";

  // TCP: connecting, a silent peer, and a whole exchange.
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration idle_timeout = absl::Seconds(5);
  absl::Duration stream_timeout = absl::Seconds(10);
  size_t max_inbound_streams = 128;
  // Largest SendTo or Request payload, and Request response (the stream
  // cap, swim.limits.max_stream_bytes, bounds everything else that arrives
  // over TCP).
  size_t max_message_bytes = 1 << 20;
  // SendTo and Request keep at most this many connections open to each
  // member (at least 1), each carrying one call after another; calls past
  // them wait for one to be free. One unused for connection_idle_timeout
  // is closed. A member keeps an inbound connection that has been answered
  // open for twice that, waiting for the next request, so that the sender
  // is the one to close it.
  size_t message_connections = 2;
  absl::Duration connection_idle_timeout = absl::Seconds(15);
  // Messages and requests received wait for the handlers' thread in a
  // queue of at most this many (at least 1), holding at most 16 times
  // max_message_bytes of payloads; past either the sender gets
  // ResourceExhausted (NetCounters::messages_overflowed).
  size_t max_pending_messages = 1024;

  // DNS server for dns: and srv: seeds ("127.0.0.1:5353"); empty means the
  // system's resolver configuration.
  std::string dns_server;

  // Attach to the caller's loop instead of starting a thread (see above).
  uv_loop_s* loop = nullptr;

  // Callbacks (see Threads above): on_event, on_broadcast,
  // merge_remote_state and on_log on the delivery thread, in order;
  // on_message and on_request on the handlers' thread; the others on the
  // loop thread, and quick.
  std::function<void(const Event&)> on_event;
  std::function<void(std::string_view origin, std::string_view payload)>
      on_broadcast;
  // A SendTo from member `from`; the sender's call returns Ok once this
  // has returned. On the handlers' thread.
  std::function<void(std::string_view from, std::string_view payload)>
      on_message;
  // A Request from member `from`: the response (at most max_message_bytes)
  // goes back to the caller, and so does an error, with its code and
  // message. On the handlers' thread.
  std::function<absl::StatusOr<std::string>(std::string_view from,
                                            std::string_view payload)>
      on_request;
  // User events (Node::UserEvent, roster/events.h), this node's own too.
  // On the delivery thread.
  std::function<void(const UserEvent&)> on_user_event;
  // A query that selects this node (Node::Query): the response, or nullopt
  // for none; one returned after query.deadline is not sent. Unset, the
  // node gives no response (it still acknowledges when asked). On the
  // handlers' thread, behind the messages and requests waiting there.
  std::function<std::optional<std::string>(const QueryRequest& query)> on_query;
  // Application state exchanged in push-pull (on join and periodically).
  std::function<std::string(bool join)> local_state;
  std::function<void(std::string_view state, bool join)> merge_remote_state;
  // Lines for the operator, from the node and from the protocol core
  // (Delegate::OnLog: joins, name conflicts, TCP fallback, drops).
  std::function<void(LogLevel, std::string_view)> on_log;
  // A small payload for each ack this node sends (at most
  // swim.limits.max_ack_payload_bytes; a bigger one is not sent), and the
  // payload and round-trip time of each direct probe of another member
  // that it answered (Delegate::AckPayload, Delegate::OnAckPayload).
  std::function<std::string()> ack_payload;
  std::function<void(std::string_view from, std::string_view payload,
                     absl::Duration rtt)>
      on_ack_payload;
  // Admission (Delegate::AllowMember): false keeps a member out of the
  // table. Unset admits everyone (within swim.allowed_networks).
  std::function<bool(const MemberInfo&)> allow_member;
  // The snapshot file (Serf's -snapshot; doc/snapshot_format.md): when
  // set, the node records there, at most once a second and at Leave and
  // Shutdown, the members it knows alive, its own life and incarnation and
  // whether it left, from a thread of its own (the protocol never waits
  // for the disk). Started again with the same file, it starts a new life
  // that names the recorded one as its predecessor (so peers take it at
  // once, wherever it now listens), above the recorded incarnation, and
  // joins the members it knew on its own, no seeds needed; seeds given to
  // Join are tried too. A file that is damaged or from another version or
  // member is logged (on_log), moved aside to PATH.bad, and the node
  // starts as if there were none. The directory must exist.
  std::string snapshot_path;
  // Whether a node whose snapshot file says it left gracefully rejoins on
  // its own when started again (Serf's rejoin_after_leave); by default it
  // waits for a Join.
  bool rejoin_after_leave = false;

  // Calls of the delivery thread's callbacks that may wait while one runs;
  // past that, new ones are dropped and counted. At least 1.
  size_t max_pending_callbacks = 10000;

  // The profile's timing, and for NodeConfig the TCP timeouts to match:
  // connect and idle 5 s and whole exchanges 10 s on LAN, 10/10/30 s on
  // WAN, 1/1/2 s on Local; connection_idle_timeout 15 s on LAN, 30 s on
  // WAN, 3 s on Local.
  static NodeConfig ForProfile(Profile profile, std::string name,
                               std::string bind_addr);
};

class Node {
 public:
  // Binds the sockets and starts the member (alone until Join). Errors name
  // the cause: InvalidArgument for a bad config or address, AlreadyExists
  // when the port is in use, FailedPrecondition when no address can be
  // advertised.
  static absl::StatusOr<std::unique_ptr<Node>> Start(NodeConfig config);
  // Shutdown() without a leave.
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Joins through `seeds`: "HOST:PORT", "[V6]:PORT", "dns:NAME:PORT" (every
  // A and AAAA record) or "srv:_service._proto.NAME" (SRV records). Seeds
  // that are this node's own address are skipped. Returns Ok as soon as
  // one seed has answered a push-pull: a seed that hangs does not hold the
  // join, and the other seeds' exchanges go on in the background (their
  // failures go to on_log). Otherwise, once every resolved seed has failed
  // (bounded by the DNS and stream timeouts, and a takeover check's probe
  // times): Unavailable naming every seed and why it failed, or
  // AlreadyExists if a live member holds this node's name; InvalidArgument
  // at once for a seed that does not parse. With
  // swim.join_waits_for_all_seeds it returns only once every seed has
  // answered or failed, Ok if any answered. Either way the node keeps
  // running and, while it is alone, retries the seeds every reconnect
  // interval, resolving names again each time. When it returns, the reads
  // show the members learnt; the callbacks about them (on_event,
  // merge_remote_state) are queued by then and may still be on their way.
  // After Leave, rejoins as a new life of this member (Swim::Join).
  // Callable from a callback on the delivery thread; FailedPrecondition on
  // the loop thread.
  absl::Status Join(const std::vector<std::string>& seeds);
  // The same without blocking: `done` runs on the loop thread (at once on
  // the calling thread for a seed that does not parse, or after Shutdown).
  void JoinAsync(const std::vector<std::string>& seeds,
                 std::function<void(absl::Status)> done);

  // Announces a graceful leave and waits until the news has been sent its
  // full retransmit count, or `timeout`. The node keeps answering probes
  // until Shutdown(). FailedPrecondition on the loop thread.
  absl::Status Leave(absl::Duration timeout);
  // Removes a failed member now (Serf's force-leave; Swim::ForceLeave):
  // every member marks it left, or with `prune` forgets it at once.
  // NotFound for an unknown name, FailedPrecondition for a member alive
  // or suspect, or this node itself.
  absl::Status ForceLeave(std::string_view name, bool prune = false);
  // Stops at once (no leave: peers will declare this member failed).
  // Idempotent; afterwards every method fails or returns nothing, and the
  // callbacks still queued for the delivery thread are dropped. A node
  // with its own thread has stopped when this returns, and so has any
  // delivery-thread callback under way, except when called from inside
  // one: then it returns at once, and the node may be destroyed there too.
  // On a caller's loop, called from another thread, it returns at once
  // and a loop-thread callback under way may still finish; called on the
  // loop thread, it does not wait for the delivery thread. Messages and
  // requests still waiting for their handler are dropped.
  void Shutdown();

  // Reads: from the latest snapshot, never waiting (see Threads above);
  // after Shutdown() they return nothing.
  //
  // The live members (alive or suspect), or with MemberFilter::kAll every
  // member the table holds (failed and left ones too, until
  // swim.dead_retention passes); sorted by name, this member included (in
  // the live ones until it has left).
  std::vector<MemberInfo> Members(
      MemberFilter filter = MemberFilter::kLive) const;
  // The member named `name` in any state; nullopt if the table has none.
  std::optional<MemberInfo> Lookup(std::string_view name) const;
  MemberInfo Self() const;
  // The round trip between members `a` and `b` (either may be this one)
  // that their network coordinates predict (roster/coordinate.h):
  // NotFound when the table holds no member of that name, or holds no
  // coordinate for it yet (it has not answered a direct probe, or runs
  // with coordinates off, or a build before them).
  absl::StatusOr<absl::Duration> EstimateRtt(std::string_view a,
                                             std::string_view b) const;
  size_t NumAlive() const;  // alive or suspect, self included
  // Lifeguard's local health: 0 is healthy; timeouts scale by 1 + score.
  int HealthScore() const;

  // Gossips new metadata (at most swim.limits.max_meta_bytes).
  absl::Status SetMeta(std::string meta);
  // Gossips `payload` to every member, best effort: it must fit in one
  // datagram (swim.packet_budget), and each member's on_broadcast sees it
  // once.
  absl::Status Broadcast(std::string payload);
  // Sends a user event to every member (on_user_event), this node
  // included: Swim::UserEvent's statuses, or Cancelled after Shutdown.
  absl::Status UserEvent(std::string_view name, std::string payload,
                         bool coalesce = false);
  // Sends a query (roster/events.h) and waits for its deadline: what it
  // got, or the refusal Swim::Query words (InvalidArgument for a bad
  // name, size, filter, relay factor or timeout; ResourceExhausted with
  // too many queries waiting), or Cancelled when the node shuts down
  // first. FailedPrecondition on the loop thread.
  absl::StatusOr<QueryResult> Query(const QueryParams& params);
  // The same without blocking. on_ack and on_response (either may be
  // unset) hear each member's acknowledgement and response as they come,
  // and on_done the outcome: all on the delivery thread, in that order,
  // except that on_done runs at once on the calling thread for a query
  // refused or a node shut down.
  struct QueryHandlers {
    std::function<void(std::string_view from)> on_ack;
    std::function<void(std::string_view from, std::string_view payload)>
        on_response;
    std::function<void(absl::StatusOr<QueryResult>)> on_done;
  };
  void QueryAsync(const QueryParams& params, QueryHandlers handlers);
  // Sends `payload` to member `name` over TCP and waits at most `timeout`
  // (by default NodeConfig::stream_timeout) for its answer. Connections to
  // a member are reused (NodeConfig::message_connections). What the status
  // says of delivery:
  //   Ok: the member's on_message has run and returned.
  //   Not delivered (on_message has not run and will not):
  //     NotFound: no member of that name is known.
  //     InvalidArgument: `payload` is over max_message_bytes (ours, or the
  //       receiver's), or `timeout` is not positive.
  //     FailedPrecondition: the member has no on_message handler.
  //     ResourceExhausted: the member's queue of messages waiting for its
  //       handler is full (NodeConfig::max_pending_messages, in number
  //       or in bytes), or 4,096
  //       calls already wait here for a connection to it.
  //     Unavailable, when the member is known to have failed or left.
  //   Not known to be delivered (on_message may have run, or may still):
  //     DeadlineExceeded: no answer within `timeout`. An answer that comes
  //       later is discarded: a call reports exactly one outcome.
  //     Unavailable: the member could not be reached or the connection
  //       broke (the message says which).
  //     Cancelled: this node shut down.
  // A message is handled at most once, save one case: a call sent on a
  // reused connection that the member closes before answering is sent once
  // more on a new connection, and a member that restarted at once at the
  // same address could then handle it as a new process.
  absl::Status SendTo(std::string_view name, std::string payload);
  absl::Status SendTo(std::string_view name, std::string payload,
                      absl::Duration timeout);
  // The same without blocking; `done` runs once, on the loop thread (or at
  // once on the calling thread after Shutdown).
  void SendToAsync(std::string_view name, std::string payload,
                   std::function<void(absl::Status)> done);
  void SendToAsync(std::string_view name, std::string payload,
                   absl::Duration timeout,
                   std::function<void(absl::Status)> done);

  // Asks member `name` for a response to `payload`: what its on_request
  // returns, within `timeout` (by default NodeConfig::stream_timeout). The
  // statuses are SendTo's, FailedPrecondition also when the member has no
  // on_request handler or is a build from before requests ("unknown
  // request kind"), InvalidArgument also when the response is over
  // max_message_bytes (the handler has run, then); an error on_request
  // returns comes with its own code and message ("... it refused: ...").
  absl::StatusOr<std::string> Request(std::string_view name,
                                      std::string payload);
  absl::StatusOr<std::string> Request(std::string_view name,
                                      std::string payload,
                                      absl::Duration timeout);
  // The same without blocking; `done` runs once, on the loop thread (or at
  // once on the calling thread after Shutdown).
  void RequestAsync(std::string_view name, std::string payload,
                    absl::Duration timeout,
                    std::function<void(absl::StatusOr<std::string>)> done);

  // Starts sealing datagrams and streams with `keyring` (nullptr: stops):
  // for turning encryption on in a running plaintext cluster. Key rotation
  // needs no call, as the keyring given in the config is shared.
  absl::Status SetKeyring(std::shared_ptr<Keyring> keyring);

  // The protocol's and the network's counters, as of the latest snapshot
  // (lagging the loop by at most the turn under way); the callback counts
  // (NetCounters::callbacks_delivered, callbacks_dropped) and the Node's
  // own queues (QueueDepths::callbacks, messages) are exact.
  NodeCounters counters() const;
  const std::string& name() const;
  const std::string& addr() const;  // the advertised address

 private:
  class Impl;  // lib/net/node_impl.h
  explicit Node(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// Ok if `seed` is in one of the forms Node::Join takes; otherwise
// InvalidArgument with a message naming it and the forms.
absl::Status ValidateSeed(std::string_view seed);

// Asks the member at `addr` ("HOST:PORT") for its member list over TCP, as
// `roster members` does. `label` and `keyring` must match the cluster's.
absl::StatusOr<std::vector<MemberInfo>> QueryMembers(
    std::string_view addr, std::string_view label = "",
    absl::Duration timeout = absl::Seconds(5),
    const Keyring* keyring = nullptr);

}  // namespace roster

#endif  // ROSTER_NODE_H_
