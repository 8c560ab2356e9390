// Integers as roster writes them, in one place for every encoder and
// reader: protobuf's base-128 varints (the wire's messages) and big-endian
// fixed-width integers (frame checksums, stream length prefixes). A layer
// below lib/core and lib/net; the readers take hostile input.
#ifndef ROSTER_UTIL_CODING_H_
#define ROSTER_UTIL_CODING_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace roster::util {

inline constexpr size_t kMaxVarint64Bytes = 10;

// The bytes PutVarint64 writes for `value`.
inline size_t VarintLength(uint64_t value) {
  size_t length = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++length;
  }
  return length;
}

inline void PutVarint64(std::string* out, uint64_t value) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

// Reads the varint at *p (before `end`) into *value and moves *p past it.
// Only the shortest encoding of a 64-bit value is accepted: at most ten
// bytes, no trailing zero byte, nothing past bit 63. False, with *p
// somewhere inside, on anything else or on truncation.
inline bool GetVarint64(const char** p, const char* end, uint64_t* value) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && *p != end; shift += 7) {
    const auto byte = static_cast<uint8_t>(*(*p)++);
    v |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if (byte < 0x80) {
      if (byte == 0 && shift > 0) return false;
      if (shift == 63 && byte > 1) return false;
      *value = v;
      return true;
    }
  }
  return false;
}

inline void EncodeFixed32BigEndian(char* p, uint32_t value) {
  p[0] = static_cast<char>(value >> 24);
  p[1] = static_cast<char>(value >> 16);
  p[2] = static_cast<char>(value >> 8);
  p[3] = static_cast<char>(value);
}

inline uint32_t DecodeFixed32BigEndian(const char* p) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(p[0])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(p[1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(p[2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(p[3]));
}

}  // namespace roster::util

#endif  // ROSTER_UTIL_CODING_H_
