#include "core/wire/canonical_decode.h"

#include <cstdint>

#include "core/wire/fields.h"
#include "core/wire/versions.h"
#include "util/coding.h"

namespace roster::core {
namespace {

// Kinds past one byte's tag are no canonical body: protobuf reads those.
static_assert(kMaxFutureKind >= 15);

// The schemas below, by which the parser knows each message's fields, come
// from the tables of fields.h.

// How a field is written, by field number; kNone: no such field.
enum class Type : uint8_t {
  kNone,
  kUint32,
  kUint64,
  kBool,
  kEnum,
  kBytes,
  kRecords,
};

constexpr Type TypeOf(FieldType type) {
  switch (type) {
    case FieldType::kUint32:
      return Type::kUint32;
    case FieldType::kUint64:
      return Type::kUint64;
    case FieldType::kBool:
      return Type::kBool;
    case FieldType::kMemberState:
      return Type::kEnum;
    case FieldType::kBytes:
      return Type::kBytes;
    case FieldType::kMemberRecords:
      return Type::kRecords;
  }
  return Type::kNone;
}

constexpr int kVarint = 0;
constexpr int kLengthDelimited = 2;

struct Schema {
  Type types[kMaxViewFields] = {};
  constexpr Type operator[](int index) const { return types[index]; }
};

// The schema of a message, from its table.
template <typename Proto>
constexpr Schema SchemaOf() {
  Schema schema;
  for (const FieldInfo& f : FieldTable<Proto>::kFields)
    schema.types[f.number - 1] = TypeOf(f.type);
  return schema;
}

// By Message.body field number (0: no such kind).
#define ROSTER_WIRE_KIND_SCHEMA_(number, field, Field, Msg) \
  SchemaOf<wire::Msg>(),
constexpr Schema kMessageSchemas[kMaxMessageKind + 1] = {
    Schema{}, ROSTER_WIRE_KINDS(ROSTER_WIRE_KIND_SCHEMA_)};
#undef ROSTER_WIRE_KIND_SCHEMA_
constexpr Schema kMemberRecordSchema = SchemaOf<wire::MemberRecord>();
constexpr Schema kPushPullSchema = SchemaOf<wire::PushPull>();

// PushPull.members, the one field of records.
constexpr int kRecordsField = [] {
  int field = 0;
  for (int i = 0; i < kMaxViewFields; ++i)
    if (kPushPullSchema[i] == Type::kRecords) field = field == 0 ? i + 1 : -1;
  return field;
}();
static_assert(kRecordsField > 0, "a PushPull has one field of records");

// Records nest only in a PushPull: ParseFields reads none.
constexpr bool HasRecords(const Schema& schema) {
  for (Type type : schema.types)
    if (type == Type::kRecords) return true;
  return false;
}
static_assert(!HasRecords(kMemberRecordSchema));
static_assert([] {
  for (const Schema& schema : kMessageSchemas)
    if (HasRecords(schema)) return false;
  return true;
}());

// Reads bytes [p, end) as a cursor; every read is bounds-checked.
class Cursor {
 public:
  explicit Cursor(std::string_view bytes)
      : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}
  bool done() const { return p_ == end_; }
  size_t left() const { return static_cast<size_t>(end_ - p_); }

  // A one-byte tag: fields above 15 are none of roster's.
  bool Tag(int* field, int* wire_type) {
    if (p_ == end_) return false;
    const auto tag = static_cast<uint8_t>(*p_++);
    if (tag >= 0x80) return false;
    *field = tag >> 3;
    *wire_type = tag & 7;
    return true;
  }

  // The shortest encoding of a 64-bit value: at most ten bytes, no
  // trailing zero byte, nothing past bit 63.
  bool Varint(uint64_t* value) { return util::GetVarint64(&p_, end_, value); }

