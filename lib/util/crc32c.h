// CRC-32C (Castagnoli), the checksum of unencrypted frames (lib/core) and
// of the snapshot file (lib/net): a layer below both. Uses the SSE4.2
// instruction where the CPU has it, a table otherwise; both give the same
// answer.
#ifndef ROSTER_UTIL_CRC32C_H_
#define ROSTER_UTIL_CRC32C_H_

#include <cstdint>
#include <string_view>

namespace roster::util {

// Continues `crc` (the result over earlier bytes; 0 to start) over `bytes`.
uint32_t Crc32c(std::string_view bytes, uint32_t crc = 0);
// The table-driven version, exposed so tests can compare the two.
uint32_t Crc32cPortable(std::string_view bytes, uint32_t crc = 0);

}  // namespace roster::util

#endif  // ROSTER_UTIL_CRC32C_H_
