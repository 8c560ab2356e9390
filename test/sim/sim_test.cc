// Tests of the simulator runtime itself (sim/): its random numbers, its
// network model and its process model. The protocol's behaviour in a
// cluster is tested in cluster_test.cc; here the protocol is only the load
// that shows whether the simulator does what it says.
#include <cmath>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "roster/counters.h"
#include "sim/network.h"
#include "sim/rng.h"
#include "sim/simulation.h"

namespace roster::sim {
namespace {

// ---------------------------------------------------------------- Rng

TEST(RngTest, SameSeedSameStream) {
  Rng a(42), b(42);
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(a.Next(), b.Next()) << i;
}

TEST(RngTest, DifferentSeedsDifferentStreams) {
  for (uint64_t seed : {0u, 1u, 2u, 1000u}) {
    Rng a(seed), b(seed + 1);
    int equal = 0;
    for (int i = 0; i < 1000; ++i) equal += a.Next() == b.Next();
    EXPECT_EQ(equal, 0) << "seeds " << seed << " and " << seed + 1;
  }
  // Derived sub-streams differ from each other and from the run's seed.
  std::set<uint64_t> derived;
  for (uint64_t stream = 0; stream < 1000; ++stream) {
    derived.insert(DeriveSeed(7, stream));
  }
  EXPECT_EQ(derived.size(), 1000u);
  EXPECT_NE(DeriveSeed(7, 3), DeriveSeed(8, 3));
  EXPECT_EQ(DeriveSeed(7, 3), DeriveSeed(7, 3));
}

// xoshiro256** seeded through SplitMix64, computed by an independent
// implementation. Recorded runs replay only while these hold.
TEST(RngTest, KnownAnswers) {
  Rng zero(0);
  EXPECT_EQ(zero.Next(), 0x99ec5f36cb75f2b4ULL);
  EXPECT_EQ(zero.Next(), 0xbf6e1f784956452aULL);
  EXPECT_EQ(zero.Next(), 0x1a5f849d4933e6e0ULL);
  Rng one(1);
  EXPECT_EQ(one.Next(), 0xb3f2af6d0fc710c5ULL);
  EXPECT_EQ(one.Next(), 0x853b559647364ceaULL);
  EXPECT_EQ(one.Next(), 0x92f89756082a4514ULL);
  EXPECT_EQ(DeriveSeed(1, 0), 0xbeeb8da1658eec67ULL);
  EXPECT_EQ(DeriveSeed(1, 5), 0x62f3545a35e961feULL);
}

TEST(RngTest, BelowStaysInBounds) {
  Rng rng(3);
  for (uint64_t n : {uint64_t{1}, uint64_t{2}, uint64_t{3}, uint64_t{7},
                     uint64_t{1000}, (uint64_t{1} << 63) + 1, UINT64_MAX}) {
    for (int i = 0; i < 5000; ++i) {
      ASSERT_LT(rng.Below(n), n) << "n = " << n;
    }
  }
  for (int i = 0; i < 100; ++i) ASSERT_EQ(rng.Below(1), 0u);
}

TEST(RngTest, BelowIsUniform) {
  Rng rng(4);
  constexpr int kDraws = 100000;
  int buckets[10] = {};
  for (int i = 0; i < kDraws; ++i) ++buckets[rng.Below(10)];
  for (int b = 0; b < 10; ++b) {
    // Expected 10000, sd ~95: 6% is over six sd.
    EXPECT_NEAR(buckets[b], kDraws / 10, kDraws / 10 * 0.06) << "bucket " << b;
  }
}

TEST(RngTest, BetweenIsInclusive) {
  Rng rng(5);
  std::set<int64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    const int64_t v = rng.Between(-3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(rng.Between(9, 9), 9);
  EXPECT_EQ(rng.Between(9, 2), 9);  // empty range: lo
}

TEST(RngTest, UnitAndChance) {
  Rng rng(6);
  double sum = 0;
  int hits = 0;
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) {
    const double u = rng.Unit();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    ASSERT_FALSE(rng.Chance(0));
    ASSERT_TRUE(rng.Chance(1));
    hits += rng.Chance(0.3);
  }
  EXPECT_NEAR(sum / kDraws, 0.5, 0.01);
  EXPECT_NEAR(static_cast<double>(hits) / kDraws, 0.3, 0.01);
}

// ---------------------------------------------------------------- Network

// Fraction of `n` datagrams from -> to that arrive at all.
double Delivered(Network& net, int from, int to, int n) {
  absl::Duration delays[2];
  int delivered = 0;
  for (int i = 0; i < n; ++i) delivered += net.Route(from, to, delays) > 0;
  return static_cast<double>(delivered) / n;
}

TEST(NetworkTest, LossFractionMatchesTheConfiguredValue) {
  for (double loss : {0.0, 0.05, 0.2, 0.5}) {
    NetworkOptions options;
    options.loss = loss;
    Network net(options, 99);
    // 100k trials: sd at most 0.0016, so 0.01 is over six sd.
    EXPECT_NEAR(1.0 - Delivered(net, 0, 1, 100000), loss, 0.01)
        << "loss " << loss;
  }
  NetworkOptions all;
  all.loss = 1.0;
  Network black_hole(all, 1);
  EXPECT_EQ(Delivered(black_hole, 0, 1, 1000), 0.0);
}

TEST(NetworkTest, SetLossChangesLossLater) {
  Network net(NetworkOptions{}, 98);
  EXPECT_EQ(Delivered(net, 0, 1, 1000), 1.0);
  net.SetLoss(0.25);
  EXPECT_NEAR(1.0 - Delivered(net, 0, 1, 100000), 0.25, 0.01);
  net.SetLoss(0);
  EXPECT_EQ(Delivered(net, 0, 1, 1000), 1.0);
}

TEST(NetworkTest, DuplicationFraction) {
  NetworkOptions options;
  options.duplicate = 0.1;
  Network net(options, 97);
  absl::Duration delays[2];
  int twice = 0;
  constexpr int kTrials = 100000;
  for (int i = 0; i < kTrials; ++i) {
    const int copies = net.Route(0, 1, delays);
    ASSERT_GE(copies, 1);
    ASSERT_LE(copies, 2);
    twice += copies == 2;
  }
  EXPECT_NEAR(static_cast<double>(twice) / kTrials, 0.1, 0.01);
}

TEST(NetworkTest, PartitionBlocksBothDirectionsAndHealRestores) {
  Network net(NetworkOptions{}, 96);
  absl::Duration delays[2];
  net.Partition({0, 0, 1, 1});
  EXPECT_TRUE(net.partitioned());
  EXPECT_EQ(net.Route(0, 2, delays), 0);
  EXPECT_EQ(net.Route(2, 0, delays), 0);
  EXPECT_EQ(net.Route(1, 3, delays), 0);
  EXPECT_EQ(net.Route(3, 1, delays), 0);
  EXPECT_FALSE(net.Reachable(0, 3));
  EXPECT_FALSE(net.Reachable(3, 0));
  // Within a side, traffic flows.
  EXPECT_EQ(net.Route(0, 1, delays), 1);
  EXPECT_EQ(net.Route(2, 3, delays), 1);
  EXPECT_EQ(net.Route(3, 2, delays), 1);
  // Nodes the partition does not name are on side 0.
  EXPECT_TRUE(net.Reachable(0, 9));
  EXPECT_FALSE(net.Reachable(9, 2));

  net.Heal();
  EXPECT_FALSE(net.partitioned());
  for (int a = 0; a < 4; ++a) {
    for (int b = 0; b < 4; ++b) {
      EXPECT_TRUE(net.Reachable(a, b));
      EXPECT_EQ(net.Route(a, b, delays), 1) << a << " -> " << b;
    }
  }
}

TEST(NetworkTest, InboundLossAppliesOnlyToThatNode) {
  NetworkOptions options;
  options.loss = 0.1;
  Network net(options, 95);
  net.SetInboundLoss(1, 0.5);
  constexpr int kTrials = 100000;
  EXPECT_NEAR(Delivered(net, 0, 1, kTrials), 0.9 * 0.5, 0.01);
  EXPECT_NEAR(Delivered(net, 2, 1, kTrials), 0.9 * 0.5, 0.01);
  EXPECT_NEAR(Delivered(net, 1, 0, kTrials), 0.9, 0.01) << "outbound hit";
  EXPECT_NEAR(Delivered(net, 0, 2, kTrials), 0.9, 0.01) << "others hit";

  Network deaf(NetworkOptions{}, 94);
  deaf.SetInboundLoss(3, 1.0);
  EXPECT_EQ(Delivered(deaf, 0, 3, 1000), 0.0);
  EXPECT_EQ(Delivered(deaf, 3, 0, 1000), 1.0);
  deaf.SetInboundLoss(3, 0.0);
  EXPECT_EQ(Delivered(deaf, 0, 3, 1000), 1.0);
}

TEST(NetworkTest, LatencyWithinItsRange) {
  NetworkOptions options;
  options.latency_min = absl::Milliseconds(5);
  options.latency_max = absl::Milliseconds(20);
  options.duplicate = 0.5;
  Network net(options, 93);
  absl::Duration lowest = absl::InfiniteDuration();
  absl::Duration highest = -absl::InfiniteDuration();
  absl::Duration delays[2];
  for (int i = 0; i < 20000; ++i) {
    const int copies = net.Route(0, 1, delays);
    for (int c = 0; c < copies; ++c) {
      ASSERT_GE(delays[c], options.latency_min);
      ASSERT_LE(delays[c], options.latency_max);
      lowest = std::min(lowest, delays[c]);
      highest = std::max(highest, delays[c]);
    }
    const absl::Duration stream = net.StreamDelay(0, 1);
    ASSERT_GE(stream, options.latency_min);
    ASSERT_LE(stream, options.latency_max);
  }
  // The whole range is used.
  EXPECT_LT(lowest, absl::Milliseconds(5) + absl::Microseconds(100));
  EXPECT_GT(highest, absl::Milliseconds(20) - absl::Microseconds(100));
}

TEST(NetworkTest, SameSeedSameRoutes) {
  NetworkOptions options;
  options.loss = 0.3;
  options.duplicate = 0.2;
  Network a(options, 5), b(options, 5);
  absl::Duration da[2], db[2];
  for (int i = 0; i < 10000; ++i) {
    const int ca = a.Route(i % 4, (i + 1) % 4, da);
    ASSERT_EQ(ca, b.Route(i % 4, (i + 1) % 4, db));
    for (int c = 0; c < ca; ++c) ASSERT_EQ(da[c], db[c]);
  }
}

// ---------------------------------------------------------------- Simulation

bool SameCounters(const Counters& a, const Counters& b) {
  return a.packets_sent == b.packets_sent &&
         a.packets_received == b.packets_received &&
         a.bytes_sent == b.bytes_sent && a.bytes_received == b.bytes_received &&
         a.probes == b.probes && a.indirect_probes == b.indirect_probes &&
         a.probe_failures == b.probe_failures &&
         a.nacks_received == b.nacks_received && a.suspicions == b.suspicions &&
         a.refutations == b.refutations && a.deaths == b.deaths &&
         a.syncs_started == b.syncs_started &&
         a.syncs_failed == b.syncs_failed && a.syncs_served == b.syncs_served &&
         a.broadcasts_delivered == b.broadcasts_delivered && a.drops == b.drops;
}

bool AllSeeAllAlive(Simulation& sim) {
  for (size_t o = 0; o < sim.size(); ++o) {
    if (!sim.running(o)) continue;
    for (size_t s = 0; s < sim.size(); ++s) {
      auto v = sim.swim(o).Lookup(sim.name(s));
      if (!v || v->state != MemberState::kAlive) return false;
    }
  }
  return true;
}

// A converged cluster of `n` members.
void Converge(Simulation& sim, int n) {
  sim.AddCluster(n, 0);
  ASSERT_TRUE(
      sim.RunUntil([&] { return AllSeeAllAlive(sim); }, absl::Seconds(60)))
      << "seed " << sim.seed();
}

TEST(SimulationTest, NodesGetNamesAndAddressesAndStartIdle) {
  Simulation sim(SimOptions::WithSeed(1));
  const int a = sim.AddNode();
  const int b = sim.AddNode();
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 1);
  EXPECT_EQ(sim.name(a), "node-0");
  EXPECT_EQ(sim.name(b), "node-1");
  EXPECT_NE(sim.addr(a), sim.addr(b));
  EXPECT_EQ(sim.swim(a).Self().name, sim.name(a));
  EXPECT_EQ(sim.swim(a).Self().addr, sim.addr(a));
  EXPECT_FALSE(sim.running(a));
  // Not started: nothing happens.
  sim.RunFor(absl::Seconds(10));
  EXPECT_EQ(sim.events_processed(), 0u);
  EXPECT_EQ(sim.now() - sim.epoch(), absl::Seconds(10));
  sim.Start(a);
  sim.Start(b);
  sim.Join(b, {a});
  EXPECT_TRUE(sim.running(a));
  ASSERT_TRUE(
      sim.RunUntil([&] { return AllSeeAllAlive(sim); }, absl::Seconds(10)));
  EXPECT_TRUE(sim.swim(b).Joined());
  EXPECT_GT(sim.events_processed(), 0u);
}

TEST(SimulationTest, TuneAppliesToEveryMember) {
  SimOptions options = SimOptions::WithSeed(2);
  options.profile = Profile::kLocal;
  options.lifeguard = false;
  options.tune = [](int, Config& c) { c.meta = "tuned"; };
  Simulation sim(options);
  sim.AddCluster(3, 0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(sim.swim(i).config().meta, "tuned");
    EXPECT_FALSE(sim.swim(i).config().lifeguard);
    EXPECT_EQ(sim.swim(i).config().probe_timeout, absl::Milliseconds(200));
  }
}

TEST(SimulationTest, RunUntilStopsAtItsLimit) {
  Simulation sim(SimOptions::WithSeed(3));
  sim.AddCluster(3, 0);
  absl::Time start = sim.now();
  EXPECT_FALSE(
      sim.RunUntil([] { return false; }, absl::Seconds(10), absl::Seconds(3)));
  EXPECT_EQ(sim.now() - start, absl::Seconds(10));

  // Done at once: no time passes.
  start = sim.now();
  EXPECT_TRUE(sim.RunUntil([] { return true; }, absl::Seconds(10)));
  EXPECT_EQ(sim.now(), start);

  // Done after 5 s, checked every second.
  start = sim.now();
  EXPECT_TRUE(
      sim.RunUntil([&] { return sim.now() - start >= absl::Seconds(5); },
                   absl::Seconds(60)));
  EXPECT_EQ(sim.now() - start, absl::Seconds(5));
}

TEST(SimulationTest, CrashedNodeStopsActing) {
  Simulation sim(SimOptions::WithSeed(4));
  Converge(sim, 8);
  const int victim = 3;
  sim.Crash(victim);
  EXPECT_FALSE(sim.running(victim));
  const Counters frozen = sim.swim(victim).counters();
  const Counters other = sim.swim(0).counters();
  sim.RunFor(absl::Seconds(30));
  EXPECT_TRUE(SameCounters(sim.swim(victim).counters(), frozen))
      << "a crashed member kept handling timers or datagrams";
  EXPECT_GT(sim.swim(0).counters().probes, other.probes);
  // The others noticed.
  auto view = sim.swim(0).Lookup(sim.name(victim));
  ASSERT_TRUE(view.has_value());
  EXPECT_NE(view->state, MemberState::kAlive);
}

TEST(SimulationTest, SyncWithAnUnreachableOrCrashedPeerFailsAfterTheTimeout) {
  SimOptions options = SimOptions::WithSeed(5);
  options.network.sync_timeout = absl::Seconds(4);
  Simulation sim(options);
  for (int i = 0; i < 3; ++i) {
    sim.AddNode();
    sim.Start(i);
  }
  sim.network().Partition({0, 1, 0});
  sim.Crash(2);
  sim.Join(1, {0});  // across the partition
  sim.Join(0, {2});  // to a crashed process
  sim.RunFor(absl::Seconds(4) - absl::Milliseconds(50));
  EXPECT_EQ(sim.swim(1).counters().syncs_failed, 0u);
  EXPECT_EQ(sim.swim(0).counters().syncs_failed, 0u);
  sim.RunFor(absl::Seconds(1));
  EXPECT_EQ(sim.swim(1).counters().syncs_failed, 1u);
  EXPECT_EQ(sim.swim(0).counters().syncs_failed, 1u);
  EXPECT_FALSE(sim.swim(1).Joined());
  EXPECT_FALSE(sim.swim(0).Joined());
  EXPECT_EQ(sim.swim(0).counters().syncs_served, 0u);
}

TEST(SimulationTest, PauseDelaysHandlingThenDeliversTheBacklog) {
  Simulation sim(SimOptions::WithSeed(6));
  Converge(sim, 8);
  const int paused = 2;
  const Counters before = sim.swim(paused).counters();
  sim.Pause(paused, absl::Seconds(3));
  EXPECT_TRUE(sim.running(paused));
  sim.RunFor(absl::Seconds(3) - absl::Milliseconds(10));
  // Nothing handled: neither datagrams nor timers.
  EXPECT_TRUE(SameCounters(sim.swim(paused).counters(), before));
  sim.RunFor(absl::Milliseconds(20));
  const Counters after = sim.swim(paused).counters();
  // The backlog of three seconds arrives at once: probes of it by seven
  // peers, at least.
  EXPECT_GE(after.packets_received, before.packets_received + 3);
  EXPECT_GT(after.probes, before.probes);
  // And it carries on normally.
  ASSERT_TRUE(
      sim.RunUntil([&] { return AllSeeAllAlive(sim); }, absl::Seconds(60)));
}

TEST(SimulationTest, SlowMemberHandlesInboundLateButTimersOnTime) {
  Simulation sim(SimOptions::WithSeed(7));
  Converge(sim, 6);
  const int slow = 4;
  const Counters before = sim.swim(slow).counters();
  sim.SetSlow(slow, absl::Seconds(2));
  sim.RunFor(absl::Seconds(2) - absl::Milliseconds(10));
  const Counters during = sim.swim(slow).counters();
  EXPECT_EQ(during.packets_received, before.packets_received)
      << "handled a datagram early";
  EXPECT_GT(during.probes, before.probes) << "its timers were slowed too";
  // Probes of it (about one a second) arrive two seconds late.
  sim.RunFor(absl::Seconds(3));
  EXPECT_GT(sim.swim(slow).counters().packets_received,
            before.packets_received);
}

// Suspicions of `subject` raised anywhere in `seconds` of a 10-member
// cluster, with `subject` slow by `slow`.
int SuspicionsOfSlowMember(absl::Duration slow, int* failed) {
  Simulation sim(SimOptions::WithSeed(8));
  const int subject = 4;
  int suspected = 0;
  *failed = 0;
  sim.on_event = [&](int observer, const Event& e) {
    if (observer == subject || e.member.name != sim.name(subject)) return;
    suspected += e.type == EventType::kSuspected;
    *failed += e.type == EventType::kFailed;
  };
  sim.AddCluster(10, 0);
  EXPECT_TRUE(
      sim.RunUntil([&] { return AllSeeAllAlive(sim); }, absl::Seconds(60)));
  suspected = 0;
  sim.SetSlow(subject, slow);
  sim.RunFor(absl::Seconds(60));
  return suspected;
}

TEST(SimulationTest, SlowMemberIsSuspectedByItsProbers) {
  int failed_fast = 0, failed_slow = 0;
  const int fast = SuspicionsOfSlowMember(absl::ZeroDuration(), &failed_fast);
  // Its acks reach its probers after their 1 s protocol period.
  const int slow =
      SuspicionsOfSlowMember(absl::Milliseconds(1500), &failed_slow);
  EXPECT_EQ(fast, 0);
  EXPECT_GT(slow, fast + 5);
  EXPECT_EQ(failed_fast, 0);
  // Lifeguard: it is slow, not dead, and refutes in time.
  EXPECT_EQ(failed_slow, 0);
}

TEST(SimulationTest, RestartGivesAFreshMemberUnderTheSameName) {
  Simulation sim(SimOptions::WithSeed(9));
  Converge(sim, 6);
  const int node = 3;
  const std::string name = sim.name(node);
  const std::string addr = sim.addr(node);
  ASSERT_TRUE(sim.swim(node).SetMeta("old-life").ok());
  sim.RunFor(absl::Seconds(5));
  ASSERT_EQ(sim.swim(node).Self().incarnation, 1u);
  ASSERT_GT(sim.swim(node).counters().packets_sent, 0u);

  sim.Crash(node);
  sim.Restart(node);
  EXPECT_TRUE(sim.running(node));
  Swim& fresh = sim.swim(node);
  EXPECT_EQ(fresh.Self().name, name);
  EXPECT_EQ(fresh.Self().addr, addr);
  EXPECT_EQ(fresh.Self().meta, "");
  EXPECT_EQ(fresh.Self().incarnation, 0u);
  EXPECT_EQ(fresh.Members().size(), 1u) << "kept its old member table";
  EXPECT_EQ(fresh.counters().packets_sent, 0u);
  EXPECT_FALSE(fresh.Joined());

  // The old life's timers are void: without a join it stays alone. (Its
  // peers still know its address, so gossip reaches it; that is fine.)
  sim.Join(node, {0});
  ASSERT_TRUE(
      sim.RunUntil([&] { return AllSeeAllAlive(sim); }, absl::Seconds(60)));
  // Known at once as a new life, without refuting its way up from its
  // predecessor's incarnation.
  EXPECT_EQ(sim.swim(0).Lookup(name)->life, sim.swim(node).Self().life);
  EXPECT_EQ(sim.swim(node).counters().refutations, 0u);

  // At a new address, still the same name.
  sim.Crash(node);
  sim.Restart(node, /*new_address=*/true);
  EXPECT_NE(sim.addr(node), addr);
  EXPECT_EQ(sim.swim(node).Self().name, name);
  EXPECT_EQ(sim.swim(node).Self().addr, sim.addr(node));
}

// Events a lone member's timers produce from 65 s to 95 s after it starts,
// either started fresh or restarted after a crash.
uint64_t LoneMemberEvents(bool restarted) {
  Simulation sim(SimOptions::WithSeed(10));
  sim.AddNode();
  sim.RunFor(absl::Seconds(5));
  if (restarted) {
    sim.Start(0);
    sim.RunFor(absl::Seconds(5));
    sim.Crash(0);
    sim.Restart(0);
  } else {
    sim.RunFor(absl::Seconds(5));
    sim.Start(0);
  }
  // By now every timer of a previous life has come due (and been voided).
  sim.RunFor(absl::Seconds(65));
  const uint64_t before = sim.events_processed();
  sim.RunFor(absl::Seconds(30));
  return sim.events_processed() - before;
}

TEST(SimulationTest, CrashedProcessTimersDoNotLeakIntoItsNextLife) {
  // Had the old life's timer chains survived, they would drive the new
  // Swim too and double its timer traffic.
  const uint64_t fresh = LoneMemberEvents(false);
  const uint64_t restarted = LoneMemberEvents(true);
  ASSERT_GT(fresh, 150u);  // 5 gossip and 1 probe timer a second
  // Phases differ between lives: each timer chain may gain or lose one.
  EXPECT_NEAR(static_cast<double>(restarted), static_cast<double>(fresh), 4);
}

TEST(SimulationTest, BroadcastReachesEveryMemberOnce) {
  Simulation sim(SimOptions::WithSeed(11));
  std::vector<int> deliveries(8, 0);
  sim.on_broadcast = [&](int node, std::string_view, std::string_view payload) {
    if (payload == "hello") ++deliveries[node];
  };
  Converge(sim, 8);
  ASSERT_TRUE(sim.swim(5).Broadcast("hello").ok());
  sim.RunFor(absl::Seconds(10));
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(deliveries[i], i == 5 ? 0 : 1) << sim.name(i);
  }
}

