// SendTo: an application message to one member over TCP, answered once the
// receiver's on_message has run. The core frames, seals and reads it
// (Swim::MessageRequest, Swim::ReadReply); here the member is looked up,
// the exchange made on the loop thread, and the failure worded for the
// caller: NotFound, Unavailable, or FailedPrecondition from the receiver.
#include "absl/strings/str_cat.h"
#include "net/node_impl.h"

namespace roster {

void Node::Impl::SendToAsync(std::string name, std::string payload,
                             std::function<void(absl::Status)> done) {
  if (loop_.closing()) {
    done(absl::CancelledError("the node shut down"));
    return;
  }
  if (payload.size() > config_.max_message_bytes) {
    done(absl::InvalidArgumentError(absl::StrCat(
        "a message of ", payload.size(), " bytes is over the limit of ",
        config_.max_message_bytes, " (NodeConfig::max_message_bytes)")));
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
  runtime_->Exchange(
      member->addr, swim_->MessageRequest(payload),
      [this, name, addr = member->addr,
       done = std::move(done)](absl::StatusOr<std::string> reply) {
        absl::Status status = reply.status();
        if (reply.ok()) {
          status = loop_.closing() ? absl::CancelledError("the node shut down")
                                   : swim_->ReadReply(*reply);
        }
        if (status.ok()) {
          ++net_counters_.messages_sent;
          done(absl::OkStatus());
          return;
        }
        std::string why = absl::StrCat("sending to '", name, "' at ", addr,
                                       ": ", status.message());
        if (absl::IsFailedPrecondition(status)) {
          done(absl::FailedPreconditionError(why));
        } else {
          done(absl::UnavailableError(why));
        }
      });
}

absl::Status Node::SendTo(std::string_view name, std::string payload) {
  if (impl_->loop().OnLoopThread())
    return absl::FailedPreconditionError(
        "SendTo blocks: call it from another thread than the loop's, or use "
        "SendToAsync");
  auto waiter = std::make_shared<net::Waiter>();
  SendToAsync(name, std::move(payload),
              [waiter](absl::Status s) { waiter->Set(std::move(s)); });
  return waiter->Wait();
}

void Node::SendToAsync(std::string_view name, std::string payload,
                       std::function<void(absl::Status)> done) {
  auto shared_done =
      std::make_shared<std::function<void(absl::Status)>>(std::move(done));
  Impl* impl = impl_.get();
  bool posted =
      impl->loop().Post([impl, name = std::string(name),
                         payload = std::move(payload), shared_done]() mutable {
        impl->SendToAsync(
            std::move(name), std::move(payload),
            [shared_done](absl::Status s) { (*shared_done)(std::move(s)); });
      });
  if (!posted) (*shared_done)(absl::CancelledError("the node has shut down"));
}

}  // namespace roster
