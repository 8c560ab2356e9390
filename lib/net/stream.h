// What travels over roster's TCP connections.
//
// A connection carries one request and one reply. Each is a 4-byte
// big-endian length, then that many bytes: a frame (core::SealFrame, with
// the cluster label, and checksummed or sealed with the keyring) around a
// one-byte stream kind and a body.
//
//   kPushPull  body: the Swim's push-pull frame, passed through untouched
//   kMessage   body: sender name (1-byte length, then bytes), then payload
//   kMembers   body: empty; the reply lists the member table (EncodeMembers)
// A reply is kOk with a body (the peer's push-pull frame, the member list,
// or nothing for kMessage) or kError with a message for a person.
//
// Every decoder here takes hostile input and fails cleanly.
#ifndef ROSTER_NET_STREAM_H_
#define ROSTER_NET_STREAM_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "roster/keyring.h"
#include "roster/member.h"

namespace roster::net {

enum class StreamKind : uint8_t {
  kPushPull = 1,
  kMessage = 2,
  kMembers = 3,
  kOk = 0x80,
  kError = 0x81,
};

inline constexpr size_t kLengthPrefixBytes = 4;

// The length prefix and frame of one stream message; sealed with the
// keyring's primary key (and a nonce from the OS generator) if it seals.
std::string EncodeStream(StreamKind kind, std::string_view body,
                         std::string_view label,
                         const Keyring* keyring = nullptr);
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
  // The frame, without its length prefix; only once complete().
  std::string TakeFrame();

 private:
  size_t max_frame_bytes_;
  std::string in_;  // what has been read, length prefix included
  uint64_t need_ = 0;
  bool have_length_ = false;
};

struct StreamMessage {
  StreamKind kind = StreamKind::kError;
  // A view into the frame given to OpenStream, or for an encrypted frame
  // into the `opened` buffer given with it.
  std::string_view body;
};
// Opens the frame that followed a length prefix. Encrypted frames need a
// keyring and a buffer for their plaintext.
absl::StatusOr<StreamMessage> OpenStream(std::string_view frame,
                                         std::string_view label,
                                         size_t max_frame_bytes,
                                         const Keyring* keyring = nullptr,
                                         std::string* opened = nullptr);

// kMessage bodies.
std::string EncodeMessage(std::string_view from, std::string_view payload);
struct Message {
  std::string_view from;
  std::string_view payload;
};
absl::StatusOr<Message> DecodeMessage(std::string_view body);

// kMembers replies: each member with the time since its last state change.
std::string EncodeMembers(const std::vector<MemberInfo>& members,
                          absl::Time now);
absl::StatusOr<std::vector<MemberInfo>> DecodeMembers(std::string_view body,
                                                      absl::Time now,
                                                      size_t max_members);

}  // namespace roster::net

#endif  // ROSTER_NET_STREAM_H_
