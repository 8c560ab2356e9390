#include "sim/network.h"

namespace roster::sim {

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

absl::Duration Network::Latency() {
  int64_t lo = absl::ToInt64Microseconds(options_.latency_min);
  int64_t hi = absl::ToInt64Microseconds(options_.latency_max);
  return absl::Microseconds(rng_.Between(lo, hi));
}

int Network::Route(int from, int to, absl::Duration delays[2]) {
  if (!Reachable(from, to)) return 0;
  if (rng_.Chance(options_.loss)) return 0;
  if (static_cast<size_t>(to) < inbound_loss_.size() &&
      rng_.Chance(inbound_loss_[to]))
    return 0;
  delays[0] = Latency();
  if (!rng_.Chance(options_.duplicate)) return 1;
  delays[1] = Latency();
  return 2;
}

absl::Duration Network::StreamDelay() { return Latency(); }

}  // namespace roster::sim
