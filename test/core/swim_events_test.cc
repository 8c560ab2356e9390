// Unit tests of one roster::Swim and user events and queries (Serf's
// layer, roster/events.h), through the scripted runtime of swim_harness.h:
// what is delivered and answered, and what goes out on the wire.
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/lamport_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/roster.pb.h"
#include "roster/tags.h"
#include "test/common/messages.h"
#include "test/core/swim_harness.h"

namespace roster::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

uint32_t LifeOf(int i) { return 100 + static_cast<uint32_t>(i); }

bool IsEventKind(const wire::Message& m) {
  return m.has_user_event() || m.has_query() || m.has_query_response();
}

class SwimEventsTest : public SwimTest {
 protected:
  // Members m<first> .. that speak versions 1 to `max`, each its own life.
  void AddSpeakers(int first, int count, uint32_t max = 2) {
    for (int i = first; i < first + count; ++i) {
      wire::Message m = MakeAlive(NameOf(i), AddrOf(i), 0);
      m.mutable_alive()->set_life(LifeOf(i));
      m.mutable_alive()->set_protocol_min(1);
      m.mutable_alive()->set_protocol_max(max);
      Deliver(kStranger, {m});
    }
  }
  // Every message sent since `mark` that `pred` holds for, with where it
  // went.
  template <typename Pred>
  std::vector<std::pair<std::string, wire::Message>> SentWhere(size_t mark,
                                                               Pred pred) {
    std::vector<std::pair<std::string, wire::Message>> out;
    for (const Datagrams& d : SentSince(mark))
      for (const wire::Message& m : d.messages)
        if (pred(m)) out.emplace_back(d.to, m);
    return out;
  }
  // Gossip rounds until one carries a query; its id (0 if none did).
  uint32_t GossipedQueryId() {
    for (int round = 0; round < 10; ++round) {
      const size_t mark = Mark();
      EXPECT_TRUE(Fire(TimerKind::kGossip));
      auto queries =
          SentWhere(mark, [](const wire::Message& m) { return m.has_query(); });
      if (!queries.empty()) return queries[0].second.query().id();
    }
    ADD_FAILURE() << "no query gossiped";
    return 0;
  }
  // The ids of the queries `rounds` gossip rounds carry.
  std::set<uint32_t> GossipedQueryIds(int rounds) {
    std::set<uint32_t> ids;
    for (int round = 0; round < rounds; ++round) {
      const size_t mark = Mark();
      EXPECT_TRUE(Fire(TimerKind::kGossip));
      for (const auto& [to, m] : SentWhere(
               mark, [](const wire::Message& m) { return m.has_query(); }))
        ids.insert(m.query().id());
    }
    return ids;
  }
  // Everything that sends the kinds of version 2: an event and a query of
  // ours, and an answer (acknowledged, relayed) to a query of m<asker>;
  // then rounds of gossip and probes to carry them.
  void SendEveryNewKind(int asker) {
    (void)swim_->UserEvent("deploy", "v1");
    (void)swim_->Query(Params("q", absl::Seconds(30)));
    app_.query_response = "here";
    Deliver(AddrOf(asker),
            {MakeQuery("q5", "", NameOf(asker), AddrOf(asker), LifeOf(asker), 3,
                       1, 30000, /*want_ack=*/true, /*relay_factor=*/5)});
    for (int round = 0; round < 30; ++round) {
      ASSERT_TRUE(Fire(TimerKind::kGossip));
      if (round % 5 == 0) ProbeOnce();
    }
  }
  uint32_t SelfLife() const { return swim_->Self().life; }
  static QueryParams Params(std::string name, absl::Duration timeout) {
    QueryParams p;
    p.name = std::move(name);
    p.timeout = timeout;
    return p;
  }
};

// ---------------------------------------------------------------- events

TEST_F(SwimEventsTest, AnEventIsDeliveredToItsOwnMemberOnceAndGossiped) {
  CreateAndStart();
  AddSpeakers(1, 3);
  ASSERT_TRUE(swim_->UserEvent("deploy", "v1").ok());
  ASSERT_EQ(app_.user_events.size(), 1u);
  const UserEvent& e = app_.user_events[0].event;
  EXPECT_EQ(e.name, "deploy");
  EXPECT_EQ(e.payload, "v1");
  EXPECT_EQ(e.origin, kSelf);
  EXPECT_FALSE(e.coalesce);
  EXPECT_EQ(swim_->counters().user_events_sent, 1u);
  EXPECT_EQ(swim_->counters().user_events_delivered, 1u);
  // The clock has moved past the event's time.
  EXPECT_GT(swim_->Clocks().event, e.ltime);

  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentWhere(
      mark, [](const wire::Message& m) { return m.has_user_event(); });
  ASSERT_FALSE(sent.empty());
  const wire::UserEvent& out = sent[0].second.user_event();
  EXPECT_EQ(out.name(), "deploy");
  EXPECT_EQ(out.payload(), "v1");
  EXPECT_EQ(out.origin(), kSelf);
  EXPECT_EQ(out.life(), SelfLife());
  EXPECT_EQ(out.ltime(), e.ltime);
  // Gossip bringing it back is a copy.
  Deliver(AddrOf(1), {sent[0].second});
  EXPECT_EQ(app_.user_events.size(), 1u);
}