// A busy run: loss, duplication, a crash, a pause, a slow member, a
// partition that heals, a broadcast.
std::vector<Counters> BusyRun(uint64_t seed, uint64_t* events) {
  SimOptions options = SimOptions::WithSeed(seed);
  options.network.loss = 0.05;
  options.network.duplicate = 0.05;
  Simulation sim(options);
  sim.AddCluster(12, 0);
  sim.RunFor(absl::Seconds(15));
  sim.Crash(3);
  sim.Pause(5, absl::Seconds(2));
  sim.SetSlow(7, absl::Milliseconds(300));
  EXPECT_TRUE(sim.swim(1).Broadcast("busy").ok());
  sim.RunFor(absl::Seconds(10));
  std::vector<int> sides(12);
  for (int i = 0; i < 12; ++i) sides[i] = i < 6 ? 0 : 1;
  sim.network().Partition(sides);
  sim.RunFor(absl::Seconds(10));
  sim.network().Heal();
  sim.Restart(3);
  sim.Join(3, {0});
  sim.RunFor(absl::Seconds(20));
  std::vector<Counters> out;
  for (int i = 0; i < 12; ++i) out.push_back(sim.swim(i).counters());
  *events = sim.events_processed();
  return out;
}

TEST(SimulationTest, SameSeedSameCountersEverywhere) {
  uint64_t events_a = 0, events_b = 0, events_c = 0;
  const auto a = BusyRun(1234, &events_a);
  const auto b = BusyRun(1234, &events_b);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(events_a, events_b);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(SameCounters(a[i], b[i])) << "node-" << i;
    EXPECT_GT(a[i].packets_sent, 0u) << "node-" << i;
  }
  // And the seed matters.
  const auto c = BusyRun(1235, &events_c);
  bool differs = events_a != events_c;
  for (size_t i = 0; i < a.size(); ++i) differs |= !SameCounters(a[i], c[i]);
  EXPECT_TRUE(differs);
}

}  // namespace
}  // namespace roster::sim
