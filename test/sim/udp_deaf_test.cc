// A member that cannot receive UDP but can use TCP (a firewall that lets
// only the TCP port in): the TCP probe keeps it alive, and shows it as
// reachable only over TCP. Played on the simulator, LAN profile; the same
// over real sockets is in test/net/life_net_test.cc.
#include <cstdio>
#include <string>

#include "gtest/gtest.h"
#include "sim/simulation.h"

namespace roster::sim {
namespace {

constexpr int kMembers = 6;
constexpr int kDeaf = 3;

struct Deaths {
  int of_deaf = 0;
  int of_others = 0;
};

// Deaths reported in 120 s of a converged cluster whose member kDeaf
// receives no datagrams.
Deaths RunDeaf(bool tcp_probes) {
  SimOptions o = SimOptions::WithSeed(21);
  o.tune = [tcp_probes](int, Config& c) { c.tcp_probes = tcp_probes; };
  Simulation sim(o);
  sim.AddCluster(kMembers, 0);
  sim.RunFor(absl::Seconds(30));
  Deaths deaths;
  sim.on_event = [&](int, const Event& e) {
    if (e.type != EventType::kFailed) return;
    (e.member.name == sim.name(kDeaf) ? deaths.of_deaf : deaths.of_others)++;
  };
  sim.network().SetInboundLoss(kDeaf, 1.0);
  sim.RunFor(absl::Seconds(120));
  if (tcp_probes) {
    for (int i = 0; i < kMembers; ++i) {
      if (i == kDeaf) continue;
      auto seen = sim.swim(i).Lookup(sim.name(kDeaf));
      EXPECT_TRUE(seen.has_value());
      if (!seen) continue;
      EXPECT_EQ(seen->state, MemberState::kAlive) << "member " << i;
      EXPECT_EQ(seen->reachability, Reachability::kTcpOnly) << "member " << i;
      EXPECT_EQ(sim.swim(kDeaf).Lookup(sim.name(i))->state, MemberState::kAlive)
          << "the deaf member's view of " << i;
    }
    EXPECT_GT(sim.swim(0).counters().tcp_probe_acks, 0u);
  }
  return deaths;
}

TEST(UdpDeafTest, AMemberReachableOnlyOverTcpStaysAlive) {
  const Deaths deaths = RunDeaf(/*tcp_probes=*/true);
  std::printf(
      "UDP-deaf member, TCP probes on: %d deaths of it, %d of "
      "others in 120 s\n",
      deaths.of_deaf, deaths.of_others);
  EXPECT_EQ(deaths.of_deaf, 0);
  EXPECT_EQ(deaths.of_others, 0);
}

// The control: without TCP probes the same member dies, again and again.
TEST(UdpDeafTest, WithoutTcpProbesItIsDeclaredDead) {
  const Deaths deaths = RunDeaf(/*tcp_probes=*/false);
  std::printf(
      "UDP-deaf member, TCP probes off: %d deaths of it, %d of "
      "others in 120 s\n",
      deaths.of_deaf, deaths.of_others);
  EXPECT_GT(deaths.of_deaf + deaths.of_others, 0);
}

}  // namespace
}  // namespace roster::sim
