// Frames: what every datagram and every TCP stream message is wrapped in.
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
// A TCP stream message is the same frame around a stream kind and a body
// (streams.h).
//
// Decoders take hostile input: anything malformed or over a limit comes back
// as an error with the DropReason to count, never as a crash.
#ifndef ROSTER_CORE_WIRE_FRAME_H_
#define ROSTER_CORE_WIRE_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/wire/decoded.h"
#include "roster/keyring.h"

namespace roster::core {

inline constexpr uint8_t kFrameVersion = 1;
inline constexpr size_t kMaxLabelBytes = 255;
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

}  // namespace roster::core

#endif  // ROSTER_CORE_WIRE_FRAME_H_
