#include "core/rtt.h"

#include <algorithm>
#include <cstdint>

namespace roster::core {

uint32_t SmoothRtt(uint32_t srtt_us, absl::Duration sample) {
  const int64_t us = std::clamp<int64_t>(absl::ToInt64Microseconds(sample), 1,
                                         int64_t{UINT32_MAX});
  if (srtt_us == 0) return static_cast<uint32_t>(us);
  // In 64 bits: (7 * srtt + sample) / 8 never overflows, nor leaves the
  // range of its two inputs.
  const int64_t srtt = static_cast<int64_t>(srtt_us);
  const int64_t next = srtt + ((us - srtt) >> kRttShift);
  return static_cast<uint32_t>(std::clamp<int64_t>(next, 1, UINT32_MAX));
}

}  // namespace roster::core
