// Node::Impl's side facing the application (node_impl.h): the callbacks
// that leave the loop thread, and the end of a turn, where what the turn
// changed is published before anyone is told of it.
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/node_impl.h"

namespace roster {

void Node::Impl::OnEvent(const Event& event) {
  snapshots_.Note(event.member);
  // Its pooled connections (SendTo, Request) lead nowhere now.
  if (event.type == EventType::kFailed || event.type == EventType::kLeft)
    runtime_->ClosePooled(event.member.addr);
  if (event.type == EventType::kUpdated &&
      event.member.reachability == Reachability::kTcpOnly) {
    Log(LogLevel::kWarning,
        absl::StrCat("member ", event.member.name, " at ", event.member.addr,
                     " answers probes only over TCP: its inbound UDP is "
                     "likely blocked (a firewall rule?); it stays alive, "
                     "but news reaches it only through push-pull"));
  }
  if (!callbacks_->on_event) return;
  Deliver([callbacks = callbacks_, event] { callbacks->on_event(event); });
}

void Node::Impl::OnBroadcast(std::string_view origin,
                             std::string_view payload) {
  if (!callbacks_->on_broadcast) return;
  Deliver([callbacks = callbacks_, origin = std::string(origin),
           payload = std::string(payload)] {
    callbacks->on_broadcast(origin, payload);
  });
}

void Node::Impl::MergeRemoteState(std::string_view state, bool join) {
  if (!callbacks_->merge_remote_state) return;
  Deliver([callbacks = callbacks_, state = std::string(state), join] {
    callbacks->merge_remote_state(state, join);
  });
}

void Node::Impl::Log(LogLevel level, std::string_view message) {
  if (!callbacks_->on_log) return;
  Deliver([callbacks = callbacks_, level, message = std::string(message)] {
    callbacks->on_log(level, message);
  });
}

void Node::Impl::Settle() {
  if (swim_ == nullptr || loop_.closing()) return;
  snapshots_.Publish(*swim_, net_counters_, runtime_->Now());
  if (snapshot_file_ != nullptr) snapshot_file_->Offer(snapshots_.Latest());
  std::vector<std::function<void()>> calls;
  calls.swap(turn_calls_);
  // Past the bound the Delivery drops a call and counts it: never waited.
  for (auto& call : calls) delivery_.Post(std::move(call));
  if (!leave_waiters_.empty() && swim_->LeaveComplete()) {
    for (auto& w : leave_waiters_) w->Set(absl::OkStatus());
    leave_waiters_.clear();
  }
  // A done may be the application's (JoinAsync, SendToAsync), which may
  // call back in (SetMeta settles again): answered last.
  AnswerFinishedCalls();
}

void Node::Impl::AnswerFinishedCalls() {
  auto joins_done = std::move(joins_done_);
  joins_done_.clear();
  for (auto& [done, status] : joins_done) done(status);
  auto calls_done = std::move(calls_done_);
  calls_done_.clear();
  for (auto& answer : calls_done) answer();
}

NodeCounters Node::Impl::counters() const {
  std::shared_ptr<const net::Snapshot> snapshot = snapshots_.Latest();
  if (snapshot == nullptr) return NodeCounters{};
  NodeCounters counters = snapshot->counters;
  counters.net.callbacks_delivered = delivery_.delivered();
  counters.net.callbacks_dropped = delivery_.dropped();
  counters.queues.callbacks = delivery_.pending();
  counters.queues.messages = message_handlers_.pending();
  return counters;
}

}  // namespace roster
