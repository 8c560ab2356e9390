// Hostile datagrams injected into a simulated cluster: whatever a peer sends,
// members keep their view, keep refuting, and keep spreading news.
#include <string>
#include <vector>

#include "core/wire/decoded.h"
#include "gtest/gtest.h"
#include "sim/simulation.h"
#include "test/common/messages.h"

namespace roster::sim {
namespace {

using test::Datagram;
using test::MakeIndirectPing;
using test::MakeSuspect;
using test::MakeUser;

struct Cluster {
  explicit Cluster(int n, uint64_t seed = 11)
      : sim(SimOptions::WithSeed(seed)) {
    sim.on_event = [this](int, const Event& e) {
      if (e.type == EventType::kFailed) ++failed;
    };
    sim.AddCluster(n, 0);
    sim.RunFor(absl::Seconds(10));
  }
  Simulation sim;
  int failed = 0;
};

TEST(HostileTest, TopIncarnationSuspicionIsRejected) {
  Cluster c(8);
  for (int i = 0; i < 8; ++i) {
    if (i == 1) continue;
    c.sim.Inject(i, "6.6.6.6:1",
                 Datagram({MakeSuspect("node-1", UINT64_MAX, "mallory")}));
  }
  c.sim.RunFor(absl::Seconds(60));
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(c.sim.swim(i).Lookup("node-1")->state, MemberState::kAlive);
    if (i == 1) continue;
    EXPECT_GE(c.sim.swim(i).counters().drops_of(DropReason::kMalformed), 1u);
  }
  EXPECT_EQ(c.failed, 0);
}

TEST(HostileTest, SuspicionAtTheLimitIsStillRefuted) {
  Cluster c(8);
  for (int i = 0; i < 8; ++i) {
    if (i == 1) continue;
    c.sim.Inject(
        i, "6.6.6.6:1",
        Datagram({MakeSuspect("node-1", core::kMaxIncarnation, "mallory")}));
  }
  c.sim.RunFor(absl::Seconds(120));
  EXPECT_EQ(c.failed, 0);
  for (int i = 0; i < 8; ++i) {
    auto v = c.sim.swim(i).Lookup("node-1");
    EXPECT_EQ(v->state, MemberState::kAlive) << i;
    EXPECT_EQ(v->incarnation, core::kMaxIncarnation + 1) << i;
  }
}

TEST(HostileTest, OversizedBroadcastIsDeliveredButDoesNotBlockNews) {
  Cluster c(6);
  int delivered = 0;
  c.sim.on_broadcast = [&](int, std::string_view, std::string_view) {
    ++delivered;
  };
  c.sim.Inject(0, "6.6.6.6:1",
               Datagram({MakeUser(std::string(2000, 'x'), "mallory", 1)}));
  c.sim.RunFor(absl::Milliseconds(10));
  EXPECT_EQ(delivered, 1);  // to node 0, which does not pass it on
  EXPECT_EQ(c.sim.swim(0).counters().drops_of(DropReason::kTooLarge), 1u);
  ASSERT_TRUE(c.sim.swim(0).SetMeta("zone=b").ok());
  c.sim.RunFor(absl::Seconds(10));
  for (int i = 1; i < 6; ++i) {
    EXPECT_EQ(c.sim.swim(i).Lookup("node-0")->meta, "zone=b") << i;
  }
  EXPECT_EQ(delivered, 1);
}

TEST(HostileTest, OneDatagramRelaysAtMostOneIndirectPing) {
  Cluster c(5);
  std::vector<wire::Message> pings;
  for (int i = 0; i < 200; ++i) {
    pings.push_back(MakeIndirectPing(i, "victim", "203.0.113.9:80", "mallory",
                                     "6.6.6.6:1", /*want_nack=*/false));
  }
  const uint64_t before = c.sim.swim(0).counters().packets_sent;
  c.sim.Inject(0, "6.6.6.6:1", Datagram(pings));
  c.sim.RunFor(absl::Milliseconds(1));
  EXPECT_EQ(c.sim.swim(0).counters().packets_sent - before, 1u);
  EXPECT_EQ(c.sim.swim(0).counters().drops_of(DropReason::kOverloaded), 199u);
}

TEST(HostileTest, GarbageLeavesTheViewIntact) {
  Cluster c(6);
  uint64_t x = 0x1234567;
  for (int i = 0; i < 2000; ++i) {
    std::string junk(1 + (x % 300), '\0');
    for (char& ch : junk) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      ch = static_cast<char>(x);
    }
    c.sim.Inject(i % 6, "6.6.6.6:1", junk);
  }
  c.sim.RunFor(absl::Seconds(30));
  EXPECT_EQ(c.failed, 0);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(c.sim.swim(i).NumAlive(), 6u);
    EXPECT_GT(c.sim.swim(i).counters().total_drops(), 300u);
  }
}

}  // namespace
}  // namespace roster::sim
