// One identity per process life, played on the simulator: restarts at the
// same address and moves to a new one, quick (after a leave) and hard
// (after a crash), broadcasts numbered per life, a Join after a Leave, and
// groups that must find each other through their seeds. Times are
// simulated, on the LAN profile; the same moves over real sockets are in
// test/net/life_net_test.cc.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sim/simulation.h"

namespace roster::sim {
namespace {

constexpr int kMembers = 8;
constexpr int kMover = 5;

// Whether every other running member sees `node` alive at its current
// address, in its current life.
bool AllSeeCurrentLife(Simulation& sim, int node) {
  const MemberInfo self = sim.swim(node).Self();
  for (int i = 0; i < static_cast<int>(sim.size()); ++i) {
    if (i == node || !sim.running(i)) continue;
    auto seen = sim.swim(i).Lookup(self.name);
    if (!seen || seen->state != MemberState::kAlive ||
        seen->addr != self.addr || seen->life != self.life)
      return false;
  }
  return true;
}

struct Cluster {
  explicit Cluster(uint64_t seed) : sim(SimOptions::WithSeed(seed)) {
    sim.AddCluster(kMembers, 0);
    sim.RunFor(absl::Seconds(30));
    sim.on_event = [this](int observer, const Event& e) {
      if (e.member.name == sim.name(kMover))
        events.push_back({observer, e.type, sim.now()});
    };
  }
  int Count(EventType type) const {
    int n = 0;
    for (const Seen& e : events) n += e.type == type;
    return n;
  }
  // Runs until every member sees the mover's current life; returns how
  // long that took, or an infinite duration past `limit`.
  absl::Duration UntilAllSeeMover(absl::Duration limit) {
    const absl::Time start = sim.now();
    if (!sim.RunUntil([&] { return AllSeeCurrentLife(sim, kMover); }, limit,
                      absl::Milliseconds(10)))
      return absl::InfiniteDuration();
    return sim.now() - start;
  }
  struct Seen {
    int observer;
    EventType type;
    absl::Time at;
  };
  Simulation sim;
  std::vector<Seen> events;
};

// Case 1: SIGTERM (a leave), and half a second later the same name at a
// new address. The old life's leave must not land on the new one.
TEST(LifeTest, AQuickMoveIsSeenAliveAtItsNewAddressAtOnce) {
  absl::Duration slowest;
  for (uint64_t seed = 1; seed <= 9; ++seed) {
    Cluster c(seed);
    Simulation& sim = c.sim;
    sim.Leave(kMover);
    sim.RunFor(absl::Milliseconds(500));
    sim.Crash(kMover);
    sim.Restart(kMover, /*new_address=*/true);
    sim.Join(kMover, {0});
    const absl::Duration took = c.UntilAllSeeMover(absl::Seconds(3));
    ASSERT_LT(took, absl::Seconds(3)) << "seed " << seed;
    slowest = std::max(slowest, took);
    // And it stays so: the old life's leave never lands on the new one.
    c.events.clear();
    sim.RunFor(absl::Seconds(60));
    EXPECT_TRUE(AllSeeCurrentLife(sim, kMover)) << "seed " << seed;
    EXPECT_EQ(c.Count(EventType::kLeft), 0) << "seed " << seed;
  }
  std::printf(
      "quick move: every member saw the new address within %s "
      "(slowest of 9 seeds)\n",
      absl::FormatDuration(slowest).c_str());
}

// Case 2: SIGKILL and an immediate restart at a new address. The new life
// checks that the holder of its name is gone instead of waiting for its
// detection.
TEST(LifeTest, AHardMoveTakesTheNameOverWithinSeconds) {
  absl::Duration slowest;
  for (uint64_t seed = 1; seed <= 9; ++seed) {
    Cluster c(seed);
    Simulation& sim = c.sim;
    sim.Crash(kMover);
    sim.Restart(kMover, /*new_address=*/true);
    std::vector<JoinResult> results;
    sim.on_join_done = [&](int node, const JoinResult& r) {
      if (node == kMover) results.push_back(r);
    };
    sim.Join(kMover, {0});
    const absl::Duration took = c.UntilAllSeeMover(absl::Seconds(3));
    ASSERT_LT(took, absl::Seconds(3)) << "seed " << seed;
    slowest = std::max(slowest, took);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_TRUE(results[0].status.ok()) << results[0].status;
    EXPECT_EQ(sim.swim(kMover).counters().takeovers, 1u);
    // Every member that held it alive saw a restart, none a failure.
    EXPECT_EQ(c.Count(EventType::kFailed), 0) << "seed " << seed;
    EXPECT_EQ(c.Count(EventType::kRestarted), kMembers - 1) << "seed " << seed;
    sim.RunFor(absl::Seconds(60));
    EXPECT_TRUE(AllSeeCurrentLife(sim, kMover)) << "seed " << seed;
  }
  std::printf(
      "hard move: every member saw the new address within %s "
      "(slowest of 9 seeds)\n",
      absl::FormatDuration(slowest).c_str());
}

// Case 3: SIGKILL and an immediate restart at the same address: every
// member raises `restarted`, so an application knows the process lost
// what it held in memory.
TEST(LifeTest, AFastRestartRaisesRestartedEverywhere) {
  absl::Duration slowest;
  for (uint64_t seed = 1; seed <= 9; ++seed) {
    Cluster c(seed);
    Simulation& sim = c.sim;
    sim.Crash(kMover);
    sim.Restart(kMover);
    const absl::Time restarted_at = sim.now();
    sim.Join(kMover, {0});
    absl::flat_hash_set<int> told;
    ASSERT_TRUE(sim.RunUntil(
        [&] {
          for (const Cluster::Seen& e : c.events)
            if (e.type == EventType::kRestarted) told.insert(e.observer);
          return told.size() == kMembers - 1;
        },
        absl::Seconds(2), absl::Milliseconds(10)))
        << "seed " << seed << ": " << told.size() << " of " << kMembers - 1
        << " members raised restarted";
    slowest = std::max(slowest, sim.now() - restarted_at);
    EXPECT_EQ(c.Count(EventType::kFailed), 0);
    EXPECT_EQ(sim.swim(kMover).counters().refutations, 0u);
  }
  std::printf(
      "fast restart: restarted raised by every member within %s "
      "(slowest of 9 seeds)\n",
      absl::FormatDuration(slowest).c_str());
}

// Case 4: each life numbers its broadcasts from 1; none of the restarted
// member's is taken for one of its predecessor's.
TEST(LifeTest, BroadcastsOfANewLifeAreNotTakenForTheOldOnes) {
  Cluster c(4);
  Simulation& sim = c.sim;
  std::vector<std::vector<std::string>> heard(kMembers);
  sim.on_broadcast = [&](int node, std::string_view origin,
                         std::string_view payload) {
    heard[node].push_back(std::string(origin) + ":" + std::string(payload));
  };
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(sim.swim(kMover).Broadcast(absl::StrCat("old", i)).ok());
  sim.RunFor(absl::Seconds(5));
  sim.Crash(kMover);
  sim.Restart(kMover);
  sim.Join(kMover, {0});
  sim.RunFor(absl::Seconds(5));
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(sim.swim(kMover).Broadcast(absl::StrCat("new", i)).ok());
  sim.RunFor(absl::Seconds(5));
  const std::string origin = sim.name(kMover);
  for (int node = 0; node < kMembers; ++node) {
    if (node == kMover) continue;
    std::vector<std::string> expected;
    for (int i = 0; i < 5; ++i)
      expected.push_back(absl::StrCat(origin, ":old", i));
    for (int i = 0; i < 5; ++i)
      expected.push_back(absl::StrCat(origin, ":new", i));
    std::sort(heard[node].begin(), heard[node].end());
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(heard[node], expected) << "member " << node;
  }
}

// Case 5: a Join after a Leave starts a new life, which every member sees
// alive; the left life stays over.
TEST(LifeTest, JoinAfterLeaveStartsANewLife) {
  Cluster c(9);
  Simulation& sim = c.sim;
  const uint32_t first = sim.swim(kMover).Self().life;
  sim.Leave(kMover);
  sim.RunFor(absl::Seconds(10));
  ASSERT_EQ(sim.swim(0).Lookup(sim.name(kMover))->state, MemberState::kLeft);
  std::vector<JoinResult> results;
  sim.on_join_done = [&](int node, const JoinResult& r) {
    if (node == kMover) results.push_back(r);
  };
  sim.Join(kMover, {0}, 7);
  EXPECT_NE(sim.swim(kMover).Self().life, first);
  EXPECT_EQ(sim.swim(kMover).Self().state, MemberState::kAlive);
  ASSERT_LT(c.UntilAllSeeMover(absl::Seconds(5)), absl::Seconds(5));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].token, 7u);
  EXPECT_TRUE(results[0].status.ok()) << results[0].status;
  sim.RunFor(absl::Seconds(60));
  EXPECT_TRUE(AllSeeCurrentLife(sim, kMover));
  EXPECT_EQ(sim.swim(kMover).Self().state, MemberState::kAlive);
}

