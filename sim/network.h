// The modelled network between simulated members: per-datagram latency drawn
// from a range (which also reorders), uniform loss, duplication, one-way
// inbound loss for chosen members, and partitions into sides. Optionally
// structured into regions: members far apart are far apart every time,
// which is what network coordinates can learn.
#ifndef ROSTER_SIM_NETWORK_H_
#define ROSTER_SIM_NETWORK_H_

#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "sim/rng.h"

namespace roster::sim {

struct NetworkOptions {
  absl::Duration latency_min = absl::Milliseconds(1);
  absl::Duration latency_max = absl::Milliseconds(3);
  double loss = 0;       // fraction of datagrams lost, every link
  double duplicate = 0;  // fraction of datagrams delivered twice
  // How long a push-pull exchange with an unreachable peer takes to fail.
  absl::Duration sync_timeout = absl::Seconds(5);
  // With 2 or more, members are in `regions` regions (member i in region
  // i mod regions), and a datagram or stream message between two regions
  // takes a fixed delay of that pair's, 20 to 80 ms drawn from the seed
  // (the same both ways), on top of the range above. 0 or 1: one region.
  int regions = 0;
};

class Network {
 public:
  Network(NetworkOptions options, uint64_t seed);

  // Every node is on side 0 until partitioned; nodes on different sides
  // cannot reach each other, by datagram or stream.
  void Partition(std::vector<int> side_of_node) {
    side_ = std::move(side_of_node);
  }
  void Heal() { side_.clear(); }
  bool partitioned() const { return !side_.empty(); }
  bool Reachable(int from, int to) const;

  // Extra loss on the datagrams `node` receives (asymmetric, one-way loss);
  // its streams still arrive. At 1, a member whose inbound UDP is blocked
  // while TCP works (a common firewall mistake).
  void SetInboundLoss(int node, double fraction);
  void SetLoss(double fraction) { options_.loss = fraction; }

  // The delays after which copies of one datagram arrive: none when lost,
  // two when duplicated. Returns the number of copies written to `delays`.
  int Route(int from, int to, absl::Duration delays[2]);
  // One-way delay of a stream message (TCP: never lost, only late).
  absl::Duration StreamDelay(int from, int to);
  // The mean one-way delay from `from` to `to`: the truth that network
  // coordinates estimate (as half a round trip).
  absl::Duration MeanLatency(int from, int to) const;

  const NetworkOptions& options() const { return options_; }

 private:
  absl::Duration Latency(int from, int to);
  // The fixed delay between the regions of `from` and `to` (zero within
  // one).
  absl::Duration RegionDelay(int from, int to) const;

  NetworkOptions options_;
  Rng rng_;
  // By region pair (a * regions + b), microseconds; empty for one region.
  std::vector<int64_t> region_delay_us_;
  std::vector<int> side_;
  std::vector<double> inbound_loss_;
};

}  // namespace roster::sim

#endif  // ROSTER_SIM_NETWORK_H_
