#include "net/stream.h"

#include <algorithm>
#include <utility>

#include "util/coding.h"

namespace roster::net {

std::string LengthPrefixed(std::string_view frame) {
  std::string out(kLengthPrefixBytes, '\0');
  util::EncodeFixed32BigEndian(out.data(), static_cast<uint32_t>(frame.size()));
  out.append(frame);
  return out;
}

uint32_t ReadLengthPrefix(std::string_view bytes) {
  return util::DecodeFixed32BigEndian(bytes.data());
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

}  // namespace roster::net
