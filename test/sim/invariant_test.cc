// Random scenarios over many seeds, with the simulator's invariants
// checked every simulated second. A failure names its seed, so
//   roster-sim --scenario ... or this test with ROSTER_SEEDS=<seed>
// replays it exactly.
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sim/invariants.h"
#include "sim/rng.h"
#include "sim/runner.h"

namespace roster::sim {
namespace {

// A random mix of every fault kind, all over by 120 s, then 120 s to settle.
scenario::Scenario RandomScenario(uint64_t seed) {
  Rng rng(DeriveSeed(seed, 0xfa017));
  scenario::Scenario s;
  s.set_seed(seed);
  s.set_nodes(static_cast<uint32_t>(rng.Between(12, 40)));
  s.set_duration_s(240);
  s.set_no_lifeguard(rng.Chance(0.2));
  s.set_bootstrap(rng.Chance(0.5) ? scenario::BOOTSTRAP_COLD
                                  : scenario::BOOTSTRAP_CONVERGED);
  s.mutable_network()->set_loss(rng.Chance(0.5) ? 0.02 : 0);
  s.mutable_network()->set_latency_min_ms(1);
  s.mutable_network()->set_latency_max_ms(rng.Between(2, 60));
  auto at = [&] { return static_cast<double>(rng.Between(5, 100)); };
  const int faults = static_cast<int>(rng.Between(1, 6));
  int crashed = 0;
  for (int i = 0; i < faults; ++i) {
    scenario::Fault* f = s.add_faults();
    f->set_at_s(at());
    switch (rng.Below(8)) {
      case 0:
        f->mutable_crash()->mutable_members()->set_count(1);
        ++crashed;
        break;
      case 1:
        if (crashed == 0) {
          f->mutable_crash()->mutable_members()->set_count(1);
          f->set_at_s(5);
          ++crashed;
          break;
        }
        f->set_at_s(110);
        f->mutable_restart()->mutable_members()->set_count(1);
        f->mutable_restart()->set_new_address(rng.Chance(0.5));
        --crashed;
        break;
      case 2:
        f->mutable_leave()->mutable_members()->set_count(1);
        break;
      case 3:
        f->mutable_pause()->mutable_members()->set_count(1);
        f->mutable_pause()->set_for_s(static_cast<double>(rng.Between(1, 15)));
        break;
      case 4:
        f->mutable_slow()->mutable_members()->set_count(1);
        f->mutable_slow()->set_delay_ms(
            static_cast<double>(rng.Between(100, 3000)));
        f->mutable_slow()->set_for_s(20);
        break;
      case 5:
        f->mutable_partition()->set_heal_at_s(f->at_s() + rng.Between(5, 20));
        break;
      case 6:
        f->mutable_one_way_loss()->mutable_members()->set_count(1);
        f->mutable_one_way_loss()->set_fraction(0.3);
        f->mutable_one_way_loss()->set_for_s(15);
        break;
      case 7: {
        f->mutable_set_loss()->set_fraction(0.15);
        scenario::Fault* back = s.add_faults();
        back->set_at_s(f->at_s() + 10);
        back->mutable_set_loss()->set_fraction(0);
        break;
      }
    }
  }
  return s;
}

absl::Status RunChecked(uint64_t seed) {
  InvariantChecker checker;
  auto result = RunScenario(
      RandomScenario(seed), nullptr,
      [&](Simulation& sim, const CheckPoint& point) -> absl::Status {
        if (absl::Status st = checker.Check(sim); !st.ok()) return st;
        if (point.last) return checker.CheckConverged(sim);
        return absl::OkStatus();
      });
  return result.status();
}

TEST(InvariantTest, RandomScenariosKeepTheInvariants) {
  uint64_t first = 1, count = 40;
  if (const char* only = std::getenv("ROSTER_SEEDS")) {
    first = std::strtoull(only, nullptr, 10);
    count = 1;
  }
  if (const char* many = std::getenv("ROSTER_SEED_COUNT")) {
    count = std::strtoull(many, nullptr, 10);
  }
  for (uint64_t seed = first; seed < first + count; ++seed) {
    absl::Status st = RunChecked(seed);
    EXPECT_TRUE(st.ok()) << "seed " << seed
                         << " (replay with ROSTER_SEEDS=" << seed
                         << "): " << st.message();
  }
}

TEST(InvariantTest, CheckerCatchesAFallingIncarnation) {
  // The checker itself must be able to fail: a member restarted with a
  // lower incarnation than others saw is fine, but a view that falls is
  // not. Simulate a view falling by checking two different simulations
  // against one checker's memory.
  InvariantChecker checker;
  Simulation a(SimOptions::WithSeed(1));
  a.AddCluster(3, 0);
  a.RunFor(absl::Seconds(5));
  ASSERT_TRUE(a.swim(1).SetMeta("x").ok());  // incarnation 1 for node-1
  a.RunFor(absl::Seconds(5));
  ASSERT_TRUE(checker.Check(a).ok());
  Simulation b(SimOptions::WithSeed(1));
  b.AddCluster(3, 0);
  b.RunFor(absl::Seconds(5));
  absl::Status st = checker.Check(b);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("fell from incarnation 1 to 0"),
            absl::string_view::npos)
      << st.message();
}

TEST(InvariantTest, CheckerCatchesDivergence) {
  InvariantChecker checker;
  Simulation sim(SimOptions::WithSeed(3));
  sim.AddCluster(6, 0);
  sim.RunFor(absl::Seconds(10));
  EXPECT_TRUE(checker.CheckConverged(sim).ok());
  std::vector<int> side = {0, 0, 0, 1, 1, 1};
  sim.network().Partition(side);
  sim.RunFor(absl::Seconds(60));
  EXPECT_FALSE(checker.CheckConverged(sim).ok());
}

}  // namespace
}  // namespace roster::sim