// Case 8: two groups of 50 that formed through different seeds (the link
// between them was down at bootstrap) share a seed list; once the link is
// up they merge, though nobody is alone.
TEST(LifeTest, GroupsFormedThroughDifferentSeedsMerge) {
  Simulation sim(SimOptions::WithSeed(11));
  constexpr int kGroup = 50;
  std::vector<int> side(2 * kGroup);
  for (int i = 0; i < 2 * kGroup; ++i) {
    sim.AddNode();
    side[i] = i < kGroup ? 0 : 1;
  }
  sim.network().Partition(side);
  for (int i = 0; i < 2 * kGroup; ++i) sim.Start(i);
  for (int i = 0; i < 2 * kGroup; ++i) {
    if (i != 0 && i != kGroup) sim.Join(i, {0, kGroup});
  }
  sim.RunFor(absl::Seconds(60));
  ASSERT_EQ(sim.swim(1).NumAlive(), static_cast<size_t>(kGroup));
  ASSERT_EQ(sim.swim(kGroup + 1).NumAlive(), static_cast<size_t>(kGroup));
  sim.network().Heal();
  auto merged = [&] {
    for (int i = 0; i < 2 * kGroup; ++i)
      if (sim.swim(i).NumAlive() != static_cast<size_t>(2 * kGroup))
        return false;
    return true;
  };
  const absl::Time healed_at = sim.now();
  EXPECT_TRUE(sim.RunUntil(merged, absl::Minutes(2)));
  std::printf("two groups of 50 merged %s after the link came up\n",
              absl::FormatDuration(sim.now() - healed_at).c_str());
}

