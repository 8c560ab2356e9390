// Forced leaves (Swim::ForceLeave, Serf's force-leave) and a start that
// names its predecessor (Config::previous_life), one Swim fed news by hand.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "test/common/messages.h"
#include "test/core/swim_harness.h"

namespace roster::test {
namespace {

constexpr uint32_t kLife = 111;

wire::Message AliveOf(const std::string& name, uint64_t incarnation,
                      uint32_t life) {
  wire::Message m = MakeAlive(name, AddrOf(1), incarnation);
  m.mutable_alive()->set_life(life);
  return m;
}

wire::Message DeadOf(const std::string& name, uint64_t incarnation,
                     const std::string& from, bool prune = false) {
  wire::Message m = MakeDead(name, incarnation, from);
  m.mutable_dead()->set_life(kLife);
  m.mutable_dead()->set_prune(prune);
  return m;
}

class SwimForceLeaveTest : public SwimTest {
 protected:
  void SetUp() override {
    CreateAndStart();
    Deliver(kStranger, {AliveOf("m1", 3, kLife)});
  }
  void Fail() {
    Deliver(kStranger, {DeadOf("m1", 3, "m2")});
    ASSERT_EQ(StateOf("m1"), MemberState::kDead);
  }
  int Events(EventType type) const {
    int n = 0;
    for (const auto& e : app_.events)
      n += e.event.type == type && e.event.member.name == "m1";
    return n;
  }
  // The Dead about m1 gossiped since `mark`, if any.
  const wire::Dead* GossipedDead(size_t mark) {
    sent_ = SentSince(mark);
    for (const Datagrams& d : sent_)
      for (const wire::Message& m : d.messages)
        if (IsDeadAbout(m, "m1")) return &m.dead();
    return nullptr;
  }
  void Gossip() {
    // The gossip round needs a live member to send to.
    Deliver(kStranger, {MakeAlive("m2", AddrOf(2), 0)});
    Fire(TimerKind::kGossip);
  }
  std::vector<Datagrams> sent_;
};

TEST_F(SwimForceLeaveTest, RefusedForLiveUnknownAndSelf) {
  absl::Status alive = swim_->ForceLeave("m1");
  EXPECT_TRUE(absl::IsFailedPrecondition(alive)) << alive;
  EXPECT_NE(alive.message().find("alive"), std::string_view::npos) << alive;
  Deliver(kStranger, {[] {
            wire::Message s = MakeSuspect("m1", 3, "m2");
            s.mutable_suspect()->set_life(kLife);
            return s;
          }()});
  ASSERT_EQ(StateOf("m1"), MemberState::kSuspect);
  EXPECT_TRUE(absl::IsFailedPrecondition(swim_->ForceLeave("m1", true)));
  EXPECT_EQ(StateOf("m1"), MemberState::kSuspect);
  EXPECT_TRUE(absl::IsNotFound(swim_->ForceLeave("nobody")));
  EXPECT_TRUE(absl::IsFailedPrecondition(swim_->ForceLeave(kSelf)));
}

TEST_F(SwimForceLeaveTest, AFailedMemberIsMarkedLeftAndTheLeaveGossiped) {
  Fail();
  const size_t mark = Mark();
  ASSERT_TRUE(swim_->ForceLeave("m1").ok());
  EXPECT_EQ(StateOf("m1"), MemberState::kLeft);
  EXPECT_EQ(Events(EventType::kLeft), 1);
  Gossip();
  const wire::Dead* dead = GossipedDead(mark);
  ASSERT_NE(dead, nullptr);
  EXPECT_EQ(dead->from(), "m1");  // a leave on the wire
  EXPECT_EQ(dead->life(), kLife);
  EXPECT_FALSE(dead->prune());
  // Again: told again, no second event.
  EXPECT_TRUE(swim_->ForceLeave("m1").ok());
  EXPECT_EQ(Events(EventType::kLeft), 1);
}

TEST_F(SwimForceLeaveTest, PruneForgetsTheMemberAndItsStaleNews) {
  Fail();
  const size_t mark = Mark();
  ASSERT_TRUE(swim_->ForceLeave("m1", /*prune=*/true).ok());
  EXPECT_FALSE(swim_->Lookup("m1").has_value());
  EXPECT_EQ(Events(EventType::kLeft), 1);
  Gossip();
  const wire::Dead* dead = GossipedDead(mark);
  ASSERT_NE(dead, nullptr);
  EXPECT_TRUE(dead->prune());
  // Stale news of the pruned life, even at a higher incarnation, does not
  // bring it back; a new life of the name is a new member.
  Deliver(kStranger, {AliveOf("m1", 9, kLife)});
  EXPECT_FALSE(swim_->Lookup("m1").has_value());
  Deliver(kStranger, {AliveOf("m1", 0, kLife + 1)});
  ASSERT_TRUE(swim_->Lookup("m1").has_value());
  EXPECT_EQ(swim_->Lookup("m1")->life, kLife + 1);
  EXPECT_EQ(Events(EventType::kJoined), 2);
}

TEST_F(SwimForceLeaveTest, ReceivedForcedLeavesApplyToFailedMembers) {
  Fail();
  // A peer's forced leave: from is the member's own name.
  Deliver(kStranger, {DeadOf("m1", 3, "m1")});
  EXPECT_EQ(StateOf("m1"), MemberState::kLeft);
  EXPECT_EQ(Events(EventType::kLeft), 1);
  // Then with prune: forgotten, even though already left.
  Deliver(kStranger, {DeadOf("m1", 3, "m1", /*prune=*/true)});
  EXPECT_FALSE(swim_->Lookup("m1").has_value());
  EXPECT_EQ(Events(EventType::kLeft), 1);
  // A stale leave of an older incarnation does not move a failed member.
  Deliver(kStranger, {AliveOf("m3", 5, kLife)});
  Deliver(kStranger, {DeadOf("m3", 5, "m2"), DeadOf("m3", 4, "m3")});
  EXPECT_EQ(StateOf("m3"), MemberState::kDead);
}

TEST_F(SwimForceLeaveTest, PruneOfAFailedMemberInOneMessage) {
  Fail();
  Deliver(kStranger, {DeadOf("m1", 3, "m1", /*prune=*/true)});
  EXPECT_FALSE(swim_->Lookup("m1").has_value());
  EXPECT_EQ(Events(EventType::kLeft), 1);
  // The probe order no longer holds it.
  for (int i = 0; i < 5; ++i) Fire(TimerKind::kProbe);
}

TEST_F(SwimTest, AStartNamesThePreviousLifeItWasGiven) {
  Config c = BaseConfig();
  c.previous_life = kLife;
  c.initial_incarnation = 8;
  CreateAndStart(c);
  EXPECT_NE(swim_->Self().life, kLife);
  EXPECT_EQ(swim_->Self().incarnation, 8u);
  Deliver(kStranger, {MakeAlive("m2", AddrOf(2), 0)});
  const size_t mark = Mark();
  Fire(TimerKind::kGossip);
  bool named = false;
  for (const Datagrams& d : SentSince(mark))
    for (const wire::Message& m : d.messages)
      if (IsAliveAbout(m, kSelf)) named = m.alive().previous_life() == kLife;
  EXPECT_TRUE(named);
  // The predecessor's news is stale from the start.
  wire::Message old = MakeDead(kSelf, 20, "m2");
  old.mutable_dead()->set_life(kLife);
  Deliver(kStranger, {old});
  EXPECT_EQ(swim_->counters().refutations, 0u);
}

}  // namespace
}  // namespace roster::test
