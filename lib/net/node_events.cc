// User events and queries through a Node (roster/events.h): events and
// each query's acknowledgements, responses and outcome go to the delivery
// thread, in the order the protocol raised them; a query to answer goes
// to the handlers' thread, and its answer back to the loop, which sends it.
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/node_impl.h"

namespace roster {

absl::Status Node::Impl::Query(const QueryParams& params,
                               std::shared_ptr<Node::QueryHandlers> handlers) {
  const uint64_t token = next_query_token_++;
  // Registered first: this node's own answer comes from inside the call.
  queries_.emplace(token, std::move(handlers));
  absl::Status sent = swim_->Query(params, token);
  if (!sent.ok()) queries_.erase(token);
  Settle();
  return sent;
}

void Node::Impl::OnUserEvent(const roster::UserEvent& event) {
  if (!callbacks_->on_user_event) return;
  Deliver([callbacks = callbacks_, event] { callbacks->on_user_event(event); });
}

void Node::Impl::OnQuery(const QueryRequest& query, QueryAnswer answer) {
  if (!config_.on_query) {
    answer(std::nullopt);
    return;
  }
  auto shared_answer = std::make_shared<QueryAnswer>(std::move(answer));
  std::weak_ptr<Impl> weak = weak_from_this();
  const bool queued = message_handlers_.Post([weak, shared_answer, query] {
    std::shared_ptr<Impl> self = weak.lock();
    if (self == nullptr || self->handlers_stopped_) return;
    std::optional<std::string> response = self->config_.on_query(query);
    self->loop_.Post(
        [weak, shared_answer, response = std::move(response)]() mutable {
          auto impl = weak.lock();
          if (impl == nullptr || impl->loop_.closing()) return;
          (*shared_answer)(std::move(response));
        });
  });
  if (!queued) {
    ++net_counters_.messages_overflowed;
    Log(LogLevel::kWarning,
        absl::StrCat("query '", query.name, "' of ", query.origin,
                     " not handled: ", config_.max_pending_messages,
                     " messages, requests and queries already wait for this "
                     "member's handlers (NodeConfig::max_pending_messages)"));
    (*shared_answer)(std::nullopt);
  }
}

void Node::Impl::OnQueryAck(uint64_t token, std::string_view from) {
  auto it = queries_.find(token);
  if (it == queries_.end() || !it->second->on_ack) return;
  Deliver([handlers = it->second, from = std::string(from)] {
    handlers->on_ack(from);
  });
}

void Node::Impl::OnQueryResponse(uint64_t token, std::string_view from,
                                 std::string_view payload) {
  auto it = queries_.find(token);
  if (it == queries_.end() || !it->second->on_response) return;
  Deliver([handlers = it->second, from = std::string(from),
           payload = std::string(payload)] {
    handlers->on_response(from, payload);
  });
}

void Node::Impl::OnQueryDone(const QueryResult& result) {
  auto it = queries_.find(result.token);
  if (it == queries_.end()) return;
  std::shared_ptr<Node::QueryHandlers> handlers = std::move(it->second);
  queries_.erase(it);
  Deliver([handlers, result] { handlers->on_done(result); });
}

absl::Status Node::UserEvent(std::string_view name, std::string payload,
                             bool coalesce) {
  return impl_->loop()
      .Call([this, name, &payload, coalesce] {
        return impl_->UserEvent(name, std::move(payload), coalesce);
      })
      .value_or(absl::CancelledError("the node has shut down"));
}

void Node::QueryAsync(const QueryParams& params, QueryHandlers handlers) {
  auto shared = std::make_shared<QueryHandlers>(std::move(handlers));
  if (!shared->on_done) shared->on_done = [](absl::StatusOr<QueryResult>) {};
  absl::Status sent =
      impl_->loop()
          .Call(
              [this, &params, shared] { return impl_->Query(params, shared); })
          .value_or(absl::CancelledError("the node has shut down"));
  if (!sent.ok()) shared->on_done(std::move(sent));
}

absl::StatusOr<QueryResult> Node::Query(const QueryParams& params) {
  if (impl_->loop().OnLoopThread())
    return absl::FailedPreconditionError(
        "Query blocks: call it from another thread than the loop's, or use "
        "QueryAsync");
  struct Outcome {
    net::Waiter waiter;
    absl::StatusOr<QueryResult> result;
  };
  auto outcome = std::make_shared<Outcome>();
  QueryAsync(params, {.on_ack = nullptr,
                      .on_response = nullptr,
                      .on_done = [outcome](absl::StatusOr<QueryResult> r) {
                        absl::Status status = r.status();
                        outcome->result = std::move(r);
                        outcome->waiter.Set(std::move(status));
                      }});
  (void)outcome->waiter.Wait();
  return std::move(outcome->result);
}

}  // namespace roster
