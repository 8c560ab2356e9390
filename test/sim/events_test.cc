// User events and queries on the simulator, with fixed seeds: how fast
// events reach every live member, whether every live member's answer to a
// query arrives under loss, what members that join later or that gossip
// missed get, and that a run replays from its seed.
#include <string>

#include "gtest/gtest.h"
#include "sim/report.h"
#include "sim/runner.h"
#include "sim/simulation.h"

namespace roster::sim {
namespace {

scenario::Scenario Cluster(uint32_t nodes, double duration_s, double loss,
                           uint64_t seed) {
  scenario::Scenario s;
  s.set_nodes(nodes);
  s.set_seed(seed);
  s.set_duration_s(duration_s);
  s.set_bootstrap(scenario::BOOTSTRAP_CONVERGED);
  s.mutable_network()->set_loss(loss);
  return s;
}

scenario::UserEvents* AddEvents(scenario::Scenario& s, uint32_t count,
                                double from_s, double until_s) {
  scenario::Fault* f = s.add_faults();
  f->set_at_s(from_s);
  f->mutable_user_events()->set_count(count);
  f->mutable_user_events()->set_until_s(until_s);
  return f->mutable_user_events();
}

scenario::Queries* AddQueries(scenario::Scenario& s, uint32_t count,
                              double from_s, double until_s) {
  scenario::Fault* f = s.add_faults();
  f->set_at_s(from_s);
  f->mutable_queries()->set_count(count);
  f->mutable_queries()->set_until_s(until_s);
  return f->mutable_queries();
}

TEST(EventsSimTest, EventsReachEveryLiveMemberAtGossipSpeed) {
  // 300 members, LAN: fan-out 3 every 200 ms reaches them in about
  // log3(300) = 5 rounds.
  scenario::Scenario s = Cluster(300, 40, 0, 7);
  AddEvents(s, 20, 5, 25);
  auto run = RunScenario(s);
  ASSERT_TRUE(run.ok()) << run.status();
  const EventResults& e = run->user_events_and_queries;
  EXPECT_EQ(e.user_events, 20u);
  EXPECT_EQ(e.deliveries_missing, 0u);
  EXPECT_EQ(e.dissemination_s.count, 20u * 300u);
  EXPECT_LT(e.dissemination_s.p99, 2.0);
  EXPECT_GT(e.dissemination_s.p50, 0.0);
  // The per-second series (the CSV) counts the same deliveries: each
  // member's of each event, once.
  uint64_t delivered = 0;
  for (const SeriesPoint& p : run->series) delivered += p.user_events_delivered;
  EXPECT_EQ(delivered, 20u * 300u);
}

TEST(EventsSimTest, UnderLossEveryLiveMemberStillGetsEveryEvent) {
  // Gossip alone misses a member now and then at 10% loss; push-pull
  // carries the recent events too, so none is lost for good.
  scenario::Scenario s = Cluster(100, 150, 0.10, 3);
  AddEvents(s, 40, 5, 60);
  auto run = RunScenario(s);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->user_events_and_queries.deliveries_missing, 0u);
}

TEST(EventsSimTest, QueriesUnderLossGetEveryLiveMembersAnswer) {
  // The case: 100 members, 5% loss, relay factor 2.
  for (uint64_t seed : {1, 2, 3}) {
    scenario::Scenario s = Cluster(100, 120, 0.05, seed);
    AddQueries(s, 100, 20, 80)->set_relay_factor(2);
    auto run = RunScenario(s);
    ASSERT_TRUE(run.ok()) << run.status();
    const EventResults& e = run->user_events_and_queries;
    EXPECT_EQ(e.queries, 100u);
    EXPECT_EQ(e.queries_finished, 100u);
    EXPECT_GE(e.queries_complete, 99u) << "seed " << seed;
    EXPECT_LE(e.answers_missing, 1u) << "seed " << seed;
  }
}

TEST(EventsSimTest, AQueryToNamedMembersIsAnsweredByThemAlone) {
  scenario::Scenario s = Cluster(50, 40, 0, 5);
  scenario::Queries* q = AddQueries(s, 5, 5, 10);
  for (uint32_t to : {3, 9, 27}) q->add_to(to);
  q->set_request_ack(true);
  auto run = RunScenario(s);
  ASSERT_TRUE(run.ok()) << run.status();
  const EventResults& e = run->user_events_and_queries;
  EXPECT_EQ(e.queries_complete, 5u);
  EXPECT_EQ(e.answers_missing, 0u);
}

TEST(EventsSimTest, CrashedMembersAreNotCountedAsMissing) {
  scenario::Scenario s = Cluster(60, 60, 0, 11);
  scenario::Fault* crash = s.add_faults();
  crash->set_at_s(10);
  crash->mutable_crash()->mutable_members()->set_count(5);
  AddEvents(s, 10, 5, 20);
  AddQueries(s, 10, 5, 20);
  auto run = RunScenario(s);
  ASSERT_TRUE(run.ok()) << run.status();
  const EventResults& e = run->user_events_and_queries;
  EXPECT_EQ(e.deliveries_missing, 0u);
  // Queries sent while a crashed member still looked alive expect it:
  // those lack its answer, which is what a user would see.
  EXPECT_EQ(e.queries_finished, 10u);
}

TEST(EventsSimTest, ARunReplaysFromItsSeed) {
  scenario::Scenario s = Cluster(80, 60, 0.05, 9);
  AddEvents(s, 10, 5, 30)->set_coalesce(true);
  AddQueries(s, 10, 5, 30)->set_relay_factor(1);
  auto a = RunScenario(s);
  auto b = RunScenario(s);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(ToJson(*a, HostStats{}), ToJson(*b, HostStats{}));
}

TEST(EventsSimTest, AMemberThatJoinsLaterDoesNotReplayOldEvents) {
  Simulation sim(SimOptions::WithSeed(4));
  sim.AddCluster(10, 0);
  sim.RunFor(absl::Seconds(10));
  ASSERT_TRUE(sim.swim(0).UserEvent("before", "x").ok());
  sim.RunFor(absl::Seconds(5));
  int late_deliveries = 0;
  sim.on_user_event = [&](int node, const UserEvent& event) {
    if (node == 10) late_deliveries += event.name == "before" ? 100 : 1;
  };
  const int late = sim.AddNode();
  sim.Start(late);
  sim.Join(late, {0});
  sim.RunFor(absl::Seconds(5));
  ASSERT_TRUE(sim.swim(3).UserEvent("after", "y").ok());
  sim.RunFor(absl::Seconds(70));  // past a push-pull or two
  EXPECT_EQ(late_deliveries, 1);  // "after" once, never "before"
}

}  // namespace
}  // namespace roster::sim
