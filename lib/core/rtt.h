// Smoothed round-trip times to members, as TCP smooths its own (RFC
// 6298's SRTT): the first sample is taken as it is, each later one moves
// the estimate an eighth of the way.
//
// Held in whole microseconds, 0 meaning none yet, so that the member table
// keeps 4 bytes per member beside its 64-byte records (a simulation of
// 10,000 members holds 100,000,000 of them).
#ifndef ROSTER_CORE_RTT_H_
#define ROSTER_CORE_RTT_H_

#include <cstdint>

#include "absl/time/time.h"

namespace roster::core {

// The weight of a new sample, 1/2^kRttShift.
inline constexpr int kRttShift = 3;

// The estimate `srtt_us` (0: none) after `sample`. Samples are held to
// [1 us, about 71 minutes]: 0 stays "none", and a clock that stepped back
// cannot make one negative.
uint32_t SmoothRtt(uint32_t srtt_us, absl::Duration sample);

inline absl::Duration RttFromMicros(uint32_t srtt_us) {
  return absl::Microseconds(srtt_us);
}

}  // namespace roster::core

#endif  // ROSTER_CORE_RTT_H_
