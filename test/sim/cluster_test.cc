// Deterministic cluster scenarios of the protocol core, in the simulator,
// each from a fixed seed so any failure replays exactly.
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sim/simulation.h"
#include "test/sim/sim_helpers.h"

namespace roster::sim {
namespace {

// Records who declared whom dead, to catch false positives.
struct DeathLog {
  std::set<std::string> failed;  // names some member declared failed
  std::set<std::string> left;
  void Attach(Simulation& sim) {
    sim.on_event = [this](int, const Event& e) {
      if (e.type == EventType::kFailed) failed.insert(e.member.name);
      if (e.type == EventType::kLeft) left.insert(e.member.name);
    };
  }
};

TEST(ClusterTest, HundredMembersJoinThroughOneSeed) {
  Simulation sim(SimOptions::WithSeed(101));
  sim.AddCluster(100, 0);
  ASSERT_TRUE(sim.RunUntil([&] { return AllSeeAlive(sim, Range(0, 100)); },
                           absl::Seconds(60)))
      << "seed " << sim.seed();
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(sim.swim(i).NumAlive(), 100u) << sim.name(i);
    EXPECT_EQ(sim.swim(i).Members().size(), 100u) << sim.name(i);
  }
}

TEST(ClusterTest, CrashedMembersAreDeclaredDeadByAllAndNoOneElse) {
  Simulation sim(SimOptions::WithSeed(202));
  DeathLog deaths;
  deaths.Attach(sim);
  sim.AddCluster(40, 0);
  ASSERT_TRUE(sim.RunUntil([&] { return AllSeeAlive(sim, Range(0, 40)); },
                           absl::Seconds(60)));
  const std::vector<int> crashed = {5, 17, 33};
  for (int c : crashed) sim.Crash(c);
  ASSERT_TRUE(sim.RunUntil(
      [&] {
        for (int c : crashed)
          if (!AllSee(sim, c, MemberState::kDead)) return false;
        return true;
      },
      absl::Seconds(120)))
      << "seed " << sim.seed();
  std::set<std::string> expected;
  for (int c : crashed) expected.insert(sim.name(c));
  EXPECT_EQ(deaths.failed, expected);
  for (int i = 0; i < 40; ++i) {
    if (!sim.running(i)) continue;
    EXPECT_EQ(sim.swim(i).NumAlive(), 37u) << sim.name(i);
  }
}

// With TCP probes (the default) a lost ping is answered over TCP; without
// them Lifeguard's suspicions and refutations carry the load. Neither
// declares a healthy member dead.
TEST(ClusterTest, TenPercentLossDeclaresNoHealthyMemberDead) {
  for (const bool tcp_probes : {true, false}) {
    SimOptions o = SimOptions::WithSeed(303);
    o.tune = [tcp_probes](int, Config& c) { c.tcp_probes = tcp_probes; };
    Simulation sim(o);
    DeathLog deaths;
    deaths.Attach(sim);
    sim.AddCluster(50, 0);
    ASSERT_TRUE(sim.RunUntil([&] { return AllSeeAlive(sim, Range(0, 50)); },
                             absl::Seconds(60)));
    sim.network().SetLoss(0.10);
    sim.RunFor(absl::Seconds(600));
    EXPECT_TRUE(deaths.failed.empty())
        << "falsely failed: " << *deaths.failed.begin() << " seed "
        << sim.seed() << " tcp_probes " << tcp_probes;
    uint64_t suspicions = 0, refutations = 0, tcp_acks = 0;
    for (int i = 0; i < 50; ++i) {
      suspicions += sim.swim(i).counters().suspicions;
      refutations += sim.swim(i).counters().refutations;
      tcp_acks += sim.swim(i).counters().tcp_probe_acks;
    }
    // The loss is real: UDP probes fail, and are answered over TCP, or
    // make members suspect each other, and refute.
    if (tcp_probes) {
      EXPECT_GT(tcp_acks, 0u);
    } else {
      EXPECT_GT(suspicions, 0u);
      EXPECT_GT(refutations, 0u);
    }
    sim.network().SetLoss(0);
    EXPECT_TRUE(sim.RunUntil([&] { return AllSeeAlive(sim, Range(0, 50)); },
                             absl::Seconds(60)));
  }
}

TEST(ClusterTest, GracefulLeaveShowsAsLeftNeverFailed) {
  Simulation sim(SimOptions::WithSeed(404));
  DeathLog deaths;
  deaths.Attach(sim);
  sim.AddCluster(20, 0);
  ASSERT_TRUE(sim.RunUntil([&] { return AllSeeAlive(sim, Range(0, 20)); },
                           absl::Seconds(60)));
  const int leaver = 7;
  sim.Leave(leaver);
  ASSERT_TRUE(sim.RunUntil([&] { return sim.swim(leaver).LeaveComplete(); },
                           absl::Seconds(30)));
  sim.Crash(leaver);  // the process exits once its news has spread
  ASSERT_TRUE(
      sim.RunUntil([&] { return AllSee(sim, leaver, MemberState::kLeft); },
                   absl::Seconds(30)));
  sim.RunFor(absl::Seconds(120));
  EXPECT_TRUE(AllSee(sim, leaver, MemberState::kLeft));
  EXPECT_TRUE(deaths.failed.empty());
  EXPECT_EQ(deaths.left, std::set<std::string>{sim.name(leaver)});
}

TEST(ClusterTest, RestartedMemberReturnsAtHigherIncarnation) {
  Simulation sim(SimOptions::WithSeed(505));
  sim.AddCluster(20, 0);
  ASSERT_TRUE(sim.RunUntil([&] { return AllSeeAlive(sim, Range(0, 20)); },
                           absl::Seconds(60)));
  const int victim = 12;
  sim.Crash(victim);
  ASSERT_TRUE(
      sim.RunUntil([&] { return AllSee(sim, victim, MemberState::kDead); },
                   absl::Seconds(120)));
  const uint64_t dead_incarnation = View(sim, 0, victim)->incarnation;
  sim.Restart(victim);
  sim.Join(victim, {0});
  ASSERT_TRUE(sim.RunUntil([&] { return AllSeeAlive(sim, Range(0, 20)); },
                           absl::Seconds(60)))
      << "seed " << sim.seed();
  for (int i = 0; i < 20; ++i) {
    if (i == victim) continue;
    EXPECT_GT(View(sim, i, victim)->incarnation, dead_incarnation);
  }
}

TEST(ClusterTest, RestartAtNewAddressKeepsName) {
  Simulation sim(SimOptions::WithSeed(606));
  sim.AddCluster(15, 0);
  ASSERT_TRUE(sim.RunUntil([&] { return AllSeeAlive(sim, Range(0, 15)); },
                           absl::Seconds(60)));
  const int mover = 9;
  const std::string old_addr = sim.addr(mover);
  sim.Crash(mover);
  sim.Restart(mover, /*new_address=*/true);
  ASSERT_NE(sim.addr(mover), old_addr);
  sim.Join(mover, {0});
  ASSERT_TRUE(sim.RunUntil(
      [&] {
        if (!AllSeeAlive(sim, Range(0, 15))) return false;
        for (int i = 0; i < 15; ++i)
          if (View(sim, i, mover)->addr != sim.addr(mover)) return false;
        return true;
      },
      absl::Seconds(180)))
      << "seed " << sim.seed();
}

TEST(ClusterTest, PartitionOfSixtySecondsHeals) {
  Simulation sim(SimOptions::WithSeed(707));
  sim.AddCluster(40, 0);
  ASSERT_TRUE(sim.RunUntil([&] { return AllSeeAlive(sim, Range(0, 40)); },
                           absl::Seconds(60)));
  std::vector<int> side(40);
  for (int i = 0; i < 40; ++i) side[i] = i % 2;
  sim.network().Partition(side);
  sim.RunFor(absl::Seconds(60));
  // The halves have given up on each other.
  EXPECT_EQ(View(sim, 0, 1)->state, MemberState::kDead);
  sim.network().Heal();
  EXPECT_TRUE(sim.RunUntil([&] { return AllSeeAlive(sim, Range(0, 40)); },
                           absl::Seconds(300)))
      << "seed " << sim.seed();
}

std::vector<std::string> Trace(uint64_t seed) {
  Simulation sim(SimOptions::WithSeed(seed));
  std::vector<std::string> trace;
  sim.on_event = [&](int observer, const Event& e) {
    trace.push_back(absl::StrCat(absl::FormatTime(sim.now()), " ", observer,
                                 " ", std::string(EventTypeName(e.type)), " ",
                                 e.member.name, " ", e.member.incarnation));
  };
  sim.network().SetLoss(0.05);
  sim.AddCluster(30, 0);
  sim.RunFor(absl::Seconds(20));
  sim.Crash(3);
  sim.Crash(4);
  sim.RunFor(absl::Seconds(60));
  return trace;
}

TEST(ClusterTest, SameSeedSameTrace) {
  auto a = Trace(808);
  auto b = Trace(808);
  ASSERT_GT(a.size(), 100u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, Trace(809));
}

}  // namespace
}  // namespace roster::sim

