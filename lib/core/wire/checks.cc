#include "core/wire/checks.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/wire/coordinate.h"

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

// Where the fields being checked are: in which element of which list, in
// which body of a Message.
struct Where {
  const char* list;  // "messages", "members", or null at the top level
  size_t index;
  const char* message;  // the body's name in a Message ("alive"), or null
};
constexpr Where kTopLevel{nullptr, 0, nullptr};

// Names the field being checked, as `messages[1].alive.name`,
// `members[0].addr` or `source`; the text is only built for a rejection,
// so checking a valid packet allocates nothing.
struct Field {
  const Where& where;
  const char* name;
  std::string Describe() const {
    const std::string prefix = where.message == nullptr
                                   ? std::string()
                                   : absl::StrCat(where.message, ".");
    return where.list == nullptr
               ? absl::StrCat(prefix, name)
               : absl::StrCat(where.list, "[", where.index, "].", prefix, name);
  }
};

// Checks a name or address: present, within `max_bytes`, and free of NUL,
// control bytes and DEL. On failure fills `error` and returns false.
// `field` names the field for the log message; the value itself is not
// echoed because it is hostile input.
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

// The order of the checks within a message (fields.h, FieldRule): every
// field of one phase, by field number, before any of the next.
enum Phase : int {
  kCounts,
  kIncarnations,
  kTexts,
  kRecords,
  kSizes,
  kEnums,
  kPhases,
};

constexpr bool InPhase(FieldRule rule, int phase) {
  switch (rule) {
    case FieldRule::kAny:
      return false;
    case FieldRule::kName:
    case FieldRule::kAddr:
    case FieldRule::kOptionalAddr:
      return phase == kTexts;
    case FieldRule::kIncarnation:
    case FieldRule::kAliveIncarnation:
    case FieldRule::kRecordIncarnation:
      return phase == kIncarnations;
    case FieldRule::kMeta:
    case FieldRule::kPayload:
    case FieldRule::kUserState:
    case FieldRule::kCoordinate:
      return phase == kSizes;
    case FieldRule::kKnownState:
      return phase == kEnums;
    case FieldRule::kMembers:
      return phase == kCounts || phase == kRecords;
  }
  return false;
}

template <typename View>
bool CheckFields(const View& view, const Where& where, const Limits& limits,
                 WireError* error);

// Field `name` of `view`, holding `value`, by `rule` if it is checked in
// `phase`.
template <FieldRule rule, int phase, typename View, typename Value>
bool CheckField(const View& view, const Value& value, const Where& where,
                const char* name, const Limits& limits, WireError* error) {
  if constexpr (!InPhase(rule, phase)) {
    return true;
  } else if constexpr (rule == FieldRule::kName) {
    return CheckName(value, Field{where, name}, limits, error);
  } else if constexpr (rule == FieldRule::kAddr) {
    return CheckAddr(value, Field{where, name}, limits, error);
  } else if constexpr (rule == FieldRule::kOptionalAddr) {
    return value.empty() || CheckAddr(value, Field{where, name}, limits, error);
  } else if constexpr (rule == FieldRule::kIncarnation) {
    return CheckIncarnation(value, Field{where, name}, error);
  } else if constexpr (rule == FieldRule::kAliveIncarnation) {
    return CheckIncarnation(value, Field{where, name}, error, /*alive=*/true);
  } else if constexpr (rule == FieldRule::kRecordIncarnation) {
    return CheckIncarnation(value, Field{where, name}, error,
                            view.state() == wire::MEMBER_STATE_ALIVE);
  } else if constexpr (rule == FieldRule::kMeta) {
    return CheckBlob(value, Field{where, name}, limits.max_meta_bytes, error);
  } else if constexpr (rule == FieldRule::kPayload) {
    return CheckBlob(value, Field{where, name}, limits.max_packet_bytes, error);
  } else if constexpr (rule == FieldRule::kUserState) {
    return CheckBlob(value, Field{where, name}, limits.max_user_state_bytes,
                     error);
  } else if constexpr (rule == FieldRule::kCoordinate) {
    return CheckBlob(value, Field{where, name}, kMaxCoordinateBytes, error);
  } else if constexpr (rule == FieldRule::kKnownState) {
    if (wire::MemberState_IsValid(value)) return true;
    *error = {DropReason::kMalformed,
              absl::StrCat(Field{where, name}.Describe(), " has unknown value ",
                           static_cast<int>(value))};
    return false;
  } else if constexpr (rule == FieldRule::kMembers && phase == kCounts) {
    const size_t count = value.size();
    if (count <= limits.max_members) return true;
    *error = {DropReason::kTooLarge,
              absl::StrCat("push-pull has ", count,
                           " members, over the limit of ", limits.max_members)};
    return false;
  } else if constexpr (rule == FieldRule::kMembers) {
    for (size_t i = 0; i < value.size(); ++i) {
      if (!CheckFields(value[i], Where{name, i, nullptr}, limits, error))
        return false;
    }
    return true;
  } else {
    static_assert(rule == FieldRule::kAny, "a rule with no check");
    return true;
  }
}

