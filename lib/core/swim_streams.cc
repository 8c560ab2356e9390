// TCP requests this member serves (push-pull, its member list, application
// messages) and the stream frames of the exchanges it starts. Every stream
// frame is sealed and opened here, once per hop; the runtime only moves
// the bytes.
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/swim_impl.h"
#include "core/wire/streams.h"
#include "util/string_view.h"

namespace roster {

std::string Swim::Impl::SealStream(wire::StreamKind kind,
                                   std::string_view body) {
  std::string frame =
      core::SealStream(kind, body, cfg_.label, cfg_.keyring.get());
  if (core::IsSealed(frame)) ++counters_.stream_frames_sealed;
  return frame;
}

core::Decoded<core::StreamView> Swim::Impl::OpenStream(std::string_view frame,
                                                       std::string* opened) {
  if (core::IsSealed(frame)) ++counters_.stream_frames_opened;
  auto stream = core::OpenStream(frame, cfg_.label, kMaxStreamFrameBytes,
                                 cfg_.keyring.get(), opened);
  if (!stream.ok()) Drop(stream.error.reason);
  return stream;
}

std::string Swim::Impl::Refuse(std::string_view why) {
  ++counters_.streams_refused;
  return SealStream(wire::STREAM_KIND_ERROR, why);
}

std::string Swim::Impl::HandleStream(std::string_view from,
                                     std::string_view frame) {
  // Shared with the reply callback, which a delegate could keep and call
  // after this returns: the request has been refused by then.
  struct Answer {
    std::string frame;
    bool given = false;
    bool abandoned = false;
  };
  auto answer = std::make_shared<Answer>();
  HandleStream(from, frame, [answer](std::string reply, bool) {
    if (answer->abandoned || answer->given) return;
    answer->frame = std::move(reply);
    answer->given = true;
  });
  if (answer->given) return std::move(answer->frame);
  answer->abandoned = true;
  return Refuse("its handler answers later");
}

void Swim::Impl::HandleStream(std::string_view from, std::string_view frame,
                              Swim::StreamReply reply) {
  if (!networks_.Admits(from)) {
    Drop(DropReason::kNotAdmitted);
    reply(Refuse(absl::StrCat("not admitted: ", util::ToAbsl(from),
                              " is outside the allowed networks")),
          false);
    return;
  }
  std::string opened;
  auto stream = OpenStream(frame, &opened);
  if (!stream.ok()) {
    reply(Refuse(absl::StrCat(DropReasonName(stream.error.reason).data(), ": ",
                              stream.error.message)),
          false);
    return;
  }
  const std::string_view body = stream.value.body;
  switch (stream.value.kind) {
    case wire::STREAM_KIND_PUSH_PULL:
      reply(ServePushPull(from, body), false);
      return;
    case wire::STREAM_KIND_PING:
      reply(ServeTcpProbe(body), false);
      return;
    case wire::STREAM_KIND_MEMBERS:
      ++counters_.member_queries;
      reply(SealStream(wire::STREAM_KIND_OK,
                       core::EncodeMemberList(Members(), rt_.Now())),
            false);
      return;
    case wire::STREAM_KIND_MESSAGE:
      ServeAppMessage(body, AppMessageKind::kMessage, std::move(reply));
      return;
    case wire::STREAM_KIND_REQUEST:
      ServeAppMessage(body, AppMessageKind::kRequest, std::move(reply));
      return;
    default:
      Drop(DropReason::kMalformed);
      reply(Refuse("unknown request kind"), false);
      return;
  }
}

void Swim::Impl::ServeAppMessage(std::string_view body, AppMessageKind kind,
                                 Swim::StreamReply reply) {
  auto message = core::DecodeAppMessage(body, cfg_.limits);
  if (!message.ok()) {
    Drop(DropReason::kMalformed);
    reply(Refuse(util::ToStd(message.status().message())), false);
    return;
  }
  // A sender built before requests reads only OK or ERROR.
  const bool with_status =
      kind == AppMessageKind::kRequest || message->reply_with_status();
  auto answered = std::make_shared<bool>(false);
  app_->OnAppMessage(
      message->from(), message->payload(), kind,
      [this, with_status, answered,
       reply = std::move(reply)](absl::StatusOr<std::string> response) {
        if (*answered) return;
        *answered = true;
        if (!response.ok()) ++counters_.streams_refused;
        if (with_status) {
          reply(
              SealStream(wire::STREAM_KIND_REPLY,
                         core::EncodeAppReply(response.status(),
                                              response.ok() ? *response : "")),
              true);
        } else if (response.ok()) {
          reply(SealStream(wire::STREAM_KIND_OK, {}), true);
        } else {
          reply(SealStream(wire::STREAM_KIND_ERROR,
                           util::ToStd(response.status().message())),
                true);
        }
      });
}

std::string Swim::Impl::MessageRequest(std::string_view payload) {
  return SealStream(
      wire::STREAM_KIND_MESSAGE,
      core::EncodeAppMessage(cfg_.name, payload, /*reply_with_status=*/true));
}

std::string Swim::Impl::RequestFrame(std::string_view payload) {
  return SealStream(wire::STREAM_KIND_REQUEST,
                    core::EncodeAppMessage(cfg_.name, payload));
}

absl::StatusOr<std::string_view> Swim::Impl::OpenReply(std::string_view frame,
                                                       std::string* opened,
                                                       wire::StreamKind* kind) {
  auto reply = OpenStream(frame, opened);
  if (!reply.ok())
    return absl::DataLossError(
        absl::StrCat("its reply could not be read (", reply.error.message,
                     "; are the cluster label and keyring the same?)"));
  if (kind != nullptr) *kind = reply.value.kind;
  switch (reply.value.kind) {
    case wire::STREAM_KIND_OK:
      return reply.value.body;
    case wire::STREAM_KIND_ACK:
    case wire::STREAM_KIND_REPLY:
      if (kind == nullptr) break;
      return reply.value.body;
    case wire::STREAM_KIND_ERROR:
      return absl::FailedPreconditionError(absl::StrCat(
          "it refused: ", core::PrintableRefusal(reply.value.body)));
    default:
      break;
  }
  Drop(DropReason::kMalformed);
  return absl::DataLossError("it sent an unknown kind of reply");
}

absl::Status Swim::Impl::ReadReply(std::string_view frame) {
  return ReadResponse(frame).status();
}

absl::StatusOr<std::string> Swim::Impl::ReadResponse(std::string_view frame) {
  std::string opened;
  wire::StreamKind kind = wire::STREAM_KIND_UNSET;
  auto body = OpenReply(frame, &opened, &kind);
  if (!body.ok()) return body.status();
  if (kind == wire::STREAM_KIND_OK) return std::string(*body);  // an old peer
  if (kind != wire::STREAM_KIND_REPLY) {
    Drop(DropReason::kMalformed);
    return absl::DataLossError("it sent an unknown kind of reply");
  }
  auto reply = core::DecodeAppReply(*body);
  if (!reply.ok()) {
    Drop(DropReason::kMalformed);
    return absl::DataLossError(
        absl::StrCat("its reply is malformed: ", reply.status().message()));
  }
  if (absl::Status status = core::AppReplyStatus(*reply); !status.ok())
    return absl::Status(status.code(),
                        absl::StrCat("it refused: ", status.message()));
  return std::move(*reply->mutable_payload());
}

}  // namespace roster
