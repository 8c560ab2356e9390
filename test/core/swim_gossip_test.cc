// One roster::Swim's dissemination: membership news and its precedence,
// refuting news about ourselves, application broadcasts, and gossip to the
// recently dead (the harness is test/core/swim_harness.h).
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "core/timers.h"
#include "gtest/gtest.h"
#include "proto/roster.pb.h"
#include "roster/swim.h"
#include "test/common/messages.h"
#include "test/core/swim_harness.h"

namespace roster::test {
namespace {

// ---------------------------------------------------------------- news

TEST_F(SwimTest, MembershipNewsFollowsPrecedenceAndRaisesEvents) {
  CreateAndStart();
  const std::string m = NameOf(1);
  auto expect_events = [&](std::vector<EventType> want, const char* step) {
    EXPECT_EQ(EventTypes(), want) << step;
  };
  using ET = EventType;

  Deliver(kStranger, {MakeAlive(m, AddrOf(1), 1, "meta-a")});
  expect_events({ET::kJoined}, "new member");
  ASSERT_TRUE(swim_->Lookup(m).has_value());
  EXPECT_EQ(swim_->Lookup(m)->state, MemberState::kAlive);
  EXPECT_EQ(swim_->Lookup(m)->incarnation, 1u);
  EXPECT_EQ(swim_->Lookup(m)->meta, "meta-a");
  EXPECT_EQ(swim_->Lookup(m)->addr, AddrOf(1));
  EXPECT_EQ(swim_->NumAlive(), 2u);
  EXPECT_EQ(app_.events[0].event.member.name, m);

  Deliver(kStranger, {MakeSuspect(m, 0, NameOf(2))});
  expect_events({ET::kJoined}, "suspect at a lower incarnation");
  EXPECT_EQ(StateOf(m), MemberState::kAlive);

  Deliver(kStranger, {MakeSuspect(m, 1, NameOf(2))});
  expect_events({ET::kJoined, ET::kSuspected}, "suspect at equal incarnation");
  EXPECT_EQ(StateOf(m), MemberState::kSuspect);
  EXPECT_EQ(swim_->NumAlive(), 2u) << "a suspect still counts as alive";

  Deliver(kStranger, {MakeAlive(m, AddrOf(1), 1, "meta-a")});
  expect_events({ET::kJoined, ET::kSuspected},
                "alive at equal incarnation does not clear a suspicion");
  EXPECT_EQ(StateOf(m), MemberState::kSuspect);

  Deliver(kStranger, {MakeAlive(m, AddrOf(1), 2, "meta-a")});
  expect_events({ET::kJoined, ET::kSuspected, ET::kRecovered},
                "alive at higher incarnation");
  EXPECT_EQ(StateOf(m), MemberState::kAlive);
  EXPECT_EQ(swim_->Lookup(m)->incarnation, 2u);

  Deliver(kStranger, {MakeAlive(m, AddrOf(1), 1, "stale-meta")});
  expect_events({ET::kJoined, ET::kSuspected, ET::kRecovered}, "old alive");
  EXPECT_EQ(swim_->Lookup(m)->meta, "meta-a");
  EXPECT_EQ(swim_->Lookup(m)->incarnation, 2u);

  Deliver(kStranger, {MakeAlive(m, AddrOf(1), 3, "meta-b")});
  expect_events({ET::kJoined, ET::kSuspected, ET::kRecovered, ET::kUpdated},
                "new meta");
  EXPECT_EQ(swim_->Lookup(m)->meta, "meta-b");
  EXPECT_EQ(app_.events.back().event.member.meta, "meta-b");

  Deliver(kStranger, {MakeDead(m, 2, NameOf(2))});
  expect_events({ET::kJoined, ET::kSuspected, ET::kRecovered, ET::kUpdated},
                "old dead");
  EXPECT_EQ(StateOf(m), MemberState::kAlive);

  Deliver(kStranger, {MakeDead(m, 3, NameOf(2))});
  expect_events(
      {ET::kJoined, ET::kSuspected, ET::kRecovered, ET::kUpdated, ET::kFailed},
      "dead");
  EXPECT_EQ(StateOf(m), MemberState::kDead);
  EXPECT_EQ(swim_->NumAlive(), 1u);

  Deliver(kStranger,
          {MakeAlive(m, AddrOf(1), 3, "meta-b"), MakeSuspect(m, 3, NameOf(2))});
  EXPECT_EQ(app_.events.size(), 5u) << "news at the dead incarnation applied";
  EXPECT_EQ(StateOf(m), MemberState::kDead);

  Deliver(kStranger, {MakeAlive(m, AddrOf(1), 4, "meta-b")});
  EXPECT_EQ(app_.events.back().event.type, ET::kJoined) << "back from dead";
  EXPECT_EQ(StateOf(m), MemberState::kAlive);

  Deliver(kStranger, {MakeDead(m, 4, m)});
  EXPECT_EQ(app_.events.back().event.type, ET::kLeft);
  EXPECT_EQ(StateOf(m), MemberState::kLeft);
  EXPECT_EQ(app_.events.size(), 7u);

  // News about someone we never heard of, other than alive, is ignored.
  Deliver(kStranger, {MakeSuspect("ghost", 5, NameOf(2)),
                      MakeDead("ghost", 5, NameOf(2))});
  EXPECT_FALSE(swim_->Lookup("ghost").has_value());
  EXPECT_EQ(app_.events.size(), 7u);
}

TEST_F(SwimTest, NewsIsGossipedOn) {
  CreateAndStart();
  AddMembers(1, 3);
  Deliver(kStranger, {MakeSuspect(NameOf(2), 0, NameOf(3))});
  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  for (const auto& d : sent) {
    EXPECT_TRUE(d.Has([](const auto& m) { return IsAliveAbout(m, "m1"); }));
    EXPECT_TRUE(d.Has([](const auto& m) { return IsSuspectAbout(m, "m2"); }));
    EXPECT_TRUE(d.Has([](const auto& m) { return IsAliveAbout(m, kSelf); }));
    // Newer news about a member replaces older: no Alive m2 any more.
    EXPECT_FALSE(d.Has([](const auto& m) { return IsAliveAbout(m, "m2"); }));
  }
}

// ---------------------------------------------------------------- refuting

TEST_F(SwimTest, SuspicionOfSelfIsRefuted) {
  CreateAndStart();
  AddMembers(1, 3);
  ASSERT_EQ(swim_->HealthScore(), 0);
  Deliver(AddrOf(1), {MakeSuspect(kSelf, 0, NameOf(1))});
  EXPECT_EQ(swim_->Self().incarnation, 1u);
  EXPECT_EQ(swim_->Self().state, MemberState::kAlive);
  EXPECT_EQ(swim_->counters().refutations, 1u);
  EXPECT_EQ(swim_->HealthScore(), 1);
  // Three joins, and news of the suspicion about ourselves.
  ASSERT_EQ(app_.events.size(), 4u);
  const Event& told = app_.events.back().event;
  EXPECT_EQ(told.type, EventType::kSelfSuspected);
  EXPECT_EQ(told.member.name, kSelf);
  EXPECT_EQ(told.member.incarnation, 1u) << "after the refutation";
  EXPECT_EQ(told.accuser, NameOf(1));

  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  for (const auto& d : sent) {
    const int i =
        d.IndexOf([](const auto& m) { return IsAliveAbout(m, kSelf); });
    ASSERT_GE(i, 0) << "refutation not gossiped to " << d.to;
    EXPECT_EQ(d.messages[i].alive().incarnation(), 1u);
    EXPECT_EQ(d.messages[i].alive().addr(), kSelfAddr);
  }

  // A suspicion far above our incarnation: we jump over it.
  Deliver(AddrOf(2), {MakeSuspect(kSelf, 7, NameOf(2))});
  EXPECT_EQ(swim_->Self().incarnation, 8u);
  EXPECT_EQ(swim_->counters().refutations, 2u);
  EXPECT_EQ(swim_->HealthScore(), 2);
}

TEST_F(SwimTest, DeathOfSelfIsRefuted) {
  CreateAndStart();
  AddMembers(1, 3);
  Deliver(AddrOf(1), {MakeDead(kSelf, 0, NameOf(1))});
  EXPECT_EQ(swim_->Self().state, MemberState::kAlive);
  EXPECT_EQ(swim_->Self().incarnation, 1u);
  EXPECT_EQ(swim_->counters().refutations, 1u);

  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  const int i =
      sent[0].IndexOf([](const auto& m) { return IsAliveAbout(m, kSelf); });
  ASSERT_GE(i, 0);
  EXPECT_EQ(sent[0].messages[i].alive().incarnation(), 1u);

  // Lifeguard: having to refute is a sign of ill health, whether the
  // accusation was a suspicion or a death (memberlist's refute() raises
  // the awareness score in both cases).
  EXPECT_EQ(swim_->HealthScore(), 1)
      << "refuting a Dead about ourselves did not raise the health score";
}

TEST_F(SwimTest, WithoutLifeguardRefutingLeavesHealthAlone) {
  Config c = BaseConfig();
  c.lifeguard = false;
  CreateAndStart(c);
  AddMembers(1, 2);
  Deliver(AddrOf(1), {MakeSuspect(kSelf, 0, NameOf(1))});
  EXPECT_EQ(swim_->Self().incarnation, 1u);
  EXPECT_EQ(swim_->counters().refutations, 1u);
  EXPECT_EQ(swim_->HealthScore(), 0);
}

TEST_F(SwimTest, StaleSuspicionOfSelfGetsTheRefutationBackAtOnce) {
  CreateAndStart();
  AddMembers(1, 3);
  Deliver(AddrOf(1), {MakeSuspect(kSelf, 0, NameOf(1))});
  ASSERT_EQ(swim_->Self().incarnation, 1u);

  // m2 still holds the old suspicion: tell it directly.
  size_t mark = Mark();
  Deliver(AddrOf(2), {MakeSuspect(kSelf, 0, NameOf(2))});
  auto sent = SentSince(mark);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, AddrOf(2));
  EXPECT_TRUE(sent[0].Has([](const auto& m) {
    return IsAliveAbout(m, kSelf) && m.alive().incarnation() == 1;
  }));
  EXPECT_EQ(swim_->Self().incarnation, 1u) << "refuted an old suspicion again";
  EXPECT_EQ(swim_->counters().refutations, 1u);

