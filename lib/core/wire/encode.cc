#include "core/wire/encode.h"

#include <cstddef>
#include <utility>

#include "core/wire/fields.h"
#include "proto/roster.pb.h"
#include "util/coding.h"

namespace roster::core {
namespace {

// Every field number is below 16 (fields.h checks), so a tag is one byte.
constexpr char Tag(int field, int wire_type) {
  return static_cast<char>((field << 3) | wire_type);
}
constexpr int kVarint = 0;
constexpr int kLengthDelimited = 2;

using util::PutVarint64;
using util::VarintLength;

// What the encoder takes for a field of each type.
template <FieldType>
struct EncodedValue;
template <>
struct EncodedValue<FieldType::kUint32> {
  using type = uint32_t;
};
template <>
struct EncodedValue<FieldType::kUint64> {
  using type = uint64_t;
};
template <>
struct EncodedValue<FieldType::kBool> {
  using type = bool;
};
template <>
struct EncodedValue<FieldType::kMemberState> {
  using type = MemberState;
};
template <>
struct EncodedValue<FieldType::kBytes> {
  using type = std::string_view;
};
// Records are written one at a time (PushPullWriter::AddMember).
template <>
struct EncodedValue<FieldType::kMemberRecords> {
  struct type {};
};

// The values of one message, a member per row of its table in fields.h,
// each zero or empty unless set (and then left out, as protobuf does):
// PingValues, IndirectPingValues, AckValues, NackValues, AliveValues,
// SuspectValues, DeadValues and UserValues (by ROSTER_WIRE_KINDS), then
// MemberRecordValues and PushPullValues. The encoders below fill them
// with designated initializers, so a field added to a table is left out
// until they are given it.
#define ROSTER_WIRE_VALUE_MEMBER_(number, field, Field, Type, Rule) \
  EncodedValue<FieldType::Type>::type field{};
#define ROSTER_WIRE_VALUES_(Values, Msg)                \
  struct Values {                                       \
    ROSTER_WIRE_FIELDS_##Msg(ROSTER_WIRE_VALUE_MEMBER_) \
  };
#define ROSTER_WIRE_KIND_VALUES_(number, field, Field, Msg) \
  ROSTER_WIRE_VALUES_(Field##Values, Msg)
ROSTER_WIRE_KINDS(ROSTER_WIRE_KIND_VALUES_)
ROSTER_WIRE_VALUES_(MemberRecordValues, MemberRecord)
ROSTER_WIRE_VALUES_(PushPullValues, PushPull)
#undef ROSTER_WIRE_KIND_VALUES_
#undef ROSTER_WIRE_VALUES_
#undef ROSTER_WIRE_VALUE_MEMBER_

// How protobuf writes a field of each type in proto3: left out when zero
// or empty.
template <FieldType>
struct FieldCodec;

struct VarintCodec {
  static size_t Size(uint64_t value) {
    return value == 0 ? 0 : 1 + VarintLength(value);
  }
  static void Append(int field, uint64_t value, std::string* out) {
    if (value == 0) return;
    out->push_back(Tag(field, kVarint));
    PutVarint64(out, value);
  }
};

template <>
struct FieldCodec<FieldType::kUint32> {
  static size_t Size(uint32_t value) { return VarintCodec::Size(value); }
  static void Append(int field, uint32_t value, std::string* out) {
    VarintCodec::Append(field, value, out);
  }
};

template <>
struct FieldCodec<FieldType::kUint64> {
  static size_t Size(uint64_t value) { return VarintCodec::Size(value); }
  static void Append(int field, uint64_t value, std::string* out) {
    VarintCodec::Append(field, value, out);
  }
};

template <>
struct FieldCodec<FieldType::kBool> {
  static size_t Size(bool value) { return VarintCodec::Size(value ? 1 : 0); }
  static void Append(int field, bool value, std::string* out) {
    VarintCodec::Append(field, value ? 1 : 0, out);
  }
};

template <>
struct FieldCodec<FieldType::kMemberState> {
  static size_t Size(MemberState value) {
    return VarintCodec::Size(static_cast<uint64_t>(value));
  }
  static void Append(int field, MemberState value, std::string* out) {
    VarintCodec::Append(field, static_cast<uint64_t>(value), out);
  }
};

template <>
struct FieldCodec<FieldType::kBytes> {
  // Out of line, as GCC split the hand-written encoder: inlined at every
  // field, the appends made entries slower (GCC then calls push_back out
  // of line instead).
  [[gnu::noinline]] static void AppendNonEmpty(char tag, std::string_view value,
                                               std::string* out) {
    out->push_back(tag);
    PutVarint64(out, value.size());
    out->append(value);
  }
  static size_t Size(std::string_view value) {
    return value.empty() ? 0 : 1 + VarintLength(value.size()) + value.size();
  }
  static void Append(int field, std::string_view value, std::string* out) {
    if (!value.empty())
      AppendNonEmpty(Tag(field, kLengthDelimited), value, out);
  }
};

// Written one record at a time by PushPullWriter::AddMember.
template <>
struct FieldCodec<FieldType::kMemberRecords> {
  using Value = EncodedValue<FieldType::kMemberRecords>::type;
  static size_t Size(Value) { return 0; }
  static void Append(int, Value, std::string*) {}
};

// BodySize(values) and AppendBody(values, out) for each table: the
// message's fields in number order.
#define ROSTER_WIRE_FIELD_SIZE_(number, field, Field, Type, Rule) \
  +FieldCodec<FieldType::Type>::Size(values.field)
#define ROSTER_WIRE_APPEND_FIELD_(number, field, Field, Type, Rule) \
  FieldCodec<FieldType::Type>::Append(number, values.field, out);
#define ROSTER_WIRE_DEFINE_BODY_(Values, Msg)                           \
  [[maybe_unused]] size_t BodySize(const Values& values) {              \
    return size_t{0} ROSTER_WIRE_FIELDS_##Msg(ROSTER_WIRE_FIELD_SIZE_); \
  }                                                                     \
  void AppendBody(const Values& values, std::string* out) {             \
    ROSTER_WIRE_FIELDS_##Msg(ROSTER_WIRE_APPEND_FIELD_)                 \
  }
#define ROSTER_WIRE_DEFINE_KIND_BODY_(number, field, Field, Msg) \
  ROSTER_WIRE_DEFINE_BODY_(Field##Values, Msg)
ROSTER_WIRE_KINDS(ROSTER_WIRE_DEFINE_KIND_BODY_)
ROSTER_WIRE_DEFINE_BODY_(MemberRecordValues, MemberRecord)
ROSTER_WIRE_DEFINE_BODY_(PushPullValues, PushPull)
#undef ROSTER_WIRE_DEFINE_KIND_BODY_
#undef ROSTER_WIRE_DEFINE_BODY_
#undef ROSTER_WIRE_APPEND_FIELD_
#undef ROSTER_WIRE_FIELD_SIZE_

// A submessage field with the given body size; written even when empty
// (a oneof member or a repeated element is present whatever it holds).
size_t NestedSize(size_t body) { return 1 + VarintLength(body) + body; }
void AppendNestedHeader(int field, size_t body, std::string* out) {
  out->push_back(Tag(field, kLengthDelimited));
  PutVarint64(out, body);
}

// Packet.messages entry around the Message whose body is field `kind`
// holding `values`.
template <typename Values>
std::string EntryOf(int kind, const Values& values) {
  const size_t body = BodySize(values);
  const size_t message = NestedSize(body);
  std::string out;
  out.reserve(NestedSize(message));
  AppendNestedHeader(wire::Packet::kMessagesFieldNumber, message, &out);
  AppendNestedHeader(kind, body, &out);
  AppendBody(values, &out);
  return out;
}

// KindEntry(values): the entry of each kind of message.
#define ROSTER_WIRE_DEFINE_KIND_ENTRY_(number, field, Field, Msg) \
  std::string KindEntry(const Field##Values& values) {            \
    return EntryOf(number, values);                               \
  }
ROSTER_WIRE_KINDS(ROSTER_WIRE_DEFINE_KIND_ENTRY_)
#undef ROSTER_WIRE_DEFINE_KIND_ENTRY_

}  // namespace

std::string PingEntry(uint32_t seq, std::string_view target,
                      std::string_view source, std::string_view source_addr) {
  return KindEntry(PingValues{.seq = seq,
                              .target = target,
                              .source = source,
                              .source_addr = source_addr});
}

std::string IndirectPingEntry(uint32_t seq, std::string_view target,
                              std::string_view target_addr,
                              std::string_view source,
                              std::string_view source_addr, bool want_nack) {
  return KindEntry(IndirectPingValues{.seq = seq,
                                      .target = target,
                                      .target_addr = target_addr,
                                      .source = source,
                                      .source_addr = source_addr,
                                      .want_nack = want_nack});
}

std::string AckEntry(uint32_t seq, std::string_view payload,
                     std::string_view coordinate) {
  return KindEntry(
      AckValues{.seq = seq, .payload = payload, .coordinate = coordinate});
}

std::string NackEntry(uint32_t seq) {
  return KindEntry(NackValues{.seq = seq});
}

std::string AliveEntry(std::string_view name, std::string_view addr,
                       uint64_t incarnation, std::string_view meta,
                       uint32_t life, uint32_t previous_life,
                       uint32_t protocol_min, uint32_t protocol_max) {
  return KindEntry(AliveValues{.name = name,
                               .addr = addr,
                               .incarnation = incarnation,
                               .meta = meta,
                               .life = life,
                               .previous_life = previous_life,
                               .protocol_min = protocol_min,
                               .protocol_max = protocol_max});
}

std::string SuspectEntry(std::string_view name, uint64_t incarnation,
                         std::string_view from, uint32_t life) {
  return KindEntry(SuspectValues{
      .name = name, .incarnation = incarnation, .from = from, .life = life});
}

std::string DeadEntry(std::string_view name, uint64_t incarnation,
                      std::string_view from, uint32_t life, bool prune) {
  return KindEntry(DeadValues{.name = name,
                              .incarnation = incarnation,
                              .from = from,
                              .life = life,
                              .prune = prune});
}

std::string UserEntry(std::string_view payload, std::string_view origin,
                      uint64_t id, uint32_t life) {
  return KindEntry(
      UserValues{.payload = payload, .origin = origin, .id = id, .life = life});
}

std::string HelloEntry(std::string_view note) {
  return KindEntry(HelloValues{.note = note});
}

std::string UserEventEntry(std::string_view name, std::string_view payload,
                           std::string_view origin, uint32_t life,
                           uint64_t ltime, bool coalesce) {
  return KindEntry(UserEventValues{.name = name,
                                   .payload = payload,
                                   .origin = origin,
                                   .life = life,
                                   .ltime = ltime,
                                   .coalesce = coalesce});
}

std::string QueryEntry(const QueryEntryValues& q) {
  return KindEntry(QueryValues{.name = q.name,
                               .payload = q.payload,
                               .origin = q.origin,
                               .origin_addr = q.origin_addr,
                               .life = q.life,
                               .ltime = q.ltime,
                               .id = q.id,
                               .timeout_ms = q.timeout_ms,
                               .relay_factor = q.relay_factor,
                               .want_ack = q.want_ack,
                               .filter = q.filter,
                               .retry = q.retry});
}

std::string QueryResponseEntry(std::string_view origin, uint32_t life,
                               uint32_t id, std::string_view from, bool ack,
                               std::string_view payload, bool relay) {
  return KindEntry(QueryResponseValues{.origin = origin,
                                       .life = life,
                                       .id = id,
                                       .from = from,
                                       .ack = ack,
                                       .payload = payload,
                                       .relay = relay});
}

std::string UserEntryFromBody(std::string_view body) {
  const size_t message = NestedSize(body.size());
  std::string out;
  out.reserve(NestedSize(message));
  AppendNestedHeader(wire::Packet::kMessagesFieldNumber, message, &out);
  AppendNestedHeader(wire::Message::kUserFieldNumber, body.size(), &out);
  out.append(body);
  return out;
}

PushPullWriter::PushPullWriter(bool join, std::string_view source) {
  AppendBody(PushPullValues{.join = join, .source = source}, &out_);
}

void PushPullWriter::AddMember(std::string_view name, std::string_view addr,
                               uint64_t incarnation, MemberState state,
                               std::string_view meta, uint32_t life,
                               uint32_t previous_life, uint32_t protocol_min,
                               uint32_t protocol_max) {
  const MemberRecordValues record{.name = name,
                                  .addr = addr,
                                  .incarnation = incarnation,
                                  .state = state,
                                  .meta = meta,
                                  .life = life,
                                  .previous_life = previous_life,
                                  .protocol_min = protocol_min,
                                  .protocol_max = protocol_max};
  AppendNestedHeader(wire::PushPull::kMembersFieldNumber, BodySize(record),
                     &out_);
  AppendBody(record, &out_);
}

std::string PushPullWriter::Finish(std::string_view user_state,
                                   uint64_t event_clock, uint64_t query_clock,
                                   std::string_view recent_events) {
  AppendBody(PushPullValues{.user_state = user_state,
                            .event_clock = event_clock,
                            .query_clock = query_clock,
                            .recent_events = recent_events},
             &out_);
  return std::move(out_);
}

}  // namespace roster::core
