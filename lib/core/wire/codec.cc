#include "core/wire/codec.h"

#include <climits>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/wire/checks.h"
#include "core/wire/views.h"
#include "util/coding.h"

namespace roster::core {
namespace {

// Tag of Packet.messages: field 1, wire type 2 (length-delimited).
constexpr char kMessagesTag = 0x0A;

// Protobuf parses at most INT_MAX bytes, so no limit can be above that.
size_t EffectiveLimit(size_t limit) {
  return std::min(limit, static_cast<size_t>(INT_MAX));
}

// Parses `payload` (at most INT_MAX bytes) into `message`; protobuf takes an
// int size and wants a non-null pointer.
bool ParseBounded(std::string_view payload,
                  google::protobuf::MessageLite* message) {
  static constexpr char kEmpty[1] = {0};
  const char* data = payload.data() != nullptr ? payload.data() : kEmpty;
  return message->ParseFromArray(data, static_cast<int>(payload.size()));
}

}  // namespace

std::string EncodeMessageEntry(const wire::Message& message) {
  const size_t body_size = message.ByteSizeLong();
  std::string entry;
  entry.reserve(1 + 10 + body_size);
  entry.push_back(kMessagesTag);
  util::PutVarint64(&entry, body_size);
  const size_t body_at = entry.size();
  entry.resize(body_at + body_size);
  // ByteSizeLong() above cached the sizes this relies on.
  message.SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(entry.data() + body_at));
  return entry;
}

bool DecodePacketInto(std::string_view payload, const Limits& limits,
                      wire::Packet* out, WireError* error, int known_kinds) {
  const size_t max_bytes = EffectiveLimit(limits.max_packet_bytes);
  if (payload.size() > max_bytes) {
    *error = {DropReason::kTooLarge,
              absl::StrCat("packet is ", payload.size(),
                           " bytes, over the limit of ", max_bytes)};
    return false;
  }
  if (!ParseBounded(payload, out)) {
    *error = {DropReason::kMalformed, "packet does not parse"};
    return false;
  }
  std::vector<MessageView> views;
  views.reserve(static_cast<size_t>(out->messages_size()));
  AppendViews(*out, &views, /*bodies=*/nullptr, known_kinds);
  return CheckPacket(views, limits, error);
}

Decoded<wire::Packet> DecodePacket(std::string_view payload,
                                   const Limits& limits, int known_kinds) {
  Decoded<wire::Packet> decoded;
  WireError error;
  if (!DecodePacketInto(payload, limits, &decoded.value, &error, known_kinds)) {
    return Failed<wire::Packet>(error.reason, std::move(error.message));
  }
  return decoded;
}

std::string EncodePushPull(const wire::PushPull& state) {
  std::string out;
  state.SerializeToString(&out);
  return out;
}

Decoded<wire::PushPull> DecodePushPull(std::string_view payload,
                                       const Limits& limits) {
  using Result = wire::PushPull;
  const size_t max_bytes = EffectiveLimit(limits.max_stream_bytes);
  if (payload.size() > max_bytes) {
    return Failed<Result>(
        DropReason::kTooLarge,
        absl::StrCat("push-pull is ", payload.size(),
                     " bytes, over the limit of ", max_bytes));
  }
  Decoded<Result> decoded;
  if (!ParseBounded(payload, &decoded.value)) {
    return Failed<Result>(DropReason::kMalformed, "push-pull does not parse");
  }
  WireError error;
  if (!CheckPushPull(ViewOf(decoded.value), limits, &error)) {
    return Failed<Result>(error.reason, std::move(error.message));
  }
  return decoded;
}

}  // namespace roster::core