// CheckPhase<phase>(view, ...) for each table: its fields checked in
// `phase`, by field number.
#define ROSTER_WIRE_CHECK_FIELD_(number, field, Field, Type, Rule)        \
  &&CheckField<FieldRule::Rule, phase>(view, view.field(), where, #field, \
                                       limits, error)
#define ROSTER_WIRE_DEFINE_CHECK_(View, Msg)                                  \
  template <int phase>                                                        \
  bool CheckPhase(const View& view, const Where& where, const Limits& limits, \
                  WireError* error) {                                         \
    return true ROSTER_WIRE_FIELDS_##Msg(ROSTER_WIRE_CHECK_FIELD_);           \
  }
#define ROSTER_WIRE_DEFINE_KIND_CHECK_(number, field, Field, Msg) \
  ROSTER_WIRE_DEFINE_CHECK_(Field##View, Msg)
ROSTER_WIRE_KINDS(ROSTER_WIRE_DEFINE_KIND_CHECK_)
ROSTER_WIRE_DEFINE_CHECK_(MemberRecordView, MemberRecord)
ROSTER_WIRE_DEFINE_CHECK_(PushPullView, PushPull)
#undef ROSTER_WIRE_DEFINE_KIND_CHECK_
#undef ROSTER_WIRE_DEFINE_CHECK_
#undef ROSTER_WIRE_CHECK_FIELD_

template <typename View, int... phase>
bool CheckPhases(const View& view, const Where& where, const Limits& limits,
                 WireError* error, std::integer_sequence<int, phase...>) {
  return (CheckPhase<phase>(view, where, limits, error) && ...);
}

// Every field of `view` by its rule, phase by phase.
template <typename View>
bool CheckFields(const View& view, const Where& where, const Limits& limits,
                 WireError* error) {
  return CheckPhases(view, where, limits, error,
                     std::make_integer_sequence<int, kPhases>());
}

bool CheckMessage(const MessageView& message, size_t index,
                  const Limits& limits, WireError* error) {
  switch (message.body_case()) {
#define ROSTER_WIRE_CHECK_KIND_(number, field, Field, Msg)                \
  case wire::Message::k##Field:                                           \
    return CheckFields(message.field(), Where{"messages", index, #field}, \
                       limits, error);
    ROSTER_WIRE_KINDS(ROSTER_WIRE_CHECK_KIND_)
#undef ROSTER_WIRE_CHECK_KIND_
    case wire::Message::BODY_NOT_SET:
      if (message.unknown_kind != 0) return true;  // skipped, not read
      break;
  }
  *error = {DropReason::kMalformed,
            absl::StrCat("messages[", index,
                         "].body is not set (empty or unknown kind)")};
  return false;
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
  return CheckFields(state, kTopLevel, limits, error);
}

bool CheckMemberName(std::string_view value, const char* what,
                     const Limits& limits, WireError* error) {
  return CheckName(value, Field{kTopLevel, what}, limits, error);
}

bool CheckMemberAddr(std::string_view value, const char* what,
                     const Limits& limits, WireError* error) {
  return CheckAddr(value, Field{kTopLevel, what}, limits, error);
}

}  // namespace roster::core
