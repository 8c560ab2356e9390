// What a member tells its application and operator about the others and
// itself: round-trip times, ack payloads, news that it is suspected or
// declared dead, log lines, and a Join settled at the first seed's answer.
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "core/rtt.h"
#include "gtest/gtest.h"
#include "roster/swim.h"
#include "test/core/swim_harness.h"

namespace roster::test {
namespace {

// ---------------------------------------------------------------- RTT

TEST(SmoothRttTest, TheFirstSampleIsTakenAsItIsAndLaterOnesAnEighth) {
  uint32_t srtt = core::SmoothRtt(0, absl::Milliseconds(8));
  EXPECT_EQ(srtt, 8000u);
  srtt = core::SmoothRtt(srtt, absl::Milliseconds(16));
  EXPECT_EQ(srtt, 9000u);
  srtt = core::SmoothRtt(srtt, absl::Milliseconds(1));
  EXPECT_EQ(srtt, 8000u);
}

TEST(SmoothRttTest, SamplesAreHeldInRange) {
  EXPECT_EQ(core::SmoothRtt(0, absl::ZeroDuration()), 1u) << "0 means none";
  EXPECT_EQ(core::SmoothRtt(0, absl::Milliseconds(-5)), 1u);
  EXPECT_EQ(core::SmoothRtt(0, absl::Hours(10)), UINT32_MAX);
  EXPECT_EQ(core::SmoothRtt(UINT32_MAX, absl::Hours(10)), UINT32_MAX);
  EXPECT_GE(core::SmoothRtt(1, absl::ZeroDuration()), 1u);
}

// Probes m1 (the only member) and acks it `rtt` later from `from`.
class RttTest : public SwimTest {
 protected:
  void SetUp() override {
    CreateAndStart();
    AddMembers(1, 1);
  }
  void ProbeAndAck(absl::Duration rtt, const std::string& from,
                   const std::string& payload = "") {
    Datagrams probe = ProbeOnce();
    ASSERT_EQ(probe.to, AddrOf(1));
    rt_.now += rtt;
    Deliver(from, {MakeAck(PingSeq(probe), payload)});
    Fire(TimerKind::kProbeDeadline);
  }
  absl::Duration Rtt() { return swim_->Lookup(NameOf(1))->rtt; }
};

TEST_F(RttTest, DirectAcksAreSmoothedIntoTheMembersRtt) {
  EXPECT_EQ(Rtt(), absl::ZeroDuration()) << "unknown before a probe";
  ProbeAndAck(absl::Milliseconds(8), AddrOf(1));
  EXPECT_EQ(Rtt(), absl::Milliseconds(8));
  ProbeAndAck(absl::Milliseconds(16), AddrOf(1));
  EXPECT_EQ(Rtt(), absl::Milliseconds(9));
  // Members() says the same, and this member itself has none.
  for (const MemberInfo& m : swim_->Members()) {
    EXPECT_EQ(m.rtt,
              m.name == kSelf ? absl::ZeroDuration() : absl::Milliseconds(9))
        << m.name;
  }
  EXPECT_EQ(swim_->Self().rtt, absl::ZeroDuration());
}

TEST_F(RttTest, RelayedAcksAreNotTimedNorReported) {
  ProbeAndAck(absl::Milliseconds(8), AddrOf(1));
  app_.acks.clear();
  // The same seq, answered through a relay: two round trips, not one.
  ProbeAndAck(absl::Milliseconds(700), AddrOf(2));
  EXPECT_EQ(Rtt(), absl::Milliseconds(8));
  EXPECT_TRUE(app_.acks.empty());
  EXPECT_EQ(StateOf(NameOf(1)), MemberState::kAlive) << "an ack all the same";
}

TEST_F(RttTest, AForgottenMembersSlotStartsWithoutAnRtt) {
  ProbeAndAck(absl::Milliseconds(8), AddrOf(1));
  // m1 leaves and is forgotten after the retention; m2 may reuse its slot.
  Deliver(kStranger, {MakeDead(NameOf(1), 0, NameOf(1))});
  rt_.now += swim_->config().dead_retention + absl::Seconds(1);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(Fire(TimerKind::kProbe));
  ASSERT_FALSE(swim_->Lookup(NameOf(1)).has_value());
  AddMembers(2, 1);
  EXPECT_EQ(swim_->Lookup(NameOf(2))->rtt, absl::ZeroDuration());
}

// ---------------------------------------------------------------- payloads

TEST_F(RttTest, AcksCarryTheApplicationsPayload) {
  app_.ack_payload = "coords:1,2,3";
  const size_t mark = Mark();
  Deliver(AddrOf(1), {MakePing(77, kSelf, NameOf(1), "")});
  auto sent = SentSince(mark);
  ASSERT_EQ(sent.size(), 1u);
  const int ack = sent[0].IndexOf([](const auto& m) { return m.has_ack(); });
  ASSERT_GE(ack, 0);
  EXPECT_EQ(sent[0].messages[ack].ack().seq(), 77u);
  EXPECT_EQ(sent[0].messages[ack].ack().payload(), "coords:1,2,3");
}

TEST_F(RttTest, AnOversizedPayloadFromTheApplicationIsNotSent) {
  app_.ack_payload =
      std::string(swim_->config().limits.max_ack_payload_bytes + 1, 'x');
  const size_t mark = Mark();
  Deliver(AddrOf(1), {MakePing(77, kSelf, NameOf(1), "")});
  auto sent = SentSince(mark);
  ASSERT_EQ(sent.size(), 1u);
  const int ack = sent[0].IndexOf([](const auto& m) { return m.has_ack(); });
  ASSERT_GE(ack, 0) << "the ack goes all the same";
  EXPECT_TRUE(sent[0].messages[ack].ack().payload().empty());
  EXPECT_EQ(swim_->counters().ack_payloads_refused, 1u);
}

TEST_F(RttTest, TheProberReadsThePayloadWithTheRtt) {
  ProbeAndAck(absl::Milliseconds(5), AddrOf(1), "load=0.3");
  ASSERT_EQ(app_.acks.size(), 1u);
  EXPECT_EQ(app_.acks[0].from, NameOf(1));
  EXPECT_EQ(app_.acks[0].payload, "load=0.3");
  EXPECT_EQ(app_.acks[0].rtt, absl::Milliseconds(5));
  // Without a payload the RTT is still reported.
  ProbeAndAck(absl::Milliseconds(7), AddrOf(1));
  ASSERT_EQ(app_.acks.size(), 2u);
  EXPECT_EQ(app_.acks[1].payload, "");
  EXPECT_EQ(app_.acks[1].rtt, absl::Milliseconds(7));
}

TEST_F(RttTest, AnOversizedPayloadFromTheNetworkIsDroppedNotTheAck) {
  ProbeAndAck(
      absl::Milliseconds(5), AddrOf(1),
      std::string(swim_->config().limits.max_ack_payload_bytes + 1, 'x'));
  ASSERT_EQ(app_.acks.size(), 1u);
  EXPECT_EQ(app_.acks[0].payload, "");
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kTooLarge), 1u);
  EXPECT_EQ(Rtt(), absl::Milliseconds(5));
  EXPECT_EQ(swim_->counters().probe_failures, 0u);
}

