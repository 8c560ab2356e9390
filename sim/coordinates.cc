#include "sim/coordinates.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "roster/coordinate.h"
#include "sim/rng.h"

namespace roster::sim {

CoordinateAccuracy MeasureCoordinates(Simulation& sim, uint64_t seed,
                                      size_t max_pairs) {
  std::vector<int> nodes;
  std::vector<Coordinate> coords;
  for (size_t i = 0; i < sim.size(); ++i) {
    if (!sim.running(i)) continue;
    std::optional<Coordinate> c = sim.swim(i).Self().coordinate;
    if (!c) continue;
    nodes.push_back(static_cast<int>(i));
    coords.push_back(*c);
  }
  CoordinateAccuracy out;
  out.members = nodes.size();
  const size_t n = nodes.size();
  if (n < 2) return out;
  std::vector<double> errors;
  auto measure = [&](size_t a, size_t b) {
    const Network& net = sim.network();
    const double truth =
        absl::ToDoubleSeconds(net.MeanLatency(nodes[a], nodes[b]) +
                              net.MeanLatency(nodes[b], nodes[a]));
    if (truth <= 0) return;
    const double estimate =
        absl::ToDoubleSeconds(EstimateRtt(coords[a], coords[b]));
    errors.push_back(std::abs(estimate - truth) / truth);
  };
  const double all_pairs = 0.5 * static_cast<double>(n) * (n - 1);
  if (all_pairs <= static_cast<double>(max_pairs)) {
    for (size_t a = 0; a < n; ++a)
      for (size_t b = a + 1; b < n; ++b) measure(a, b);
  } else {
    // Its own generator: measuring never disturbs the run.
    Rng rng(DeriveSeed(seed, 0xc0041d));
    for (size_t draw = 0; draw < 4 * max_pairs && errors.size() < max_pairs;
         ++draw) {
      const size_t a = rng.Below(n), b = rng.Below(n);
      if (a != b) measure(a, b);
    }
  }
  out.pairs = errors.size();
  if (errors.empty()) return out;
  auto rank = [&](double q) {
    const size_t k =
        std::min(errors.size() - 1, static_cast<size_t>(q * errors.size()));
    std::nth_element(errors.begin(), errors.begin() + k, errors.end());
    return errors[k];
  };
  out.median_relative_error = rank(0.5);
  out.p90_relative_error = rank(0.9);
  return out;
}

}  // namespace roster::sim
