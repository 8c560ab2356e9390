// The simulator's only source of randomness: xoshiro256** seeded through
// SplitMix64, with distributions written here (the standard library's
// distributions differ between implementations, which would break replay).
#ifndef ROSTER_SIM_RNG_H_
#define ROSTER_SIM_RNG_H_

#include <array>
#include <cstdint>

namespace roster::sim {

class Rng {
 public:
  explicit Rng(uint64_t seed);

  uint64_t Next();
  // Uniform in [0, n); n > 0.
  uint64_t Below(uint64_t n);
  // Uniform in [lo, hi].
  int64_t Between(int64_t lo, int64_t hi);
  // Uniform in [0, 1).
  double Unit();
  bool Chance(double p) { return p > 0 && Unit() < p; }

 private:
  std::array<uint64_t, 4> s_;
};

// A seed for a sub-stream (a node, the network) derived from a run's seed.
uint64_t DeriveSeed(uint64_t seed, uint64_t stream);

}  // namespace roster::sim

#endif  // ROSTER_SIM_RNG_H_
