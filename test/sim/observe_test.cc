// What members tell their applications in a simulated cluster, with fixed
// seeds: round-trip times and ack payloads, news of being suspected, log
// lines, and a Join that one hung seed does not hold.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/invariants.h"
#include "sim/simulation.h"
#include "test/sim/sim_helpers.h"

namespace roster::sim {
namespace {

using ::testing::HasSubstr;

TEST(ObserveTest, RttsLieWithinTheModelledRoundTrip) {
  Simulation sim(SimOptions::WithSeed(11));
  sim.AddConverged(8);
  sim.RunFor(absl::Seconds(30));
  // Latency is 1 to 3 ms each way: a round trip is 2 to 6 ms.
  for (int o = 0; o < 8; ++o) {
    for (const MemberInfo& m : sim.swim(o).Members()) {
      if (m.name == sim.name(o)) {
        EXPECT_EQ(m.rtt, absl::ZeroDuration());
        continue;
      }
      EXPECT_GE(m.rtt, absl::Milliseconds(2)) << sim.name(o) << " " << m.name;
      EXPECT_LE(m.rtt, absl::Milliseconds(6)) << sim.name(o) << " " << m.name;
    }
  }
}

TEST(ObserveTest, RttsReplayExactlyFromTheSeed) {
  auto run = [] {
    Simulation sim(SimOptions::WithSeed(12));
    sim.AddConverged(5);
    sim.RunFor(absl::Seconds(20));
    std::vector<int64_t> rtts;
    for (const MemberInfo& m : sim.swim(0).Members())
      rtts.push_back(absl::ToInt64Microseconds(m.rtt));
    return rtts;
  };
  EXPECT_EQ(run(), run());
}

TEST(ObserveTest, AckPayloadsReachTheProbers) {
  Simulation sim(SimOptions::WithSeed(13));
  sim.ack_payload = [&](int node) { return absl::StrCat("from-", node); };
  int reports = 0, mismatched = 0;
  sim.on_ack_payload = [&](int, std::string_view from, std::string_view payload,
                           absl::Duration rtt) {
    ++reports;
    // node-N answers with "from-N".
    if ("from-" + std::string(from.substr(5)) != payload) ++mismatched;
    if (rtt <= absl::ZeroDuration()) ++mismatched;
  };
  sim.AddConverged(6);
  sim.RunFor(absl::Seconds(10));
  EXPECT_GT(reports, 40);  // about one probe per member per second
  EXPECT_EQ(mismatched, 0);
}

// A member behind heavy inbound loss is suspected by others, hears of it,
// and refutes: it sees its own kSelfSuspected event, and is never declared
// dead while it refutes.
TEST(ObserveTest, AMemberBehindLossHearsItIsSuspectedAndRefutes) {
  SimOptions o = SimOptions::WithSeed(21);
  // Without TCP probes, which inbound datagram loss does not touch.
  o.tune = [](int, Config& c) { c.tcp_probes = false; };
  Simulation sim(o);
  sim.AddConverged(10);
  const int lossy = 4;
  std::vector<Event> about_self;
  int suspected_by_others = 0;
  sim.on_event = [&](int observer, const Event& e) {
    if (observer == lossy && (e.type == EventType::kSelfSuspected ||
                              e.type == EventType::kSelfFailed))
      about_self.push_back(e);
    if (observer != lossy && e.type == EventType::kSuspected &&
        e.member.name == sim.name(lossy))
      ++suspected_by_others;
  };
  InvariantChecker checker;
  sim.network().SetInboundLoss(lossy, 0.7);
  for (int s = 0; s < 60; ++s) {
    sim.RunFor(absl::Seconds(1));
    ASSERT_TRUE(checker.Check(sim).ok()) << checker.Check(sim);
  }
  sim.network().SetInboundLoss(lossy, 0);
  sim.RunFor(absl::Seconds(30));
  std::printf("suspected by others %d times; told itself %zu times\n",
              suspected_by_others, about_self.size());
  ASSERT_GT(suspected_by_others, 0);
  ASSERT_FALSE(about_self.empty());
  EXPECT_EQ(about_self[0].type, EventType::kSelfSuspected);
  for (const Event& e : about_self) {
    EXPECT_EQ(e.member.name, sim.name(lossy));
    EXPECT_EQ(e.member.state, MemberState::kAlive);
    EXPECT_NE(e.accuser, sim.name(lossy));
  }
  EXPECT_GE(sim.swim(lossy).counters().refutations, about_self.size());
  EXPECT_TRUE(AllSeeAlive(sim, {lossy}));
  EXPECT_TRUE(checker.CheckConverged(sim).ok()) << checker.CheckConverged(sim);
}

// Seed 2 is down (a push-pull to it waits out the 5 s stream timeout),
// seed 0 answers within milliseconds: the Join is done at seed 0's answer.
TEST(ObserveTest, AJoinIsDoneWhenTheFirstSeedAnswers) {
  for (bool wait_for_all : {false, true}) {
    SimOptions o = SimOptions::WithSeed(5);
    o.tune = [&](int, Config& c) { c.join_waits_for_all_seeds = wait_for_all; };
    Simulation sim(o);
    sim.AddCluster(3, -1);
    const int joiner = sim.AddNode();
    sim.Start(joiner);
    sim.RunFor(absl::Seconds(5));
    sim.Crash(2);
    std::vector<std::string> logs;
    sim.on_log = [&](int node, LogLevel, std::string_view line) {
      if (node == joiner) logs.emplace_back(line);
    };
    absl::Time done = absl::InfinitePast();
    JoinResult result;
    sim.on_join_done = [&](int node, const JoinResult& r) {
      if (node != joiner) return;
      done = sim.now();
      result = r;
    };
    const absl::Time start = sim.now();
    sim.Join(joiner, {2, 0}, 9);
    sim.RunFor(absl::Seconds(10));
    ASSERT_NE(done, absl::InfinitePast()) << wait_for_all;
    std::printf("join through a down seed and a live one%s: %s\n",
                wait_for_all ? ", waiting for both" : "",
                absl::FormatDuration(done - start).c_str());
    EXPECT_TRUE(result.status.ok()) << result.status;
    if (wait_for_all) {
      EXPECT_GE(done - start, o.network.sync_timeout);
      ASSERT_EQ(result.failed.size(), 1u);
    } else {
      // One round trip of a stream (a few ms), not the hung seed's 5 s.
      EXPECT_LT(done - start, absl::Milliseconds(50)) << done - start;
      EXPECT_TRUE(result.failed.empty());
      // The hung seed's failure, later, is logged.
      bool logged = false;
      for (const std::string& line : logs) {
        if (line.find(sim.addr(2)) != std::string::npos &&
            line.find("after the join succeeded") != std::string::npos)
          logged = true;
      }
      EXPECT_TRUE(logged) << ::testing::PrintToString(logs);
    }
    EXPECT_GT(sim.log_lines(), 0u);
  }
}

}  // namespace
}  // namespace roster::sim
