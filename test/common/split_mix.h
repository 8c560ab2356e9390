// Deterministic randomness for tests: splitmix64 over caller-owned state,
// so that a lambda drawing from it stays const-callable (absl::FunctionRef
// needs that) and every run of a seed draws the same numbers.
#ifndef ROSTER_TEST_COMMON_SPLIT_MIX_H_
#define ROSTER_TEST_COMMON_SPLIT_MIX_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace roster::test {

inline uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The name of the i-th member of a test's table.
inline std::string NodeName(int i) { return absl::StrCat("node-", i); }

}  // namespace roster::test

#endif  // ROSTER_TEST_COMMON_SPLIT_MIX_H_