// ---------------------------------------------------------------- self

TEST_F(SwimTest, ADeathOfSelfIsRefutedAndToldWithItsAccuser) {
  CreateAndStart();
  AddMembers(1, 3);
  Deliver(AddrOf(2), {MakeDead(kSelf, 0, NameOf(2))});
  EXPECT_EQ(swim_->Self().incarnation, 1u);
  EXPECT_EQ(swim_->Self().state, MemberState::kAlive);
  ASSERT_FALSE(app_.events.empty());
  const Event& told = app_.events.back().event;
  EXPECT_EQ(told.type, EventType::kSelfFailed);
  EXPECT_EQ(told.member.name, kSelf);
  EXPECT_EQ(told.accuser, NameOf(2));
  EXPECT_EQ(swim_->Self().last_change, EventType::kJoined)
      << "news about self is not a change of this member";
  // Stale news of the refuted incarnation says nothing new.
  const size_t events = app_.events.size();
  Deliver(AddrOf(3), {MakeDead(kSelf, 0, NameOf(3))});
  EXPECT_EQ(app_.events.size(), events);
}

TEST_F(SwimTest, ASuspicionOfSelfInAPeersTableHasNoAccuser) {
  CreateAndStart();
  wire::PushPull request;
  request.set_source(NameOf(1));
  *request.add_members() =
      Record(NameOf(1), AddrOf(1), 0, wire::MEMBER_STATE_ALIVE);
  *request.add_members() =
      Record(kSelf, kSelfAddr, 0, wire::MEMBER_STATE_SUSPECT);
  swim_->HandleStream(AddrOf(1), PushPullRequest(request));
  ASSERT_FALSE(app_.events.empty());
  const Event& told = app_.events.back().event;
  EXPECT_EQ(told.type, EventType::kSelfSuspected);
  EXPECT_EQ(told.accuser, "");
  EXPECT_EQ(swim_->counters().refutations, 1u);
}

