// The runtime's side of roster's TCP connections: the length prefix.
//
// A connection carries a request and its reply, perhaps several in turn.
// Each is a 4-byte big-endian length, then that many bytes: a stream
// frame, which the core writes and reads whole (lib/core/wire/streams.h,
// doc/wire_format.md). Nothing here looks inside a frame.
#ifndef ROSTER_NET_STREAM_H_
#define ROSTER_NET_STREAM_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace roster::net {

inline constexpr size_t kLengthPrefixBytes = 4;

// `frame` behind its length prefix, as it goes on the connection.
std::string LengthPrefixed(std::string_view frame);
// Reads the length prefix at the start of `bytes` (which holds at least 4).
uint32_t ReadLengthPrefix(std::string_view bytes);

// Gathers one length-prefixed stream message from what a connection
// delivers, in pieces of any size. It only parses bytes: Streams feeds it
// what TCP reads, and the fuzz tests feed it anything.
class FrameReader {
 public:
  explicit FrameReader(size_t max_frame_bytes)
      : max_frame_bytes_(max_frame_bytes) {}
  // Appends bytes read. False once the length prefix has declared 0 bytes
  // or more than max_frame_bytes: the stream is bad and reading must stop.
  bool Append(std::string_view bytes);
  // Whether the length prefix has arrived, and the frame size it declared.
  bool has_length() const { return have_length_; }
  uint64_t declared() const { return need_; }
  // Whether the whole frame has arrived (bytes past it are ignored).
  bool complete() const {
    return have_length_ && in_.size() >= need_ + kLengthPrefixBytes;
  }
  // Whether bytes past the frame have arrived (they are not kept).
  bool has_excess() const {
    return have_length_ && in_.size() > need_ + kLengthPrefixBytes;
  }
  // The frame, without its length prefix; only once complete().
  std::string TakeFrame();

 private:
  size_t max_frame_bytes_;
  std::string in_;  // what has been read, length prefix included
  uint64_t need_ = 0;
  bool have_length_ = false;
};

}  // namespace roster::net

#endif  // ROSTER_NET_STREAM_H_
