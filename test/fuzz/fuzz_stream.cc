// libFuzzer target: what arrives on a TCP connection, through
// net::FrameReader (in pieces, as reads deliver it), core::OpenStream and
// the decoder of each stream kind: core::DecodeAppMessage,
// core::DecodeAppReply, core::DecodeMemberList and core::DecodePushPull,
// with the fuzz keyring
// (which also accepts plaintext) wherever a frame opens.
//
// The first input byte is a mode: bit 0 clear, the rest is the raw bytes of
// the connection; set, the rest is a stream kind and a body that are sealed
// here (with valid checksums) so that the body decoders see fuzzed bytes.
// Bit 1 picks the cluster label; bits 2-7 the size of each read, less one.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "core/wire/codec.h"
#include "core/wire/streams.h"
#include "net/stream.h"
#include "roster/config.h"
#include "roster/member.h"
#include "test/fuzz/check.h"
#include "test/fuzz/fuzz_keyring.h"
#include "test/fuzz/wire_checks.h"

namespace roster::fuzz {
namespace {

// Node's limits with the default Limits (node.cc): the largest push-pull
// frame with room for its header.
const Limits kLimits;
const size_t kMaxFrameBytes = kLimits.max_stream_bytes + 4096;
const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

void PushPull(std::string_view body) {
  const auto state = core::DecodePushPull(body, kLimits);
  if (state.ok()) CheckDecodedPushPull(state.value, kLimits);
}

void Message(std::string_view body) {
  const auto message = core::DecodeAppMessage(body, kLimits);
  if (!message.ok()) return;
  FUZZ_CHECK(!message->from().empty());
  FUZZ_CHECK(message->from().size() + message->payload().size() <= body.size());
  const std::string again =
      core::EncodeAppMessage(message->from(), message->payload());
  const auto redecoded = core::DecodeAppMessage(again, kLimits);
  FUZZ_CHECK(redecoded.ok() && redecoded->from() == message->from() &&
             redecoded->payload() == message->payload());
}

void Members(std::string_view body) {
  const auto members = core::DecodeMemberList(body, kNow, kLimits);
  if (!members.ok()) return;
  FUZZ_CHECK(members->size() <= body.size());
  const auto again = core::DecodeMemberList(
      core::EncodeMemberList(*members, kNow), kNow, kLimits);
  FUZZ_CHECK(again.ok() && again->size() == members->size());
  for (size_t i = 0; i < members->size(); ++i) {
    const MemberInfo& a = (*members)[i];
    const MemberInfo& b = (*again)[i];
    FUZZ_CHECK(a.name == b.name && a.addr == b.addr && a.state == b.state &&
               a.incarnation == b.incarnation && a.meta == b.meta &&
               a.state_changed == b.state_changed);
  }
}

// The answer to a message or request: a status any reader can show, and
// a response that encodes back to what it was.
void Reply(std::string_view body) {
  const auto reply = core::DecodeAppReply(body);
  if (!reply.ok()) return;
  const absl::Status status = core::AppReplyStatus(*reply);
  FUZZ_CHECK(status.message().size() <= 300);
  for (char c : status.message()) FUZZ_CHECK(c >= 0x20 && c < 0x7f);
  if (!status.ok()) return;
  const auto again =
      core::DecodeAppReply(core::EncodeAppReply(status, reply->payload()));
  FUZZ_CHECK(again.ok() && again->payload() == reply->payload());
}

// What a member (Swim::HandleStream) and a requester do with a whole
// frame, request or reply.
void Serve(std::string_view frame, std::string_view label) {
  std::string buffer;
  const auto opened =
      core::OpenStream(frame, label, kMaxFrameBytes, &FuzzKeyring(), &buffer);
  if (!opened.ok()) return;
  FUZZ_CHECK(opened.value.body.size() < frame.size());
  switch (opened.value.kind) {
    case wire::STREAM_KIND_PUSH_PULL:
      PushPull(opened.value.body);
      return;
    case wire::STREAM_KIND_MESSAGE:
    case wire::STREAM_KIND_REQUEST:
      Message(opened.value.body);
      return;
    case wire::STREAM_KIND_REPLY:
      Reply(opened.value.body);
      return;
    case wire::STREAM_KIND_OK:  // a push-pull reply or a member list
      PushPull(opened.value.body);
      Members(opened.value.body);
      return;
    default:
      return;
  }
}

}  // namespace
}  // namespace roster::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace roster::fuzz;
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1,
                              size - 1);
  const std::string_view label = (mode & 2) != 0 ? "prod" : "";
  const size_t read_size = (mode >> 2) + 1;

  std::string wire;
  if ((mode & 1) == 0) {
    wire = std::string(rest);
  } else {
    if (rest.empty()) return 0;
    const auto kind =
        static_cast<roster::wire::StreamKind>(static_cast<uint8_t>(rest[0]));
    wire = roster::net::LengthPrefixed(
        roster::core::SealStream(kind, rest.substr(1), label, nullptr));
  }

  roster::net::FrameReader reader(kMaxFrameBytes);
  bool good = true;
  for (size_t at = 0; good && !reader.complete() && at < wire.size();
       at += read_size) {
    good = reader.Append(std::string_view(wire).substr(at, read_size));
  }
  if (!good) {
    FUZZ_CHECK(reader.declared() == 0 || reader.declared() > kMaxFrameBytes);
    return 0;
  }
  if (!reader.complete()) return 0;
  const std::string frame = reader.TakeFrame();
  FUZZ_CHECK(frame.size() == reader.declared());
  FUZZ_CHECK(std::string_view(wire).substr(roster::net::kLengthPrefixBytes,
                                           frame.size()) == frame);
  Serve(frame, label);
  return 0;
}
