// SendTo and Request: an application message or request to one member over
// one of the connections kept to it (net::ConnectionPool), answered once
// the receiver's handler has returned. The core frames, seals and reads
// them (Swim::MessageRequest, Swim::RequestFrame, Swim::ReadResponse); here
// the member is looked up, the call made on the loop thread with its
// deadline, and the failure worded for the caller as node.h promises.
#include "absl/strings/str_cat.h"
#include "net/node_impl.h"

namespace roster {
namespace {

// What the caller learns of a call that failed: its code, for the
// promises of node.h, and where it went.
absl::Status Worded(const absl::Status& status, AppMessageKind kind,
                    const std::string& name, const std::string& addr) {
  const std::string where = absl::StrCat("sending a ", AppMessageNoun(kind),
                                         " to '", name, "' at ", addr, ": ");
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      return absl::DeadlineExceededError(
          absl::StrCat(where, status.message(), "; it is not known whether '",
                       name, "' handled it (it may still)"));
    case absl::StatusCode::kDataLoss:
      // A reply that does not read is no answer at all.
      return absl::UnavailableError(absl::StrCat(where, status.message()));
    default:
      return absl::Status(status.code(), absl::StrCat(where, status.message()));
  }
}

}  // namespace

void Node::Impl::CallMember(
    std::string name, std::string payload, AppMessageKind kind,
    absl::Duration timeout,
    std::function<void(absl::StatusOr<std::string>)> done) {
  if (loop_.closing()) {
    done(absl::CancelledError("the node shut down"));
    return;
  }
  if (timeout <= absl::ZeroDuration()) {
    done(absl::InvalidArgumentError(absl::StrCat(
        "the timeout must be positive, not ", absl::FormatDuration(timeout))));
    return;
  }
  if (payload.size() > config_.max_message_bytes) {
    done(absl::InvalidArgumentError(
        absl::StrCat("a ", AppMessageNoun(kind), " of ", payload.size(),
                     " bytes is over the limit of ", config_.max_message_bytes,
                     " (NodeConfig::max_message_bytes)")));
    return;
  }
  auto member = swim_->Lookup(name);
  if (!member) {
    done(absl::NotFoundError(absl::StrCat("no member named '", name, "'")));
    return;
  }
  if (member->state == MemberState::kDead ||
      member->state == MemberState::kLeft) {
    done(absl::UnavailableError(absl::StrCat(
        "member '", name, "' has ", MemberStateName(member->state).data())));
    return;
  }
  std::string frame = kind == AppMessageKind::kRequest
                          ? swim_->RequestFrame(payload)
                          : swim_->MessageRequest(payload);
  runtime_->Call(
      member->addr, frame, timeout,
      [this, kind, name = std::move(name), addr = member->addr,
       done = std::move(done)](absl::StatusOr<std::string> reply) mutable {
        absl::StatusOr<std::string> outcome =
            Outcome(kind, name, addr, std::move(reply));
        // Answered at the end of the turn, once the snapshot holds the
        // call's counts: a read after SendTo or Request returns sees them.
        // Closing, no turn ends again: at once.
        if (loop_.closing()) {
          done(std::move(outcome));
          return;
        }
        calls_done_.push_back(
            [done = std::move(done), outcome = std::move(outcome)]() mutable {
              done(std::move(outcome));
            });
        SettleSoon();
      });
}

absl::StatusOr<std::string> Node::Impl::Outcome(
    AppMessageKind kind, const std::string& name, const std::string& addr,
    absl::StatusOr<std::string> reply) {
  if (reply.ok() && loop_.closing())
    reply = absl::CancelledError("the node shut down");
  absl::StatusOr<std::string> response =
      reply.ok() ? swim_->ReadResponse(*reply) : reply.status();
  if (!response.ok()) return Worded(response.status(), kind, name, addr);
  if (kind == AppMessageKind::kMessage) {
    ++net_counters_.messages_sent;
    return std::string();
  }
  if (response->size() > config_.max_message_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the response from '", name, "' of ", response->size(),
                     " bytes is over the limit of ", config_.max_message_bytes,
                     " (NodeConfig::max_message_bytes)"));
  }
  ++net_counters_.requests_sent;
  return response;
}

