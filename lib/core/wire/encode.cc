#include "core/wire/encode.h"

#include <cstddef>
#include <utility>

#include "util/coding.h"

namespace roster::core {
namespace {

// Every field roster defines has a number below 16, so a tag is one byte.
constexpr char Tag(int field, int wire_type) {
  return static_cast<char>((field << 3) | wire_type);
}
constexpr int kVarint = 0;
constexpr int kLengthDelimited = 2;

using util::PutVarint64;
using util::VarintLength;

// A field as protobuf writes it in proto3: left out when zero or empty.
struct Varint {
  int field;
  uint64_t value;
  size_t Size() const { return value == 0 ? 0 : 1 + VarintLength(value); }
  void Append(std::string* out) const {
    if (value == 0) return;
    out->push_back(Tag(field, kVarint));
    PutVarint64(out, value);
  }
};

struct Bytes {
  int field;
  std::string_view value;
  size_t Size() const {
    return value.empty() ? 0 : 1 + VarintLength(value.size()) + value.size();
  }
  void Append(std::string* out) const {
    if (value.empty()) return;
    out->push_back(Tag(field, kLengthDelimited));
    PutVarint64(out, value.size());
    out->append(value);
  }
};

// A submessage field with the given body size; written even when empty
// (a oneof member or a repeated element is present whatever it holds).
size_t NestedSize(size_t body) { return 1 + VarintLength(body) + body; }
void AppendNestedHeader(int field, size_t body, std::string* out) {
  out->push_back(Tag(field, kLengthDelimited));
  PutVarint64(out, body);
}

// Packet.messages entry around the Message whose body is field `kind`
// holding `fields`.
template <typename... Fields>
std::string Entry(int kind, const Fields&... fields) {
  const size_t body = (size_t{0} + ... + fields.Size());
  const size_t message = NestedSize(body);
  std::string out;
  out.reserve(NestedSize(message));
  AppendNestedHeader(1, message, &out);
  AppendNestedHeader(kind, body, &out);
  (fields.Append(&out), ...);
  return out;
}

// Message.body field numbers (proto/roster.proto).
constexpr int kPing = 1;
constexpr int kIndirectPing = 2;
constexpr int kAck = 3;
constexpr int kNack = 4;
constexpr int kAlive = 5;
constexpr int kSuspect = 6;
constexpr int kDead = 7;
constexpr int kUser = 8;

}  // namespace

std::string PingEntry(uint32_t seq, std::string_view target,
                      std::string_view source, std::string_view source_addr) {
  return Entry(kPing, Varint{1, seq}, Bytes{2, target}, Bytes{3, source},
               Bytes{4, source_addr});
}

std::string IndirectPingEntry(uint32_t seq, std::string_view target,
                              std::string_view target_addr,
                              std::string_view source,
                              std::string_view source_addr, bool want_nack) {
  return Entry(kIndirectPing, Varint{1, seq}, Bytes{2, target},
               Bytes{3, target_addr}, Bytes{4, source}, Bytes{5, source_addr},
               Varint{6, want_nack ? 1u : 0u});
}

std::string AckEntry(uint32_t seq) { return Entry(kAck, Varint{1, seq}); }

std::string NackEntry(uint32_t seq) { return Entry(kNack, Varint{1, seq}); }

std::string AliveEntry(std::string_view name, std::string_view addr,
                       uint64_t incarnation, std::string_view meta) {
  return Entry(kAlive, Bytes{1, name}, Bytes{2, addr}, Varint{3, incarnation},
               Bytes{4, meta});
}

std::string SuspectEntry(std::string_view name, uint64_t incarnation,
                         std::string_view from) {
  return Entry(kSuspect, Bytes{1, name}, Varint{2, incarnation},
               Bytes{3, from});
}

std::string DeadEntry(std::string_view name, uint64_t incarnation,
                      std::string_view from) {
  return Entry(kDead, Bytes{1, name}, Varint{2, incarnation}, Bytes{3, from});
}

std::string UserEntry(std::string_view payload, std::string_view origin,
                      uint64_t id) {
  return Entry(kUser, Bytes{1, payload}, Bytes{2, origin}, Varint{3, id});
}

std::string UserEntryFromBody(std::string_view body) {
  struct Raw {
    std::string_view bytes;
    size_t Size() const { return bytes.size(); }
    void Append(std::string* out) const { out->append(bytes); }
  };
  return Entry(kUser, Raw{body});
}

PushPullWriter::PushPullWriter(bool join, std::string_view source) {
  Varint{1, join ? 1u : 0u}.Append(&out_);
  Bytes{2, source}.Append(&out_);
}

void PushPullWriter::AddMember(std::string_view name, std::string_view addr,
                               uint64_t incarnation, MemberState state,
                               std::string_view meta) {
  const Bytes name_field{1, name};
  const Bytes addr_field{2, addr};
  const Varint incarnation_field{3, incarnation};
  const Varint state_field{4, static_cast<uint64_t>(state)};
  const Bytes meta_field{5, meta};
  const size_t body = name_field.Size() + addr_field.Size() +
                      incarnation_field.Size() + state_field.Size() +
                      meta_field.Size();
  AppendNestedHeader(3, body, &out_);
  name_field.Append(&out_);
  addr_field.Append(&out_);
  incarnation_field.Append(&out_);
  state_field.Append(&out_);
  meta_field.Append(&out_);
}

std::string PushPullWriter::Finish(std::string_view user_state) {
  Bytes{4, user_state}.Append(&out_);
  return std::move(out_);
}

}  // namespace roster::core