  // With a ping: the refutation rides in the ack's datagram, before the ack.
  mark = Mark();
  Deliver(AddrOf(3), {MakeSuspect(kSelf, 0, NameOf(3)),
                      MakePing(99, kSelf, NameOf(3), AddrOf(3))});
  sent = SentSince(mark);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, AddrOf(3));
  const int alive = sent[0].IndexOf([](const auto& m) {
    return IsAliveAbout(m, kSelf) && m.alive().incarnation() == 1;
  });
  const int ack = sent[0].IndexOf(
      [](const auto& m) { return m.has_ack() && m.ack().seq() == 99; });
  ASSERT_GE(alive, 0);
  ASSERT_GE(ack, 0);
  EXPECT_LT(alive, ack);
}

// ---------------------------------------------------------------- broadcasts

TEST_F(SwimTest, BroadcastIsNotCrowdedOutByMembershipNews) {
  CreateAndStart();
  AddMembers(1, 300);
  ASSERT_TRUE(swim_->Broadcast("hello-app").ok());
  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  const int i = sent[0].IndexOf([](const auto& m) { return m.has_user(); });
  ASSERT_GE(i, 0) << "the broadcast waited behind membership news";
  EXPECT_EQ(sent[0].messages[i].user().payload(), "hello-app");
  EXPECT_EQ(sent[0].messages[i].user().origin(), kSelf);
  // And the news still got most of the room.
  EXPECT_GT(sent[0].Count([](const auto& m) { return m.has_alive(); }), 10);
}

