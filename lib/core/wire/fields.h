// The fields of every message roster writes and reads without protobuf,
// declared once. Each table below lists one message of proto/roster.proto,
// one X(...) per field, in field-number order:
//
//   X(number, field, Field, Type, Rule)
//
//   number  the field number in proto/roster.proto
//   field   its name there (and the name of its accessor in views.h, and
//           of its member in encode.h's values)
//   Field   the same in CamelCase, as protobuf spells its constants
//           (wire::Alive::kNameFieldNumber)
//   Type    how it is written: a FieldType
//   Rule    what checks.cc requires of a received value: a FieldRule
//
// Everything that knows a message's fields is generated from its table:
// the values the encoder writes and the bytes it writes (encode.h), the
// canonical decoder's dispatch by field number and wire type
// (canonical_decode.cc), the views' accessors and the views of protobuf's
// messages (views.h), and the checks (checks.cc). This header checks each
// table against protobuf's generated code at compile time (number, and the
// accessor's C++ type); wire_entries_test.cc checks it against the
// descriptor (every field there is here, with its name and type).
//
// Adding a field to a message: add it to proto/roster.proto and one line to
// the message's table, then tests (an entry with the field in
// wire_entries_test.cc, the reader's agreement in wire_reader_test.cc, a
// rejection in wire_test.cc if it has a rule). Setting it when sending is up
// to the sender: the positional encoders of encode.h leave it out (empty or
// zero, so not written) until they are given it.
#ifndef ROSTER_CORE_WIRE_FIELDS_H_
#define ROSTER_CORE_WIRE_FIELDS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>

#include "proto/roster.pb.h"

