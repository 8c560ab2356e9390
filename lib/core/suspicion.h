// One suspicion of one member, with Lifeguard's dynamic timeout: it starts
// at `max` and falls logarithmically toward `min` as independent members
// confirm it, so a member that many peers suspect is declared dead sooner,
// and one suspected by a single (perhaps slow) peer gets time to refute.
#ifndef ROSTER_CORE_SUSPICION_H_
#define ROSTER_CORE_SUSPICION_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace roster::core {

// The floor of DESIGN.md: SuspicionMult * max(1, log10(n)) * ProbeInterval.
absl::Duration SuspicionFloor(int suspicion_mult, size_t cluster_size,
                              absl::Duration probe_interval);

// max - (max - min) * log(c + 1) / log(k + 1), never below min; min when
// no confirmations are expected (k < 1). Truncated to milliseconds.
absl::Duration SuspicionTimeout(int confirmations, int expected,
                                absl::Duration min, absl::Duration max);

class Suspicion {
 public:
  // `from` is the member that raised the suspicion: it does not count as
  // a confirmation.
  Suspicion(std::string_view from, int expected_confirmations,
            absl::Duration min, absl::Duration max, absl::Time start);

  // True if `from` is a new, independent confirmation that still shortens
  // the timeout: the caller re-gossips the suspicion then.
  bool Confirm(std::string_view from);

  absl::Time Deadline() const;
  int confirmations() const { return static_cast<int>(confirmers_.size()); }
  int expected() const { return expected_; }

 private:
  std::string origin_;
  std::vector<std::string> confirmers_;  // at most expected_ entries
  int expected_;
  absl::Duration min_, max_;
  absl::Time start_;
};

}  // namespace roster::core

#endif  // ROSTER_CORE_SUSPICION_H_
