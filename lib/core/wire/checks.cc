#include "core/wire/checks.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace roster::core {
namespace {

// Whether every byte is in 0x20..0x7E, eight bytes to a word: a word is
// bad if a byte has its top bit set, is below 0x20, or is 0x7F (the
// classic "has a byte less than n" and "has a zero byte" tests, exact as
// yes-or-no answers).
bool IsPrintableAscii(std::string_view s) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  constexpr uint64_t kHigh = 0x8080808080808080;
  auto bad = [](uint64_t w) {
    const uint64_t del = w ^ (kOnes * 0x7F);
    return (w | ((w - kOnes * 0x20) & ~w) | ((del - kOnes) & ~del)) & kHigh;
  };
  size_t i = 0;
  uint64_t any_bad = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    any_bad |= bad(w);
  }
  if (i < s.size()) {
    uint64_t w = kOnes * 'A';  // printable filler for the missing bytes
    std::memcpy(&w, s.data() + i, s.size() - i);
    any_bad |= bad(w);
  }
  return any_bad == 0;
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
  // Nearly every name and address is printable ASCII: check that eight
  // bytes at a time and skip the byte-by-byte and UTF-8 checks.
  if (IsPrintableAscii(value)) return true;
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

bool CheckMessage(const MessageView& message, size_t index,
                  const Limits& limits, WireError* error) {
  switch (message.body_case()) {
    case wire::Message::kPing: {
      const PingView ping = message.ping();
      return CheckName(ping.target(), Field{"messages", index, "ping.target"},
                       limits, error) &&
             CheckName(ping.source(), Field{"messages", index, "ping.source"},
                       limits, error) &&
             (ping.source_addr().empty() ||
              CheckAddr(ping.source_addr(),
                        Field{"messages", index, "ping.source_addr"}, limits,
                        error));
    }
    case wire::Message::kIndirectPing: {
      const IndirectPingView ping = message.indirect_ping();
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
      const AliveView alive = message.alive();
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
      const AccusationView suspect = message.suspect();
      return CheckIncarnation(suspect.incarnation(),
                              Field{"messages", index, "suspect.incarnation"},
                              error) &&
             CheckName(suspect.name(), Field{"messages", index, "suspect.name"},
                       limits, error) &&
             CheckName(suspect.from(), Field{"messages", index, "suspect.from"},
                       limits, error);
    }
    case wire::Message::kDead: {
      const AccusationView dead = message.dead();
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

bool CheckMemberRecord(const MemberRecordView& record, size_t index,
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

}  // namespace

bool CheckPacket(const std::vector<MessageView>& messages, const Limits& limits,
                 WireError* error) {
  const size_t count = messages.size();
  if (count > limits.max_messages_per_packet) {
    *error = {
        DropReason::kTooLarge,
        absl::StrCat("packet has ", count, " messages, over the limit of ",
                     limits.max_messages_per_packet)};
    return false;
  }
  for (size_t i = 0; i < count; ++i) {
    if (!CheckMessage(messages[i], i, limits, error)) return false;
  }
  return true;
}

bool CheckPushPull(const PushPullView& state, const Limits& limits,
                   WireError* error) {
  const size_t count = state.members().size();
  if (count > limits.max_members) {
    *error = {DropReason::kTooLarge,
              absl::StrCat("push-pull has ", count,
                           " members, over the limit of ", limits.max_members)};
    return false;
  }
  if (!CheckName(state.source(), Field{nullptr, 0, "source"}, limits, error))
    return false;
  for (size_t i = 0; i < count; ++i) {
    if (!CheckMemberRecord(state.members()[i], i, limits, error)) return false;
  }
  return CheckBlob(state.user_state(), Field{nullptr, 0, "user_state"},
                   limits.max_user_state_bytes, error);
}

bool CheckMemberName(std::string_view value, const char* what,
                     const Limits& limits, WireError* error) {
  return CheckName(value, Field{nullptr, 0, what}, limits, error);
}

bool CheckMemberAddr(std::string_view value, const char* what,
                     const Limits& limits, WireError* error) {
  return CheckAddr(value, Field{nullptr, 0, what}, limits, error);
}

}  // namespace roster::core
