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
// caller runs. Every callback of NodeConfig (events, broadcasts, messages,
// application state, logs) runs on that loop thread, one at a time, and
// must not block; from inside a callback the non-blocking methods (Members,
// Lookup, Self, SetMeta, Broadcast, counters, JoinAsync, SendToAsync) may be
// called, the blocking ones (Join, Leave, SendTo) return FailedPrecondition.
// Every public method is safe to call from any thread: calls from other
// threads are handed to the loop thread and wait for its answer.
//
// With a caller's loop, the thread that calls Start() is taken to be the
// one that runs the loop: call Start() there, before or while the loop
// runs. Shutdown() and the destructor may run on any thread; the node's
// handles close as the loop goes on running (uv_run returns once they and
// the caller's own handles have closed). The blocking methods work from
// any thread but the loop's.
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
#include "roster/keyring.h"
#include "roster/member.h"
#include "roster/runtime.h"  // LogLevel
#include "roster/tags.h"     // EncodeTags and DecodeTags, for SetMeta

struct uv_loop_s;  // libuv's uv_loop_t; the header does not include uv.h

namespace roster {

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
  // Largest SendTo payload (the stream cap, swim.limits.max_stream_bytes,
  // bounds everything else that arrives over TCP).
  size_t max_message_bytes = 1 << 20;

  // DNS server for dns: and srv: seeds ("127.0.0.1:5353"); empty means the
  // system's resolver configuration.
  std::string dns_server;

  // Attach to the caller's loop instead of starting a thread (see above).
  uv_loop_s* loop = nullptr;

  // Callbacks, all on the loop thread.
  std::function<void(const Event&)> on_event;
  std::function<void(std::string_view origin, std::string_view payload)>
      on_broadcast;
  std::function<void(std::string_view from, std::string_view payload)>
      on_message;  // SendTo from member `from`
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

  // The profile's timing, and for NodeConfig the TCP timeouts to match:
  // connect and idle 5 s and whole exchanges 10 s on LAN, 10/10/30 s on
  // WAN, 1/1/2 s on Local.
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
  // interval, resolving names again each time. After Leave, rejoins as a
  // new life of this member (Swim::Join).
  absl::Status Join(const std::vector<std::string>& seeds);
  // The same without blocking: `done` runs on the loop thread (at once on
  // the calling thread for a seed that does not parse, or after Shutdown).
  void JoinAsync(const std::vector<std::string>& seeds,
                 std::function<void(absl::Status)> done);

  // Announces a graceful leave and waits until the news has been sent its
  // full retransmit count, or `timeout`. The node keeps answering probes
  // until Shutdown().
  absl::Status Leave(absl::Duration timeout);
  // Stops at once (no leave: peers will declare this member failed).
  // Idempotent; afterwards every method fails or returns nothing. A node
  // with its own thread has stopped when this returns; on a caller's loop,
  // called from another thread, it returns at once and a callback already
  // under way may still finish on the loop's thread.
  void Shutdown();

  std::vector<MemberInfo> Members() const;  // sorted by name, self included
  std::optional<MemberInfo> Lookup(std::string_view name) const;
  MemberInfo Self() const;
  size_t NumAlive() const;  // alive or suspect, self included
  int HealthScore() const;

  // Gossips new metadata (at most swim.limits.max_meta_bytes).
  absl::Status SetMeta(std::string meta);
  // Gossips `payload` to every member, best effort: it must fit in one
  // datagram (swim.packet_budget), and each member's on_broadcast sees it
  // once.
  absl::Status Broadcast(std::string payload);
  // Sends `payload` to member `name` over TCP; Ok once its on_message has
  // been called. NotFound for an unknown member, Unavailable when it cannot
  // be reached, FailedPrecondition when it has no on_message handler.
  absl::Status SendTo(std::string_view name, std::string payload);
  // The same without blocking; `done` runs on the loop thread.
  void SendToAsync(std::string_view name, std::string payload,
                   std::function<void(absl::Status)> done);

  // Starts sealing datagrams and streams with `keyring` (nullptr: stops):
  // for turning encryption on in a running plaintext cluster. Key rotation
  // needs no call, as the keyring given in the config is shared.
  absl::Status SetKeyring(std::shared_ptr<Keyring> keyring);

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
    const std::string& addr, const std::string& label = "",
    absl::Duration timeout = absl::Seconds(5),
    const Keyring* keyring = nullptr);

}  // namespace roster

#endif  // ROSTER_NODE_H_