void Node::Impl::SendToAsync(std::string name, std::string payload,
                             absl::Duration timeout,
                             std::function<void(absl::Status)> done) {
  CallMember(std::move(name), std::move(payload), AppMessageKind::kMessage,
             timeout, [done = std::move(done)](absl::StatusOr<std::string> r) {
               done(r.status());
             });
}

void Node::Impl::RequestAsync(
    std::string name, std::string payload, absl::Duration timeout,
    std::function<void(absl::StatusOr<std::string>)> done) {
  CallMember(std::move(name), std::move(payload), AppMessageKind::kRequest,
             timeout, std::move(done));
}

absl::Status Node::SendTo(std::string_view name, std::string payload) {
  return SendTo(name, std::move(payload), impl_->default_call_timeout());
}

absl::Status Node::SendTo(std::string_view name, std::string payload,
                          absl::Duration timeout) {
  if (impl_->loop().OnLoopThread())
    return absl::FailedPreconditionError(
        "SendTo blocks: call it from another thread than the loop's, or use "
        "SendToAsync");
  auto waiter = std::make_shared<net::Waiter>();
  SendToAsync(name, std::move(payload), timeout,
              [waiter](absl::Status s) { waiter->Set(std::move(s)); });
  return waiter->Wait();
}

void Node::SendToAsync(std::string_view name, std::string payload,
                       std::function<void(absl::Status)> done) {
  SendToAsync(name, std::move(payload), impl_->default_call_timeout(),
              std::move(done));
}

void Node::SendToAsync(std::string_view name, std::string payload,
                       absl::Duration timeout,
                       std::function<void(absl::Status)> done) {
  auto shared_done =
      std::make_shared<std::function<void(absl::Status)>>(std::move(done));
  Impl* impl = impl_.get();
  bool posted = impl->loop().Post([impl, name = std::string(name),
                                   payload = std::move(payload), timeout,
                                   shared_done]() mutable {
    impl->SendToAsync(
        std::move(name), std::move(payload), timeout,
        [shared_done](absl::Status s) { (*shared_done)(std::move(s)); });
  });
  if (!posted) (*shared_done)(absl::CancelledError("the node has shut down"));
}

absl::StatusOr<std::string> Node::Request(std::string_view name,
                                          std::string payload) {
  return Request(name, std::move(payload), impl_->default_call_timeout());
}

absl::StatusOr<std::string> Node::Request(std::string_view name,
                                          std::string payload,
                                          absl::Duration timeout) {
  if (impl_->loop().OnLoopThread())
    return absl::FailedPreconditionError(
        "Request blocks: call it from another thread than the loop's, or use "
        "RequestAsync");
  // A Waiter carries a status only; the response rides beside it.
  auto waiter = std::make_shared<net::Waiter>();
  auto response = std::make_shared<std::string>();
  RequestAsync(name, std::move(payload), timeout,
               [waiter, response](absl::StatusOr<std::string> r) {
                 if (r.ok()) *response = std::move(*r);
                 waiter->Set(r.status());
               });
  if (absl::Status s = waiter->Wait(); !s.ok()) return s;
  return std::move(*response);
}

void Node::RequestAsync(std::string_view name, std::string payload,
                        absl::Duration timeout,
                        std::function<void(absl::StatusOr<std::string>)> done) {
  using Done = std::function<void(absl::StatusOr<std::string>)>;
  auto shared_done = std::make_shared<Done>(std::move(done));
  Impl* impl = impl_.get();
  bool posted = impl->loop().Post([impl, name = std::string(name),
                                   payload = std::move(payload), timeout,
                                   shared_done]() mutable {
    impl->RequestAsync(std::move(name), std::move(payload), timeout,
                       [shared_done](absl::StatusOr<std::string> r) {
                         (*shared_done)(std::move(r));
                       });
  });
  if (!posted) (*shared_done)(absl::CancelledError("the node has shut down"));
}

}  // namespace roster