TEST_F(SwimEventsTest, AReceivedEventIsDeliveredOnceGossipedOnAndWitnessed) {
  CreateAndStart();
  AddSpeakers(1, 3);
  const wire::Message event =
      MakeUserEvent("restart", "web", NameOf(1), LifeOf(1), 40);
  Deliver(AddrOf(1), {event});
  ASSERT_EQ(app_.user_events.size(), 1u);
  EXPECT_EQ(app_.user_events[0].event.name, "restart");
  EXPECT_EQ(app_.user_events[0].event.payload, "web");
  EXPECT_EQ(app_.user_events[0].event.origin, NameOf(1));
  EXPECT_EQ(app_.user_events[0].event.ltime, 40u);
  EXPECT_EQ(swim_->Clocks().event, 41u);
  Deliver(AddrOf(2), {event});
  EXPECT_EQ(app_.user_events.size(), 1u) << "a copy was delivered";
  // Another life of the same origin is another event.
  Deliver(AddrOf(1),
          {MakeUserEvent("restart", "web", NameOf(1), LifeOf(1) + 1, 40)});
  EXPECT_EQ(app_.user_events.size(), 2u);

  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentWhere(mark, [](const wire::Message& m) {
    return m.has_user_event() && m.user_event().life() == LifeOf(1);
  });
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent[0].second.user_event().SerializeAsString(),
            event.user_event().SerializeAsString());
  // What this member sends next comes after what it saw.
  ASSERT_TRUE(swim_->UserEvent("after", "").ok());
  EXPECT_GE(app_.user_events.back().event.ltime, 41u);
}

TEST_F(SwimEventsTest, AMemberOfVersionOneIsNeverSentTheNewKinds) {
  CreateAndStart();
  AddMembers(1, 3);      // say no version: version 1
  AddSpeakers(4, 1, 1);  // says 1 only
  AddSpeakers(5, 1);     // speaks 2
  const size_t mark = Mark();
  // m5's query asks for relays through 5 others: none of the others
  // speaks the kinds, so none is asked.
  SendEveryNewKind(5);
  int to_speaker = 0;
  for (const Datagrams& d : SentSince(mark)) {
    if (d.to == AddrOf(5)) {
      to_speaker += d.Count(IsEventKind);
      continue;
    }
    EXPECT_EQ(d.Count(IsEventKind), 0) << "sent to " << d.to;
  }
  // Event, query, the re-gossiped query, the ack and the response.
  EXPECT_GE(to_speaker, 5);
}

TEST_F(SwimEventsTest, AMemberConfiguredForVersionOneSendsNoneOfThem) {
  Config c = BaseConfig();
  c.protocol_max = 1;
  CreateAndStart(c);
  AddSpeakers(1, 3);
  const size_t mark = Mark();
  SendEveryNewKind(1);
  for (const Datagrams& d : SentSince(mark))
    EXPECT_EQ(d.Count(IsEventKind), 0) << "sent to " << d.to;
}