TEST_F(SwimTest, SuspicionsAndDeathsOfOthersNameTheirAccuser) {
  CreateAndStart();
  AddMembers(1, 3);
  Deliver(AddrOf(2), {MakeSuspect(NameOf(1), 0, NameOf(2))});
  ASSERT_EQ(app_.events.back().event.type, EventType::kSuspected);
  EXPECT_EQ(app_.events.back().event.accuser, NameOf(2));
  Deliver(AddrOf(3), {MakeDead(NameOf(1), 0, NameOf(3))});
  ASSERT_EQ(app_.events.back().event.type, EventType::kFailed);
  EXPECT_EQ(app_.events.back().event.accuser, NameOf(3));
}

TEST_F(SwimTest, NoSelfEventsWhileLeaving) {
  CreateAndStart();
  AddMembers(1, 3);
  swim_->Leave();
  const size_t events = app_.events.size();
  Deliver(AddrOf(2), {MakeSuspect(kSelf, 0, NameOf(2))});
  EXPECT_EQ(app_.events.size(), events);
}

// ---------------------------------------------------------------- logs

TEST_F(SwimTest, DropsAreLoggedAtMostOncePerReasonEveryTenSeconds) {
  CreateAndStart();
  for (int i = 0; i < 5; ++i)
    Deliver(AddrOf(1), {MakePing(1, "someone-else", NameOf(1), "")});
  ASSERT_EQ(app_.logs.size(), 1u);
  EXPECT_EQ(app_.logs[0].first, LogLevel::kWarning);
  EXPECT_NE(app_.logs[0].second.find("dropped 1 input as wrong_target"),
            std::string::npos)
      << app_.logs[0].second;
  rt_.now += absl::Seconds(10);
  Deliver(AddrOf(1), {MakePing(1, "someone-else", NameOf(1), "")});
  ASSERT_EQ(app_.logs.size(), 2u);
  EXPECT_NE(
      app_.logs[1].second.find("dropped 5 inputs as wrong_target in the last"),
      std::string::npos)
      << app_.logs[1].second;
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kWrongTarget), 6u);
}

TEST_F(SwimTest, AFrameOfAnotherVersionIsLoggedAsARefusal) {
  CreateAndStart();
  std::string frame = Datagram({MakePing(1, kSelf, NameOf(1), "")});
  frame[0] = 2;
  swim_->HandlePacket(AddrOf(1), frame);
  EXPECT_TRUE(app_.Logged(LogLevel::kWarning, "bad_version"));
  EXPECT_TRUE(app_.Logged(LogLevel::kWarning, "frame version"));
}

TEST_F(SwimTest, TheFirstTcpProbeOfAMemberIsLoggedOnce) {
  CreateAndStart();
  AddMembers(1, 1);
  for (int round = 0; round < 3; ++round) {
    ProbeOnce();
    ASSERT_TRUE(Fire(TimerKind::kProbeTimeout));
    ASSERT_TRUE(Fire(TimerKind::kProbeDeadline));
  }
  ASSERT_EQ(swim_->counters().tcp_probes, 3u);
  int lines = 0;
  for (const auto& [level, line] : app_.logs)
    if (line.find("probing it over TCP") != std::string::npos) ++lines;
  EXPECT_EQ(lines, 1);
  EXPECT_TRUE(app_.Logged(LogLevel::kInfo, NameOf(1)));
}

// ---------------------------------------------------------------- joins

wire::PushPull SeedAnswer(const std::string& seed_name,
                          const std::string& seed_addr) {
  wire::PushPull answer;
  answer.set_join(true);
  answer.set_source(seed_name);
  *answer.add_members() =
      Record(seed_name, seed_addr, 0, wire::MEMBER_STATE_ALIVE);
  return answer;
}

