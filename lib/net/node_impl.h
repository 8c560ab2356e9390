// Node::Impl: what a roster::Node is behind its thread-safe face. The
// protocol (a Swim) and the sockets (a UvRuntime) each know nothing of the
// other; this is where they are put together, the application's callbacks
// become the Swim's Delegate, and the calls that wait (Join, Leave,
// SendTo) find their answers. Everything here runs on the loop thread
// (Node, node.cc, hands calls over to it through a LoopThread) but three
// parts: the callbacks that return nothing run on a Delivery's thread,
// readers take the Snapshots the loop publishes, and Shutdown() runs on
// any thread.
//
// The end of each turn of the loop is where a turn's work is settled
// (Settle): the snapshot is published first, then the callbacks raised
// during the turn are queued for delivery and the Join and Leave calls
// it finished are answered, so that whoever hears of a change reads a
// snapshot that already holds it.
#ifndef ROSTER_NET_NODE_IMPL_H_
#define ROSTER_NET_NODE_IMPL_H_

#include <uv.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "net/close_group.h"
#include "net/delivery.h"
#include "net/loop_thread.h"
#include "net/snapshot.h"
#include "net/snapshot_file.h"
#include "net/uv_runtime.h"
#include "roster/node.h"
#include "roster/swim.h"

namespace roster {

// "request" or "message", for the errors of both sides.
inline const char* AppMessageNoun(AppMessageKind kind) {
  return kind == AppMessageKind::kRequest ? "request" : "message";
}

class Node::Impl : public net::UvRuntime::Host,
                   public Delegate,
                   public std::enable_shared_from_this<Impl> {
 public:
  explicit Impl(NodeConfig config);

  // Validates the config, binds and starts the member. When it fails with
  // handles_ready(), Shutdown() and, on our own loop, RunUntilClosed().
  absl::Status Open();
  bool handles_ready() const { return runtime_ != nullptr; }
  net::LoopThread& loop() { return loop_; }
  // Any thread: readers get nothing from now on, the loop closes (see
  // LoopThread::Shutdown), and the callbacks and messages waiting are
  // discarded. Off the loop thread it waits for a callback or handler
  // under way, unless called from one; on it, it does not (the callback
  // may await this very turn).
  void Shutdown();

  // Application calls, on the loop thread. Each settles the turn before
  // it returns, so that the caller's next read sees its effect.
  void JoinAsync(const std::vector<std::string>& seeds,
                 std::function<void(absl::Status)> done);
  void StartLeave(std::shared_ptr<net::Waiter> waiter);
  void SendToAsync(std::string name, std::string payload,
                   absl::Duration timeout,
                   std::function<void(absl::Status)> done);
  void RequestAsync(std::string name, std::string payload,
                    absl::Duration timeout,
                    std::function<void(absl::StatusOr<std::string>)> done);
  absl::Duration default_call_timeout() const { return config_.stream_timeout; }
  absl::Status SetMeta(std::string meta);
  absl::Status Broadcast(std::string payload);
  absl::Status UserEvent(std::string_view name, std::string payload,
                         bool coalesce) {
    absl::Status status = swim_->UserEvent(name, std::move(payload), coalesce);
    Settle();  // this node's own delivery, and the gossip, go now
    return status;
  }
  // The query's handlers wait in queries_ for the Swim's answers to them
  // (node_events.cc).
  absl::Status Query(const QueryParams& params,
                     std::shared_ptr<Node::QueryHandlers> handlers);
  absl::Status ForceLeave(std::string_view name, bool prune) {
    absl::Status status = swim_->ForceLeave(name, prune);
    Settle();
    return status;
  }
  // Where every sealing and opening happens (in the Swim, which holds the
  // keyring).
  void SetKeyring(std::shared_ptr<Keyring> keyring) {
    Log(LogLevel::kInfo,
        keyring == nullptr
            ? std::string("keyring removed: datagrams and streams are sent "
                          "in plaintext from now on")
            : absl::StrCat("keyring set: datagrams and streams are sealed "
                           "from now on (",
                           keyring->size(), " keys)"));
    swim_->SetKeyring(std::move(keyring));
  }

  // Any thread. The latest snapshot, nullptr once shut down.
  std::shared_ptr<const net::Snapshot> snapshot() const {
    return snapshots_.Latest();
  }
  // The snapshot's counters with the delivery's own, which are exact.
  NodeCounters counters() const;
  const std::string& name() const { return config_.swim.name; }
  const std::string& addr() const { return config_.swim.advertise_addr; }

  // UvRuntime::Host
  void OnPacket(std::string_view from, std::string_view bytes) override;
  void OnTimer(const Timer& timer) override;
  void OnSyncDone(const std::string& to,
                  absl::StatusOr<std::string> response) override;
  void OnStream(const std::string& peer, std::string_view frame,
                StreamReply reply) override;
  void OnSeedResolved(
      const std::string& seed,
      const absl::StatusOr<std::vector<std::string>>& addrs) override;

  // Delegate. The callbacks that return nothing are queued for the
  // delivery thread (node_callbacks.cc); LocalState and AllowMember return
  // what the protocol needs at once, so they run here.
  void OnEvent(const Event& event) override;
  void OnBroadcast(std::string_view origin, std::string_view payload) override;
  std::string LocalState(bool join) override {
    return config_.local_state ? config_.local_state(join) : std::string();
  }
  void MergeRemoteState(std::string_view state, bool join) override;
  bool AllowMember(const MemberInfo& member) override {
    return !config_.allow_member || config_.allow_member(member);
  }
  std::string AckPayload() override {
    return config_.ack_payload ? config_.ack_payload() : std::string();
  }
  void OnAckPayload(std::string_view from, std::string_view payload,
                    absl::Duration rtt) override {
    if (config_.on_ack_payload) config_.on_ack_payload(from, payload, rtt);
  }
  void OnLog(LogLevel level, std::string_view message) override {
    Log(level, message);
  }
  void OnJoinDone(const JoinResult& result) override;
  // User events and queries (events.cc): events and a query's answers
  // to the delivery thread, a query to the handlers' thread.
  void OnUserEvent(const roster::UserEvent& event) override;
  void OnQuery(const QueryRequest& query, QueryAnswer answer) override;
  void OnQueryAck(uint64_t token, std::string_view from) override;
  void OnQueryResponse(uint64_t token, std::string_view from,
                       std::string_view payload) override;
  void OnQueryDone(const QueryResult& result) override;
  // Hands the message to the handlers' thread (app_messages.cc).
  void OnAppMessage(std::string_view from, std::string_view payload,
                    AppMessageKind kind, AppAnswer answer) override;

 private:
  // The callbacks the delivery thread runs. Every queued call holds them,
  // so that they outlive a node that a callback destroys.
  struct Callbacks {
    std::function<void(const Event&)> on_event;
    std::function<void(std::string_view, std::string_view)> on_broadcast;
    std::function<void(std::string_view, bool)> merge_remote_state;
    std::function<void(LogLevel, std::string_view)> on_log;
    std::function<void(const roster::UserEvent&)> on_user_event;
  };

  void Log(LogLevel level, std::string_view message);
  // Queues `call` for the delivery thread at the end of this turn.
  void Deliver(std::function<void()> call) {
    turn_calls_.push_back(std::move(call));
  }
  // The end of a turn (see the top): publish, deliver, answer.
  void Settle();
  // Settle() at the start of the next turn (settle_soon_).
  void SettleSoon();
  // Gives the Join, SendTo and Request calls finished this turn their
  // answers (taken out first: an answer may call back in and settle).
  void AnswerFinishedCalls();
  // SendTo and Request (send_to.cc): the checks, the call on a pooled
  // connection, and the reply read and worded for the caller.
  void CallMember(std::string name, std::string payload, AppMessageKind kind,
                  absl::Duration timeout,
                  std::function<void(absl::StatusOr<std::string>)> done);
  // What a call's reply (or its failure) tells the caller.
  absl::StatusOr<std::string> Outcome(AppMessageKind kind,
                                      const std::string& name,
                                      const std::string& addr,
                                      absl::StatusOr<std::string> reply);
  // The handler's outcome, back on the loop thread.
  void AnswerAppMessage(AppMessageKind kind, AppAnswer answer,
                        absl::StatusOr<std::string> response);
  // The loop's shutdown: fails what waits, then closes the runtime.
  void CloseHandles(std::function<void()> closed);
  // The snapshot file (node_snapshot_file.cc). Before the Swim is
  // created: reads the file and, if it is good, takes this member's
  // previous life and incarnation from it into config_.swim.
  std::optional<net::SnapshotFileContents> RestoreSnapshotFile();
  // Once it runs: starts the writer and, unless it had left, the rejoin.
  void StartSnapshotFile(std::optional<net::SnapshotFileContents> restored);

  NodeConfig config_;
  const std::shared_ptr<const Callbacks> callbacks_;
  NetCounters net_counters_;
  std::unique_ptr<net::UvRuntime> runtime_;
  std::unique_ptr<Swim> swim_;
  // Runs Settle() at the end of every turn of the loop.
  uv_check_t turn_end_;
  // Runs Settle() at the start of the next turn, for what a close callback
  // (after turn_end_'s) raised.
  uv_timer_t settle_soon_;
  // turn_end_, settle_soon_ and the runtime.
  net::CloseGroup closer_;

  // What this turn raised, settled at its end.
  std::vector<std::function<void()>> turn_calls_;
  std::vector<std::pair<std::function<void(absl::Status)>, absl::Status>>
      joins_done_;
  // SendTo and Request calls answered this turn, each with its outcome.
  std::vector<std::function<void()>> calls_done_;

  // Join calls waiting for Delegate::OnJoinDone, by token.
  absl::flat_hash_map<uint64_t, std::function<void(absl::Status)>> joins_;
  uint64_t next_join_token_ = 1;
  std::vector<std::shared_ptr<net::Waiter>> leave_waiters_;
  // Queries under way, by their token to the Swim.
  absl::flat_hash_map<uint64_t, std::shared_ptr<Node::QueryHandlers>> queries_;
  uint64_t next_query_token_ = 1;

  net::Snapshots snapshots_;
  // Writes the snapshot file, when NodeConfig::snapshot_path is set.
  std::unique_ptr<net::SnapshotFileWriter> snapshot_file_;
  net::Delivery delivery_;
  // Last but one, so that it goes first but one: its thread has ended
  // before the rest goes.
  net::LoopThread loop_;
  // on_message and on_request, off the loop thread. Last: its thread
  // (which posts to loop_) ends first. What still waits in it once the
  // node shuts down is dropped.
  net::Delivery message_handlers_;
  std::atomic<bool> handlers_stopped_{false};
  // The payload bytes waiting in message_handlers_, bounded by
  // PendingMessageBytesBudget().
  std::atomic<size_t> pending_message_bytes_{0};
  size_t PendingMessageBytesBudget() const {
    return 16 * std::max<size_t>(config_.max_message_bytes, 4096);
  }
};

}  // namespace roster

#endif  // ROSTER_NET_NODE_IMPL_H_
