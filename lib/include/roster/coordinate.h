// Network coordinates: where a member sits in a space whose distances
// estimate round-trip times (Vivaldi, as Serf computes it). Each member
// learns its own from the RTTs of its direct probes and the coordinates
// their acks carry; MemberInfo::coordinate shows the latest one heard from
// each member, Swim::Self() this member's own.
#ifndef ROSTER_COORDINATE_H_
#define ROSTER_COORDINATE_H_

#include <array>
#include <cstddef>

#include "absl/time/time.h"

namespace roster {

// Every length in seconds: the Euclidean part `vec`, plus a height (the
// member's own access link, which no path avoids) and an adjustment (the
// average error of the Euclidean model near it, which may be negative).
// `error` is the member's confidence in its coordinate: near 0 when its
// estimates hold, 1.5 (the ceiling) when it knows nothing yet.
struct Coordinate {
  static constexpr size_t kDimensions = 8;
  std::array<double, kDimensions> vec{};
  double error = 1.5;
  double adjustment = 0;
  double height = 10e-6;

  bool operator==(const Coordinate&) const = default;
};

// The round trip the two coordinates predict between their members: the
// Euclidean distance plus both heights, plus both adjustments unless that
// would make it nonpositive. Any two valid coordinates can be compared,
// however many samples either is made of.
absl::Duration EstimateRtt(const Coordinate& a, const Coordinate& b);

}  // namespace roster

#endif  // ROSTER_COORDINATE_H_
