// Vivaldi network coordinates as Serf's coordinate package computes them:
// a spring model in 8 dimensions plus a height, with Serf's refinements
// (a per-peer median latency filter, an adjustment term from the recent
// residuals, and gravity towards the origin so the whole cluster does not
// drift).
//
// Pure: no clock, no I/O, and no randomness of its own. The one random
// choice (a direction when two coordinates coincide, as every fresh one
// does) is drawn from the caller's generator, so a simulated run replays.
#ifndef ROSTER_CORE_COORDINATE_H_
#define ROSTER_CORE_COORDINATE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "roster/coordinate.h"
#include "util/string_view.h"

namespace roster::core {

// Serf's defaults (coordinate.DefaultConfig), the dimensionality aside,
// which is Coordinate::kDimensions.
struct VivaldiConfig {
  double error_max = 1.5;  // a fresh coordinate's error, and its ceiling
  double ce = 0.25;        // how far one sample moves the error
  double cc = 0.25;        // how far one sample moves the coordinate
  size_t adjustment_window = 20;
  double height_min = 10e-6;  // seconds
  size_t latency_filter = 3;  // samples per peer; their median is used
  double gravity_rho = 150;   // seconds: how weakly the origin pulls
};

// Samples above this are not round trips on any network roster runs on.
inline constexpr absl::Duration kMaxCoordinateRtt = absl::Seconds(10);

// A coordinate nothing has been learnt for: at the origin, at the ceiling
// of error.
Coordinate FreshCoordinate(const VivaldiConfig& config = {});

// Whether `c` can be trusted as a peer's: every number finite, the error
// in [0, 100], the height in [0, 10 s], and every other length within
// 10 s. Honest coordinates stay within the longest RTT they are fed
// (kMaxCoordinateRtt), gravity pulling them in; a hostile one can then
// drag ours at most a quarter of that in one sample.
bool IsPlausible(const Coordinate& c);

// The estimated RTT in seconds, as EstimateRtt (roster/coordinate.h).
double DistanceSeconds(const Coordinate& a, const Coordinate& b);

class CoordinateClient {
 public:
  using RandomFn = absl::FunctionRef<uint64_t()>;
  enum class Outcome : uint8_t { kApplied, kBadCoordinate, kBadRtt };

  explicit CoordinateClient(VivaldiConfig config = {});

  const Coordinate& coordinate() const { return coord_; }

  // One sample: `peer` at `theirs` answered a direct probe `rtt` after it
  // was sent. A coordinate that is not plausible, or an RTT below 0 or
  // over kMaxCoordinateRtt, is refused and counted, and changes nothing.
  Outcome Update(std::string_view peer, const Coordinate& theirs,
                 absl::Duration rtt, RandomFn random);
  // Drops what is kept about `peer` (its latency filter).
  void Forget(std::string_view peer) { filters_.erase(util::ToAbsl(peer)); }
  // Drops every peer for which `keep` is false.
  template <typename Keep>
  void ForgetUnless(Keep keep) {
    absl::erase_if(filters_,
                   [&](const auto& entry) { return !keep(entry.first); });
  }
  size_t peers() const { return filters_.size(); }

  uint64_t refused() const { return refused_; }
  // Times the coordinate went invalid (a numeric accident) and was reset.
  uint64_t resets() const { return resets_; }

 private:
  // The last few samples of one peer, in seconds, oldest first.
  struct Filter {
    std::array<double, 8> samples{};
    uint8_t count = 0;
  };
  double Filtered(std::string_view peer, double rtt_s);
  void ApplyVivaldi(const Coordinate& theirs, double rtt_s, RandomFn random);
  void ApplyAdjustment(const Coordinate& theirs, double rtt_s);
  void ApplyGravity(RandomFn random);
  // Moves coord_ by `force` (seconds) along the line from `from` to it,
  // and its height in proportion.
  void ApplyForce(double force, const Coordinate& from, RandomFn random);

  VivaldiConfig config_;
  Coordinate coord_;
  Coordinate origin_;
  std::array<double, 64> residuals_{};  // the adjustment window
  size_t next_residual_ = 0;
  absl::flat_hash_map<std::string, Filter> filters_;
  uint64_t refused_ = 0;
  uint64_t resets_ = 0;
};

}  // namespace roster::core

#endif  // ROSTER_CORE_COORDINATE_H_
