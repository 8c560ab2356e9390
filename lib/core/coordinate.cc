#include "core/coordinate.h"

#include <algorithm>
#include <cmath>

namespace roster {

absl::Duration EstimateRtt(const Coordinate& a, const Coordinate& b) {
  const double seconds = core::DistanceSeconds(a, b);
  if (!std::isfinite(seconds) || seconds < 0) return absl::InfiniteDuration();
  return absl::Nanoseconds(std::llround(std::min(seconds, 1e9) * 1e9));
}

namespace core {
namespace {

// Below this, a length or an error is taken as zero (Serf's threshold).
constexpr double kZero = 1e-6;
constexpr double kMaxLength = 10;  // seconds, as kMaxCoordinateRtt

using Vec = std::array<double, Coordinate::kDimensions>;

double Magnitude(const Vec& v) {
  double sum = 0;
  for (double x : v) sum += x * x;
  return std::sqrt(sum);
}

// Uniform in [-0.5, 0.5), from the top 53 bits of a draw.
double Centered(uint64_t draw) {
  return static_cast<double>(draw >> 11) * 0x1.0p-53 - 0.5;
}

// The unit vector from `b` towards `a`, and their distance. Coinciding
// points have no direction between them: any will do, so a random one,
// with distance 0 so that heights are left alone.
Vec UnitVectorAt(const Vec& a, const Vec& b, double* distance,
                 CoordinateClient::RandomFn random) {
  Vec d;
  for (size_t i = 0; i < d.size(); ++i) d[i] = a[i] - b[i];
  double m = Magnitude(d);
  *distance = m;
  if (m <= kZero) {
    *distance = 0;
    for (double& x : d) x = Centered(random());
    m = Magnitude(d);
    if (m <= kZero) {
      d = Vec{};
      d[0] = 1;
      return d;
    }
  }
  for (double& x : d) x /= m;
  return d;
}

double RawDistance(const Coordinate& a, const Coordinate& b) {
  Vec d;
  for (size_t i = 0; i < d.size(); ++i) d[i] = a.vec[i] - b.vec[i];
  return Magnitude(d) + a.height + b.height;
}

bool AllFinite(const Coordinate& c) {
  for (double x : c.vec)
    if (!std::isfinite(x)) return false;
  return std::isfinite(c.error) && std::isfinite(c.adjustment) &&
         std::isfinite(c.height);
}

}  // namespace

Coordinate FreshCoordinate(const VivaldiConfig& config) {
  Coordinate c;
  c.error = config.error_max;
  c.height = config.height_min;
  return c;
}

bool IsPlausible(const Coordinate& c) {
  if (!AllFinite(c)) return false;
  for (double x : c.vec)
    if (std::abs(x) > kMaxLength) return false;
  return c.error >= 0 && c.error <= 100 && c.height >= 0 &&
         c.height <= kMaxLength && std::abs(c.adjustment) <= kMaxLength;
}

double DistanceSeconds(const Coordinate& a, const Coordinate& b) {
  const double raw = RawDistance(a, b);
  // The adjustments correct the Euclidean model's error nearby, unless
  // they would predict no delay at all.
  const double adjusted = raw + a.adjustment + b.adjustment;
  return adjusted > 0 ? adjusted : raw;
}

CoordinateClient::CoordinateClient(VivaldiConfig config) : config_(config) {
  config_.adjustment_window =
      std::min(config_.adjustment_window, residuals_.size());
  config_.latency_filter =
      std::clamp<size_t>(config_.latency_filter, 1, Filter{}.samples.size());
  coord_ = FreshCoordinate(config_);
  origin_ = FreshCoordinate(config_);
}

CoordinateClient::Outcome CoordinateClient::Update(std::string_view peer,
                                                   const Coordinate& theirs,
                                                   absl::Duration rtt,
                                                   RandomFn random) {
  if (!IsPlausible(theirs)) {
    ++refused_;
    return Outcome::kBadCoordinate;
  }
  if (rtt < absl::ZeroDuration() || rtt > kMaxCoordinateRtt) {
    ++refused_;
    return Outcome::kBadRtt;
  }
  const double rtt_s = Filtered(peer, absl::ToDoubleSeconds(rtt));
  ApplyVivaldi(theirs, rtt_s, random);
  ApplyAdjustment(theirs, rtt_s);
  ApplyGravity(random);
  if (!AllFinite(coord_)) {
    coord_ = FreshCoordinate(config_);
    ++resets_;
  }
  return Outcome::kApplied;
}

double CoordinateClient::Filtered(std::string_view peer, double rtt_s) {
  Filter& f = filters_[util::ToAbsl(peer)];
  const size_t size = config_.latency_filter;
  if (f.count == size) {
    std::move(f.samples.begin() + 1, f.samples.begin() + size,
              f.samples.begin());
    --f.count;
  }
  f.samples[f.count++] = rtt_s;
  // The median damps a single late answer (a busy peer, a queue) without
  // lagging behind a real change for more than a sample or two.
  std::array<double, Filter{}.samples.size()> sorted{};
  const size_t count = std::min<size_t>(f.count, sorted.size());
  for (size_t i = 0; i < count; ++i) {
    size_t j = i;
    for (; j > 0 && sorted[j - 1] > f.samples[i]; --j)
      sorted[j] = sorted[j - 1];
    sorted[j] = f.samples[i];
  }
  return sorted[count / 2];
}

void CoordinateClient::ApplyVivaldi(const Coordinate& theirs, double rtt_s,
                                    RandomFn random) {
  rtt_s = std::max(rtt_s, kZero);
  const double dist = DistanceSeconds(coord_, theirs);
  const double wrongness = std::abs(dist - rtt_s) / rtt_s;
  // Trust a sample in proportion to how much less sure we are than the
  // peer: a confident peer moves an unsure member a long way.
  const double total = std::max(coord_.error + theirs.error, kZero);
  const double weight = coord_.error / total;
  coord_.error = config_.ce * weight * wrongness +
                 coord_.error * (1 - config_.ce * weight);
  coord_.error = std::min(coord_.error, config_.error_max);
  ApplyForce(config_.cc * weight * (rtt_s - dist), theirs, random);
}

void CoordinateClient::ApplyAdjustment(const Coordinate& theirs, double rtt_s) {
  const size_t window = config_.adjustment_window;
  if (window == 0) return;
  residuals_[next_residual_] = rtt_s - RawDistance(coord_, theirs);
  next_residual_ = (next_residual_ + 1) % window;
  double sum = 0;
  for (size_t i = 0; i < window; ++i) sum += residuals_[i];
  // Half the mean: the other half is the peer's own adjustment.
  coord_.adjustment = sum / (2.0 * static_cast<double>(window));
}

void CoordinateClient::ApplyGravity(RandomFn random) {
  const double dist = DistanceSeconds(origin_, coord_);
  const double pull = dist / config_.gravity_rho;
  ApplyForce(-pull * pull, origin_, random);
}

void CoordinateClient::ApplyForce(double force, const Coordinate& from,
                                  RandomFn random) {
  double distance = 0;
  const Vec unit = UnitVectorAt(coord_.vec, from.vec, &distance, random);
  for (size_t i = 0; i < unit.size(); ++i) coord_.vec[i] += unit[i] * force;
  if (distance > kZero) {
    coord_.height =
        (coord_.height + from.height) * force / distance + coord_.height;
    coord_.height = std::max(coord_.height, config_.height_min);
  }
}

}  // namespace core
}  // namespace roster
