// A rolling upgrade played on the simulator: half of a 20-member cluster is
// restarted one by one as a build that speaks protocol version 2 (Config::
// protocol_max, the "upgraded build"), while the rest stay at version 1.
// Nobody may be declared dead, everyone must converge on everyone's current
// life and versions, and version 2's kind (Hello) must reach upgraded
// members only, so that old members never meet a kind they do not know.
// Times are simulated, on the LAN profile.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "roster/member.h"
#include "sim/simulation.h"
#include "test/sim/sim_helpers.h"

namespace roster::sim {
namespace {

constexpr int kMembers = 20;
constexpr int kUpgraded = 10;  // members kMembers - kUpgraded .. kMembers-1

bool IsUpgraded(int node) { return node >= kMembers - kUpgraded; }

// Whether every other running member sees `node` alive in its current life
// and with the versions it speaks.
bool AllSeeCurrent(Simulation& sim, int node) {
  const MemberInfo self = sim.swim(node).Self();
  for (int i = 0; i < static_cast<int>(sim.size()); ++i) {
    if (i == node || !sim.running(i)) continue;
    auto seen = View(sim, i, node);
    if (!seen || seen->state != MemberState::kAlive ||
        seen->life != self.life || seen->protocol_max != self.protocol_max)
      return false;
  }
  return true;
}

bool AllSeeEveryoneCurrent(Simulation& sim) {
  for (int n = 0; n < static_cast<int>(sim.size()); ++n)
    if (!AllSeeCurrent(sim, n)) return false;
  return true;
}

struct Outcome {
  int failed = 0;     // kFailed events: false deaths, nobody stays down
  int suspected = 0;  // kSuspected events
  int restarted = 0;  // kRestarted events
  std::vector<absl::Duration> seen;  // each upgrade until all saw it
  absl::Duration slowest;
  absl::Duration settle;  // the last upgrade until everyone converged
};

// With `loss`, a datagram may be lost, and with it the one Hello a life
// sends another: then only an upper bound holds.
Outcome RollingUpgrade(uint64_t seed, double loss = 0) {
  Outcome out;
  SimOptions options = SimOptions::WithSeed(seed);
  options.network.loss = loss;
  // The cluster runs the older build until each member is upgraded.
  options.tune = [](int, Config& c) { c.protocol_max = 1; };
  Simulation sim(options);
  sim.AddCluster(kMembers, 0);
  EXPECT_TRUE(sim.RunUntil([&] { return AllSeeAlive(sim, Range(0, kMembers)); },
                           absl::Seconds(60)))
      << "seed " << seed << ": the cluster never formed";
  sim.RunFor(absl::Seconds(10));
  sim.on_event = [&](int, const Event& e) {
    out.failed += e.type == EventType::kFailed;
    out.suspected += e.type == EventType::kSuspected;
    out.restarted += e.type == EventType::kRestarted;
  };
  absl::Time last_upgrade;
  for (int node = kMembers - kUpgraded; node < kMembers; ++node) {
    sim.Upgrade(node, [](Config& c) { c.protocol_max = 2; });
    sim.Join(node, {0});
    const absl::Time at = last_upgrade = sim.now();
    // Under loss a member may miss every gossip of the new life, and
    // learn it from a push-pull (every 30 seconds) instead.
    EXPECT_TRUE(sim.RunUntil([&] { return AllSeeCurrent(sim, node); },
                             loss == 0 ? absl::Seconds(5) : absl::Seconds(60),
                             absl::Milliseconds(10)))
        << "seed " << seed << ": node " << node << " not seen upgraded";
    out.seen.push_back(sim.now() - at);
    out.slowest = std::max(out.slowest, sim.now() - at);
    // The next one once this one settled.
    if (node + 1 < kMembers) sim.RunFor(absl::Seconds(5));
  }
  EXPECT_TRUE(sim.RunUntil([&] { return AllSeeEveryoneCurrent(sim); },
                           absl::Seconds(60), absl::Milliseconds(10)))
      << "seed " << seed << ": no full convergence";
  out.settle = sim.now() - last_upgrade;
  // Long enough for every member to have probed every other one.
  sim.RunFor(absl::Seconds(60));
  EXPECT_TRUE(AllSeeEveryoneCurrent(sim)) << "seed " << seed;

  for (int n = 0; n < kMembers; ++n) {
    const Counters& c = sim.swim(n).counters();
    EXPECT_EQ(sim.swim(n).Self().protocol_max, IsUpgraded(n) ? 2u : 1u);
    // Nothing anyone sent was beyond what its receiver reads.
    EXPECT_EQ(c.unknown_kinds_skipped, 0u) << "seed " << seed << " node " << n;
    EXPECT_EQ(c.drops_of(DropReason::kMalformed), 0u)
        << "seed " << seed << " node " << n;
    // Each upgraded life hears one Hello from each other upgraded life
    // (its first ping of it), and old members none.
    if (loss == 0 || !IsUpgraded(n)) {
      EXPECT_EQ(c.hellos_received, IsUpgraded(n) ? kUpgraded - 1 : 0u)
          << "seed " << seed << " node " << n;
    } else {
      EXPECT_LE(c.hellos_received, kUpgraded - 1u) << "seed " << seed;
    }
    for (int s = 0; s < kMembers; ++s) {
      if (s == n) continue;
      auto seen = View(sim, n, s);
      EXPECT_TRUE(seen.has_value()) << "seed " << seed;
      if (!seen) continue;
      // What an old build says is what it runs: version 1.
      EXPECT_EQ(seen->protocol_min, 1u);
      EXPECT_EQ(seen->protocol_max, IsUpgraded(s) ? 2u : 1u);
    }
  }
  return out;
}

void Report(const char* what, const std::vector<Outcome>& outcomes) {
  absl::Duration slowest, settle;
  int suspected = 0;
  std::vector<absl::Duration> seen;
  for (const Outcome& o : outcomes) {
    seen.insert(seen.end(), o.seen.begin(), o.seen.end());
    slowest = std::max(slowest, o.slowest);
    settle = std::max(settle, o.settle);
    suspected += o.suspected;
  }
  std::sort(seen.begin(), seen.end());
  const size_t over_a_second = static_cast<size_t>(
      seen.end() -
      std::upper_bound(seen.begin(), seen.end(), absl::Seconds(1)));
  std::printf(
      "rolling upgrade of %d of %d members, %s, %zu seeds: 0 false deaths, "
      "%d suspicions; an upgrade seen by all within %s (median), %s "
      "(slowest; %zu of %zu over a second), everyone current on everyone "
      "%s after the last upgrade\n",
      kUpgraded, kMembers, what, outcomes.size(), suspected,
      absl::FormatDuration(seen[seen.size() / 2]).c_str(),
      absl::FormatDuration(slowest).c_str(), over_a_second, seen.size(),
      absl::FormatDuration(settle).c_str());
}

TEST(VersionTest, ARollingUpgradeOfHalfTheClusterIsSeamless) {
  std::vector<Outcome> outcomes;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const Outcome o = RollingUpgrade(seed);
    EXPECT_EQ(o.failed, 0) << "seed " << seed << ": false deaths";
    // Every member that held an upgraded one alive saw it restart.
    EXPECT_EQ(o.restarted, kUpgraded * (kMembers - 1)) << "seed " << seed;
    outcomes.push_back(o);
  }
  Report("no loss", outcomes);
}

TEST(VersionTest, ARollingUpgradeUnderLossIsSeamless) {
  std::vector<Outcome> outcomes;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const Outcome o = RollingUpgrade(seed, /*loss=*/0.02);
    EXPECT_EQ(o.failed, 0) << "seed " << seed << ": false deaths";
    outcomes.push_back(o);
  }
  Report("2% loss", outcomes);
}

}  // namespace
}  // namespace roster::sim