TEST_F(SwimEventsTest, SizesOverTheLimitsAreRefusedNamingTheLimit) {
  Config c = BaseConfig();
  c.limits.max_user_event_bytes = 100;
  c.limits.max_query_bytes = 100;
  CreateAndStart(c);
  EXPECT_TRUE(swim_->UserEvent("e", std::string(99, 'x')).ok());
  absl::Status big = swim_->UserEvent("e", std::string(100, 'x'));
  EXPECT_EQ(big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(big.message(), HasSubstr("limits.max_user_event_bytes of 100"));
  EXPECT_EQ(swim_->UserEvent("", "x").code(),
            absl::StatusCode::kInvalidArgument);

  QueryParams q = Params("q", absl::Seconds(1));
  q.payload = std::string(99, 'x');
  EXPECT_TRUE(swim_->Query(q).ok());
  q.payload += 'x';
  absl::Status big_query = swim_->Query(q);
  EXPECT_EQ(big_query.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(big_query.message(), HasSubstr("limits.max_query_bytes of 100"));

  QueryParams relays = Params("q", absl::Seconds(1));
  relays.relay_factor = 6;
  EXPECT_THAT(swim_->Query(relays).message(), HasSubstr("relay factor"));
  QueryParams late = Params("q", absl::Minutes(11));
  EXPECT_THAT(swim_->Query(late).message(), HasSubstr("timeout"));
  QueryParams bad_regex = Params("q", absl::Seconds(1));
  bad_regex.tags = {{"role", "("}};
  EXPECT_THAT(swim_->Query(bad_regex).message(), HasSubstr("does not compile"));
  EXPECT_EQ(swim_->counters().user_events_sent, 1u);
  EXPECT_EQ(swim_->counters().queries_sent, 1u);
}

TEST_F(SwimEventsTest, WhatDoesNotFitADatagramIsRefused) {
  Config c = BaseConfig();
  c.limits.max_user_event_bytes = 1 << 20;
  c.limits.max_query_bytes = 1 << 20;
  CreateAndStart(c);
  absl::Status event = swim_->UserEvent("e", std::string(c.packet_budget, 'x'));
  EXPECT_EQ(event.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(event.message(), HasSubstr("packet budget"));
  QueryParams q = Params("q", absl::Seconds(1));
  q.payload = std::string(c.packet_budget, 'x');
  absl::Status query = swim_->Query(q);
  EXPECT_EQ(query.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(query.message(), HasSubstr("packet budget"));
  EXPECT_TRUE(app_.user_events.empty());
  EXPECT_TRUE(app_.queries.empty());
}

TEST_F(SwimEventsTest, NeitherBeforeStartNorAfterLeave) {
  Create();
  EXPECT_EQ(swim_->UserEvent("e", "").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(swim_->Query(Params("q", absl::Seconds(1))).code(),
            absl::StatusCode::kFailedPrecondition);
  swim_->Start();
  EXPECT_TRUE(swim_->UserEvent("e", "").ok());
  swim_->Leave();
  EXPECT_EQ(swim_->UserEvent("e", "").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(swim_->Query(Params("q", absl::Seconds(1))).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(app_.user_events.size(), 1u);
}

TEST_F(SwimEventsTest, ATimePastTheClocksRangeIsMalformed) {
  CreateAndStart();
  AddSpeakers(1, 1);
  const uint64_t past = core::LamportClock::kMaxTime + 1;
  Deliver(AddrOf(1), {MakeUserEvent("e", "", NameOf(1), LifeOf(1), past)});
  Deliver(AddrOf(1), {MakeQuery("q", "", NameOf(1), AddrOf(1), LifeOf(1), past,
                                1, 1000, true)});
  EXPECT_TRUE(app_.user_events.empty());
  EXPECT_TRUE(app_.queries.empty());
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kMalformed), 2u);
  EXPECT_EQ(swim_->Clocks().event, 0u);
  EXPECT_EQ(swim_->Clocks().query, 0u);
  // The clock's own top is still a time.
  Deliver(AddrOf(1), {MakeUserEvent("e", "", NameOf(1), LifeOf(1),
                                    core::LamportClock::kMaxTime)});
  EXPECT_EQ(app_.user_events.size(), 1u);
}

TEST_F(SwimEventsTest, CoalescedEventsDeliverTheLatestOfANameAtTheTimer) {
  Config c = BaseConfig();
  c.user_event_coalesce_window = absl::Milliseconds(300);
  CreateAndStart(c);
  AddSpeakers(1, 3);
  const absl::Time start = rt_.now;
  Deliver(AddrOf(1),
          {MakeUserEvent("cfg", "ten", NameOf(1), LifeOf(1), 10, true)});
  Deliver(AddrOf(2),
          {MakeUserEvent("cfg", "twelve", NameOf(2), LifeOf(2), 12, true)});
  Deliver(AddrOf(3),
          {MakeUserEvent("cfg", "eleven", NameOf(3), LifeOf(3), 11, true)});
  Deliver(AddrOf(3),
          {MakeUserEvent("other", "x", NameOf(3), LifeOf(3), 13, true)});
  EXPECT_TRUE(app_.user_events.empty()) << "delivered before the window";
  EXPECT_EQ(CountTimers(TimerKind::kCoalesce), 1);
  ASSERT_TRUE(Fire(TimerKind::kCoalesce));
  EXPECT_EQ(rt_.now, start + absl::Milliseconds(300));
  ASSERT_EQ(app_.user_events.size(), 2u);
  EXPECT_EQ(app_.user_events[0].event.name, "cfg");
  EXPECT_EQ(app_.user_events[0].event.payload, "twelve");
  EXPECT_EQ(app_.user_events[0].event.ltime, 12u);
  EXPECT_TRUE(app_.user_events[0].event.coalesce);
  EXPECT_EQ(app_.user_events[1].event.name, "other");
  EXPECT_EQ(swim_->counters().user_events_coalesced, 2u);
  // A later one opens a window of its own; an event without coalescing
  // goes at once.
  Deliver(AddrOf(1),
          {MakeUserEvent("cfg", "twenty", NameOf(1), LifeOf(1), 20, true)});
  Deliver(AddrOf(1), {MakeUserEvent("cfg", "now", NameOf(1), LifeOf(1), 21)});
  ASSERT_EQ(app_.user_events.size(), 3u);
  EXPECT_EQ(app_.user_events[2].event.payload, "now");
  ASSERT_TRUE(Fire(TimerKind::kCoalesce));
  ASSERT_EQ(app_.user_events.size(), 4u);
  EXPECT_EQ(app_.user_events[3].event.payload, "twenty");
}

// A second Swim as the seed of a join, on its own scripted runtime.
class Seed {
 public:
  static constexpr char kAddr[] = "10.0.5.5:7946";
  Seed() {
    auto swim = Swim::Create(Config::ForProfile(Profile::kLan, "seed", kAddr),
                             &rt, &app);
    EXPECT_TRUE(swim.ok()) << swim.status();
    swim_ = std::move(*swim);
    swim_->Start();
  }
  Swim& operator*() { return *swim_; }
  Swim* operator->() { return swim_.get(); }
  // Fires the seed's pending gossip timers, `rounds` times over.
  void Gossip(int rounds) {
    for (int round = 0; round < rounds; ++round) {
      for (size_t i = 0; i < rt.timers.size(); ++i) {
        if (rt.timers[i].fired ||
            core::KindOf(rt.timers[i].timer) != TimerKind::kGossip)
          continue;
        rt.timers[i].fired = true;
        rt.now = std::max(rt.now, rt.timers[i].due);
        const Timer timer = rt.timers[i].timer;
        swim_->HandleTimer(timer);
        break;
      }
    }
  }
  ScriptedRuntime rt;
  RecordingDelegate app{&rt};

 private:
  std::unique_ptr<Swim> swim_;
};

class SwimJoinEventsTest : public SwimEventsTest {
 protected:
  // Joins `seed` through its own answer to our push-pull.
  void JoinThrough(Seed& seed) {
    swim_->Join({Seed::kAddr});
    ASSERT_EQ(rt_.syncs.size(), 1u);
    const std::string reply =
        seed->HandleStream(kSelfAddr, rt_.syncs[0].request);
    ASSERT_FALSE(IsRefusal(reply));
    swim_->HandleSyncResponse(Seed::kAddr, reply);
    ASSERT_TRUE(swim_->Joined());
  }
  // Hands us what the seed sent us since `mark`.
  void PassOn(Seed& seed, size_t mark) {
    for (size_t i = mark; i < seed.rt.sent.size(); ++i)
      if (seed.rt.sent[i].to == kSelfAddr)
        swim_->HandlePacket(Seed::kAddr, seed.rt.sent[i].bytes);
  }
};

TEST_F(SwimJoinEventsTest, AJoinerIgnoresWhatWasSentBeforeItJoined) {
  Seed seed;
  ASSERT_TRUE(seed->UserEvent("before", "1").ok());
  ASSERT_TRUE(seed->UserEvent("before", "2").ok());
  CreateAndStart();
  JoinThrough(seed);
  // Still in the seed's gossip queue, so it reaches us: old news.
  const size_t mark = seed.rt.sent.size();
  ASSERT_TRUE(seed->UserEvent("after", "3").ok());
  seed.Gossip(10);
  PassOn(seed, mark);
  ASSERT_EQ(app_.user_events.size(), 1u)
      << "first delivered: " << app_.user_events[0].event.payload;
  EXPECT_EQ(app_.user_events[0].event.payload, "3");
  // Each copy that came is counted.
  EXPECT_GE(swim_->counters().user_events_too_old, 2u);
}

TEST_F(SwimJoinEventsTest, ATimeBelowTheSeedsClockIsOldNews) {
  CreateAndStart();
  swim_->Join({Seed::kAddr});
  wire::PushPull answer;
  answer.set_join(true);
  answer.set_source("seed");
  wire::MemberRecord seed =
      Record("seed", Seed::kAddr, 0, wire::MEMBER_STATE_ALIVE);
  seed.set_life(7);
  seed.set_protocol_min(1);
  seed.set_protocol_max(2);
  *answer.add_members() = seed;
  answer.set_event_clock(50);
  answer.set_query_clock(9);
  swim_->HandleSyncResponse(Seed::kAddr, PushPullReply(answer));
  EXPECT_GE(swim_->Clocks().event, 50u);
  EXPECT_GE(swim_->Clocks().query, 9u);
  Deliver(Seed::kAddr, {MakeUserEvent("e", "old", "seed", 7, 49)});
  EXPECT_TRUE(app_.user_events.empty());
  EXPECT_EQ(swim_->counters().user_events_too_old, 1u);
  Deliver(Seed::kAddr, {MakeUserEvent("e", "new", "seed", 7, 50)});
  ASSERT_EQ(app_.user_events.size(), 1u);
  EXPECT_EQ(app_.user_events[0].event.payload, "new");
}

TEST_F(SwimJoinEventsTest, AJoinerThatAsksReplaysTheSeedsRecentEvents) {
  Seed seed;
  ASSERT_TRUE(seed->UserEvent("before", "1").ok());
  ASSERT_TRUE(seed->UserEvent("before", "2").ok());
  Config c = BaseConfig();
  c.join_replays_user_events = true;
  CreateAndStart(c);
  JoinThrough(seed);
  ASSERT_EQ(app_.user_events.size(), 2u);
  EXPECT_EQ(app_.user_events[0].event.payload, "1");
  EXPECT_EQ(app_.user_events[1].event.payload, "2");
  EXPECT_EQ(app_.user_events[0].event.origin, "seed");
  // Gossip bringing them again: copies.
  const size_t mark = seed.rt.sent.size();
  seed.Gossip(10);
  PassOn(seed, mark);
  EXPECT_EQ(app_.user_events.size(), 2u);
}

TEST_F(SwimJoinEventsTest, ReplayedEventsThatAreNotEventsAreMalformed) {
  Config c = BaseConfig();
  c.join_replays_user_events = true;
  CreateAndStart(c);
  swim_->Join({Seed::kAddr});
  wire::PushPull answer;
  answer.set_join(true);
  answer.set_source("seed");
  *answer.add_members() =
      Record("seed", Seed::kAddr, 0, wire::MEMBER_STATE_ALIVE);
  answer.set_recent_events(
      Payload({MakeUserEvent("e", "ok", "seed", 0, 3), MakeUser("x", "s", 1)}));
  swim_->HandleSyncResponse(Seed::kAddr, PushPullReply(answer));
  ASSERT_EQ(app_.user_events.size(), 1u);
  EXPECT_EQ(app_.user_events[0].event.payload, "ok");
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kMalformed), 1u);
  EXPECT_TRUE(app_.broadcasts.empty());
}

// ---------------------------------------------------------------- queries

TEST_F(SwimEventsTest, TheQuerierAnswersItselfAndHearsTheRestAtTheDeadline) {
  CreateAndStart();
  AddSpeakers(1, 3);
  app_.query_response = "mine";
  QueryParams p = Params("load", absl::Seconds(2));
  p.payload = "cpu";
  p.request_ack = true;
  const absl::Time start = rt_.now;
  ASSERT_TRUE(swim_->Query(p, 7).ok());
  ASSERT_EQ(app_.queries.size(), 1u);
  EXPECT_EQ(app_.queries[0].name, "load");
  EXPECT_EQ(app_.queries[0].payload, "cpu");
  EXPECT_EQ(app_.queries[0].origin, kSelf);
  EXPECT_EQ(app_.queries[0].deadline, start + absl::Seconds(2));
  EXPECT_THAT(app_.query_acks, ElementsAre(Pair(7u, kSelf)));
  ASSERT_EQ(app_.query_responses.size(), 1u);
  EXPECT_EQ(app_.query_responses[0].from, kSelf);
  EXPECT_EQ(app_.query_responses[0].payload, "mine");

  const uint32_t id = GossipedQueryId();
  // m1 acks and answers; m2 only acks; m3 says nothing.
  Deliver(AddrOf(1), {MakeQueryResponse(kSelf, SelfLife(), id, NameOf(1),
                                        /*ack=*/true)});
  Deliver(AddrOf(1), {MakeQueryResponse(kSelf, SelfLife(), id, NameOf(1),
                                        /*ack=*/false, "one")});
  Deliver(AddrOf(2), {MakeQueryResponse(kSelf, SelfLife(), id, NameOf(2),
                                        /*ack=*/true)});
  EXPECT_TRUE(app_.queries_done.empty());
  ASSERT_TRUE(Fire(TimerKind::kQueryDeadline));
  EXPECT_EQ(rt_.now, start + absl::Seconds(2));
  ASSERT_EQ(app_.queries_done.size(), 1u);
  const QueryResult& r = app_.queries_done[0];
  EXPECT_EQ(r.token, 7u);
  EXPECT_THAT(r.expected, ElementsAre("m1", "m2", "m3", kSelf));
  EXPECT_THAT(r.acks, ElementsAre(kSelf, "m1", "m2"));
  EXPECT_THAT(r.responses, ElementsAre(Pair(kSelf, "mine"), Pair("m1", "one")));
  EXPECT_THAT(r.missing_acks, ElementsAre("m3"));
  EXPECT_THAT(r.missing_responses, ElementsAre("m2", "m3"));
  EXPECT_EQ(swim_->counters().query_acks_received, 3u);
  EXPECT_EQ(swim_->counters().query_responses_received, 2u);
  // Over: what comes later is nobody's.
  Deliver(AddrOf(3), {MakeQueryResponse(kSelf, SelfLife(), id, NameOf(3),
                                        /*ack=*/false, "late")});
  EXPECT_EQ(app_.query_responses.size(), 2u);
}

TEST_F(SwimEventsTest, AReceivedQueryIsAckedAndAnsweredToTheOriginsAddress) {
  CreateAndStart();
  AddSpeakers(1, 3);
  app_.query_response = "42";
  const std::string origin_addr = "10.0.9.1:7946";  // not the sender's
  const size_t mark = Mark();
  const absl::Time start = rt_.now;
  Deliver(AddrOf(1), {MakeQuery("load", "cpu", "far", origin_addr, 9, 77, 5,
                                1500, /*want_ack=*/true)});
  ASSERT_EQ(app_.queries.size(), 1u);
  EXPECT_EQ(app_.queries[0].origin, "far");
  EXPECT_EQ(app_.queries[0].ltime, 77u);
  EXPECT_EQ(app_.queries[0].deadline, start + absl::Milliseconds(1500));
  EXPECT_EQ(swim_->Clocks().query, 78u);
  auto answers = SentWhere(
      mark, [](const wire::Message& m) { return m.has_query_response(); });
  ASSERT_EQ(answers.size(), 2u);
  for (const auto& [to, m] : answers) {
    EXPECT_EQ(to, origin_addr);
    EXPECT_EQ(m.query_response().origin(), "far");
    EXPECT_EQ(m.query_response().life(), 9u);
    EXPECT_EQ(m.query_response().id(), 5u);
    EXPECT_EQ(m.query_response().from(), kSelf);
    EXPECT_FALSE(m.query_response().relay());
  }
  EXPECT_TRUE(answers[0].second.query_response().ack());
  EXPECT_FALSE(answers[1].second.query_response().ack());
  EXPECT_EQ(answers[1].second.query_response().payload(), "42");
  EXPECT_EQ(swim_->counters().query_acks_sent, 1u);
  EXPECT_EQ(swim_->counters().query_responses_sent, 1u);
  // Gossiped on, and a copy is not handled again.
  EXPECT_EQ(GossipedQueryId(), 5u);
  Deliver(AddrOf(2), {MakeQuery("load", "cpu", "far", origin_addr, 9, 77, 5,
                                1500, /*want_ack=*/true)});
  EXPECT_EQ(app_.queries.size(), 1u);
}

TEST_F(SwimEventsTest, AnAnswerGoesThroughRelayFactorOthersToo) {
  CreateAndStart();
  AddSpeakers(1, 5);
  app_.query_response = "r";
  const size_t mark = Mark();
  Deliver(AddrOf(1), {MakeQuery("q", "", NameOf(1), AddrOf(1), LifeOf(1), 1, 3,
                                5000, false, /*relay_factor=*/2)});
  auto answers = SentWhere(
      mark, [](const wire::Message& m) { return m.has_query_response(); });
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_EQ(answers[0].first, AddrOf(1));
  EXPECT_FALSE(answers[0].second.query_response().relay());
  std::set<std::string> relays;
  for (size_t i = 1; i < answers.size(); ++i) {
    EXPECT_TRUE(answers[i].second.query_response().relay());
    EXPECT_EQ(answers[i].second.query_response().payload(), "r");
    EXPECT_NE(answers[i].first, AddrOf(1)) << "relayed through the origin";
    relays.insert(answers[i].first);
  }
  EXPECT_EQ(relays.size(), 2u) << "one relay asked twice";
}

TEST_F(SwimEventsTest, ARelayPassesAResponseOnOnceToTheOriginsAddress) {
  CreateAndStart();
  AddSpeakers(1, 2);
  size_t mark = Mark();
  Deliver(AddrOf(2), {MakeQueryResponse(NameOf(1), LifeOf(1), 5, NameOf(2),
                                        false, "pay", /*relay=*/true)});
  auto passed = SentWhere(
      mark, [](const wire::Message& m) { return m.has_query_response(); });
  ASSERT_EQ(passed.size(), 1u);
  EXPECT_EQ(passed[0].first, AddrOf(1));
  const wire::QueryResponse& r = passed[0].second.query_response();
  EXPECT_FALSE(r.relay()) << "would bounce between relays";
  EXPECT_EQ(r.origin(), NameOf(1));
  EXPECT_EQ(r.from(), NameOf(2));
  EXPECT_EQ(r.payload(), "pay");
  EXPECT_EQ(swim_->counters().query_responses_relayed, 1u);

  // Not for a querier's other life, nor one unknown, nor without relay.
  mark = Mark();
  Deliver(AddrOf(2), {MakeQueryResponse(NameOf(1), LifeOf(1) + 1, 5, NameOf(2),
                                        false, "pay", true)});
  Deliver(AddrOf(2),
          {MakeQueryResponse("nobody", 1, 5, NameOf(2), false, "pay", true)});
  Deliver(AddrOf(2), {MakeQueryResponse(NameOf(1), LifeOf(1), 5, NameOf(2),
                                        false, "pay", false)});
  EXPECT_TRUE(SentWhere(mark, [](const wire::Message& m) {
                return m.has_query_response();
              }).empty());
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kWrongTarget), 3u);
  EXPECT_EQ(swim_->counters().query_responses_relayed, 1u);
}

TEST_F(SwimEventsTest, AnswersForAnotherLifeOrAnUnknownQueryAreIgnored) {
  CreateAndStart();
  AddSpeakers(1, 2);
  ASSERT_TRUE(swim_->Query(Params("q", absl::Seconds(2)), 1).ok());
  const uint32_t id = GossipedQueryId();
  Deliver(AddrOf(1), {MakeQueryResponse(kSelf, SelfLife() + 1, id, NameOf(1),
                                        false, "other life")});
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kWrongTarget), 1u);
  Deliver(AddrOf(1), {MakeQueryResponse(kSelf, SelfLife(), id + 100, NameOf(1),
                                        false, "unknown")});
  Deliver(AddrOf(1),
          {MakeQueryResponse(kSelf, SelfLife(), id + 100, NameOf(1), true)});
  EXPECT_TRUE(app_.query_responses.empty());
  EXPECT_TRUE(app_.query_acks.empty());
  EXPECT_EQ(swim_->counters().query_responses_received, 0u);
}

