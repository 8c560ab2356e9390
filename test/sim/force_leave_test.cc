// Force-leave (Swim::ForceLeave, Serf's force-leave) played on the
// simulator: a crashed member that an operator forces out is left in every
// member's table within gossip time, and with prune gone from every table,
// for good: push-pull and late gossip never bring that life back. LAN
// profile, simulated time, several seeds.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sim/invariants.h"
#include "sim/simulation.h"

namespace roster::sim {
namespace {

constexpr int kMembers = 16;

// Every running member but `node` sees it in `state`, or (nullopt) holds
// no record of it.
bool AllSee(Simulation& sim, int node, std::optional<MemberState> state) {
  for (int i = 0; i < static_cast<int>(sim.size()); ++i) {
    if (i == node || !sim.running(i)) continue;
    auto seen = sim.swim(i).Lookup(sim.name(node));
    if (state.has_value() ? (!seen || seen->state != *state) : seen.has_value())
      return false;
  }
  return true;
}

absl::Duration Until(Simulation& sim, const std::function<bool()>& done,
                     absl::Duration limit) {
  const absl::Time start = sim.now();
  if (!sim.RunUntil(done, limit, absl::Milliseconds(10)))
    return absl::InfiniteDuration();
  return sim.now() - start;
}

TEST(ForceLeaveSimTest, AForcedLeaveReachesEveryMemberAndPruneForgets) {
  absl::Duration worst_left, worst_pruned;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    Simulation sim(SimOptions::WithSeed(seed));
    sim.AddCluster(kMembers, 0);
    sim.RunFor(absl::Seconds(30));
    sim.Crash(5);
    sim.Crash(6);
    ASSERT_TRUE(sim.RunUntil(
        [&] {
          return AllSee(sim, 5, MemberState::kDead) &&
                 AllSee(sim, 6, MemberState::kDead);
        },
        absl::Seconds(60)));
    // Alive members are refused; the failed one is forced out.
    EXPECT_TRUE(
        absl::IsFailedPrecondition(sim.swim(0).ForceLeave(sim.name(1))));
    ASSERT_TRUE(sim.swim(0).ForceLeave(sim.name(5)).ok());
    const absl::Duration left = Until(
        sim, [&] { return AllSee(sim, 5, MemberState::kLeft); },
        absl::Seconds(10));
    ASSERT_LT(left, absl::Seconds(5));
    worst_left = std::max(worst_left, left);

    ASSERT_TRUE(sim.swim(3).ForceLeave(sim.name(6), /*prune=*/true).ok());
    const absl::Duration pruned = Until(
        sim, [&] { return AllSee(sim, 6, std::nullopt); }, absl::Seconds(10));
    ASSERT_LT(pruned, absl::Seconds(5));
    worst_pruned = std::max(worst_pruned, pruned);
    // Two push-pull intervals and more: nothing brings it back, nobody
    // tries to reach the forced-out member, and the views keep their
    // invariants.
    InvariantChecker checker;
    for (int s = 0; s < 90; ++s) {
      sim.RunFor(absl::Seconds(1));
      ASSERT_TRUE(checker.Check(sim).ok());
      ASSERT_TRUE(AllSee(sim, 6, std::nullopt)) << "after " << s << " s";
      ASSERT_TRUE(AllSee(sim, 5, MemberState::kLeft)) << "after " << s << " s";
    }
  }
  std::printf(
      "force-leave, %d members (LAN, simulated): every member saw it left "
      "within %.0f ms, pruned within %.0f ms (worst of 5 seeds)\n",
      kMembers, absl::ToDoubleMilliseconds(worst_left),
      absl::ToDoubleMilliseconds(worst_pruned));
}

// A restart that names its predecessor (Config::previous_life, as the
// snapshot file gives it) at a new address is taken at once by members
// that still hold the old life alive: no failure detection first.
TEST(ForceLeaveSimTest, ARestartNamingItsPredecessorIsTakenAtOnce) {
  Simulation sim(SimOptions::WithSeed(7));
  sim.AddCluster(kMembers, 0);
  sim.RunFor(absl::Seconds(30));
  uint32_t predecessor = 0;
  sim.Upgrade(4, [&predecessor](Config& c) { c.previous_life = predecessor; });
  sim.Join(4, {0});
  sim.RunFor(absl::Seconds(10));
  auto all_see_it = [&] {
    const MemberInfo self = sim.swim(4).Self();
    for (int i = 0; i < kMembers; ++i) {
      if (i == 4) continue;
      auto seen = sim.swim(i).Lookup(self.name);
      if (!seen || seen->life != self.life || seen->addr != self.addr ||
          seen->state != MemberState::kAlive)
        return false;
    }
    return true;
  };
  ASSERT_TRUE(all_see_it());
  // A crash, and a restart at a new address while every member still
  // holds the old life alive.
  predecessor = sim.swim(4).Self().life;
  sim.Crash(4);
  sim.Restart(4, /*new_address=*/true);
  sim.Join(4, {0});
  const absl::Duration took = Until(sim, all_see_it, absl::Seconds(10));
  std::printf(
      "a restart naming its predecessor, at a new address: every "
      "member took it within %.0f ms (simulated)\n",
      absl::ToDoubleMilliseconds(took));
  EXPECT_LT(took, absl::Seconds(3));
}

}  // namespace
}  // namespace roster::sim
