// The snapshot file's encoder and reader (snapshot_file_format.h).
#include "net/snapshot_file_format.h"

#include <algorithm>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "util/coding.h"
#include "util/crc32c.h"
#include "util/string_view.h"

namespace roster::net {
namespace {

constexpr size_t kVersionAt = 8;
constexpr size_t kLengthAt = 12;
constexpr size_t kCrcAt = 16;
// The fewest bytes a member takes: three varints of one byte (empty name
// and address, life 0). A count above what is left divided by this is a
// lie, caught before anything is reserved.
constexpr size_t kMinMemberBytes = 3;

void PutString(std::string* out, std::string_view s) {
  s = s.substr(0, kMaxSnapshotFileStringBytes);
  util::PutVarint64(out, s.size());
  out->append(s);
}

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("snapshot file: ", what));
}

// Reads the body, one field after another; the first failure is kept.
class BodyReader {
 public:
  explicit BodyReader(std::string_view body)
      : p_(body.data()), end_(body.data() + body.size()) {}

  bool Varint(absl::string_view field, uint64_t* v) {
    if (!error_.ok()) return false;
    if (!util::GetVarint64(&p_, end_, v)) {
      error_ = Corrupt(absl::StrCat("the ", field, " is not a valid varint"));
      return false;
    }
    return true;
  }
  bool Varint32(absl::string_view field, uint32_t* v) {
    uint64_t wide = 0;
    if (!Varint(field, &wide)) return false;
    if (wide > std::numeric_limits<uint32_t>::max()) {
      error_ = Corrupt(absl::StrCat("the ", field, " is over 32 bits"));
      return false;
    }
    *v = static_cast<uint32_t>(wide);
    return true;
  }
  bool String(absl::string_view field, std::string* s) {
    uint64_t n = 0;
    if (!Varint(absl::StrCat(field, "'s length"), &n)) return false;
    if (n > kMaxSnapshotFileStringBytes ||
        n > static_cast<uint64_t>(end_ - p_)) {
      error_ = Corrupt(
          absl::StrCat("the ", field, " declares ", n, " bytes, more than ",
                       std::min<size_t>(kMaxSnapshotFileStringBytes, end_ - p_),
                       " are allowed or left"));
      return false;
    }
    s->assign(p_, n);
    p_ += n;
    return true;
  }
  size_t left() const { return static_cast<size_t>(end_ - p_); }
  const absl::Status& error() const { return error_; }

 private:
  const char* p_;
  const char* end_;
  absl::Status error_;
};

}  // namespace

std::string EncodeSnapshotFile(const SnapshotFileContents& c) {
  std::string body;
  PutString(&body, c.name);
  util::PutVarint64(&body, c.life);
  util::PutVarint64(&body, c.incarnation);
  util::PutVarint64(&body, c.left ? kSnapshotFileLeftFlag : 0);
  util::PutVarint64(&body, static_cast<uint64_t>(std::max<int64_t>(
                               0, absl::ToUnixMillis(c.written_at))));
  util::PutVarint64(&body, c.event_clock);
  util::PutVarint64(&body, c.query_clock);
  util::PutVarint64(&body, c.members.size());
  for (const SnapshotFileMember& m : c.members) {
    PutString(&body, m.name);
    PutString(&body, m.addr);
    util::PutVarint64(&body, m.life);
  }
  std::string out(kSnapshotFileHeaderBytes, '\0');
  out.replace(0, kSnapshotFileMagic.size(), kSnapshotFileMagic);
  util::EncodeFixed32BigEndian(&out[kVersionAt], kSnapshotFileVersion);
  util::EncodeFixed32BigEndian(&out[kLengthAt],
                               static_cast<uint32_t>(body.size()));
  const uint32_t crc = util::Crc32c(
      body, util::Crc32c(std::string_view(out).substr(kVersionAt, 8)));
  util::EncodeFixed32BigEndian(&out[kCrcAt], crc);
  out += body;
  return out;
}

absl::StatusOr<SnapshotFileContents> DecodeSnapshotFile(
    std::string_view bytes) {
  if (bytes.size() < kSnapshotFileMagic.size() ||
      bytes.substr(0, kSnapshotFileMagic.size()) != kSnapshotFileMagic)
    return Corrupt(absl::StrCat(
        "not a snapshot file (it starts with \"",
        absl::CHexEscape(
            util::ToAbsl(bytes.substr(0, kSnapshotFileMagic.size()))),
        "\", not \"", util::ToAbsl(kSnapshotFileMagic), "\")"));
  if (bytes.size() < kSnapshotFileHeaderBytes)
    return Corrupt(absl::StrCat("truncated: ", bytes.size(),
                                " bytes, shorter than the ",
                                kSnapshotFileHeaderBytes, "-byte header"));
  const uint32_t version = util::DecodeFixed32BigEndian(&bytes[kVersionAt]);
  if (version != kSnapshotFileVersion)
    return Corrupt(absl::StrCat("version ", version, ", but this build reads ",
                                kSnapshotFileVersion, " only"));
  const uint32_t length = util::DecodeFixed32BigEndian(&bytes[kLengthAt]);
  if (length > kMaxSnapshotFileBodyBytes)
    return Corrupt(absl::StrCat("the header declares a body of ", length,
                                " bytes, over the limit of ",
                                kMaxSnapshotFileBodyBytes));
  const std::string_view body = bytes.substr(kSnapshotFileHeaderBytes);
  if (body.size() < length)
    return Corrupt(absl::StrCat("truncated: the body has ", body.size(),
                                " of its ", length, " bytes"));
  if (body.size() > length)
    return Corrupt(absl::StrCat(body.size() - length,
                                " bytes follow the body's declared ", length));
  const uint32_t crc =
      util::Crc32c(body, util::Crc32c(bytes.substr(kVersionAt, 8)));
  if (crc != util::DecodeFixed32BigEndian(&bytes[kCrcAt]))
    return Corrupt("checksum mismatch: the file is damaged");

  SnapshotFileContents c;
  BodyReader r(body);
  uint64_t flags = 0, written_ms = 0, count = 0;
  r.String("name", &c.name);
  r.Varint32("life", &c.life);
  r.Varint("incarnation", &c.incarnation);
  r.Varint("flags", &flags);
  r.Varint("write time", &written_ms);
  r.Varint("event clock", &c.event_clock);
  r.Varint("query clock", &c.query_clock);
  r.Varint("member count", &count);
  if (!r.error().ok()) return r.error();
  if ((flags & ~kSnapshotFileLeftFlag) != 0)
    return Corrupt(absl::StrCat("unknown flags ", flags));
  c.left = (flags & kSnapshotFileLeftFlag) != 0;
  if (written_ms > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return Corrupt("the write time is out of range");
  c.written_at = absl::FromUnixMillis(static_cast<int64_t>(written_ms));
  if (count > r.left() / kMinMemberBytes)
    return Corrupt(absl::StrCat("the member count ", count,
                                " cannot fit in the ", r.left(),
                                " bytes left"));
  c.members.resize(count);
  for (SnapshotFileMember& m : c.members) {
    r.String("member name", &m.name);
    r.String("member address", &m.addr);
    r.Varint32("member life", &m.life);
  }
  if (!r.error().ok()) return r.error();
  if (r.left() != 0)
    return Corrupt(absl::StrCat(r.left(), " bytes follow the last member"));
  return c;
}

}  // namespace roster::net
