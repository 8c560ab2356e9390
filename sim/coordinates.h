// How well the members' network coordinates predict the modelled network:
// over pairs of running members that have a coordinate, the relative
// error |estimated RTT - true RTT| / true RTT, where the truth is the
// model's mean round trip between the two (Network::MeanLatency both ways)
// and the estimate compares the two members' own coordinates.
#ifndef ROSTER_SIM_COORDINATES_H_
#define ROSTER_SIM_COORDINATES_H_

#include <cstddef>
#include <cstdint>

#include "sim/simulation.h"

namespace roster::sim {

struct CoordinateAccuracy {
  size_t members = 0;  // running members with a coordinate
  size_t pairs = 0;    // pairs measured
  double median_relative_error = 0;
  double p90_relative_error = 0;
};

// Every pair when there are at most `max_pairs`, otherwise `max_pairs`
// pairs drawn from `seed`; pairs = 0 when fewer than two members have a
// coordinate.
CoordinateAccuracy MeasureCoordinates(Simulation& sim, uint64_t seed,
                                      size_t max_pairs = 20000);

}  // namespace roster::sim

#endif  // ROSTER_SIM_COORDINATES_H_