// Case 8: a partition longer than dead_retention, after which neither
// side remembers the other; the seeds bring them together.
TEST(LifeTest, APartitionOfADayAndMoreHeals) {
  Simulation sim(SimOptions::WithSeed(12));
  constexpr int kSide = 5;
  sim.AddCluster(kSide, -1);
  for (int i = 0; i < kSide; ++i) {
    sim.AddNode();
    sim.Start(kSide + i);
    sim.Join(kSide + i, {kSide, 0});
  }
  for (int i = 1; i < kSide; ++i) sim.Join(i, {0, kSide});
  ASSERT_TRUE(sim.RunUntil([&] { return sim.swim(0).NumAlive() == 2 * kSide; },
                           absl::Minutes(1)));
  std::vector<int> side(2 * kSide);
  for (int i = 0; i < 2 * kSide; ++i) side[i] = i < kSide ? 0 : 1;
  sim.network().Partition(side);
  sim.RunFor(absl::Hours(25));
  EXPECT_EQ(sim.swim(0).Members().size(), static_cast<size_t>(kSide))
      << "the other side is remembered past dead_retention";
  sim.network().Heal();
  auto healed = [&] {
    for (int i = 0; i < 2 * kSide; ++i)
      if (sim.swim(i).NumAlive() != static_cast<size_t>(2 * kSide))
        return false;
    return true;
  };
  const absl::Time healed_at = sim.now();
  EXPECT_TRUE(sim.RunUntil(healed, absl::Minutes(2)));
  std::printf("a 25-hour partition healed %s after it ended\n",
              absl::FormatDuration(sim.now() - healed_at).c_str());
}

}  // namespace
}  // namespace roster::sim
