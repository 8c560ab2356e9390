// Decoded messages as views into the bytes they came in: what Swim reads
// from a datagram or a push-pull body without building protobuf messages.
// Each view has the accessors of the protobuf message it stands for, so
// code reads `msg.alive().name()` from either. The accessors are generated
// from the tables of fields.h.
//
// A view holds up to kMaxViewFields fields, indexed by field number; a
// field is either bytes (a view) or a number. Views are only as long-lived
// as the bytes they point into.
#ifndef ROSTER_CORE_WIRE_VIEWS_H_
#define ROSTER_CORE_WIRE_VIEWS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/wire/fields.h"
#include "core/wire/versions.h"
#include "proto/roster.pb.h"

namespace roster::core {

// The value of one field: bytes, or a number (varint) when `data` is null.
struct FieldValue {
  const char* data = nullptr;
  uint64_t value = 0;  // the length of the bytes, or the number
  std::string_view bytes() const {
    return data == nullptr ? std::string_view() : std::string_view(data, value);
  }
  void SetBytes(std::string_view b) {
    data = b.data() != nullptr ? b.data() : "";
    value = b.size();
  }
};

// The fields of one message, by field number (fields[0] is field 1).
struct FieldValues {
  FieldValue fields[kMaxViewFields];
  std::string_view bytes(int field) const { return fields[field - 1].bytes(); }
  uint64_t number(int field) const { return fields[field - 1].value; }
};

struct MemberRecordView;

// What a view's accessor gives for a field of each type; `view` is the
// view, whose fields() are its FieldValues.
template <FieldType>
struct FieldAccess;

template <>
struct FieldAccess<FieldType::kUint32> {
  using View = uint32_t;
  template <typename V>
  static View Get(const V& view, int field) {
    return static_cast<uint32_t>(view.fields().number(field));
  }
};

template <>
struct FieldAccess<FieldType::kUint64> {
  using View = uint64_t;
  template <typename V>
  static View Get(const V& view, int field) {
    return view.fields().number(field);
  }
};

template <>
struct FieldAccess<FieldType::kBool> {
  using View = bool;
  template <typename V>
  static View Get(const V& view, int field) {
    return view.fields().number(field) != 0;
  }
};

// As protobuf keeps an open enum: any int32, valid or not.
template <>
struct FieldAccess<FieldType::kMemberState> {
  using View = wire::MemberState;
  template <typename V>
  static View Get(const V& view, int field) {
    return static_cast<wire::MemberState>(static_cast<int32_t>(
        static_cast<uint32_t>(view.fields().number(field))));
  }
};

template <>
struct FieldAccess<FieldType::kBytes> {
  using View = std::string_view;
  template <typename V>
  static View Get(const V& view, int field) {
    return view.fields().bytes(field);
  }
};

// Records are kept beside the fields, in the view's `records_`.
template <>
struct FieldAccess<FieldType::kMemberRecords> {
  using View = const std::vector<MemberRecordView>&;
  template <typename V>
  static View Get(const V& view, int /*field*/) {
    return view.records_;
  }
};

// One accessor per row of a table: `std::string_view name() const`.
#define ROSTER_WIRE_ACCESSOR(number, field, Field, Type, Rule) \
  FieldAccess<FieldType::Type>::View field() const {           \
    return FieldAccess<FieldType::Type>::Get(*this, number);   \
  }

#define ROSTER_WIRE_DECLARE_KIND_VIEW_(number, field, Field, Msg) \
  class Field##View;
ROSTER_WIRE_KINDS(ROSTER_WIRE_DECLARE_KIND_VIEW_)
#undef ROSTER_WIRE_DECLARE_KIND_VIEW_

// One Packet.messages element. Its accessors, one per kind of body
// (ROSTER_WIRE_KINDS: `AliveView alive() const` and so on), are only
// meaningful for the kind it holds.
struct MessageView {
  wire::Message::BodyCase kind = wire::Message::BODY_NOT_SET;
  FieldValues values;
  std::string_view user_body;  // kUser only
  // A body of a kind the reader does not know (kind is then BODY_NOT_SET
  // and nothing else is set): its number, to skip it; 0 otherwise.
  int unknown_kind = 0;

