#include "core/wire/canonical_decode.h"

#include <cstdint>

#include "util/coding.h"

namespace roster::core {
namespace {

// How a field of roster's messages is written (proto/roster.proto).
enum class Type : uint8_t { kNone, kUint32, kUint64, kBool, kEnum, kBytes };

constexpr int kVarint = 0;
constexpr int kLengthDelimited = 2;

using Schema = Type[kMaxViewFields];

constexpr Type N = Type::kNone;
constexpr Type U32 = Type::kUint32;
constexpr Type U64 = Type::kUint64;
constexpr Type B = Type::kBool;
constexpr Type E = Type::kEnum;
constexpr Type S = Type::kBytes;

// By Message.body field number.
constexpr Schema kMessageSchemas[] = {
    {N, N, N, N, N, N},    // 0: no such kind
    {U32, S, S, S, N, N},  // 1: Ping
    {U32, S, S, S, S, B},  // 2: IndirectPing
    {U32, N, N, N, N, N},  // 3: Ack
    {U32, N, N, N, N, N},  // 4: Nack
    {S, S, U64, S, N, N},  // 5: Alive
    {S, U64, S, N, N, N},  // 6: Suspect
    {S, U64, S, N, N, N},  // 7: Dead
    {S, S, U64, N, N, N},  // 8: UserBroadcast
};
constexpr int kUserKind = 8;
constexpr Schema kMemberRecordSchema = {S, S, U64, E, S, N};
constexpr Schema kPushPullSchema = {B, S, N, S, N, N};  // 3: members
constexpr int kMembersField = 3;

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
                          std::vector<MessageView>* out) {
  Cursor in(payload);
  while (!in.done()) {
    // Packet.messages: field 1, one Message each.
    int field, wire_type;
    std::string_view message;
    if (!in.Tag(&field, &wire_type) || field != 1 ||
        wire_type != kLengthDelimited || !in.Delimited(&message))
      return false;
    // Message: exactly one body field, covering all of it.
    Cursor m(message);
    int kind;
    std::string_view body;
    if (!m.Tag(&kind, &wire_type) || kind < 1 || kind > kUserKind ||
        wire_type != kLengthDelimited || !m.Delimited(&body) || !m.done())
      return false;
    if (out->size() >= max_messages) return false;
    MessageView& view = out->emplace_back();
    view.kind = static_cast<wire::Message::BodyCase>(kind);
    if (!ParseFields(body, kMessageSchemas[kind], &view.values)) return false;
    if (kind == kUserKind) view.user_body = body;
  }
  return true;
}

bool ParseCanonicalPushPull(std::string_view payload, size_t max_members,
                            PushPullView* out) {
  Cursor in(payload);
  FieldValues top;
  int last = 0;
  while (!in.done()) {
    int field, wire_type;
    if (!in.Tag(&field, &wire_type)) return false;
    if (field == kMembersField && last <= kMembersField) {
      std::string_view record;
      if (wire_type != kLengthDelimited || !in.Delimited(&record) ||
          out->members_.size() >= max_members)
        return false;
      if (!ParseFields(record, kMemberRecordSchema,
                       &out->members_.emplace_back().values))
        return false;
    } else if (field <= last || field > kMaxViewFields ||
               kPushPullSchema[field - 1] == Type::kNone ||
               !ReadValue(kPushPullSchema[field - 1], wire_type, in,
                          &top.fields[field - 1])) {
      return false;
    }
    last = field;
  }
  out->join_ = top.number(1) != 0;
  out->source_ = top.bytes(2);
  out->user_state_ = top.bytes(4);
  return true;
}

}  // namespace roster::core
