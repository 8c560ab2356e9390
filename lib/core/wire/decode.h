// Decoding datagrams and push-pull bodies into views for Swim. Bytes in the
// canonical form roster writes take the fast path (canonical_decode.h);
// anything else is parsed by protobuf (wire.h). Either way the result is
// the same: the same messages, checked by the same rules, rejected with the
// same DropReason and message as DecodePacket and DecodePushPull.
#ifndef ROSTER_CORE_WIRE_DECODE_H_
#define ROSTER_CORE_WIRE_DECODE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/wire/codec.h"
#include "core/wire/views.h"
#include "roster/config.h"

namespace roster::core {

// Reads one datagram's payload at a time, reusing its memory.
class PacketReader {
 public:
  // False with `error` set when the payload is rejected. The views point
  // into `payload` (or into the reader) until the next Read. Bodies of
  // kinds this reader does not know (past `known_kinds`, or past every
  // kind) are views of unknown kinds, for the caller to skip.
  bool Read(std::string_view payload, const Limits& limits, WireError* error,
            int known_kinds = kMaxMessageKind);
  const std::vector<MessageView>& messages() const { return messages_; }

 private:
  std::vector<MessageView> messages_;
  std::unique_ptr<wire::Packet> parsed_;  // the protobuf path's messages
  std::vector<std::string> bodies_;       // and its user broadcast bodies
};

// Reads one push-pull body.
class PushPullReader {
 public:
  bool Read(std::string_view payload, const Limits& limits, WireError* error);
  // Points into `payload` (or into the reader).
  const PushPullView& state() const { return state_; }

 private:
  PushPullView state_;
  wire::PushPull parsed_;  // the protobuf path's state
};

}  // namespace roster::core

#endif  // ROSTER_CORE_WIRE_DECODE_H_