  // A length and the bytes it covers.
  bool Delimited(std::string_view* bytes) {
    uint64_t size;
    if (!Varint(&size) || size > left()) return false;
    *bytes = std::string_view(p_, static_cast<size_t>(size));
    p_ += size;
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

// One field's value, written canonically for its type: a number never
// zero and within its type, bytes never empty.
bool ReadValue(Type type, int wire_type, Cursor& in, FieldValue* out) {
  if (type == Type::kBytes) {
    std::string_view bytes;
    if (wire_type != kLengthDelimited || !in.Delimited(&bytes) || bytes.empty())
      return false;
    out->SetBytes(bytes);
    return true;
  }
  uint64_t v;
  if (wire_type != kVarint || !in.Varint(&v) || v == 0) return false;
  switch (type) {
    case Type::kUint32:
      if (v > UINT32_MAX) return false;
      break;
    case Type::kBool:
      if (v != 1) return false;
      break;
    case Type::kEnum:
      if (v > INT32_MAX) return false;
      break;
    default:
      break;
  }
  out->value = v;
  return true;
}

// A message body of `schema`'s fields, in increasing field order.
bool ParseFields(std::string_view body, const Schema& schema,
                 FieldValues* out) {
  Cursor in(body);
  int last = 0;
  while (!in.done()) {
    int field, wire_type;
    if (!in.Tag(&field, &wire_type) || field <= last ||
        field > kMaxViewFields || schema[field - 1] == Type::kNone ||
        !ReadValue(schema[field - 1], wire_type, in, &out->fields[field - 1]))
      return false;
    last = field;
  }
  return true;
}

}  // namespace

bool ParseCanonicalPacket(std::string_view payload, size_t max_messages,
                          std::vector<MessageView>* out, int known_kinds) {
  Cursor in(payload);
  while (!in.done()) {
    // Packet.messages: field 1, one Message each.
    int field, wire_type;
    std::string_view message;
    if (!in.Tag(&field, &wire_type) ||
        field != wire::Packet::kMessagesFieldNumber ||
        wire_type != kLengthDelimited || !in.Delimited(&message))
      return false;
    // Message: exactly one body field, covering all of it.
    Cursor m(message);
    int kind;
    std::string_view body;
    if (!m.Tag(&kind, &wire_type) || kind < 1 || kind > kMaxFutureKind ||
        wire_type != kLengthDelimited || !m.Delimited(&body) || !m.done())
      return false;
    if (out->size() >= max_messages) return false;
    MessageView& view = out->emplace_back();
    if (kind > kMaxMessageKind) {
      // A later version's kind: skipped unread, as protobuf keeps it.
      view.MarkUnknown(kind);
      continue;
    }
    view.kind = static_cast<wire::Message::BodyCase>(kind);
    // Read even when skipped below: what protobuf would refuse falls back
    // to it, so that both paths refuse it alike.
    if (!ParseFields(body, kMessageSchemas[kind], &view.values)) return false;
    if (kind == wire::Message::kUser) view.user_body = body;
    if (kind > known_kinds) view.MarkUnknown(kind);
  }
  return true;
}

bool ParseCanonicalPushPull(std::string_view payload, size_t max_members,
                            PushPullView* out) {
  Cursor in(payload);
  int last = 0;
  while (!in.done()) {
    int field, wire_type;
    if (!in.Tag(&field, &wire_type)) return false;
    if (field == kRecordsField && last <= kRecordsField) {
      // PushPull.members: repeated, so the one field that may come again.
      std::string_view record;
      if (wire_type != kLengthDelimited || !in.Delimited(&record) ||
          out->records_.size() >= max_members)
        return false;
      if (!ParseFields(record, kMemberRecordSchema,
                       &out->records_.emplace_back().values))
        return false;
    } else if (field <= last || field > kMaxViewFields ||
               kPushPullSchema[field - 1] == Type::kNone ||
               !ReadValue(kPushPullSchema[field - 1], wire_type, in,
                          &out->values.fields[field - 1])) {
      return false;
    }
    last = field;
  }
  return true;
}

}  // namespace roster::core
