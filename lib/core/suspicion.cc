#include "core/suspicion.h"

#include <algorithm>
#include <cmath>

namespace roster::core {

absl::Duration SuspicionFloor(int suspicion_mult, size_t cluster_size,
                              absl::Duration probe_interval) {
  double scale = std::max(1.0, std::log10(std::max<double>(1.0, cluster_size)));
  return absl::Milliseconds(std::floor(
      suspicion_mult * scale * absl::ToDoubleMilliseconds(probe_interval)));
}

absl::Duration SuspicionTimeout(int confirmations, int expected,
                                absl::Duration min, absl::Duration max) {
  if (expected < 1) return min;
  double frac = std::log(confirmations + 1.0) / std::log(expected + 1.0);
  double raw = absl::ToDoubleMilliseconds(max) -
               frac * absl::ToDoubleMilliseconds(max - min);
  absl::Duration timeout = absl::Milliseconds(std::floor(raw));
  return std::max(timeout, min);
}

Suspicion::Suspicion(std::string_view from, int expected_confirmations,
                     absl::Duration min, absl::Duration max, absl::Time start)
    : origin_(from),
      expected_(expected_confirmations),
      min_(min),
      max_(std::max(min, max)),
      start_(start) {}

bool Suspicion::Confirm(std::string_view from) {
  if (confirmations() >= expected_) return false;
  if (from == origin_) return false;
  if (std::find(confirmers_.begin(), confirmers_.end(), from) !=
      confirmers_.end())
    return false;
  confirmers_.emplace_back(from);
  return true;
}

absl::Time Suspicion::Deadline() const {
  return start_ + SuspicionTimeout(confirmations(), expected_, min_, max_);
}

}  // namespace roster::core