namespace roster::sim {
namespace {

// The Local profile sends news only RetransmitMult (2) x ceil(log10(n+1))
// times; in a small cluster that is fewer than one gossip round's fan-out,
// and news used to miss members outright. Over many seeds, every member of
// a 6-member Local cluster must hear a broadcast and a leave.
TEST(ClusterTest, SmallLocalClusterSpreadsEveryNewsToEveryone) {
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    SimOptions options = SimOptions::WithSeed(seed);
    options.profile = Profile::kLocal;
    Simulation sim(options);
    sim.AddCluster(6, 0);
    ASSERT_TRUE(sim.RunUntil([&] { return AllSeeAlive(sim, Range(0, 6)); },
                             absl::Seconds(60)))
        << "seed " << seed;
    std::set<int> heard;
    sim.on_broadcast = [&](int node, std::string_view, std::string_view) {
      heard.insert(node);
    };
    ASSERT_TRUE(sim.swim(2).Broadcast("hello").ok());
    sim.RunFor(absl::Seconds(3));
    sim.Leave(4);
    sim.RunFor(absl::Seconds(3));
    EXPECT_EQ(heard, (std::set<int>{0, 1, 3, 4, 5})) << "seed " << seed;
    EXPECT_TRUE(AllSee(sim, 4, MemberState::kLeft)) << "seed " << seed;
  }
}

// Metadata whose alive would not fit in one datagram could spread only
// through push-pull, seconds instead of milliseconds: SetMeta refuses it,
// naming the limit. Metadata that fits reaches everyone at gossip speed.
TEST(ClusterTest, MetadataSpreadsAtGossipSpeedOrIsRefused) {
  SimOptions o = SimOptions::WithSeed(505);
  o.tune = [](int, Config& c) { c.packet_budget = 512; };
  Simulation sim(o);
  sim.AddCluster(10, 0);
  ASSERT_TRUE(sim.RunUntil([&] { return AllSeeAlive(sim, Range(0, 10)); },
                           absl::Seconds(60)));
  const absl::Status refused = sim.swim(3).SetMeta(std::string(500, 'm'));
  EXPECT_TRUE(absl::IsInvalidArgument(refused)) << refused;
  EXPECT_NE(refused.message().find("packet budget of 512"),
            absl::string_view::npos)
      << refused.message();
  EXPECT_EQ(sim.swim(3).Self().meta, "");
  const std::string meta(300, 'k');
  ASSERT_TRUE(sim.swim(3).SetMeta(meta).ok());
  const absl::Time start = sim.now();
  ASSERT_TRUE(sim.RunUntil(
      [&] {
        for (int i = 0; i < 10; ++i)
          if (sim.swim(i).Lookup(sim.name(3))->meta != meta) return false;
        return true;
      },
      absl::Seconds(1), absl::Milliseconds(10)));
  std::printf("300 bytes of metadata reached 10 members in %s\n",
              absl::FormatDuration(sim.now() - start).c_str());
}

}  // namespace
}  // namespace roster::sim