TEST_F(SwimEventsTest, CopiesThroughRelaysAreDeliveredOnce) {
  CreateAndStart();
  AddSpeakers(1, 3);
  QueryParams p = Params("q", absl::Seconds(2));
  p.request_ack = true;
  p.relay_factor = 2;
  ASSERT_TRUE(swim_->Query(p, 3).ok());
  const uint32_t id = GossipedQueryId();
  // Direct, then passed on by two relays (relay cleared), then one that
  // still asks to be relayed (the querier takes it as its own).
  for (bool ack : {true, false}) {
    Deliver(AddrOf(1),
            {MakeQueryResponse(kSelf, SelfLife(), id, NameOf(1), ack, "a")});
    Deliver(AddrOf(2),
            {MakeQueryResponse(kSelf, SelfLife(), id, NameOf(1), ack, "a")});
    Deliver(AddrOf(3),
            {MakeQueryResponse(kSelf, SelfLife(), id, NameOf(1), ack, "a")});
    Deliver(AddrOf(3), {MakeQueryResponse(kSelf, SelfLife(), id, NameOf(1), ack,
                                          "a", true)});
  }
  EXPECT_THAT(app_.query_acks, ElementsAre(Pair(3u, kSelf), Pair(3u, "m1")));
  ASSERT_EQ(app_.query_responses.size(), 1u);  // ours is none
  EXPECT_EQ(app_.query_responses[0].from, "m1");
  ASSERT_TRUE(Fire(TimerKind::kQueryDeadline));
  ASSERT_EQ(app_.queries_done.size(), 1u);
  EXPECT_THAT(app_.queries_done[0].responses, ElementsAre(Pair("m1", "a")));
  EXPECT_THAT(app_.queries_done[0].missing_responses,
              ElementsAre("m2", "m3", kSelf));
}

