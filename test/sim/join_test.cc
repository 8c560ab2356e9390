// Joining, decided in the core and played on the simulator: the outcome of
// each Join, two live processes claiming one name, seeds that fail, and
// the bound on remembered seeds. The same outcomes over real sockets are
// in net_test.cc.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/simulation.h"

namespace roster::sim {
namespace {

using ::testing::HasSubstr;

constexpr int kHolder = 0;

// A converged cluster of `members`, then one more process (the last
// index) configured with the holder's name, not yet joined.
struct Claim {
  explicit Claim(int members) : sim(Options(members)) {
    sim.AddCluster(members, kHolder);
    sim.RunFor(absl::Seconds(30));
    claimant = sim.AddNode();
    sim.Start(claimant);
    sim.on_join_done = [this](int node, const JoinResult& r) {
      if (node == claimant) results.push_back(r);
    };
  }
  static SimOptions Options(int members) {
    SimOptions o;
    o.seed = 7;
    o.tune = [members](int index, Config& c) {
      if (index == members) c.name = "node-0";
    };
    return o;
  }
  Simulation sim;
  int claimant = -1;
  std::vector<JoinResult> results;
};

void ExpectOneHolder(Claim& c, uint64_t holder_incarnation) {
  Simulation& sim = c.sim;
  // The holder never refuted, and the claimant never bumped either.
  EXPECT_EQ(sim.swim(kHolder).Self().incarnation, holder_incarnation);
  EXPECT_EQ(sim.swim(kHolder).counters().refutations, 0u);
  EXPECT_EQ(sim.swim(c.claimant).Self().incarnation, 0u);
  EXPECT_EQ(sim.swim(c.claimant).counters().refutations, 0u);
  // The cluster sees one node-0, alive at the holder's address; the
  // claimant stays alone.
  for (int i = 1; i < c.claimant; ++i) {
    auto seen = sim.swim(i).Lookup("node-0");
    ASSERT_TRUE(seen.has_value()) << "member " << i;
    EXPECT_EQ(seen->addr, sim.addr(kHolder)) << "member " << i;
    EXPECT_EQ(seen->state, MemberState::kAlive) << "member " << i;
    EXPECT_EQ(sim.swim(i).Members().size(), static_cast<size_t>(c.claimant));
  }
  EXPECT_EQ(sim.swim(c.claimant).NumAlive(), 1u);
  EXPECT_FALSE(sim.swim(c.claimant).Joined());
}

// The holder answers the claimant's join itself: it counts the claim and
// does not merge it; the claimant is told who holds the name.
TEST(JoinTest, AClaimedNameThroughItsHolderMovesNoIncarnationIn600s) {
  Claim c(5);
  const uint64_t before = c.sim.swim(kHolder).Self().incarnation;
  c.sim.Join(c.claimant, {kHolder}, 42);
  c.sim.RunFor(absl::Seconds(600));
  ASSERT_EQ(c.results.size(), 1u);
  EXPECT_EQ(c.results[0].token, 42u);
  EXPECT_TRUE(absl::IsAlreadyExists(c.results[0].status))
      << c.results[0].status;
  EXPECT_THAT(std::string(c.results[0].status.message()),
              HasSubstr(absl::StrCat("taken by a live member at ",
                                     c.sim.addr(kHolder))));
  ExpectOneHolder(c, before);
  // Each retry while alone (every reconnect interval, 10 s) is one more
  // claim seen by both sides: about 60 in 600 s.
  const uint64_t claims = c.sim.swim(kHolder).counters().name_conflicts;
  EXPECT_GE(claims, 50u);
  EXPECT_EQ(c.sim.swim(c.claimant).counters().name_conflicts, claims);
}

// Through a seed that is not the holder: the seed drops the claim as an
// address conflict, and its answer shows the claimant the holder.
TEST(JoinTest, AClaimedNameThroughAnotherSeedMovesNoIncarnationIn600s) {
  Claim c(5);
  const uint64_t before = c.sim.swim(kHolder).Self().incarnation;
  c.sim.Join(c.claimant, {2});
  c.sim.RunFor(absl::Seconds(600));
  ASSERT_EQ(c.results.size(), 1u);
  EXPECT_TRUE(absl::IsAlreadyExists(c.results[0].status))
      << c.results[0].status;
  EXPECT_THAT(std::string(c.results[0].status.message()),
              HasSubstr(c.sim.addr(kHolder)));
  ExpectOneHolder(c, before);
  EXPECT_GE(c.sim.swim(c.claimant).counters().name_conflicts, 50u);
  EXPECT_GE(c.sim.swim(2).counters().drops_of(DropReason::kAddressConflict),
            50u);
}

// Once the holder has left, the same claimant's retries get it in: the
// refusal was about a live holder, not about the name.
TEST(JoinTest, TheClaimantGetsInOnceTheHolderHasLeft) {
  Claim c(5);
  c.sim.Join(c.claimant, {2});
  c.sim.RunFor(absl::Seconds(30));
  ASSERT_EQ(c.results.size(), 1u);
  c.sim.Leave(kHolder);
  c.sim.RunFor(absl::Seconds(5));
  c.sim.Crash(kHolder);
  EXPECT_TRUE(c.sim.RunUntil(
      [&] {
        auto seen = c.sim.swim(2).Lookup("node-0");
        return seen && seen->addr == c.sim.addr(c.claimant) &&
               seen->state == MemberState::kAlive;
      },
      absl::Seconds(120)));
  EXPECT_GT(c.sim.swim(c.claimant).NumAlive(), 1u);
}

TEST(JoinTest, OutcomesNameEachFailedSeed) {
  SimOptions o;
  o.seed = 3;
  // Waiting for every seed, so that the one answering first does not
  // settle the Join before the down one has failed (observe_test.cc
  // checks the default).
  o.tune = [](int, Config& c) { c.join_waits_for_all_seeds = true; };
  Simulation sim(o);
  sim.AddCluster(4, -1);
  sim.Crash(2);
  sim.RunFor(absl::Seconds(5));
  std::vector<JoinResult> results;
  sim.on_join_done = [&](int node, const JoinResult& r) {
    if (node == 1 || node == 3) results.push_back(r);
  };
  // One seed answers, one is down: joined, and the failure is named.
  sim.Join(1, {0, 2}, 1);
  // Only the down seed: Unavailable, naming it, still retrying.
  sim.Join(3, {2}, 2);
  sim.RunFor(absl::Seconds(20));
  ASSERT_EQ(results.size(), 2u);
  const JoinResult& ok = results[0].token == 1 ? results[0] : results[1];
  const JoinResult& failed = results[0].token == 2 ? results[0] : results[1];
  EXPECT_TRUE(ok.status.ok()) << ok.status;
  ASSERT_EQ(ok.failed.size(), 1u);
  EXPECT_THAT(ok.failed[0], HasSubstr(sim.addr(2)));
  EXPECT_TRUE(absl::IsUnavailable(failed.status)) << failed.status;
  EXPECT_THAT(std::string(failed.status.message()), HasSubstr(sim.addr(2)));
  EXPECT_THAT(std::string(failed.status.message()), HasSubstr("retrying"));
  // A Join naming only this member itself starts a cluster: Ok.
  results.clear();
  sim.Join(0, {0}, 3);
  ASSERT_EQ(results.size(), 0u);  // node 0 is not watched
  sim.on_join_done = [&](int, const JoinResult& r) { results.push_back(r); };
  sim.Join(0, {0}, 4);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].status.ok()) << results[0].status;
}

// Every seed given is tried, however many; past 64 the oldest are
// forgotten (test/core/swim_sync_test.cc shows which are retried).
TEST(JoinTest, EverySeedGivenIsTried) {
  SimOptions o;
  o.seed = 5;
  Simulation sim(o);
  sim.AddCluster(2, -1);
  sim.RunFor(absl::Seconds(5));
  std::vector<JoinResult> results;
  sim.on_join_done = [&](int, const JoinResult& r) { results.push_back(r); };
  std::vector<std::string> seeds;
  for (int i = 0; i < 70; ++i)
    seeds.push_back(absl::StrCat("10.9.0.", i, ":1"));
  sim.swim(0).Join(seeds, 1);  // node 0 knew no seed before
  sim.swim(0).Join(seeds, 2);
  sim.RunFor(absl::Seconds(30));
  ASSERT_EQ(results.size(), 2u);
  for (const JoinResult& r : results) {
    EXPECT_TRUE(absl::IsUnavailable(r.status)) << r.status;
    ASSERT_EQ(r.failed.size(), 70u);
    for (const std::string& f : r.failed)
      EXPECT_THAT(f, HasSubstr("no answer"));
  }
}

}  // namespace
}  // namespace roster::sim
