#include "net/stream.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/wire.h"
#include "net/strings.h"

namespace roster::net {
namespace {

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutBytes(std::string_view s, std::string* out) {
  PutVarint(s.size(), out);
  out->append(s);
}

// A bounds-checked cursor over hostile bytes.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return false;
      auto b = static_cast<uint8_t>(data_[pos_++]);
      *v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool Bytes(std::string_view* s) {
    uint64_t n;
    if (!Varint(&n) || n > data_.size() - pos_) return false;
    *s = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool Byte(uint8_t* b) {
    if (pos_ >= data_.size()) return false;
    *b = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool done() const { return pos_ == data_.size(); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace

std::string EncodeStream(StreamKind kind, std::string_view body,
                         std::string_view label, const Keyring* keyring) {
  std::string payload;
  payload.reserve(body.size() + 1);
  payload.push_back(static_cast<char>(kind));
  payload.append(body);
  std::string frame = core::SealFrame(payload, label, keyring);
  std::string out(kLengthPrefixBytes, '\0');
  const auto n = static_cast<uint32_t>(frame.size());
  out[0] = static_cast<char>(n >> 24);
  out[1] = static_cast<char>(n >> 16);
  out[2] = static_cast<char>(n >> 8);
  out[3] = static_cast<char>(n);
  out.append(frame);
  return out;
}

uint32_t ReadLengthPrefix(std::string_view bytes) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(bytes[0])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(bytes[1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(bytes[2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(bytes[3]));
}

bool FrameReader::Append(std::string_view bytes) {
  in_.append(bytes);
  if (!have_length_) {
    if (in_.size() < kLengthPrefixBytes) return true;
    need_ = ReadLengthPrefix(in_);
    have_length_ = true;
    if (need_ == 0 || need_ > max_frame_bytes_) return false;
    in_.reserve(std::min<uint64_t>(need_ + kLengthPrefixBytes, 1 << 20));
  }
  return need_ != 0 && need_ <= max_frame_bytes_;
}

std::string FrameReader::TakeFrame() {
  in_.resize(need_ + kLengthPrefixBytes);
  in_.erase(0, kLengthPrefixBytes);
  return std::move(in_);
}

absl::StatusOr<StreamMessage> OpenStream(std::string_view frame,
                                         std::string_view label,
                                         size_t max_frame_bytes,
                                         const Keyring* keyring,
                                         std::string* buffer) {
  auto opened = core::OpenFrame(frame, label, max_frame_bytes, keyring, buffer);
  if (!opened.ok())
    return absl::InvalidArgumentError(
        absl::StrCat(DropReasonName(opened.error.reason).data(), ": ",
                     opened.error.message));
  if (opened.value.empty())
    return absl::InvalidArgumentError("empty stream message");
  StreamMessage m;
  m.kind = static_cast<StreamKind>(opened.value[0]);
  m.body = opened.value.substr(1);
  return m;
}

std::string EncodeMessage(std::string_view from, std::string_view payload) {
  std::string out;
  out.reserve(from.size() + payload.size() + 10);
  PutBytes(from, &out);
  out.append(payload);
  return out;
}

absl::StatusOr<Message> DecodeMessage(std::string_view body) {
  Reader r(body);
  Message m;
  if (!r.Bytes(&m.from) || m.from.empty())
    return absl::InvalidArgumentError("message without a sender name");
  m.payload = body.substr(m.from.data() + m.from.size() - body.data());
  return m;
}

std::string EncodeMembers(const std::vector<MemberInfo>& members,
                          absl::Time now) {
  std::string out;
  PutVarint(members.size(), &out);
  for (const MemberInfo& m : members) {
    PutBytes(m.name, &out);
    PutBytes(m.addr, &out);
    out.push_back(static_cast<char>(m.state));
    PutVarint(m.incarnation, &out);
    PutBytes(m.meta, &out);
    absl::Duration age = std::max(now - m.state_changed, absl::ZeroDuration());
    PutVarint(static_cast<uint64_t>(absl::ToInt64Milliseconds(age)), &out);
  }
  return out;
}

absl::StatusOr<std::vector<MemberInfo>> DecodeMembers(std::string_view body,
                                                      absl::Time now,
                                                      size_t max_members) {
  Reader r(body);
  uint64_t count;
  if (!r.Varint(&count) || count > max_members)
    return absl::InvalidArgumentError("bad member count");
  std::vector<MemberInfo> out;
  out.reserve(std::min<uint64_t>(count, 1024));
  for (uint64_t i = 0; i < count; ++i) {
    MemberInfo m;
    std::string_view name, addr, meta;
    uint8_t state;
    uint64_t age_ms;
    if (!r.Bytes(&name) || !r.Bytes(&addr) || !r.Byte(&state) ||
        state > static_cast<uint8_t>(MemberState::kLeft) ||
        !r.Varint(&m.incarnation) || !r.Bytes(&meta) || !r.Varint(&age_ms))
      return absl::InvalidArgumentError("truncated or malformed member list");
    m.name = std::string(name);
    m.addr = std::string(addr);
    m.state = static_cast<MemberState>(state);
    m.meta = std::string(meta);
    m.state_changed = now - absl::Milliseconds(static_cast<int64_t>(
                                std::min<uint64_t>(age_ms, uint64_t{1} << 50)));
    out.push_back(std::move(m));
  }
  if (!r.done())
    return absl::InvalidArgumentError("trailing bytes after the member list");
  return out;
}

}  // namespace roster::net
