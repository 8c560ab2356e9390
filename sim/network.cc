#include "sim/network.h"

namespace roster::sim {

Network::Network(NetworkOptions options, uint64_t seed)
    : options_(options), rng_(seed) {
  const int r = options_.regions;
  if (r < 2) return;
  // A generator of its own, so that the per-datagram draws (rng_) are the
  // same with or without regions.
  Rng regions(DeriveSeed(seed, 0x4e610e5));
  region_delay_us_.assign(static_cast<size_t>(r) * r, 0);
  for (int a = 0; a < r; ++a) {
    for (int b = a + 1; b < r; ++b) {
      const int64_t us = regions.Between(20000, 80000);
      region_delay_us_[a * r + b] = region_delay_us_[b * r + a] = us;
    }
  }
}

absl::Duration Network::RegionDelay(int from, int to) const {
  if (region_delay_us_.empty() || from < 0 || to < 0)
    return absl::ZeroDuration();
  const int r = options_.regions;
  return absl::Microseconds(region_delay_us_[(from % r) * r + to % r]);
}

absl::Duration Network::MeanLatency(int from, int to) const {
  return RegionDelay(from, to) +
         (options_.latency_min + options_.latency_max) / 2;
}

bool Network::Reachable(int from, int to) const {
  if (side_.empty()) return true;
  auto side = [&](int n) {
    return n >= 0 && static_cast<size_t>(n) < side_.size() ? side_[n] : 0;
  };
  return side(from) == side(to);
}

void Network::SetInboundLoss(int node, double fraction) {
  if (node < 0) return;
  if (inbound_loss_.size() <= static_cast<size_t>(node))
    inbound_loss_.resize(node + 1, 0.0);
  inbound_loss_[node] = fraction;
}

absl::Duration Network::Latency(int from, int to) {
  int64_t lo = absl::ToInt64Microseconds(options_.latency_min);
  int64_t hi = absl::ToInt64Microseconds(options_.latency_max);
  return RegionDelay(from, to) + absl::Microseconds(rng_.Between(lo, hi));
}

int Network::Route(int from, int to, absl::Duration delays[2]) {
  if (!Reachable(from, to)) return 0;
  if (rng_.Chance(options_.loss)) return 0;
  if (static_cast<size_t>(to) < inbound_loss_.size() &&
      rng_.Chance(inbound_loss_[to]))
    return 0;
  delays[0] = Latency(from, to);
  if (!rng_.Chance(options_.duplicate)) return 1;
  delays[1] = Latency(from, to);
  return 2;
}

absl::Duration Network::StreamDelay(int from, int to) {
  return Latency(from, to);
}

}  // namespace roster::sim