TEST_F(SwimTest, LargeBroadcastIsNotStarvedByMembershipNews) {
  CreateAndStart();
  AddMembers(1, 300);
  // Accepted, so it fits in a datagram; but it is over half the budget.
  ASSERT_TRUE(swim_->Broadcast(std::string(900, 'L')).ok());
  const size_t mark = Mark();
  for (int tick = 0; tick < 3; ++tick) ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_GE(sent.size(), 9u);
  int carried = 0;
  for (const auto& d : sent)
    carried += d.Count([](const auto& m) { return m.has_user(); });
  EXPECT_GT(carried, 0) << "a broadcast over half the packet budget waits "
                           "until all membership news has drained ("
                        << sent.size() << " datagrams without it)";
}

TEST_F(SwimTest, ADatagramNeverCarriesTheSameBroadcastTwice) {
  CreateAndStart();
  AddMembers(1, 2);
  ASSERT_TRUE(swim_->Broadcast("once").ok());
  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  for (const auto& d : sent) {
    EXPECT_EQ(d.Count([](const auto& m) { return m.has_user(); }), 1)
        << "to " << d.to;
  }
  // Each copy counts as a transmission: the broadcast must reach as many
  // datagrams as its transmit limit.
  for (int tick = 0; tick < 20; ++tick) ASSERT_TRUE(Fire(TimerKind::kGossip));
  int datagrams = 0;
  for (const auto& d : SentSince(mark))
    datagrams += d.Has([](const auto& m) { return m.has_user(); });
  const int limit = TransmitLimit(3);
  EXPECT_EQ(datagrams, limit) << "the broadcast went out in " << datagrams
                              << " datagrams, not its transmit limit";
}

