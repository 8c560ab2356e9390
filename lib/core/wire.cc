#include "core/wire.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace roster::core {
namespace {

constexpr uint8_t kFlagLabel = 1u << 0;
constexpr uint8_t kFlagChecksum = 1u << 1;
constexpr uint8_t kFlagEncrypted = 1u << 2;
constexpr uint8_t kKnownFlags = kFlagLabel | kFlagChecksum | kFlagEncrypted;

constexpr size_t kHeaderBytes = 2;  // version, flags
constexpr size_t kCrcBytes = 4;

// Tag of Packet.messages: field 1, wire type 2 (length-delimited).
constexpr char kMessagesTag = 0x0A;

// CRC-32C (Castagnoli), reflected polynomial.

// Debian's abseil is built with its own absl::string_view, distinct from
// std::string_view, so views are converted before they reach absl.
absl::string_view Absl(std::string_view view) {
  return absl::string_view(view.data(), view.size());
}

std::string_view ClampLabel(std::string_view label) {
  return label.substr(0, std::min(label.size(), kMaxLabelBytes));
}

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

uint32_t ReadBigEndian32(const char* p) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(p[0])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(p[1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(p[2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(p[3]));
}

void WriteBigEndian32(uint32_t value, char* p) {
  p[0] = static_cast<char>(value >> 24);
  p[1] = static_cast<char>(value >> 16);
  p[2] = static_cast<char>(value >> 8);
  p[3] = static_cast<char>(value);
}

template <typename T>
Decoded<T> Fail(DropReason reason, std::string message) {
  Decoded<T> decoded;
  decoded.error.reason = reason;
  decoded.error.message = std::move(message);
  return decoded;
}

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

// Names and addresses travel as protobuf bytes (so that protobuf does not
// log every bad string a hostile peer sends) and are checked here instead:
// well-formed UTF-8, no overlong forms, no surrogates, nothing past U+10FFFF.
bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<uint8_t>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((b & 0xE0) == 0xC0) {
      len = 2;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto c = static_cast<uint8_t>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

// Checks a name or address: present, within `max_bytes`, and free of NUL,
// control bytes and DEL. On failure fills `error` and returns false.
// `field` names the field for the log message; the value itself is not
// echoed because it is hostile input.
// Names the field being checked; the text is only built for a rejection,
// so checking a valid packet allocates nothing.
struct Field {
  const char* list;  // "messages", "members", or null at the top level
  size_t index;
  const char* name;
  std::string Describe() const {
    return list == nullptr ? std::string(name)
                           : absl::StrCat(list, "[", index, "].", name);
  }
};

bool CheckText(std::string_view value, const Field& field, size_t max_bytes,
               WireError* error) {
  if (value.empty()) {
    *error = {DropReason::kMalformed,
              absl::StrCat(field.Describe(), " is empty")};
    return false;
  }
  if (value.size() > max_bytes) {
    *error = {DropReason::kTooLarge,
              absl::StrCat(field.Describe(), " is ", value.size(),
                           " bytes, over the limit of ", max_bytes)};
    return false;
  }
  // Nearly every name and address is printable ASCII: check that in one
  // branch-light pass and skip the byte-by-byte and UTF-8 checks.
  bool printable_ascii = true;
  for (const char c : value) {
    const auto byte = static_cast<uint8_t>(c);
    printable_ascii &= byte >= 0x20 && byte < 0x7F;
  }
  if (printable_ascii) return true;
  for (size_t i = 0; i < value.size(); ++i) {
    const auto byte = static_cast<uint8_t>(value[i]);
    if (byte < 0x20 || byte == 0x7F) {
      *error = {
          DropReason::kMalformed,
          absl::StrCat(field.Describe(), " has control byte 0x",
                       absl::Hex(byte, absl::kZeroPad2), " at offset ", i)};
      return false;
    }
  }
  if (!IsUtf8(value)) {
    *error = {DropReason::kMalformed,
              absl::StrCat(field.Describe(), " is not valid UTF-8")};
    return false;
  }
  return true;
}

// Suspicions and deaths past kMaxIncarnation are hostile; an alive may be
// one higher, so that a member can always refute (see wire.h).
bool CheckIncarnation(uint64_t value, const Field& field, WireError* error,
                      bool alive = false) {
  const uint64_t limit = alive ? kMaxIncarnation + 1 : kMaxIncarnation;
  if (value <= limit) return true;
  *error = {DropReason::kMalformed,
            absl::StrCat(field.Describe(), " ", value, " is over the limit of ",
                         limit)};
  return false;
}

bool CheckName(std::string_view value, const Field& field, const Limits& limits,
               WireError* error) {
  return CheckText(value, field, limits.max_name_bytes, error);
}

bool CheckAddr(std::string_view value, const Field& field, const Limits& limits,
               WireError* error) {
  return CheckText(value, field, limits.max_addr_bytes, error);
}

// Checks an opaque byte field: only its size matters.
bool CheckBlob(std::string_view value, const Field& field, size_t max_bytes,
               WireError* error) {
  if (value.size() > max_bytes) {
    *error = {DropReason::kTooLarge,
              absl::StrCat(field.Describe(), " is ", value.size(),
                           " bytes, over the limit of ", max_bytes)};
    return false;
  }
  return true;
}

bool CheckMessage(const wire::Message& message, size_t index,
                  const Limits& limits, WireError* error) {
  switch (message.body_case()) {
    case wire::Message::kPing: {
      const wire::Ping& ping = message.ping();
      return CheckName(ping.target(), Field{"messages", index, "ping.target"},
                       limits, error) &&
             CheckName(ping.source(), Field{"messages", index, "ping.source"},
                       limits, error) &&
             CheckAddr(ping.source_addr(),
                       Field{"messages", index, "ping.source_addr"}, limits,
                       error);
    }
    case wire::Message::kIndirectPing: {
      const wire::IndirectPing& ping = message.indirect_ping();
      return CheckName(ping.target(),
                       Field{"messages", index, "indirect_ping.target"}, limits,
                       error) &&
             CheckAddr(ping.target_addr(),
                       Field{"messages", index, "indirect_ping.target_addr"},
                       limits, error) &&
             CheckName(ping.source(),
                       Field{"messages", index, "indirect_ping.source"}, limits,
                       error) &&
             CheckAddr(ping.source_addr(),
                       Field{"messages", index, "indirect_ping.source_addr"},
                       limits, error);
    }
    case wire::Message::kAck:
    case wire::Message::kNack:
      return true;
    case wire::Message::kAlive: {
      const wire::Alive& alive = message.alive();
      return CheckIncarnation(alive.incarnation(),
                              Field{"messages", index, "alive.incarnation"},
                              error, /*alive=*/true) &&
             CheckName(alive.name(), Field{"messages", index, "alive.name"},
                       limits, error) &&
             CheckAddr(alive.addr(), Field{"messages", index, "alive.addr"},
                       limits, error) &&
             CheckBlob(alive.meta(), Field{"messages", index, "alive.meta"},
                       limits.max_meta_bytes, error);
    }
    case wire::Message::kSuspect: {
      const wire::Suspect& suspect = message.suspect();
      return CheckIncarnation(suspect.incarnation(),
                              Field{"messages", index, "suspect.incarnation"},
                              error) &&
             CheckName(suspect.name(), Field{"messages", index, "suspect.name"},
                       limits, error) &&
             CheckName(suspect.from(), Field{"messages", index, "suspect.from"},
                       limits, error);
    }
    case wire::Message::kDead: {
      const wire::Dead& dead = message.dead();
      return CheckIncarnation(dead.incarnation(),
                              Field{"messages", index, "dead.incarnation"},
                              error) &&
             CheckName(dead.name(), Field{"messages", index, "dead.name"},
                       limits, error) &&
             CheckName(dead.from(), Field{"messages", index, "dead.from"},
                       limits, error);
    }
    case wire::Message::kUser:
      return CheckName(message.user().origin(),
                       Field{"messages", index, "user.origin"}, limits,
                       error) &&
             CheckBlob(message.user().payload(),
                       Field{"messages", index, "user.payload"},
                       limits.max_packet_bytes, error);
    case wire::Message::BODY_NOT_SET:
      break;
  }
  *error = {DropReason::kMalformed,
            absl::StrCat("messages[", index,
                         "].body is not set (empty or unknown kind)")};
  return false;
}

bool CheckMemberRecord(const wire::MemberRecord& record, size_t index,
                       const Limits& limits, WireError* error) {
  if (!CheckIncarnation(record.incarnation(),
                        Field{"members", index, "incarnation"}, error,
                        record.state() == wire::MEMBER_STATE_ALIVE) ||
      !CheckName(record.name(), Field{"members", index, "name"}, limits,
                 error) ||
      !CheckAddr(record.addr(), Field{"members", index, "addr"}, limits,
                 error) ||
      !CheckBlob(record.meta(), Field{"members", index, "meta"},
                 limits.max_meta_bytes, error)) {
    return false;
  }
  if (!wire::MemberState_IsValid(record.state())) {
    *error = {DropReason::kMalformed,
              absl::StrCat("members[", index, "].state has unknown value ",
                           static_cast<int>(record.state()))};
    return false;
  }
  return true;
}

// Why a frame's label is not ours, if it is not.
std::optional<WireError> CheckLabel(bool has_label, std::string_view label,
                                    std::string_view expected_label) {
  if (label == expected_label) return std::nullopt;
  std::string message;
  if (!has_label) {
    message = "frame carries no label, expected one";
  } else if (expected_label.empty()) {
    message = absl::StrCat("frame carries label \"",
                           absl::CHexEscape(Absl(label)), "\", expected none");
  } else {
    message =
        absl::StrCat("frame carries label \"", absl::CHexEscape(Absl(label)),
                     "\", expected another");
  }
  return WireError{DropReason::kWrongLabel, std::move(message)};
}

}  // namespace

size_t FrameOverhead(std::string_view label, const Keyring* keyring) {
  label = ClampLabel(label);
  const bool sealed = keyring != nullptr && keyring->seals();
  return kHeaderBytes + (label.empty() ? 0 : 1 + label.size()) +
         (sealed ? Keyring::kOverhead : kCrcBytes);
}

std::string SealFrame(std::string_view payload, std::string_view label) {
  return SealFrame(payload, label, nullptr, {});
}

std::string SealFrame(std::string_view payload, std::string_view label,
                      const Keyring* keyring,
                      const std::function<uint64_t()>& random) {
  // A label over kMaxLabelBytes is refused by Config::Validate; should one
  // slip through, it is cut rather than written with a wrapped length.
  label = ClampLabel(label);
  const bool sealed = keyring != nullptr && keyring->seals();
  std::string frame;
  frame.reserve(FrameOverhead(label, keyring) + payload.size());
  frame.push_back(static_cast<char>(kFrameVersion));
  uint8_t flags = sealed ? kFlagEncrypted : kFlagChecksum;
  if (!label.empty()) flags |= kFlagLabel;
  frame.push_back(static_cast<char>(flags));
  if (!label.empty()) {
    frame.push_back(static_cast<char>(label.size()));
    frame.append(label);
  }
  if (sealed) {
    // The header (label included) is authenticated but travels in clear,
    // so a member of another cluster drops the frame without a decryption.
    uint8_t nonce[Keyring::kNonceBytes];
    for (size_t i = 0; i < sizeof(nonce); i += 8) {
      const uint64_t word = random();
      for (size_t b = 0; b < 8; ++b) {
        nonce[i + b] = static_cast<uint8_t>(word >> (8 * b));
      }
    }
    const std::string header = frame;
    keyring->Seal(payload, header, nonce, &frame);
    return frame;
  }
  const size_t crc_at = frame.size();
  frame.append(kCrcBytes, '\0');
  frame.append(payload);
  const std::string_view view(frame);
  const uint32_t crc =
      Crc32c(view.substr(crc_at + kCrcBytes), Crc32c(view.substr(0, crc_at)));
  WriteBigEndian32(crc, frame.data() + crc_at);
  return frame;
}

Decoded<std::string_view> OpenFrame(std::string_view frame,
                                    std::string_view expected_label,
                                    size_t max_frame_bytes,
                                    const Keyring* keyring,
                                    std::string* opened) {
  using Result = std::string_view;
  if (frame.size() > max_frame_bytes) {
    return Fail<Result>(
        DropReason::kTooLarge,
        absl::StrCat("frame is ", frame.size(), " bytes, over the limit of ",
                     max_frame_bytes));
  }
  if (frame.size() < kHeaderBytes) {
    return Fail<Result>(DropReason::kMalformed,
                        absl::StrCat("frame of ", frame.size(),
                                     " bytes is shorter than its header"));
  }
  const auto version = static_cast<uint8_t>(frame[0]);
  if (version != kFrameVersion) {
    return Fail<Result>(
        DropReason::kBadVersion,
        absl::StrCat("frame version ", version,
                     " is not the supported version ", kFrameVersion));
  }
  const auto flags = static_cast<uint8_t>(frame[1]);
  if ((flags & ~kKnownFlags) != 0) {
    return Fail<Result>(
        DropReason::kMalformed,
        absl::StrCat("frame has unknown flag bits 0x",
                     absl::Hex(flags & ~kKnownFlags, absl::kZeroPad2)));
  }
  const bool encrypted = (flags & kFlagEncrypted) != 0;
  if (encrypted && (flags & kFlagChecksum) != 0) {
    return Fail<Result>(DropReason::kMalformed,
                        "encrypted frame also claims a checksum");
  }
  if (!encrypted && (flags & kFlagChecksum) == 0) {
    return Fail<Result>(DropReason::kMalformed,
                        "unencrypted frame carries no checksum");
  }
  size_t pos = kHeaderBytes;
  const bool has_label = (flags & kFlagLabel) != 0;
  std::string_view label;
  if (has_label) {
    if (frame.size() - pos < 1) {
      return Fail<Result>(DropReason::kMalformed,
                          "frame ends before its label length");
    }
    const size_t label_size = static_cast<uint8_t>(frame[pos]);
    ++pos;
    if (label_size == 0) {
      return Fail<Result>(DropReason::kMalformed,
                          "frame has the label flag but an empty label");
    }
    if (frame.size() - pos < label_size) {
      return Fail<Result>(
          DropReason::kMalformed,
          absl::StrCat("frame ends inside its ", label_size, "-byte label"));
    }
    label = frame.substr(pos, label_size);
    pos += label_size;
  }
  if (encrypted) {
    // The label is authenticated with the payload: compared first, so
    // another cluster's traffic costs no decryption; a forged one fails
    // to open.
    auto wrong = CheckLabel(has_label, label, expected_label);
    if (wrong.has_value()) return Fail<Result>(wrong->reason, wrong->message);
    if (keyring == nullptr || opened == nullptr) {
      return Fail<Result>(DropReason::kUndecryptable,
                          "encrypted frame, and no keyring to open it");
    }
    if (frame.size() - pos < Keyring::kOverhead) {
      return Fail<Result>(DropReason::kMalformed,
                          "encrypted frame is shorter than its nonce and tag");
    }
    if (!keyring->Open(frame.substr(pos), frame.substr(0, pos), opened)) {
      return Fail<Result>(
          DropReason::kUndecryptable,
          "encrypted frame opens with no installed key (another key, or "
          "changed in transit)");
    }
    Decoded<Result> decoded;
    decoded.value = *opened;
    return decoded;
  }
  if (frame.size() - pos < kCrcBytes) {
    return Fail<Result>(DropReason::kMalformed,
                        "frame ends inside its checksum");
  }
  const uint32_t stored = ReadBigEndian32(frame.data() + pos);
  const uint32_t computed =
      Crc32c(frame.substr(pos + kCrcBytes), Crc32c(frame.substr(0, pos)));
  if (stored != computed) {
    return Fail<Result>(
        DropReason::kBadChecksum,
        absl::StrCat("frame checksum 0x", absl::Hex(stored, absl::kZeroPad8),
                     " does not match computed 0x",
                     absl::Hex(computed, absl::kZeroPad8)));
  }
  // The label is compared after the checksum, so a label damaged in transit
  // counts as corruption, not as another cluster's traffic.
  auto wrong = CheckLabel(has_label, label, expected_label);
  if (wrong.has_value()) return Fail<Result>(wrong->reason, wrong->message);
  if (keyring != nullptr &&
      keyring->plaintext() == Keyring::Plaintext::kRefuse) {
    return Fail<Result>(DropReason::kPlaintext,
                        "unencrypted frame, and this member requires "
                        "encryption");
  }
  Decoded<Result> decoded;
  decoded.value = frame.substr(pos + kCrcBytes);
  return decoded;
}

std::string EncodeMessageEntry(const wire::Message& message) {
  const size_t body_size = message.ByteSizeLong();
  std::string entry;
  entry.reserve(1 + 10 + body_size);
  entry.push_back(kMessagesTag);
  AppendVarint(body_size, &entry);
  const size_t body_at = entry.size();
  entry.resize(body_at + body_size);
  // ByteSizeLong() above cached the sizes this relies on.
  message.SerializeWithCachedSizesToArray(
      reinterpret_cast<uint8_t*>(entry.data() + body_at));
  return entry;
}

bool DecodePacketInto(std::string_view payload, const Limits& limits,
                      wire::Packet* out, WireError* error) {
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
  const size_t count = static_cast<size_t>(out->messages_size());
  if (count > limits.max_messages_per_packet) {
    *error = {
        DropReason::kTooLarge,
        absl::StrCat("packet has ", count, " messages, over the limit of ",
                     limits.max_messages_per_packet)};
    return false;
  }
  for (size_t i = 0; i < count; ++i) {
    if (!CheckMessage(out->messages(static_cast<int>(i)), i, limits, error))
      return false;
  }
  return true;
}

Decoded<wire::Packet> DecodePacket(std::string_view payload,
                                   const Limits& limits) {
  Decoded<wire::Packet> decoded;
  WireError error;
  if (!DecodePacketInto(payload, limits, &decoded.value, &error)) {
    return Fail<wire::Packet>(error.reason, std::move(error.message));
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
    return Fail<Result>(DropReason::kTooLarge,
                        absl::StrCat("push-pull is ", payload.size(),
                                     " bytes, over the limit of ", max_bytes));
  }
  Decoded<Result> decoded;
  if (!ParseBounded(payload, &decoded.value)) {
    return Fail<Result>(DropReason::kMalformed, "push-pull does not parse");
  }
  const wire::PushPull& state = decoded.value;
  const size_t count = static_cast<size_t>(state.members_size());
  if (count > limits.max_members) {
    return Fail<Result>(
        DropReason::kTooLarge,
        absl::StrCat("push-pull has ", count, " members, over the limit of ",
                     limits.max_members));
  }
  WireError error;
  if (!CheckName(state.source(), Field{nullptr, 0, "source"}, limits, &error)) {
    return Fail<Result>(error.reason, std::move(error.message));
  }
  for (size_t i = 0; i < count; ++i) {
    if (!CheckMemberRecord(state.members(static_cast<int>(i)), i, limits,
                           &error)) {
      return Fail<Result>(error.reason, std::move(error.message));
    }
  }
  if (!CheckBlob(state.user_state(), Field{nullptr, 0, "user_state"},
                 limits.max_user_state_bytes, &error)) {
    return Fail<Result>(error.reason, std::move(error.message));
  }
  return decoded;
}

}  // namespace roster::core