TEST_F(SwimEventsTest, AnAnswerAfterTheDeadlineIsNotSent) {
  CreateAndStart();
  AddSpeakers(1, 2);
  app_.hold_queries = true;
  Deliver(AddrOf(1),
          {MakeQuery("q", "", NameOf(1), AddrOf(1), LifeOf(1), 1, 1, 1000)});
  Deliver(AddrOf(1),
          {MakeQuery("q", "", NameOf(1), AddrOf(1), LifeOf(1), 2, 2, 1000)});
  ASSERT_EQ(app_.held_answers.size(), 2u);
  const size_t mark = Mark();
  // The first after the deadline's timer, the second after the deadline
  // but before its timer ran.
  ASSERT_TRUE(Fire(TimerKind::kAnsweringDeadline));
  app_.held_answers[0]("late");
  rt_.now += absl::Seconds(5);
  app_.held_answers[1]("later");
  EXPECT_TRUE(SentWhere(mark, [](const wire::Message& m) {
                return m.has_query_response();
              }).empty());
  EXPECT_EQ(swim_->counters().query_answers_late, 2u);
  EXPECT_EQ(swim_->counters().query_responses_sent, 0u);
  // A second call of an answer is ignored too.
  app_.held_answers[1]("again");
  EXPECT_EQ(swim_->counters().query_responses_sent, 0u);
}

