// libFuzzer target: what arrives on a TCP connection, through
// net::FrameReader (in pieces, as reads deliver it), net::OpenStream and
// the decoder of each stream kind: net::DecodeMessage, net::DecodeMembers,
// and core::OpenFrame with core::DecodePushPull for push-pull bodies, with
// the fuzz keyring (which also accepts plaintext) wherever a frame opens.
//
// The first input byte is a mode: bit 0 clear, the rest is the raw bytes of
// the connection; set, the rest is a stream kind and a body that are sealed
// here (with valid checksums; a push-pull body is sealed as its own frame
// too) so that the body decoders see fuzzed bytes.
// Bit 1 picks the cluster label; bits 2-7 the size of each read, less one.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "core/wire.h"
#include "net/stream.h"
#include "roster/config.h"
#include "roster/member.h"
#include "test/fuzz/check.h"
#include "test/fuzz/fuzz_keyring.h"
#include "test/fuzz/wire_checks.h"

namespace roster::fuzz {
namespace {

using net::StreamKind;

// Node's limits with the default Limits (node.cc): the largest push-pull
// frame with room for its header.
const Limits kLimits;
const size_t kMaxFrameBytes = kLimits.max_stream_bytes + 4096;
const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

// A push-pull body (request or kOk reply) is a frame of its own.
void PushPull(std::string_view body, std::string_view label) {
  std::string opened;
  const auto payload = core::OpenFrame(body, label, kLimits.max_stream_bytes,
                                       &FuzzKeyring(), &opened);
  if (!payload.ok()) return;
  const auto state = core::DecodePushPull(payload.value, kLimits);
  if (state.ok()) CheckDecodedPushPull(state.value, kLimits);
}

void Message(std::string_view body) {
  const auto message = net::DecodeMessage(body);
  if (!message.ok()) return;
  FUZZ_CHECK(!message->from.empty());
  FUZZ_CHECK(message->from.size() + message->payload.size() < body.size());
  const std::string again = net::EncodeMessage(message->from, message->payload);
  const auto redecoded = net::DecodeMessage(again);
  FUZZ_CHECK(redecoded.ok() && redecoded->from == message->from &&
             redecoded->payload == message->payload);
}

void Members(std::string_view body) {
  const auto members = net::DecodeMembers(body, kNow, 10'000'000);
  if (!members.ok()) return;
  FUZZ_CHECK(members->size() <= body.size());
  const auto again = net::DecodeMembers(net::EncodeMembers(*members, kNow),
                                        kNow, members->size());
  FUZZ_CHECK(again.ok() && again->size() == members->size());
  for (size_t i = 0; i < members->size(); ++i) {
    const MemberInfo& a = (*members)[i];
    const MemberInfo& b = (*again)[i];
    FUZZ_CHECK(a.name == b.name && a.addr == b.addr && a.state == b.state &&
               a.incarnation == b.incarnation && a.meta == b.meta &&
               a.state_changed == b.state_changed);
  }
}

// What Node and QueryMembers do with a whole frame, request or reply.
void Serve(std::string_view frame, std::string_view label) {
  std::string buffer;
  const auto opened =
      net::OpenStream(frame, label, kMaxFrameBytes, &FuzzKeyring(), &buffer);
  if (!opened.ok()) return;
  FUZZ_CHECK(opened->body.size() < frame.size());
  switch (opened->kind) {
    case StreamKind::kPushPull:
      PushPull(opened->body, label);
      return;
    case StreamKind::kMessage:
      Message(opened->body);
      return;
    case StreamKind::kOk:  // a push-pull reply or a member list
      PushPull(opened->body, label);
      Members(opened->body);
      return;
    case StreamKind::kMembers:
    case StreamKind::kError:
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
    const auto kind = static_cast<StreamKind>(rest[0]);
    std::string body(rest.substr(1));
    if (kind == StreamKind::kPushPull) {
      body = roster::core::SealFrame(body, label);
    }
    wire = roster::net::EncodeStream(kind, body, label);
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
