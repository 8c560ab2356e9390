// Node::Impl: what a roster::Node is behind its thread-safe face. The
// protocol (a Swim) and the sockets (a UvRuntime) each know nothing of the
// other; this is where they are put together, the application's callbacks
// become the Swim's Delegate, and the calls that wait (Join, Leave,
// SendTo) find their answers. Everything here runs on the loop thread;
// Node (node.cc) hands calls over to it through a LoopThread.
#ifndef ROSTER_NET_NODE_IMPL_H_
#define ROSTER_NET_NODE_IMPL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/loop_thread.h"
#include "net/uv_runtime.h"
#include "roster/node.h"
#include "roster/swim.h"

namespace roster {

class Node::Impl : public net::UvRuntime::Host,
                   public Delegate,
                   public std::enable_shared_from_this<Impl> {
 public:
  explicit Impl(NodeConfig config) : config_(std::move(config)) {}

  // Validates the config, binds and starts the member. When it fails with
  // handles_ready(), Shutdown() and, on our own loop, RunUntilClosed().
  absl::Status Open();
  bool handles_ready() const { return runtime_ != nullptr; }
  net::LoopThread& loop() { return loop_; }
  void Shutdown() { loop_.Shutdown(shared_from_this()); }

  void JoinAsync(const std::vector<std::string>& seeds,
                 std::function<void(absl::Status)> done);
  void StartLeave(std::shared_ptr<net::Waiter> waiter);
  void SendToAsync(std::string name, std::string payload,
                   std::function<void(absl::Status)> done);

  Swim& swim() { return *swim_; }
  // On the loop thread, where every sealing and opening happens (in the
  // Swim, which holds the keyring).
  void SetKeyring(std::shared_ptr<Keyring> keyring) {
    swim_->SetKeyring(std::move(keyring));
  }
  NetCounters net_counters() const { return net_counters_; }
  const std::string& name() const { return config_.swim.name; }
  const std::string& addr() const { return config_.swim.advertise_addr; }

  // UvRuntime::Host
  void OnPacket(std::string_view from, std::string_view bytes) override;
  void OnTimer(const Timer& timer) override;
  void OnSyncDone(const std::string& to,
                  absl::StatusOr<std::string> response) override;
  std::string OnStream(const std::string& peer,
                       std::string_view frame) override;
  void OnSeedResolved(
      const std::string& seed,
      const absl::StatusOr<std::vector<std::string>>& addrs) override;

  // Delegate
  void OnEvent(const Event& event) override;
  void OnBroadcast(std::string_view origin, std::string_view payload) override {
    if (config_.on_broadcast) config_.on_broadcast(origin, payload);
  }
  std::string LocalState(bool join) override {
    return config_.local_state ? config_.local_state(join) : std::string();
  }
  void MergeRemoteState(std::string_view state, bool join) override {
    if (config_.merge_remote_state) config_.merge_remote_state(state, join);
  }
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
  absl::Status OnMessage(std::string_view from,
                         std::string_view payload) override;

 private:
  void Log(LogLevel level, std::string_view message) {
    if (config_.on_log) config_.on_log(level, message);
  }
  void AfterInput();
  // The loop's shutdown: fails what waits, then closes the runtime.
  void CloseHandles(std::function<void()> closed);

  NodeConfig config_;
  NetCounters net_counters_;
  std::unique_ptr<net::UvRuntime> runtime_;
  std::unique_ptr<Swim> swim_;

  // Join calls waiting for Delegate::OnJoinDone, by token.
  absl::flat_hash_map<uint64_t, std::function<void(absl::Status)>> joins_;
  uint64_t next_join_token_ = 1;
  std::vector<std::shared_ptr<net::Waiter>> leave_waiters_;

  // Last, so that it goes first: its thread has ended before the rest goes.
  net::LoopThread loop_;
};

}  // namespace roster

#endif  // ROSTER_NET_NODE_IMPL_H_
