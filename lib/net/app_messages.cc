// The receiving side of SendTo and Request: each message or request goes
// to the application's handler on a thread of its own (a net::Delivery),
// never on the loop, which goes on answering probes however long the
// handler takes; its outcome comes back to the loop, which writes the
// reply. A queue that is full refuses at once, so a sender learns of it
// instead of waiting out its deadline.
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/node_impl.h"

namespace roster {

void Node::Impl::OnAppMessage(std::string_view from, std::string_view payload,
                              AppMessageKind kind, AppAnswer answer) {
  const bool request = kind == AppMessageKind::kRequest;
  if (payload.size() > config_.max_message_bytes) {
    answer(absl::InvalidArgumentError(absl::StrCat(
        "a ", AppMessageNoun(kind), " of ", payload.size(),
        " bytes is over this member's limit of ", config_.max_message_bytes,
        " (NodeConfig::max_message_bytes)")));
    return;
  }
  if (request ? !config_.on_request : !config_.on_message) {
    answer(absl::FailedPreconditionError(
        request ? "this member has no request handler (NodeConfig::on_request)"
                : "this member has no message handler "
                  "(NodeConfig::on_message)"));
    return;
  }
  // A sender that closes its connection frees its inbound reservation,
  // but the payload stays queued: the bytes waiting are bounded too.
  const size_t budget = PendingMessageBytesBudget();
  if (pending_message_bytes_.load() + payload.size() > budget) {
    ++net_counters_.messages_overflowed;
    answer(absl::ResourceExhaustedError(absl::StrCat(
        "the messages and requests waiting for this member's handlers "
        "already hold ",
        pending_message_bytes_.load(), " bytes (at most ", budget,
        ": 16 times NodeConfig::max_message_bytes)")));
    return;
  }
  pending_message_bytes_ += payload.size();
  auto shared_answer = std::make_shared<AppAnswer>(std::move(answer));
  std::weak_ptr<Impl> weak = weak_from_this();
  const bool queued = message_handlers_.Post([weak, kind, shared_answer,
                                              from = std::string(from),
                                              payload = std::string(payload)] {
    // Held while the handler runs, so that a handler that destroys its
    // Node does not pull the handler out from under itself.
    std::shared_ptr<Impl> self = weak.lock();
    if (self == nullptr) return;
    self->pending_message_bytes_ -= payload.size();
    if (self->handlers_stopped_) return;
    absl::StatusOr<std::string> response;
    if (kind == AppMessageKind::kRequest) {
      response = self->config_.on_request(from, payload);
    } else {
      self->config_.on_message(from, payload);
      response = std::string();
    }
    self->loop_.Post(
        [weak, kind, shared_answer, response = std::move(response)]() mutable {
          if (auto impl = weak.lock(); impl != nullptr)
            impl->AnswerAppMessage(kind, std::move(*shared_answer),
                                   std::move(response));
        });
  });
  if (!queued) {
    pending_message_bytes_ -= payload.size();
    ++net_counters_.messages_overflowed;
    (*shared_answer)(absl::ResourceExhaustedError(absl::StrCat(
        config_.max_pending_messages,
        " messages and requests already wait for this member's handlers "
        "(NodeConfig::max_pending_messages)")));
  }
}

void Node::Impl::AnswerAppMessage(AppMessageKind kind, AppAnswer answer,
                                  absl::StatusOr<std::string> response) {
  if (loop_.closing()) return;  // the connection is closing with the node
  if (kind == AppMessageKind::kRequest) {
    ++net_counters_.requests_received;
    if (response.ok() && response->size() > config_.max_message_bytes) {
      response = absl::InvalidArgumentError(absl::StrCat(
          "its response of ", response->size(), " bytes is over its limit of ",
          config_.max_message_bytes, " (NodeConfig::max_message_bytes)"));
    }
  } else {
    ++net_counters_.messages_received;
  }
  answer(std::move(response));
}

}  // namespace roster
