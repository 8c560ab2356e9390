// Encoding and decoding of everything roster puts on the wire.
//
// A datagram is a frame around an encoded wire::Packet:
//   byte 0   format version (kFrameVersion)
//   byte 1   flags: bit 0 label present, bit 1 checksum present,
//            bit 2 encrypted (exactly one of bits 1 and 2 is set)
//   [label]  one length byte, then that many bytes
// then, unencrypted:
//   crc      4 bytes big-endian CRC-32C of every other byte of the frame
//   payload  the rest
// or, encrypted with the keyring's primary key (roster/keyring.h):
//   nonce    24 random bytes
//   sealed   XChaCha20-Poly1305 of the payload, its 16-byte tag last, with
//            the header before the nonce as associated data
// A push-pull stream body is the same frame around an encoded PushPull.
//
// Decoders take hostile input: anything malformed or over a limit comes back
// as an error with the DropReason to count, never as a crash.
#ifndef ROSTER_CORE_WIRE_H_
#define ROSTER_CORE_WIRE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/crc32c.h"
#include "proto/roster.pb.h"
#include "roster/config.h"
#include "roster/counters.h"
#include "roster/keyring.h"
#include "roster/member.h"

namespace roster::core {

inline constexpr uint8_t kFrameVersion = 1;
inline constexpr size_t kMaxLabelBytes = 255;
// Suspect and dead news with a higher incarnation is rejected as hostile,
// and alive news above kMaxIncarnation + 1: a member refutes by going one
// higher than what it refutes, so it must always have room to, and no honest
// member gets anywhere near. (Without a keyring a forged alive at the top
// can still pin a member's view; it can no longer make it unrefutable.)
inline constexpr uint64_t kMaxIncarnation = uint64_t{1} << 62;

// The public MemberState is the wire's, value for value: tables and
// answers cast between them.
static_assert(static_cast<int>(MemberState::kAlive) ==
              wire::MEMBER_STATE_ALIVE);
static_assert(static_cast<int>(MemberState::kSuspect) ==
              wire::MEMBER_STATE_SUSPECT);
static_assert(static_cast<int>(MemberState::kDead) == wire::MEMBER_STATE_DEAD);
static_assert(static_cast<int>(MemberState::kLeft) == wire::MEMBER_STATE_LEFT);

// The outcome of a failed decode: what to count and a message for logs.
struct WireError {
  DropReason reason;
  std::string message;
};

template <typename T>
struct Decoded {
  bool ok() const { return error.message.empty(); }
  T value;
  WireError error{DropReason::kMalformed, {}};
};

// Frame. Sealed when `keyring` is set and its plaintext policy says so,
// with a nonce from the operating system's generator (from `test_nonces`
// instead, when given: only for reproducible test inputs); otherwise
// checksummed.
std::string SealFrame(std::string_view payload, std::string_view label,
                      const Keyring* keyring = nullptr,
                      const std::function<uint64_t()>& test_nonces = {});
// The most a frame adds to its payload: with a keyring, the sealed
// overhead whatever its policy, so that a policy change never leaves
// queued news too big to send.
size_t FrameOverhead(std::string_view label, const Keyring* keyring = nullptr);
// On success, value views the payload: inside `frame`, or for an encrypted
// frame inside `*opened`. Without a keyring encrypted frames are refused;
// with one, plaintext frames are refused unless its policy accepts them.
Decoded<std::string_view> OpenFrame(std::string_view frame,
                                    std::string_view expected_label,
                                    size_t max_frame_bytes,
                                    const Keyring* keyring = nullptr,
                                    std::string* opened = nullptr);

// Whether a frame claims to be sealed (its encrypted flag): opening it is
// an AEAD pass.
bool IsSealed(std::string_view frame);

// One message encoded as an entry of Packet.messages (field tag, length,
// body), so a packet is the concatenation of such entries.
std::string EncodeMessageEntry(const wire::Message& message);

// Parses a Packet payload and validates every message against `limits`.
Decoded<wire::Packet> DecodePacket(std::string_view payload,
                                   const Limits& limits);
// The same into a caller's message (which may live on an arena, so that a
// datagram's decode costs no heap allocation); false with `error` set when
// the payload is rejected.
bool DecodePacketInto(std::string_view payload, const Limits& limits,
                      wire::Packet* out, WireError* error);

std::string EncodePushPull(const wire::PushPull& state);
Decoded<wire::PushPull> DecodePushPull(std::string_view payload,
                                       const Limits& limits);

}  // namespace roster::core

#endif  // ROSTER_CORE_WIRE_H_