TEST_F(SwimTest, AJoinIsDoneAtTheFirstSeedThatAnswers) {
  CreateAndStart();
  const std::string hung = "10.0.5.5:7946", quick = "10.0.5.6:7946";
  swim_->Join({hung, quick}, 7);
  ASSERT_EQ(rt_.syncs.size(), 2u);
  EXPECT_TRUE(app_.Logged(LogLevel::kInfo, "join: trying seed " + hung));
  swim_->HandleSyncResponse(quick, PushPullReply(SeedAnswer("quick", quick)));
  ASSERT_EQ(app_.joins.size(), 1u) << "waited for the hung seed";
  EXPECT_EQ(app_.joins[0].token, 7u);
  EXPECT_TRUE(app_.joins[0].status.ok()) << app_.joins[0].status;
  EXPECT_TRUE(app_.joins[0].failed.empty());
  EXPECT_TRUE(app_.Logged(LogLevel::kInfo, "seed " + quick + " answered"));
  // The hung seed's failure comes later: logged, not reported again.
  swim_->HandleSyncFailed(hung, absl::DeadlineExceededError("timed out"));
  EXPECT_EQ(app_.joins.size(), 1u);
  EXPECT_TRUE(
      app_.Logged(LogLevel::kWarning, "seed " + hung +
                                          " failed: timed out (after the "
                                          "join succeeded)"));
}

TEST_F(SwimTest, AJoinCanWaitForEverySeed) {
  Config config = BaseConfig();
  config.join_waits_for_all_seeds = true;
  CreateAndStart(config);
  const std::string hung = "10.0.5.5:7946", quick = "10.0.5.6:7946";
  swim_->Join({hung, quick}, 7);
  swim_->HandleSyncResponse(quick, PushPullReply(SeedAnswer("quick", quick)));
  EXPECT_TRUE(app_.joins.empty());
  swim_->HandleSyncFailed(hung, absl::DeadlineExceededError("timed out"));
  ASSERT_EQ(app_.joins.size(), 1u);
  EXPECT_TRUE(app_.joins[0].status.ok());
  ASSERT_EQ(app_.joins[0].failed.size(), 1u);
  EXPECT_EQ(app_.joins[0].failed[0], hung + " (timed out)");
}

// A conflict does not end a Join early: another seed may still answer,
// and if none does the conflict is the outcome, as before.
TEST_F(SwimTest, AConflictStillWaitsForTheOtherSeeds) {
  CreateAndStart();
  const std::string first = "10.0.5.5:7946", second = "10.0.5.6:7946";
  swim_->Join({first, second}, 1);
  wire::PushPull conflict = SeedAnswer("a", first);
  // Our name, live elsewhere, saying no life: a conflict.
  *conflict.add_members() =
      Record(kSelf, "10.0.9.9:7946", 4, wire::MEMBER_STATE_ALIVE);
  swim_->HandleSyncResponse(first, PushPullReply(conflict));
  EXPECT_TRUE(app_.joins.empty());
  EXPECT_TRUE(app_.Logged(LogLevel::kError, "is taken by a live member"));
  swim_->HandleSyncFailed(second, absl::UnavailableError("refused"));
  ASSERT_EQ(app_.joins.size(), 1u);
  EXPECT_TRUE(absl::IsAlreadyExists(app_.joins[0].status))
      << app_.joins[0].status;
  EXPECT_FALSE(swim_->Joined());
}

// A Join from inside OnJoinDone starts afresh while the first still has
// a seed in flight.
class RejoiningDelegate : public RecordingDelegate {
 public:
  using RecordingDelegate::RecordingDelegate;
  void OnJoinDone(const JoinResult& result) override {
    RecordingDelegate::OnJoinDone(result);
    if (swim != nullptr && result.token == 1) swim->Join({"10.0.5.7:7946"}, 2);
  }
  Swim* swim = nullptr;
};

TEST_F(SwimTest, AJoinCalledFromAnEarlyResultIsItsOwn) {
  ScriptedRuntime rt;
  RejoiningDelegate app(&rt);
  auto swim = Swim::Create(BaseConfig(), &rt, &app);
  ASSERT_TRUE(swim.ok());
  app.swim = swim->get();
  (*swim)->Start();
  const std::string hung = "10.0.5.5:7946", quick = "10.0.5.6:7946";
  (*swim)->Join({hung, quick}, 1);
  (*swim)->HandleSyncResponse(quick, PushPullReply(SeedAnswer("q", quick)));
  ASSERT_EQ(app.joins.size(), 1u);
  (*swim)->HandleSyncFailed(hung, absl::UnavailableError("refused"));
  EXPECT_EQ(app.joins.size(), 1u);
  (*swim)->HandleSyncFailed("10.0.5.7:7946", absl::UnavailableError("gone"));
  ASSERT_EQ(app.joins.size(), 2u);
  EXPECT_EQ(app.joins[1].token, 2u);
  // Each Join has its own outcome: this one's only seed failed.
  EXPECT_TRUE(absl::IsUnavailable(app.joins[1].status)) << app.joins[1].status;
}

}  // namespace
}  // namespace roster::test
