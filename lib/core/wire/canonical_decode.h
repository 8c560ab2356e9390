// A fast parser for the one encoding of each message that roster itself
// writes: protobuf's canonical form (known fields only, in field-number
// order, each at most once, zero and empty values left out, shortest
// varints, one body per Message). On such bytes it gives exactly the values
// protobuf would parse, as views, without allocating a message per field.
//
// Anything else, from a truncated datagram to a valid but differently
// written one (another protobuf library, a future field, a hostile peer),
// makes it return false without judging it: the caller then parses with
// protobuf, which decides. So the fast path never accepts what protobuf
// rejects, nor rejects what protobuf accepts.
#ifndef ROSTER_CORE_WIRE_CANONICAL_DECODE_H_
#define ROSTER_CORE_WIRE_CANONICAL_DECODE_H_

#include <cstddef>
#include <string_view>
#include <vector>

#include "core/wire/views.h"

namespace roster::core {

// Appends the packet's messages to `out`; false (with `out` in any state)
// when the payload is not canonical or holds more than `max_messages`.
// Bodies of kinds past `known_kinds` are views of unknown kinds.
bool ParseCanonicalPacket(std::string_view payload, size_t max_messages,
                          std::vector<MessageView>* out,
                          int known_kinds = kMaxMessageKind);

// The same for a PushPull of at most `max_members` records.
bool ParseCanonicalPushPull(std::string_view payload, size_t max_members,
                            PushPullView* out);

}  // namespace roster::core

#endif  // ROSTER_CORE_WIRE_CANONICAL_DECODE_H_
