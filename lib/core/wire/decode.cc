#include "core/wire/decode.h"

#include <climits>
#include <utility>

#include "core/wire/canonical_decode.h"
#include "core/wire/checks.h"

namespace roster::core {
namespace {

// Whether the fast path may take a body of `size` bytes: within the limit
// the protobuf path enforces (which also says what a bigger one gets).
bool WithinLimit(size_t size, size_t limit) {
  return size <= limit && size <= static_cast<size_t>(INT_MAX);
}

}  // namespace

bool PacketReader::Read(std::string_view payload, const Limits& limits,
                        WireError* error, int known_kinds) {
  messages_.clear();
  bodies_.clear();
  parsed_.reset();  // what a rare odd datagram needed is not kept
  if (WithinLimit(payload.size(), limits.max_packet_bytes) &&
      ParseCanonicalPacket(payload, limits.max_messages_per_packet, &messages_,
                           known_kinds)) {
    return CheckPacket(messages_, limits, error);
  }
  messages_.clear();
  parsed_ = std::make_unique<wire::Packet>();
  if (!DecodePacketInto(payload, limits, parsed_.get(), error, known_kinds))
    return false;
  AppendViews(*parsed_, &messages_, &bodies_, known_kinds);
  return true;
}

bool PushPullReader::Read(std::string_view payload, const Limits& limits,
                          WireError* error) {
  state_ = PushPullView();
  if (WithinLimit(payload.size(), limits.max_stream_bytes) &&
      ParseCanonicalPushPull(payload, limits.max_members, &state_)) {
    return CheckPushPull(state_, limits, error);
  }
  auto decoded = DecodePushPull(payload, limits);
  if (!decoded.ok()) {
    *error = std::move(decoded.error);
    return false;
  }
  parsed_ = std::move(decoded.value);
  state_ = ViewOf(parsed_);
  return true;
}

}  // namespace roster::core
