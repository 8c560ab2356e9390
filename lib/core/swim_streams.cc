// TCP requests this member serves (push-pull, its member list, application
// messages) and the stream frames of the exchanges it starts. Every stream
// frame is sealed and opened here, once per hop; the runtime only moves
// the bytes.
#include <string>
#include <string_view>

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
  if (!networks_.Admits(from)) {
    Drop(DropReason::kNotAdmitted);
    return Refuse(absl::StrCat("not admitted: ", util::ToAbsl(from),
                               " is outside the allowed networks"));
  }
  std::string opened;
  auto stream = OpenStream(frame, &opened);
  if (!stream.ok()) {
    return Refuse(absl::StrCat(DropReasonName(stream.error.reason).data(), ": ",
                               stream.error.message));
  }
  const std::string_view body = stream.value.body;
  switch (stream.value.kind) {
    case wire::STREAM_KIND_PUSH_PULL:
      return ServePushPull(from, body);
    case wire::STREAM_KIND_PING:
      return ServeTcpProbe(body);
    case wire::STREAM_KIND_MEMBERS:
      ++counters_.member_queries;
      return SealStream(wire::STREAM_KIND_OK,
                        core::EncodeMemberList(Members(), rt_.Now()));
    case wire::STREAM_KIND_MESSAGE: {
      auto message = core::DecodeAppMessage(body, cfg_.limits);
      if (!message.ok()) {
        Drop(DropReason::kMalformed);
        return Refuse(util::ToStd(message.status().message()));
      }
      absl::Status handled =
          app_->OnMessage(message->from(), message->payload());
      if (!handled.ok()) return Refuse(util::ToStd(handled.message()));
      return SealStream(wire::STREAM_KIND_OK, {});
    }
    default:
      Drop(DropReason::kMalformed);
      return Refuse("unknown request kind");
  }
}

std::string Swim::Impl::MessageRequest(std::string_view payload) {
  return SealStream(wire::STREAM_KIND_MESSAGE,
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
  std::string opened;
  return OpenReply(frame, &opened).status();
}

}  // namespace roster