  wire::Message::BodyCase body_case() const { return kind; }
  // Turns this into the view of a skipped body of kind `number`.
  void MarkUnknown(int number) {
    *this = MessageView();
    unknown_kind = number;
  }
#define ROSTER_WIRE_KIND_ACCESSOR_(number, field, Field, Msg) \
  Field##View field() const;
  ROSTER_WIRE_KINDS(ROSTER_WIRE_KIND_ACCESSOR_)
#undef ROSTER_WIRE_KIND_ACCESSOR_
};

// The view of a message body: the accessors of table
// ROSTER_WIRE_FIELDS_Msg over a MessageView.
// (The table comes last: clang-format takes what follows it for a
// continuation.)
#define ROSTER_WIRE_BODY_VIEW(View, Msg)                    \
  class View {                                              \
    const MessageView& m_;                                  \
                                                            \
   public:                                                  \
    explicit View(const MessageView& m) : m_(m) {}          \
    const FieldValues& fields() const { return m_.values; } \
    ROSTER_WIRE_FIELDS_##Msg(ROSTER_WIRE_ACCESSOR)          \
  }

ROSTER_WIRE_BODY_VIEW(PingView, Ping);
ROSTER_WIRE_BODY_VIEW(IndirectPingView, IndirectPing);
ROSTER_WIRE_BODY_VIEW(AckView, Ack);
ROSTER_WIRE_BODY_VIEW(NackView, Nack);
ROSTER_WIRE_BODY_VIEW(AliveView, Alive);
ROSTER_WIRE_BODY_VIEW(SuspectView, Suspect);
ROSTER_WIRE_BODY_VIEW(DeadView, Dead);
ROSTER_WIRE_BODY_VIEW(HelloView, Hello);
ROSTER_WIRE_BODY_VIEW(UserEventView, UserEvent);
ROSTER_WIRE_BODY_VIEW(QueryView, Query);
ROSTER_WIRE_BODY_VIEW(QueryResponseView, QueryResponse);

class UserView {
  const MessageView& m_;

 public:
  explicit UserView(const MessageView& m) : m_(m) {}
  const FieldValues& fields() const { return m_.values; }
  // The UserBroadcast as protobuf would encode it (unknown fields kept),
  // for passing the broadcast on.
  std::string_view body() const { return m_.user_body; }
  ROSTER_WIRE_FIELDS_UserBroadcast(ROSTER_WIRE_ACCESSOR)
};

#undef ROSTER_WIRE_BODY_VIEW

#define ROSTER_WIRE_KIND_ACCESSOR_(number, field, Field, Msg) \
  inline Field##View MessageView::field() const { return Field##View(*this); }
ROSTER_WIRE_KINDS(ROSTER_WIRE_KIND_ACCESSOR_)
#undef ROSTER_WIRE_KIND_ACCESSOR_

// One PushPull.members element.
struct MemberRecordView {
  FieldValues values;

  const FieldValues& fields() const { return values; }
  ROSTER_WIRE_FIELDS_MemberRecord(ROSTER_WIRE_ACCESSOR)
};

struct PushPullView {
  FieldValues values;                      // every field but the records
  std::vector<MemberRecordView> records_;  // PushPull.members

  const FieldValues& fields() const { return values; }
  ROSTER_WIRE_FIELDS_PushPull(ROSTER_WIRE_ACCESSOR)
};

#undef ROSTER_WIRE_ACCESSOR

// Views of messages protobuf parsed; they point into `packet`. A user
// broadcast's body is encoded into `bodies`, which must keep its strings
// in place while the views live (null: bodies left empty). Kinds above
// `known_kinds` (a member playing an older build), and a body that is one
// length-delimited field numbered past every kind (up to kMaxFutureKind),
// are views of unknown kinds.
void AppendViews(const wire::Packet& packet, std::vector<MessageView>* out,
                 std::vector<std::string>* bodies,
                 int known_kinds = kMaxMessageKind);
PushPullView ViewOf(const wire::PushPull& state);

}  // namespace roster::core

#endif  // ROSTER_CORE_WIRE_VIEWS_H_
