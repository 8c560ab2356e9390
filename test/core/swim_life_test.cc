// The rules of lives (doc/wire_format.md, section 2.8), one Swim fed news
// by hand: news of one life never lands on another, and a new life is
// taken only when the held one cannot still be running.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "test/common/messages.h"
#include "test/core/swim_harness.h"

namespace roster::test {
namespace {

constexpr uint32_t kFirst = 111;
constexpr uint32_t kSecond = 222;

wire::Message AliveOf(const std::string& name, const std::string& addr,
                      uint64_t incarnation, uint32_t life,
                      uint32_t previous_life = 0) {
  wire::Message m = MakeAlive(name, addr, incarnation);
  m.mutable_alive()->set_life(life);
  m.mutable_alive()->set_previous_life(previous_life);
  return m;
}

class SwimLifeTest : public SwimTest {
 protected:
  void SetUp() override {
    CreateAndStart();
    Deliver(kStranger, {AliveOf("m1", AddrOf(1), 5, kFirst)});
    ASSERT_EQ(swim_->Lookup("m1")->life, kFirst);
  }
  int Events(EventType type) const {
    int n = 0;
    for (const auto& e : app_.events)
      n += e.event.type == type && e.event.member.name == "m1";
    return n;
  }
};

TEST_F(SwimLifeTest, SuspicionAndDeathOfAnotherLifeAreIgnored) {
  wire::Message suspect = MakeSuspect("m1", 5, "m2");
  suspect.mutable_suspect()->set_life(kSecond);
  wire::Message dead = MakeDead("m1", 9, "m1");
  dead.mutable_dead()->set_life(kSecond);
  Deliver(kStranger, {suspect, dead});
  EXPECT_EQ(swim_->Lookup("m1")->state, MemberState::kAlive);
  // The same news of the life we hold applies.
  dead.mutable_dead()->set_life(kFirst);
  Deliver(kStranger, {dead});
  EXPECT_EQ(swim_->Lookup("m1")->state, MemberState::kLeft);
}

TEST_F(SwimLifeTest, ANewLifeAtTheSameAddressIsARestart) {
  Deliver(kStranger, {AliveOf("m1", AddrOf(1), 0, kSecond)});
  auto m1 = swim_->Lookup("m1");
  EXPECT_EQ(m1->life, kSecond);
  EXPECT_EQ(m1->incarnation, 0u);
  EXPECT_EQ(Events(EventType::kRestarted), 1);
  EXPECT_EQ(swim_->counters().restarts_seen, 1u);
  // The old life's news is stale from now on, whatever its incarnation.
  Deliver(kStranger, {AliveOf("m1", AddrOf(1), 50, kFirst)});
  EXPECT_EQ(swim_->Lookup("m1")->life, kSecond);
  EXPECT_EQ(Events(EventType::kRestarted), 1);
}

TEST_F(SwimLifeTest, ANewLifeElsewhereNeedsProofThatTheOldOneIsGone) {
  // Another process claims the name of a live member elsewhere.
  Deliver(kStranger, {AliveOf("m1", AddrOf(9), 0, kSecond)});
  EXPECT_EQ(swim_->Lookup("m1")->life, kFirst);
  EXPECT_EQ(swim_->Lookup("m1")->addr, AddrOf(1));
  EXPECT_EQ(swim_->counters().name_conflicts, 1u);
  // It names the held life as the one it replaced: a checked takeover.
  Deliver(kStranger, {AliveOf("m1", AddrOf(9), 0, kSecond, kFirst)});
  EXPECT_EQ(swim_->Lookup("m1")->life, kSecond);
  EXPECT_EQ(swim_->Lookup("m1")->addr, AddrOf(9));
  EXPECT_EQ(Events(EventType::kRestarted), 1);
}

TEST_F(SwimLifeTest, ANewLifeAfterALeaveIsAJoin) {
  wire::Message leave = MakeDead("m1", 5, "m1");
  leave.mutable_dead()->set_life(kFirst);
  Deliver(kStranger, {leave});
  ASSERT_EQ(swim_->Lookup("m1")->state, MemberState::kLeft);
  Deliver(kStranger, {AliveOf("m1", AddrOf(7), 0, kSecond)});
  EXPECT_EQ(swim_->Lookup("m1")->state, MemberState::kAlive);
  EXPECT_EQ(swim_->Lookup("m1")->addr, AddrOf(7));
  EXPECT_EQ(Events(EventType::kJoined), 2);
  EXPECT_EQ(Events(EventType::kRestarted), 0);
}

TEST_F(SwimLifeTest, NewsOfOurOwnNameInAnotherLifeIsNotRefuted) {
  const uint32_t ours = swim_->Self().life;
  const uint32_t other = ours + 1;
  wire::Message suspect = MakeSuspect(kSelf, 3, "m1");
  suspect.mutable_suspect()->set_life(other);
  Deliver(kStranger, {suspect, AliveOf(kSelf, AddrOf(8), 7, other)});
  EXPECT_EQ(swim_->counters().refutations, 0u);
  EXPECT_EQ(swim_->Self().incarnation, 0u);
  EXPECT_EQ(swim_->counters().name_conflicts, 1u);
  // Suspicion of our own life is refuted as ever.
  suspect.mutable_suspect()->set_life(ours);
  Deliver(kStranger, {suspect});
  EXPECT_EQ(swim_->counters().refutations, 1u);
}

}  // namespace
}  // namespace roster::test