namespace roster::core {

// How a field is written on the wire (its type in proto/roster.proto).
enum class FieldType : uint8_t {
  kUint32,         // uint32: a varint of at most 32 bits
  kUint64,         // uint64: a varint
  kBool,           // bool: a varint, 1 when set
  kMemberState,    // the MemberState enum: a varint
  kBytes,          // bytes: length-delimited
  kMemberRecords,  // repeated MemberRecord: one length-delimited entry each
};

// What a received value must satisfy (checks.cc; doc/wire_format.md,
// sections 2.4 and 3.2). Within a message the fields are checked by rule,
// in this order, and by field number within a rule: the member count, then
// incarnations, then names and addresses, then each member record, then
// sizes of opaque bytes, then enum values.
enum class FieldRule : uint8_t {
  kAny,                // no rule
  kName,               // a member's name: Limits::max_name_bytes, text
  kAddr,               // an address: Limits::max_addr_bytes, text
  kOptionalAddr,       // empty, or an address
  kIncarnation,        // at most kMaxIncarnation
  kAliveIncarnation,   // at most kMaxIncarnation + 1
  kRecordIncarnation,  // as kAliveIncarnation for an alive record, else
                       // as kIncarnation
  kMeta,               // at most Limits::max_meta_bytes
  kPayload,            // at most Limits::max_packet_bytes
  kUserState,          // at most Limits::max_user_state_bytes
  kCoordinate,         // at most kMaxCoordinateBytes (wire/coordinate.h)
  kKnownState,         // a MemberState value this code knows
  kMembers,            // at most Limits::max_members records, each checked
};

// clang-format off

// ------------------------------------------------------------ the tables

#define ROSTER_WIRE_FIELDS_Ping(X)                                 \
  X(1, seq,         Seq,        kUint32, kAny)                     \
  X(2, target,      Target,     kBytes,  kName)                    \
  X(3, source,      Source,     kBytes,  kName)                    \
  X(4, source_addr, SourceAddr, kBytes,  kOptionalAddr)

#define ROSTER_WIRE_FIELDS_IndirectPing(X)                         \
  X(1, seq,         Seq,        kUint32, kAny)                     \
  X(2, target,      Target,     kBytes,  kName)                    \
  X(3, target_addr, TargetAddr, kBytes,  kAddr)                    \
  X(4, source,      Source,     kBytes,  kName)                    \
  X(5, source_addr, SourceAddr, kBytes,  kAddr)                    \
  X(6, want_nack,   WantNack,   kBool,   kAny)

#define ROSTER_WIRE_FIELDS_Ack(X)                                  \
  X(1, seq,         Seq,        kUint32, kAny)                     \
  X(2, payload,     Payload,    kBytes,  kPayload)                 \
  X(3, coordinate,  Coordinate, kBytes,  kCoordinate)

#define ROSTER_WIRE_FIELDS_Nack(X)                                 \
  X(1, seq,         Seq,        kUint32, kAny)

#define ROSTER_WIRE_FIELDS_Alive(X)                                \
  X(1, name,        Name,       kBytes,  kName)                    \
  X(2, addr,        Addr,       kBytes,  kAddr)                    \
  X(3, incarnation, Incarnation, kUint64, kAliveIncarnation)       \
  X(4, meta,        Meta,       kBytes,  kMeta)                    \
  X(5, life,        Life,       kUint32, kAny)                     \
  X(6, previous_life, PreviousLife, kUint32, kAny)                \
  X(7, protocol_min, ProtocolMin, kUint32, kAny)                   \
  X(8, protocol_max, ProtocolMax, kUint32, kAny)

#define ROSTER_WIRE_FIELDS_Suspect(X)                              \
  X(1, name,        Name,       kBytes,  kName)                    \
  X(2, incarnation, Incarnation, kUint64, kIncarnation)            \
  X(3, from,        From,       kBytes,  kName)                    \
  X(4, life,        Life,       kUint32, kAny)

#define ROSTER_WIRE_FIELDS_Dead(X)                                 \
  X(1, name,        Name,       kBytes,  kName)                    \
  X(2, incarnation, Incarnation, kUint64, kIncarnation)            \
  X(3, from,        From,       kBytes,  kName)                    \
  X(4, life,        Life,       kUint32, kAny)                     \
  X(5, prune,       Prune,      kBool,   kAny)

#define ROSTER_WIRE_FIELDS_UserBroadcast(X)                        \
  X(1, payload,     Payload,    kBytes,  kPayload)                 \
  X(2, origin,      Origin,     kBytes,  kName)                    \
  X(3, id,          Id,         kUint64, kAny)                     \
  X(4, life,        Life,       kUint32, kAny)

#define ROSTER_WIRE_FIELDS_Hello(X)                                \
  X(1, note,        Note,       kBytes,  kPayload)

#define ROSTER_WIRE_FIELDS_UserEvent(X)                            \
  X(1, name,        Name,       kBytes,  kName)                    \
  X(2, payload,     Payload,    kBytes,  kPayload)                 \
  X(3, origin,      Origin,     kBytes,  kName)                    \
  X(4, life,        Life,       kUint32, kAny)                     \
  X(5, ltime,       Ltime,      kUint64, kAny)                     \
  X(6, coalesce,    Coalesce,   kBool,   kAny)

#define ROSTER_WIRE_FIELDS_Query(X)                                \
  X(1, name,        Name,       kBytes,  kName)                    \
  X(2, payload,     Payload,    kBytes,  kPayload)                 \
  X(3, origin,      Origin,     kBytes,  kName)                    \
  X(4, origin_addr, OriginAddr, kBytes,  kAddr)                    \
  X(5, life,        Life,       kUint32, kAny)                     \
  X(6, ltime,       Ltime,      kUint64, kAny)                     \
  X(7, id,          Id,         kUint32, kAny)                     \
  X(8, timeout_ms,  TimeoutMs,  kUint32, kAny)                     \
  X(9, relay_factor, RelayFactor, kUint32, kAny)                   \
  X(10, want_ack,   WantAck,    kBool,   kAny)                     \
  X(11, filter,     Filter,     kBytes,  kPayload)                 \
  X(12, retry,      Retry,      kBool,   kAny)

#define ROSTER_WIRE_FIELDS_QueryResponse(X)                        \
  X(1, origin,      Origin,     kBytes,  kName)                    \
  X(2, life,        Life,       kUint32, kAny)                     \
  X(3, id,          Id,         kUint32, kAny)                     \
  X(4, from,        From,       kBytes,  kName)                    \
  X(5, ack,         Ack,        kBool,   kAny)                     \
  X(6, payload,     Payload,    kBytes,  kPayload)                 \
  X(7, relay,       Relay,      kBool,   kAny)

#define ROSTER_WIRE_FIELDS_MemberRecord(X)                         \
  X(1, name,        Name,       kBytes,  kName)                    \
  X(2, addr,        Addr,       kBytes,  kAddr)                    \
  X(3, incarnation, Incarnation, kUint64, kRecordIncarnation)      \
  X(4, state,       State,      kMemberState, kKnownState)         \
  X(5, meta,        Meta,       kBytes,  kMeta)                    \
  X(6, life,        Life,       kUint32, kAny)                     \
  X(7, previous_life, PreviousLife, kUint32, kAny)                \
  X(8, protocol_min, ProtocolMin, kUint32, kAny)                   \
  X(9, protocol_max, ProtocolMax, kUint32, kAny)

#define ROSTER_WIRE_FIELDS_PushPull(X)                             \
  X(1, join,        Join,       kBool,   kAny)                     \
  X(2, source,      Source,     kBytes,  kName)                    \
  X(3, members,     Members,    kMemberRecords, kMembers)          \
  X(4, user_state,  UserState,  kBytes,  kUserState)               \
  X(5, event_clock, EventClock, kUint64, kAny)                     \
  X(6, query_clock, QueryClock, kUint64, kAny)                     \
  X(7, recent_events, RecentEvents, kBytes, kUserState)

// The kinds of message a datagram carries: Message.body, one X(...) per
// member of the oneof, in field-number order from 1 with no gap (the
// version that introduced each is in versions.h):
//
//   X(number, field, Field, Message)
//
// `Message` names the body's message (wire::Message, and its table
// ROSTER_WIRE_FIELDS_Message above); `Field` also names its view (views.h,
// FieldView) and the values its encoder takes (encode.h, FieldValues).
#define ROSTER_WIRE_KINDS(X)                                       \
  X(1, ping,          Ping,         Ping)                          \
  X(2, indirect_ping, IndirectPing, IndirectPing)                  \
  X(3, ack,           Ack,          Ack)                           \
  X(4, nack,          Nack,         Nack)                          \
  X(5, alive,         Alive,        Alive)                         \
  X(6, suspect,       Suspect,      Suspect)                       \
  X(7, dead,          Dead,         Dead)                          \
  X(8, user,          User,         UserBroadcast)                 \
  X(9, hello,         Hello,        Hello)                         \
  X(10, user_event,   UserEvent,    UserEvent)                     \
  X(11, query,        Query,        Query)                         \
  X(12, query_response, QueryResponse, QueryResponse)

// The messages of a push-pull body, by the name of their tables.
#define ROSTER_WIRE_PUSH_PULL_MESSAGES(X) X(MemberRecord) X(PushPull)

// clang-format on

// ------------------------------------------------------------ reflection

// One table row as data, for compile-time checks and tests.
struct FieldInfo {
  int number;
  const char* name;
  FieldType type;
  FieldRule rule;
};

// FieldTable<wire::Alive>::kFields: the rows of ROSTER_WIRE_FIELDS_Alive.
template <typename Proto>
struct FieldTable;

#define ROSTER_WIRE_FIELD_INFO_(number, field, Field, Type, Rule) \
  FieldInfo{number, #field, FieldType::Type, FieldRule::Rule},
#define ROSTER_WIRE_DEFINE_TABLE_(Msg)                                   \
  template <>                                                            \
  struct FieldTable<wire::Msg> {                                         \
    static constexpr FieldInfo kFields[] = {                             \
        ROSTER_WIRE_FIELDS_##Msg(ROSTER_WIRE_FIELD_INFO_)};              \
    static constexpr size_t kSize = sizeof(kFields) / sizeof(FieldInfo); \
  };
#define ROSTER_WIRE_DEFINE_KIND_TABLE_(number, field, Field, Msg) \
  ROSTER_WIRE_DEFINE_TABLE_(Msg)
ROSTER_WIRE_KINDS(ROSTER_WIRE_DEFINE_KIND_TABLE_)
ROSTER_WIRE_PUSH_PULL_MESSAGES(ROSTER_WIRE_DEFINE_TABLE_)
#undef ROSTER_WIRE_DEFINE_KIND_TABLE_
#undef ROSTER_WIRE_DEFINE_TABLE_
#undef ROSTER_WIRE_FIELD_INFO_

namespace wire_fields_internal {

template <typename Proto>
constexpr int MaxNumber() {
  int max = 0;
  for (const FieldInfo& f : FieldTable<Proto>::kFields)
    max = f.number > max ? f.number : max;
  return max;
}

template <typename... Protos>
constexpr int MaxNumberOf() {
  int max = 0;
  ((max = MaxNumber<Protos>() > max ? MaxNumber<Protos>() : max), ...);
  return max;
}

// Numbers from 1 up, strictly increasing (the order protobuf writes them
// in), each below 16 (a one-byte tag: the encoder and the fast path rely
// on it).
template <typename Proto>
constexpr bool NumbersAreOrdered() {
  int last = 0;
  for (const FieldInfo& f : FieldTable<Proto>::kFields) {
    if (f.number <= last || f.number > 15) return false;
    last = f.number;
  }
  return true;
}

// The C++ type of protobuf's accessor for a field of each type.
template <FieldType>
struct ProtoAccessorType;
template <>
struct ProtoAccessorType<FieldType::kUint32> {
  using type = uint32_t;
};
template <>
struct ProtoAccessorType<FieldType::kUint64> {
  using type = uint64_t;
};
template <>
struct ProtoAccessorType<FieldType::kBool> {
  using type = bool;
};
template <>
struct ProtoAccessorType<FieldType::kMemberState> {
  using type = wire::MemberState;
};
template <>
struct ProtoAccessorType<FieldType::kBytes> {
  using type = std::string;
};
template <>
struct ProtoAccessorType<FieldType::kMemberRecords> {
  using type = google::protobuf::RepeatedPtrField<wire::MemberRecord>;
};

template <typename Accessor, FieldType type>
inline constexpr bool kAccessorIs =
    std::is_same_v<std::remove_cv_t<std::remove_reference_t<Accessor>>,
                   typename ProtoAccessorType<type>::type>;

}  // namespace wire_fields_internal

// The most fields a view holds (views.h): the highest field number of any
// table.
#define ROSTER_WIRE_KIND_PROTO_(number, field, Field, Msg) , wire::Msg
inline constexpr int kMaxViewFields =
    wire_fields_internal::MaxNumberOf<wire::MemberRecord,
                                      wire::PushPull ROSTER_WIRE_KINDS(
                                          ROSTER_WIRE_KIND_PROTO_)>();
#undef ROSTER_WIRE_KIND_PROTO_

// The highest Message.body field number: the number of kinds, since they
// are numbered 1, 2, 3... (checked below).
#define ROSTER_WIRE_COUNT_KIND_(...) +1
inline constexpr int kMaxMessageKind =
    0 ROSTER_WIRE_KINDS(ROSTER_WIRE_COUNT_KIND_);
#undef ROSTER_WIRE_COUNT_KIND_

// ------------------------------------------------------------ the checks
//
// Each table against protobuf's generated code: every field number as
// proto/roster.proto has it, and protobuf's accessor of the C++ type the
// table's type says.

#define ROSTER_WIRE_ASSERT_FIELD_(number, field, Field, Type, Rule)         \
  static_assert(Proto::k##Field##FieldNumber == (number),                   \
                "the table's number of " #field                             \
                " is not proto/roster.proto's");                            \
  static_assert(                                                            \
      wire_fields_internal::kAccessorIs<                                    \
          decltype(std::declval<const Proto&>().field()), FieldType::Type>, \
      "the table's type of " #field " is not proto/roster.proto's");
#define ROSTER_WIRE_ASSERT_TABLE_(Msg)                                \
  static_assert(wire_fields_internal::NumbersAreOrdered<wire::Msg>(), \
                "ROSTER_WIRE_FIELDS_" #Msg                            \
                " must list fields 1 to 15 in increasing order");     \
  struct Msg##TableMatchesProto {                                     \
    using Proto = wire::Msg;                                          \
    ROSTER_WIRE_FIELDS_##Msg(ROSTER_WIRE_ASSERT_FIELD_)               \
  };
#define ROSTER_WIRE_ASSERT_KIND_(number, field, Field, Msg)                   \
  ROSTER_WIRE_ASSERT_TABLE_(Msg)                                              \
  static_assert(wire::Message::k##Field##FieldNumber == (number) &&           \
                    wire::Message::k##Field == (number),                      \
                "the body number of " #field " is not proto/roster.proto's"); \
  static_assert(                                                              \
      std::is_same_v<decltype(std::declval<const wire::Message&>().field()),  \
                     const wire::Msg&>,                                       \
      "Message." #field " is not a " #Msg);
ROSTER_WIRE_KINDS(ROSTER_WIRE_ASSERT_KIND_)
ROSTER_WIRE_PUSH_PULL_MESSAGES(ROSTER_WIRE_ASSERT_TABLE_)
#undef ROSTER_WIRE_ASSERT_KIND_
#undef ROSTER_WIRE_ASSERT_TABLE_
#undef ROSTER_WIRE_ASSERT_FIELD_

// Kinds numbered 1, 2, 3... (the fast path indexes its schemas by kind).
#define ROSTER_WIRE_KIND_IN_ORDER_(number, field, Field, Msg) \
  &&(number) == ++expected
static_assert(
    [] {
      int expected = 0;
      return true ROSTER_WIRE_KINDS(ROSTER_WIRE_KIND_IN_ORDER_);
    }(),
    "ROSTER_WIRE_KINDS must number the kinds 1, 2, 3... in order");
#undef ROSTER_WIRE_KIND_IN_ORDER_

// A datagram's payload is Packet.messages entries (codec.cc and the fast
// path write and read its tag as one byte).
static_assert(wire::Packet::kMessagesFieldNumber == 1);

}  // namespace roster::core

#endif  // ROSTER_CORE_WIRE_FIELDS_H_