TEST_F(SwimEventsTest, AnAnswerInTimeIsSentOnceAndTooBigNotAtAll) {
  Config c = BaseConfig();
  c.limits.max_query_response_bytes = 10;
  CreateAndStart(c);
  AddSpeakers(1, 2);
  app_.hold_queries = true;
  Deliver(AddrOf(1),
          {MakeQuery("q", "", NameOf(1), AddrOf(1), LifeOf(1), 1, 1, 1000)});
  Deliver(AddrOf(1),
          {MakeQuery("q", "", NameOf(1), AddrOf(1), LifeOf(1), 2, 2, 1000)});
  const size_t mark = Mark();
  rt_.now += absl::Milliseconds(999);
  app_.held_answers[0]("in time");
  app_.held_answers[0]("twice");
  app_.held_answers[1](std::string(11, 'x'));
  auto sent = SentWhere(
      mark, [](const wire::Message& m) { return m.has_query_response(); });
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].second.query_response().payload(), "in time");
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kTooLarge), 1u);
  EXPECT_TRUE(app_.Logged(LogLevel::kWarning, "max_query_response_bytes"));
}

TEST_F(SwimEventsTest, TooManyPendingQueriesAreResourceExhausted) {
  Config c = BaseConfig();
  c.limits.max_pending_queries = 2;
  CreateAndStart(c);
  ASSERT_TRUE(swim_->Query(Params("a", absl::Seconds(1))).ok());
  ASSERT_TRUE(swim_->Query(Params("b", absl::Seconds(2))).ok());
  absl::Status third = swim_->Query(Params("c", absl::Seconds(1)));
  EXPECT_EQ(third.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(third.message(), HasSubstr("limits.max_pending_queries"));
  ASSERT_TRUE(Fire(TimerKind::kQueryDeadline));
  EXPECT_TRUE(swim_->Query(Params("c", absl::Seconds(1))).ok());
}

TEST_F(SwimEventsTest, TooManyQueriesToAnswerAreDropped) {
  Config c = BaseConfig();
  c.limits.max_answering_queries = 1;
  CreateAndStart(c);
  AddSpeakers(1, 1);
  app_.hold_queries = true;
  for (uint32_t id = 1; id <= 2; ++id)
    Deliver(AddrOf(1), {MakeQuery("q", "", NameOf(1), AddrOf(1), LifeOf(1), id,
                                  id, 1000)});
  EXPECT_EQ(app_.queries.size(), 1u);
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kOverloaded), 1u);
}

