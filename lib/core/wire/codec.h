// The protobuf codec of datagram payloads and push-pull bodies: the
// reference that the fast paths (encode.h, decode.h) are tested against,
// and what tests and tools build messages with. Decoders take hostile input
// and check every value (checks.h).
#ifndef ROSTER_CORE_WIRE_CODEC_H_
#define ROSTER_CORE_WIRE_CODEC_H_

#include <string>
#include <string_view>

#include "core/wire/decoded.h"
#include "core/wire/fields.h"
#include "proto/roster.pb.h"
#include "roster/config.h"

namespace roster::core {

// One message encoded as an entry of Packet.messages (field tag, length,
// body), so a packet is the concatenation of such entries.
std::string EncodeMessageEntry(const wire::Message& message);

// Parses a Packet payload and validates every message against `limits`,
// but for bodies of unknown kinds (views.h, AppendViews), which are kept
// as protobuf keeps unknown fields.
Decoded<wire::Packet> DecodePacket(std::string_view payload,
                                   const Limits& limits,
                                   int known_kinds = kMaxMessageKind);
// The same into a caller's message (which may live on an arena, so that a
// datagram's decode costs no heap allocation); false with `error` set when
// the payload is rejected.
bool DecodePacketInto(std::string_view payload, const Limits& limits,
                      wire::Packet* out, WireError* error,
                      int known_kinds = kMaxMessageKind);

std::string EncodePushPull(const wire::PushPull& state);
Decoded<wire::PushPull> DecodePushPull(std::string_view payload,
                                       const Limits& limits);

}  // namespace roster::core

#endif  // ROSTER_CORE_WIRE_CODEC_H_