TEST_F(SwimTest, ReceivedBroadcastIsDeliveredOnceAndPassedOn) {
  CreateAndStart();
  AddMembers(1, 3);
  const auto user = MakeUser("payload-1", NameOf(1), 7);
  Deliver(AddrOf(1), {user});
  Deliver(AddrOf(2), {user});
  ASSERT_EQ(app_.broadcasts.size(), 1u);
  EXPECT_EQ(app_.broadcasts[0], "payload-1");
  EXPECT_EQ(swim_->counters().broadcasts_delivered, 1u);
  // Another id from the same origin is another broadcast.
  Deliver(AddrOf(1), {MakeUser("payload-2", NameOf(1), 8)});
  EXPECT_EQ(app_.broadcasts.size(), 2u);

  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  EXPECT_TRUE(sent[0].Has([](const auto& m) {
    return m.has_user() && m.user().payload() == "payload-1" &&
           m.user().origin() == "m1" && m.user().id() == 7;
  }));
}

TEST_F(SwimTest, OwnBroadcastEchoedBackIsNotDelivered) {
  CreateAndStart();
  AddMembers(1, 1);
  ASSERT_TRUE(swim_->Broadcast("mine").ok());
  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  const int i = sent[0].IndexOf([](const auto& m) { return m.has_user(); });
  ASSERT_GE(i, 0);
  Deliver(AddrOf(1), {sent[0].messages[i]});
  EXPECT_TRUE(app_.broadcasts.empty());
}

// ---------------------------------------------------------------- the dead

TEST_F(SwimTest, RecentlyDeadMembersStillHearGossipButNotForever) {
  CreateAndStart();
  AddMembers(1, 2);
  const absl::Time t0 = rt_.now;
  Deliver(kStranger,
          {MakeDead(NameOf(1), 0, "x"), MakeDead(NameOf(2), 0, NameOf(2))});
  ASSERT_EQ(StateOf(NameOf(1)), MemberState::kDead);
  ASSERT_EQ(StateOf(NameOf(2)), MemberState::kLeft);

  RunUntil(t0 + absl::Seconds(10), {TimerKind::kGossip});
  size_t mark = Mark();
  ASSERT_TRUE(swim_->Broadcast("news-1").ok());
  RunUntil(t0 + absl::Seconds(11), {TimerKind::kGossip});
  auto sent = SentSince(mark);
  EXPECT_FALSE(sent.empty()) << "the recently dead got no gossip";
  for (const auto& d : sent) EXPECT_EQ(d.to, AddrOf(1)) << "gossip to the left";

  RunUntil(t0 + swim_->config().gossip_to_the_dead + absl::Seconds(1),
           {TimerKind::kGossip});
  mark = Mark();
  ASSERT_TRUE(swim_->Broadcast("news-2").ok());
  RunUntil(t0 + swim_->config().gossip_to_the_dead + absl::Seconds(3),
           {TimerKind::kGossip});
  EXPECT_EQ(Mark(), mark) << "gossiped to a member dead for too long";
}

}  // namespace
}  // namespace roster::test