TEST_F(SwimEventsTest, AFilterThatDoesNotSelectThisMemberGetsNoAnswer) {
  Config c = BaseConfig();
  c.meta = *EncodeTags({{"role", "web"}});
  CreateAndStart(c);
  AddSpeakers(1, 2);
  app_.query_response = "x";
  wire::QueryFilter others;
  others.add_nodes(NameOf(2));
  wire::QueryFilter db;
  wire::TagFilter* tag = db.add_tags();
  tag->set_key("role");
  tag->set_regex("^db$");
  wire::QueryFilter web;
  tag = web.add_tags();
  tag->set_key("role");
  tag->set_regex("we");
  const size_t mark = Mark();
  Deliver(AddrOf(1), {MakeQuery("q", "", NameOf(1), AddrOf(1), LifeOf(1), 1, 1,
                                1000, true, 0, others.SerializeAsString())});
  Deliver(AddrOf(1), {MakeQuery("q", "", NameOf(1), AddrOf(1), LifeOf(1), 2, 2,
                                1000, true, 0, db.SerializeAsString())});
  EXPECT_TRUE(app_.queries.empty());
  EXPECT_TRUE(SentWhere(mark, [](const wire::Message& m) {
                return m.has_query_response();
              }).empty());
  Deliver(AddrOf(1), {MakeQuery("q", "", NameOf(1), AddrOf(1), LifeOf(1), 3, 3,
                                1000, true, 0, web.SerializeAsString())});
  EXPECT_EQ(app_.queries.size(), 1u);
  EXPECT_EQ(
      SentWhere(mark,
                [](const wire::Message& m) { return m.has_query_response(); })
          .size(),
      2u);
  // All three are gossiped on: the members they select are elsewhere.
  EXPECT_EQ(GossipedQueryIds(10), (std::set<uint32_t>{1, 2, 3}));
}

