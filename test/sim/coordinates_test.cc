// Network coordinates on the simulator, with fixed seeds: the regions
// latency model, coordinates learnt from direct acks converging on it,
// replay, and members running with them off.
#include "sim/coordinates.h"

#include <cstdio>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "roster/coordinate.h"
#include "sim/network.h"
#include "sim/runner.h"
#include "sim/simulation.h"

namespace roster::sim {
namespace {

TEST(RegionsTest, AddAFixedSymmetricDelayToTheSameJitter) {
  NetworkOptions flat;
  flat.latency_min = absl::Milliseconds(1);
  flat.latency_max = absl::Milliseconds(3);
  NetworkOptions regions = flat;
  regions.regions = 4;
  Network a(flat, 9), b(regions, 9);
  absl::Duration da[2], db[2];
  for (int i = 0; i < 2000; ++i) {
    const int from = i % 8, to = (i * 3 + 1) % 8;
    const int copies = a.Route(from, to, da);
    ASSERT_EQ(copies, b.Route(from, to, db));
    for (int c = 0; c < copies; ++c) {
      // The jitter is drawn as without regions: the default model's runs
      // are unchanged, draw for draw.
      ASSERT_EQ(db[c] - da[c],
                b.MeanLatency(from, to) - a.MeanLatency(from, to));
    }
  }
  EXPECT_EQ(a.MeanLatency(0, 5), absl::Milliseconds(2));
  for (int x = 0; x < 8; ++x) {
    for (int y = 0; y < 8; ++y) {
      const absl::Duration between =
          b.MeanLatency(x, y) - absl::Milliseconds(2);
      EXPECT_EQ(b.MeanLatency(x, y), b.MeanLatency(y, x));
      if (x % 4 == y % 4) {
        EXPECT_EQ(between, absl::ZeroDuration()) << x << " " << y;
      } else {
        EXPECT_GE(between, absl::Milliseconds(20)) << x << " " << y;
        EXPECT_LE(between, absl::Milliseconds(80)) << x << " " << y;
      }
    }
  }
  // The pairs' delays come from the seed.
  Network c(regions, 9), d(regions, 10);
  EXPECT_EQ(b.MeanLatency(0, 1), c.MeanLatency(0, 1));
  bool differs = false;
  for (int y = 1; y < 4; ++y)
    differs |= b.MeanLatency(0, y) != d.MeanLatency(0, y);
  EXPECT_TRUE(differs);
}

SimOptions Regions(uint64_t seed, int regions) {
  SimOptions options = SimOptions::WithSeed(seed);
  options.network.regions = regions;
  return options;
}

// The target: after 5 simulated minutes on a structured network,
// the coordinates predict round trips within 20% (median over pairs).
TEST(CoordinatesTest, ConvergeWithinAFifthOnRegions) {
  Simulation sim(Regions(21, 5));
  sim.AddConverged(100);
  const CoordinateAccuracy at_start = MeasureCoordinates(sim, 21);
  EXPECT_EQ(at_start.members, 100u);
  EXPECT_EQ(at_start.pairs, 100u * 99 / 2);
  // Fresh coordinates all predict 20 us: off by nearly 100%.
  EXPECT_GT(at_start.median_relative_error, 0.5);
  sim.RunFor(absl::Seconds(300));
  const CoordinateAccuracy after = MeasureCoordinates(sim, 21);
  EXPECT_EQ(after.members, 100u);
  EXPECT_LT(after.median_relative_error, 0.2);
  std::printf("median relative error: %.4f at 0 s, %.4f at 300 s\n",
              at_start.median_relative_error, after.median_relative_error);
  uint64_t refused = 0, resets = 0;
  for (size_t i = 0; i < sim.size(); ++i) {
    refused += sim.swim(i).counters().coordinates_refused;
    resets += sim.swim(i).counters().coordinate_resets;
  }
  EXPECT_EQ(refused, 0u);
  EXPECT_EQ(resets, 0u);
  // Each member holds the coordinates its probes' acks carried.
  size_t known = 0;
  for (const MemberInfo& m : sim.swim(0).Members())
    known += m.coordinate ? 1 : 0;
  EXPECT_GT(known, 90u);
}

TEST(CoordinatesTest, ReplayExactlyFromTheSeed) {
  auto run = [] {
    Simulation sim(Regions(5, 3));
    sim.AddConverged(12);
    sim.RunFor(absl::Seconds(40));
    std::vector<std::optional<Coordinate>> out;
    for (size_t i = 0; i < sim.size(); ++i)
      out.push_back(sim.swim(i).Self().coordinate);
    return out;
  };
  const auto first = run();
  EXPECT_TRUE(first[0].has_value());
  EXPECT_EQ(first, run());
}

TEST(CoordinatesTest, MembersWithThemOffNeitherSendNorLearnThem) {
  SimOptions options = Regions(8, 3);
  // Every third member runs with coordinates off, as a build before them
  // would: the others learn from each other and skip its acks.
  options.tune = [](int node, Config& config) {
    config.coordinates = node % 3 != 0;
  };
  Simulation sim(options);
  sim.AddConverged(12);
  sim.RunFor(absl::Seconds(60));
  for (size_t i = 0; i < sim.size(); ++i) {
    const bool on = i % 3 != 0;
    EXPECT_EQ(sim.swim(i).Self().coordinate.has_value(), on) << i;
    for (const MemberInfo& m : sim.swim(i).Members()) {
      if (!on || m.name == sim.name(i)) continue;
      const bool peer_on = std::stoi(m.name.substr(5)) % 3 != 0;
      if (!peer_on) {
        EXPECT_FALSE(m.coordinate.has_value()) << m.name;
      }
    }
    EXPECT_EQ(sim.swim(i).counters().coordinates_refused, 0u);
  }
}

TEST(CoordinatesTest, ScenarioReportsThemUnlessOff) {
  scenario::Scenario s;
  s.set_nodes(20);
  s.set_seed(3);
  s.set_duration_s(30);
  s.mutable_network()->set_regions(4);
  auto on = RunScenario(s);
  ASSERT_TRUE(on.ok()) << on.status();
  ASSERT_TRUE(on->coordinates.has_value());
  EXPECT_EQ(on->coordinates->pairs, 20u * 19 / 2);
  s.set_no_coordinates(true);
  auto off = RunScenario(s);
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->coordinates.has_value());
  // Acks without 46 bytes of coordinate each.
  EXPECT_LT(off->bytes_per_node_s, on->bytes_per_node_s);
}

}  // namespace
}  // namespace roster::sim
