// Lifeguard's local health multiplier (LHM): how much this member distrusts
// its own timeliness. Missed nacks, failed probes and having to refute a
// suspicion of itself raise the score; a successful probe lowers it. Probe
// interval and timeout are scaled by 1 + score, so a slow member slows its
// own failure detector instead of accusing healthy peers.
#ifndef ROSTER_CORE_AWARENESS_H_
#define ROSTER_CORE_AWARENESS_H_

#include "absl/time/time.h"

namespace roster::core {

class Awareness {
 public:
  // Scores range over [0, max_multiplier - 1].
  explicit Awareness(int max_multiplier) : max_(max_multiplier) {}

  void ApplyDelta(int delta);
  int score() const { return score_; }
  absl::Duration Scale(absl::Duration d) const { return d * (score_ + 1); }

 private:
  int max_;
  int score_ = 0;
};

}  // namespace roster::core

#endif  // ROSTER_CORE_AWARENESS_H_