TEST_F(SwimEventsTest, TheQuerierExpectsOnlyTheMembersItsFilterSelects) {
  Config c = BaseConfig();
  c.meta = *EncodeTags({{"role", "db"}});
  CreateAndStart(c);
  wire::Message web =
      MakeAlive(NameOf(1), AddrOf(1), 0, *EncodeTags({{"role", "web"}}));
  wire::Message db =
      MakeAlive(NameOf(2), AddrOf(2), 0, *EncodeTags({{"role", "db"}}));
  // A member of an older build never hears a query, so it is expected
  // only once it says it speaks version 2.
  wire::Message old = MakeAlive("old", "10.0.7.7:7946", 0);
  for (wire::Message* m : {&web, &db}) m->mutable_alive()->set_protocol_max(2);
  Deliver(kStranger, {web, db, old});
  QueryParams p = Params("q", absl::Seconds(1));
  p.tags = {{"role", "^web$"}};
  ASSERT_TRUE(swim_->Query(p).ok());
  EXPECT_TRUE(app_.queries.empty()) << "this member is not selected";
  p.tags.clear();
  p.nodes = {NameOf(2), kSelf, "old"};
  ASSERT_TRUE(swim_->Query(p).ok());
  EXPECT_EQ(app_.queries.size(), 1u);
  ASSERT_TRUE(Fire(TimerKind::kQueryDeadline));
  ASSERT_TRUE(Fire(TimerKind::kQueryDeadline));
  ASSERT_EQ(app_.queries_done.size(), 2u);
  EXPECT_THAT(app_.queries_done[0].expected, ElementsAre("m1"));
  EXPECT_THAT(app_.queries_done[1].expected, ElementsAre("m2", kSelf));
}

TEST_F(SwimEventsTest, HostileQueriesAreCountedDropsNotCrashes) {
  CreateAndStart();
  AddSpeakers(1, 1);
  app_.query_response = "x";
  const size_t mark = Mark();
  Deliver(AddrOf(1), {MakeQuery("q", "", NameOf(1), AddrOf(1), LifeOf(1), 1, 1,
                                1000, true, 0, std::string("\x0a\x7f", 2))});
  wire::QueryFilter bad_regex;
  wire::TagFilter* tag = bad_regex.add_tags();
  tag->set_key("role");
  tag->set_regex("(((");
  Deliver(AddrOf(1), {MakeQuery("q", "", NameOf(1), AddrOf(1), LifeOf(1), 2, 2,
                                1000, true, 0, bad_regex.SerializeAsString())});
  // A relay factor and a timeout far past the bounds are held to them.
  Deliver(AddrOf(1), {MakeQuery("q", "", NameOf(1), AddrOf(1), LifeOf(1), 3, 3,
                                UINT32_MAX, false, UINT32_MAX)});
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kMalformed), 2u);
  ASSERT_EQ(app_.queries.size(), 1u);
  EXPECT_LE(app_.queries[0].deadline, rt_.now + absl::Minutes(10));
  auto answers = SentWhere(
      mark, [](const wire::Message& m) { return m.has_query_response(); });
  EXPECT_EQ(answers.size(), 1u) << "relayed through a member not there";
  // Never gossiped on.
  EXPECT_EQ(GossipedQueryIds(10), (std::set<uint32_t>{3}));
}

TEST_F(SwimEventsTest, TheQuerierAsksTheMembersItHasNotHeardFromAgain) {
  CreateAndStart();
  AddSpeakers(1, 3);
  ASSERT_TRUE(swim_->Query(Params("load", absl::Seconds(3)), 1).ok());
  const uint32_t id = GossipedQueryId();
  Deliver(AddrOf(1), {MakeQueryResponse(kSelf, SelfLife(), id, NameOf(1),
                                        /*ack=*/false, "one")});
  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kQueryRetry));
  auto retries = SentWhere(mark, [](const wire::Message& m) {
    return m.has_query() && m.query().retry();
  });
  std::vector<std::string> to;
  for (const auto& [addr, m] : retries) {
    EXPECT_EQ(m.query().id(), id);
    to.push_back(addr);
  }
  // Not the member that answered, nor this one.
  EXPECT_THAT(to, UnorderedElementsAre(AddrOf(2), AddrOf(3)));
}

TEST_F(SwimEventsTest, AMemberThatAnsweredAnswersARetryAgain) {
  CreateAndStart();
  AddSpeakers(1, 2);
  app_.query_response = "42";
  const std::string origin_addr = AddrOf(1);
  wire::Message query = MakeQuery("load", "", "m1", origin_addr, 9, 3, 5, 2000,
                                  /*want_ack=*/true);
  Deliver(AddrOf(1), {query});
  ASSERT_EQ(app_.queries.size(), 1u);
  auto answers = [&](size_t since) {
    return SentWhere(
        since, [](const wire::Message& m) { return m.has_query_response(); });
  };
  // A copy gossip brought again is nothing new ...
  size_t mark = Mark();
  Deliver(AddrOf(2), {query});
  EXPECT_TRUE(answers(mark).empty());
  // ... but the querier asking again means it heard nothing: the same
  // acknowledgement and response go again, and the handler is not asked.
  query.mutable_query()->set_retry(true);
  mark = Mark();
  Deliver(AddrOf(1), {query});
  auto again = answers(mark);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_TRUE(again[0].second.query_response().ack());
  EXPECT_EQ(again[1].second.query_response().payload(), "42");
  for (const auto& [to, m] : again) EXPECT_EQ(to, origin_addr);
  EXPECT_EQ(app_.queries.size(), 1u);
}

}  // namespace
}  // namespace roster::test
