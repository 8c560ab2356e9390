// Stream messages: what travels over roster's TCP connections, in one
// place for every kind (proto/roster.proto, StreamKind).
//
// A request or reply is a frame (core/wire/frame.h: label, then checksum or
// sealing) around one StreamKind byte and a body. The 4-byte length prefix
// before it on the connection is the runtime's (net/stream.h); everything
// inside is written and read here, so a stream is sealed once and opened
// once per hop.
//
// Every decoder takes hostile input and fails with a clear status.
#ifndef ROSTER_CORE_WIRE_STREAMS_H_
#define ROSTER_CORE_WIRE_STREAMS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/wire/decoded.h"
#include "roster/config.h"
#include "roster/keyring.h"
#include "roster/member.h"

namespace roster::core {

// A stream message's frame, sealed with the keyring's primary key if it
// seals.
std::string SealStream(wire::StreamKind kind, std::string_view body,
                       std::string_view label, const Keyring* keyring);

struct StreamView {
  wire::StreamKind kind = wire::STREAM_KIND_UNSET;
  // Inside the frame, or for a sealed frame inside the `opened` buffer
  // given to OpenStream.
  std::string_view body;
};
// Opens a stream frame. On failure, the error names the drop reason.
Decoded<StreamView> OpenStream(std::string_view frame, std::string_view label,
                               size_t max_frame_bytes, const Keyring* keyring,
                               std::string* opened);

// A refusal's text, fit to print: at most 300 bytes, anything but
// printable ASCII replaced.
std::string PrintableRefusal(std::string_view text);

// STREAM_KIND_MESSAGE and STREAM_KIND_REQUEST bodies. The sender's name is
// checked by the wire's rule for names. `reply_with_status` asks for a
// STREAM_KIND_REPLY (requests always get one).
std::string EncodeAppMessage(std::string_view from, std::string_view payload,
                             bool reply_with_status = false);
absl::StatusOr<wire::AppMessage> DecodeAppMessage(std::string_view body,
                                                  const Limits& limits);

// STREAM_KIND_REPLY bodies: the receiver's status, and with Ok the
// response. A code that is no absl::StatusCode reads as kUnknown, and a
// refusal's text is made printable (PrintableRefusal).
std::string EncodeAppReply(const absl::Status& status,
                           std::string_view payload);
absl::StatusOr<wire::AppReply> DecodeAppReply(std::string_view body);
// The status an AppReply carries (Ok, or its code and printable text).
absl::Status AppReplyStatus(const wire::AppReply& reply);

// The bodies of STREAM_KIND_MEMBERS replies: each member with the time
// since its last change of state. Names and addresses are checked by the
// wire's rule, metadata against its limit, at most `limits.max_members`.
std::string EncodeMemberList(const std::vector<MemberInfo>& members,
                             absl::Time now);
absl::StatusOr<std::vector<MemberInfo>> DecodeMemberList(std::string_view body,
                                                         absl::Time now,
                                                         const Limits& limits);

}  // namespace roster::core

#endif  // ROSTER_CORE_WIRE_STREAMS_H_
