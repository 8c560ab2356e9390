#include "core/wire/views.h"

#include "google/protobuf/unknown_field_set.h"

namespace roster::core {
namespace {

// Sets field `field` of `view` from protobuf's value of it.
template <FieldType>
struct FromProto;

template <>
struct FromProto<FieldType::kUint32> {
  template <typename V>
  static void Fill(uint32_t value, int field, V* view) {
    view->values.fields[field - 1].value = value;
  }
};

template <>
struct FromProto<FieldType::kUint64> {
  template <typename V>
  static void Fill(uint64_t value, int field, V* view) {
    view->values.fields[field - 1].value = value;
  }
};

template <>
struct FromProto<FieldType::kBool> {
  template <typename V>
  static void Fill(bool value, int field, V* view) {
    view->values.fields[field - 1].value = value ? 1 : 0;
  }
};

// The int32 as the uint32 it is on the wire (FieldAccess casts it back).
template <>
struct FromProto<FieldType::kMemberState> {
  template <typename V>
  static void Fill(wire::MemberState value, int field, V* view) {
    view->values.fields[field - 1].value = static_cast<uint32_t>(value);
  }
};

template <>
struct FromProto<FieldType::kBytes> {
  template <typename V>
  static void Fill(const std::string& value, int field, V* view) {
    view->values.fields[field - 1].SetBytes(value);
  }
};

// Fill(proto, view) for each table: every field of the view from the
// message protobuf parsed.
#define ROSTER_WIRE_FILL_FIELD_(number, field, Field, Type, Rule) \
  FromProto<FieldType::Type>::Fill(proto.field(), number, view);
#define ROSTER_WIRE_DEFINE_FILL_(View, Msg)           \
  void Fill(const wire::Msg& proto, View* view) {     \
    ROSTER_WIRE_FIELDS_##Msg(ROSTER_WIRE_FILL_FIELD_) \
  }
#define ROSTER_WIRE_DEFINE_KIND_FILL_(number, field, Field, Msg) \
  ROSTER_WIRE_DEFINE_FILL_(MessageView, Msg)
ROSTER_WIRE_KINDS(ROSTER_WIRE_DEFINE_KIND_FILL_)
ROSTER_WIRE_DEFINE_FILL_(MemberRecordView, MemberRecord)

template <>
struct FromProto<FieldType::kMemberRecords> {
  static void Fill(
      const google::protobuf::RepeatedPtrField<wire::MemberRecord>& records,
      int /*field*/, PushPullView* view) {
    view->records_.reserve(static_cast<size_t>(records.size()));
    for (const wire::MemberRecord& r : records)
      core::Fill(r, &view->records_.emplace_back());
  }
};

ROSTER_WIRE_DEFINE_FILL_(PushPullView, PushPull)

#undef ROSTER_WIRE_DEFINE_KIND_FILL_
#undef ROSTER_WIRE_DEFINE_FILL_
#undef ROSTER_WIRE_FILL_FIELD_

// The kind of a body protobuf did not know: one or more length-delimited
// fields numbered past every kind (as with a known body given twice, the
// last one counts); 0 if anything else is there (a known kind's field of
// the wrong wire type, a number past kMaxFutureKind), or nothing is.
int FutureKindOf(const wire::Message& m) {
  const google::protobuf::UnknownFieldSet& fields =
      m.GetReflection()->GetUnknownFields(m);
  int kind = 0;
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& f = fields.field(i);
    if (f.type() != google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED ||
        f.number() <= kMaxMessageKind || f.number() > kMaxFutureKind)
      return 0;
    kind = f.number();
  }
  return kind;
}

MessageView ViewOf(const wire::Message& m, std::vector<std::string>* bodies,
                   int known_kinds) {
  MessageView view;
  if (m.body_case() == wire::Message::BODY_NOT_SET) {
    view.MarkUnknown(FutureKindOf(m));
    return view;
  }
  if (m.body_case() > known_kinds) {
    view.MarkUnknown(m.body_case());
    return view;
  }
  view.kind = m.body_case();
  switch (m.body_case()) {
#define ROSTER_WIRE_FILL_KIND_(number, field, Field, Msg) \
  case wire::Message::k##Field:                           \
    Fill(m.field(), &view);                               \
    break;
    ROSTER_WIRE_KINDS(ROSTER_WIRE_FILL_KIND_)
#undef ROSTER_WIRE_FILL_KIND_
    case wire::Message::BODY_NOT_SET:
      break;
  }
  if (m.body_case() == wire::Message::kUser && bodies != nullptr) {
    view.user_body = bodies->emplace_back(m.user().SerializeAsString());
  }
  return view;
}

}  // namespace

void AppendViews(const wire::Packet& packet, std::vector<MessageView>* out,
                 std::vector<std::string>* bodies, int known_kinds) {
  if (bodies != nullptr) {
    // Room for every body up front: a string moved by a growing vector
    // could take its characters with it.
    size_t users = 0;
    for (const wire::Message& m : packet.messages())
      users += m.body_case() == wire::Message::kUser ? 1 : 0;
    bodies->reserve(bodies->size() + users);
  }
  for (const wire::Message& m : packet.messages())
    out->push_back(ViewOf(m, bodies, known_kinds));
}

PushPullView ViewOf(const wire::PushPull& state) {
  PushPullView view;
  Fill(state, &view);
  return view;
}

}  // namespace roster::core
