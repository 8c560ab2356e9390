// One roster::Swim's failure detection: answering pings, the probe round,
// indirect probes through relays and their nacks, and Lifeguard's suspicion
// timeouts (the harness is test/core/swim_harness.h).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
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

// ---------------------------------------------------------------- pings

TEST_F(SwimTest, PingForUsIsAckedWithTheSameSeq) {
  CreateAndStart();
  const size_t mark = Mark();
  Deliver(AddrOf(1), {MakePing(4242, kSelf, NameOf(1), AddrOf(1))});
  auto sent = SentSince(mark);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, AddrOf(1));
  const int ack = sent[0].IndexOf([](const auto& m) { return m.has_ack(); });
  ASSERT_GE(ack, 0);
  EXPECT_EQ(sent[0].messages[ack].ack().seq(), 4242u);
  EXPECT_EQ(swim_->counters().packets_received, 1u);
  EXPECT_EQ(swim_->counters().packets_sent, 1u);
  EXPECT_EQ(swim_->counters().bytes_sent, rt_.sent[0].bytes.size());
  EXPECT_EQ(swim_->counters().total_drops(), 0u);
}

TEST_F(SwimTest, PingForAnotherNameIsDroppedAndCounted) {
  CreateAndStart();
  const size_t mark = Mark();
  Deliver(AddrOf(1), {MakePing(7, "somebody-else", NameOf(1), AddrOf(1))});
  EXPECT_EQ(Mark(), mark) << "answered a ping meant for another member";
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kWrongTarget), 1u);
}

// ---------------------------------------------------------------- probing

TEST_F(SwimTest, ProbeTimerPingsAMember) {
  CreateAndStart();
  AddMembers(1, 4);
  Datagrams d = ProbeOnce();
  const int i = d.IndexOf([](const auto& m) { return m.has_ping(); });
  ASSERT_GE(i, 0);
  const wire::Ping& ping = d.messages[i].ping();
  EXPECT_EQ(d.to, swim_->Lookup(ping.target())->addr);
  EXPECT_NE(ping.target(), kSelf);
  EXPECT_EQ(ping.source(), kSelf);
  EXPECT_EQ(ping.source_addr(), "") << "answered at the datagram's source";
  EXPECT_EQ(swim_->counters().probes, 1u);

  const auto* timeout = LastTimer(TimerKind::kProbeTimeout);
  const auto* deadline = LastTimer(TimerKind::kProbeDeadline);
  ASSERT_NE(timeout, nullptr);
  ASSERT_NE(deadline, nullptr);
  EXPECT_EQ(timeout->delay, swim_->config().probe_timeout);
  EXPECT_EQ(timeout->timer.token, ping.seq());
  EXPECT_EQ(deadline->delay, swim_->config().probe_interval);
  EXPECT_EQ(deadline->timer.token, ping.seq());
}

TEST_F(SwimTest, ProbesWalkEveryMemberOncePerPass) {
  CreateAndStart();
  const int others = 9;
  AddMembers(1, others);
  std::vector<std::string> order;
  for (int i = 0; i < 3 * others; ++i) {
    Datagrams d = ProbeOnce();
    order.push_back(PingTarget(d));
    Deliver(d.to, {MakeAck(PingSeq(d))});
  }
  std::vector<std::string> everyone;
  for (int i = 1; i <= others; ++i) everyone.push_back(NameOf(i));
  for (int pass = 0; pass < 3; ++pass) {
    std::vector<std::string> seen(order.begin() + pass * others,
                                  order.begin() + (pass + 1) * others);
    std::sort(seen.begin(), seen.end());
    std::vector<std::string> want = everyone;
    std::sort(want.begin(), want.end());
    EXPECT_EQ(seen, want) << "pass " << pass;
  }
  // Reshuffled between passes.
  EXPECT_NE(std::vector<std::string>(order.begin(), order.begin() + others),
            std::vector<std::string>(order.begin() + others,
                                     order.begin() + 2 * others));
  EXPECT_EQ(swim_->HealthScore(), 0);
  EXPECT_EQ(swim_->counters().probe_failures, 0u);
}

class ProbeFailureTest : public SwimTest,
                         public ::testing::WithParamInterface<bool> {};

TEST_P(ProbeFailureTest, UnansweredProbeGoesIndirectThenSuspects) {
  const bool lifeguard = GetParam();
  Config c = BaseConfig();
  c.lifeguard = lifeguard;
  CreateAndStart(c);
  AddMembers(1, 8);
  Datagrams probe = ProbeOnce();
  const uint32_t seq = PingSeq(probe);
  const std::string target = PingTarget(probe);

  size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kProbeTimeout));
  auto sent = SentSince(mark);
  ASSERT_EQ(static_cast<int>(sent.size()), c.indirect_checks);
  std::vector<std::string> relays;
  for (const auto& d : sent) {
    const int i =
        d.IndexOf([](const auto& m) { return m.has_indirect_ping(); });
    ASSERT_GE(i, 0) << d.to;
    const wire::IndirectPing& ip = d.messages[i].indirect_ping();
    EXPECT_EQ(ip.seq(), seq);
    EXPECT_EQ(ip.target(), target);
    EXPECT_EQ(ip.target_addr(), probe.to);
    EXPECT_EQ(ip.source(), kSelf);
    EXPECT_EQ(ip.source_addr(), kSelfAddr);
    EXPECT_EQ(ip.want_nack(), lifeguard);
    EXPECT_NE(d.to, probe.to) << "asked the target to probe itself";
    EXPECT_NE(d.to, kSelfAddr);
    relays.push_back(d.to);
  }
  std::sort(relays.begin(), relays.end());
  EXPECT_EQ(std::unique(relays.begin(), relays.end()), relays.end())
      << "the same relay asked twice";
  EXPECT_EQ(swim_->counters().indirect_probes,
            static_cast<uint64_t>(c.indirect_checks));
  EXPECT_EQ(StateOf(target), MemberState::kAlive);

  ASSERT_TRUE(Fire(TimerKind::kProbeDeadline));
  EXPECT_EQ(StateOf(target), MemberState::kSuspect);
  EXPECT_EQ(swim_->counters().probe_failures, 1u);
  EXPECT_EQ(swim_->counters().suspicions, 1u);
  ASSERT_FALSE(app_.events.empty());
  EXPECT_EQ(app_.events.back().event.type, EventType::kSuspected);
  EXPECT_EQ(app_.events.back().event.member.name, target);
  // Lifeguard: every relay that did not even nack counts against us.
  EXPECT_EQ(swim_->HealthScore(), lifeguard ? c.indirect_checks : 0);

  // And the suspicion is gossiped, from us.
  mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  const int i =
      sent[0].IndexOf([&](const auto& m) { return IsSuspectAbout(m, target); });
  ASSERT_GE(i, 0);
  EXPECT_EQ(sent[0].messages[i].suspect().from(), kSelf);
}

INSTANTIATE_TEST_SUITE_P(Lifeguard, ProbeFailureTest, ::testing::Bool(),
                         [](const auto& info) {
                           return info.param ? "On" : "Off";
                         });

TEST_F(SwimTest, NacksFromRelaysSpareTheHealthScore) {
  CreateAndStart();
  AddMembers(1, 8);
  Datagrams probe = ProbeOnce();
  const uint32_t seq = PingSeq(probe);
  size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kProbeTimeout));
  auto relays = SentSince(mark);
  ASSERT_EQ(relays.size(), 3u);
  // Two of three relays nack: only the silent one counts against us.
  Deliver(relays[0].to, {MakeNack(seq)});
  Deliver(relays[1].to, {MakeNack(seq)});
  EXPECT_EQ(swim_->counters().nacks_received, 2u);
  ASSERT_TRUE(Fire(TimerKind::kProbeDeadline));
  EXPECT_EQ(StateOf(PingTarget(probe)), MemberState::kSuspect);
  EXPECT_EQ(swim_->HealthScore(), 1);

  // A nack for no probe in flight is counted as such.
  Deliver(relays[2].to, {MakeNack(seq)});
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kUnknownAck), 1u);
}

TEST_F(SwimTest, AckBeforeTimeoutKeepsMemberAliveAndLowersTheScore) {
  CreateAndStart();
  AddMembers(1, 4);
  // Two refutations make us less sure of ourselves first.
  Deliver(AddrOf(1), {MakeSuspect(kSelf, 0, NameOf(1))});
  Deliver(AddrOf(1), {MakeSuspect(kSelf, 1, NameOf(1))});
  ASSERT_EQ(swim_->HealthScore(), 2);

  Datagrams probe = ProbeOnce();
  // Lifeguard scales the probe timeout by 1 + score.
  EXPECT_EQ(LastTimer(TimerKind::kProbeTimeout)->delay,
            swim_->config().probe_timeout * 3);
  EXPECT_EQ(LastTimer(TimerKind::kProbe)->delay,
            swim_->config().probe_interval * 3);

  rt_.now += absl::Milliseconds(20);
  Deliver(probe.to, {MakeAck(PingSeq(probe))});
  EXPECT_EQ(swim_->HealthScore(), 1);
  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kProbeTimeout));
  EXPECT_EQ(Mark(), mark) << "went indirect after an ack";
  ASSERT_TRUE(Fire(TimerKind::kProbeDeadline));
  EXPECT_EQ(StateOf(PingTarget(probe)), MemberState::kAlive);
  EXPECT_EQ(swim_->counters().probe_failures, 0u);
  EXPECT_EQ(swim_->counters().suspicions, 0u);
  // A second copy of the ack does nothing more.
  Deliver(probe.to, {MakeAck(PingSeq(probe))});
  EXPECT_EQ(swim_->HealthScore(), 1);
}

TEST_F(SwimTest, ProbeOfASuspectCarriesTheSuspicion) {
  CreateAndStart();
  AddMembers(1, 1);
  Deliver(kStranger, {MakeSuspect(NameOf(1), 0, "m9")});
  ASSERT_EQ(StateOf(NameOf(1)), MemberState::kSuspect);
  Datagrams probe = ProbeOnce();
  EXPECT_EQ(probe.to, AddrOf(1));
  const int suspect =
      probe.IndexOf([](const auto& m) { return IsSuspectAbout(m, "m1"); });
  const int ping = probe.IndexOf([](const auto& m) { return m.has_ping(); });
  ASSERT_GE(suspect, 0) << "buddy system: the suspect is not told";
  ASSERT_GE(ping, 0);
  EXPECT_LT(suspect, ping);
  EXPECT_EQ(probe.messages[suspect].suspect().incarnation(), 0u);
}

TEST_F(SwimTest, WithoutLifeguardProbeOfASuspectStartsWithThePing) {
  Config c = BaseConfig();
  c.lifeguard = false;
  CreateAndStart(c);
  AddMembers(1, 1);
  Deliver(kStranger, {MakeSuspect(NameOf(1), 0, "m9")});
  Datagrams probe = ProbeOnce();
  ASSERT_FALSE(probe.messages.empty());
  EXPECT_TRUE(probe.messages[0].has_ping());
}

// ---------------------------------------------------------------- relaying

TEST_F(SwimTest, RelaysIndirectPingAndForwardsTheAck) {
  CreateAndStart();
  size_t mark = Mark();
  Deliver(AddrOf(1), {MakeIndirectPing(9001, NameOf(2), AddrOf(2), NameOf(1),
                                       AddrOf(1), true)});
  auto sent = SentSince(mark);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, AddrOf(2));
  const int i = sent[0].IndexOf([](const auto& m) { return m.has_ping(); });
  ASSERT_GE(i, 0);
  const wire::Ping ping = sent[0].messages[i].ping();
  EXPECT_EQ(ping.target(), NameOf(2));
  EXPECT_EQ(ping.source(), kSelf);
  EXPECT_EQ(ping.source_addr(), "");
  EXPECT_NE(ping.seq(), 9001u) << "relayed with the requester's seq";

  mark = Mark();
  Deliver(AddrOf(2), {MakeAck(ping.seq())});
  sent = SentSince(mark);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, AddrOf(1));
  EXPECT_TRUE(sent[0].Has(
      [](const auto& m) { return m.has_ack() && m.ack().seq() == 9001; }));

  // Answered: no nack later, and a second ack is unknown.
  mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kRelayNack));
  EXPECT_EQ(Mark(), mark);
  Deliver(AddrOf(2), {MakeAck(ping.seq())});
  EXPECT_EQ(Mark(), mark);
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kUnknownAck), 1u);
}

TEST_F(SwimTest, RelayNacksWhenTheTargetIsSilent) {
  CreateAndStart();
  size_t mark = Mark();
  Deliver(AddrOf(1), {MakeIndirectPing(77, NameOf(2), AddrOf(2), NameOf(1),
                                       AddrOf(1), true)});
  auto relayed = SentSince(mark);
  ASSERT_EQ(relayed.size(), 1u);
  const uint32_t relay_seq = PingSeq(relayed[0]);
  const auto* nack_timer = LastTimer(TimerKind::kRelayNack);
  ASSERT_NE(nack_timer, nullptr);
  // Early enough to reach the requester before its own probe deadline.
  EXPECT_LT(nack_timer->delay, swim_->config().probe_timeout);
  mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kRelayNack));
  auto sent = SentSince(mark);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, AddrOf(1));
  EXPECT_TRUE(sent[0].Has(
      [](const auto& m) { return m.has_nack() && m.nack().seq() == 77; }));
  EXPECT_FALSE(sent[0].Has([](const auto& m) { return m.has_ack(); }));

  // After the relay expires, a late ack is not forwarded.
  ASSERT_TRUE(Fire(TimerKind::kRelayExpire));
  mark = Mark();
  Deliver(AddrOf(2), {MakeAck(relay_seq)});
  EXPECT_EQ(Mark(), mark);
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kUnknownAck), 1u);
}

TEST_F(SwimTest, RelayWithoutWantNackStaysQuiet) {
  CreateAndStart();
  Deliver(AddrOf(1), {MakeIndirectPing(78, NameOf(2), AddrOf(2), NameOf(1),
                                       AddrOf(1), false)});
  const size_t mark = Mark();
  while (Fire(TimerKind::kRelayNack)) {
  }
  EXPECT_EQ(Mark(), mark);
}

// ---------------------------------------------------------------- suspicion

// What DESIGN.md says the suspicion timeout is, computed independently.
absl::Duration DesignFloor(int mult, size_t n, absl::Duration interval) {
  const double scale = std::max(1.0, std::log10(static_cast<double>(n)));
  return absl::Milliseconds(
      std::floor(mult * scale * absl::ToDoubleMilliseconds(interval)));
}
// Lifeguard: from max with no confirmations down to min at `expected`.
absl::Duration DesignTimeout(int confirmations, int expected,
                             absl::Duration min, absl::Duration max) {
  const double frac = std::log(confirmations + 1.0) / std::log(expected + 1.0);
  const double ms = absl::ToDoubleMilliseconds(max) -
                    frac * absl::ToDoubleMilliseconds(max - min);
  return std::max(min, absl::Milliseconds(std::floor(ms)));
}

class SuspicionTimeoutTest : public SwimTest {
 protected:
  static constexpr int kMembers = 20;  // self and m1..m19

  void SetUpCluster(bool lifeguard) {
    Config c = BaseConfig();
    c.lifeguard = lifeguard;
    CreateAndStart(c);
    AddMembers(1, kMembers - 1);
    ASSERT_EQ(swim_->NumAlive(), static_cast<size_t>(kMembers));
    floor_ = DesignFloor(c.suspicion_mult, kMembers, c.probe_interval);
    ceiling_ = floor_ * c.suspicion_max_timeout_mult;
    expected_ = c.suspicion_mult - 2;
    t0_ = rt_.now;
  }
  // Runs suspicion timers until the victim is declared dead; returns how
  // long after t0_ that happened.
  absl::Duration TimeToFailure(const std::string& victim) {
    RunUntil(t0_ + ceiling_ + absl::Seconds(10), {TimerKind::kSuspicion});
    for (const auto& e : app_.events) {
      if (e.event.type == EventType::kFailed && e.event.member.name == victim)
        return e.at - t0_;
    }
    ADD_FAILURE() << victim << " never failed";
    return absl::InfiniteDuration();
  }

  absl::Duration floor_, ceiling_;
  int expected_ = 0;
  absl::Time t0_;
};

TEST_F(SuspicionTimeoutTest, LifeguardWithoutConfirmationsWaitsTheMaximum) {
  SetUpCluster(true);
  ASSERT_EQ(floor_, absl::Milliseconds(5204));  // 4 * log10(20) s
  Deliver(AddrOf(2), {MakeSuspect(NameOf(1), 0, NameOf(2))});
  ASSERT_EQ(StateOf(NameOf(1)), MemberState::kSuspect);
  // The suspicion's own originator repeating itself does not confirm it.
  rt_.now += absl::Seconds(1);
  Deliver(AddrOf(2), {MakeSuspect(NameOf(1), 0, NameOf(2))});

  RunUntil(t0_ + ceiling_ - absl::Milliseconds(1), {TimerKind::kSuspicion});
  EXPECT_EQ(StateOf(NameOf(1)), MemberState::kSuspect)
      << "declared dead before the maximum timeout";
  EXPECT_EQ(TimeToFailure(NameOf(1)), ceiling_);
  EXPECT_EQ(StateOf(NameOf(1)), MemberState::kDead);
  EXPECT_EQ(swim_->counters().deaths, 1u);
}

TEST_F(SuspicionTimeoutTest, LifeguardOneConfirmationShortensTheTimeout) {
  SetUpCluster(true);
  Deliver(AddrOf(2), {MakeSuspect(NameOf(1), 0, NameOf(2))});
  rt_.now += absl::Seconds(1);
  Deliver(AddrOf(3), {MakeSuspect(NameOf(1), 0, NameOf(3))});
  // The same confirmer twice counts once.
  rt_.now += absl::Seconds(1);
  Deliver(AddrOf(3), {MakeSuspect(NameOf(1), 0, NameOf(3))});

  const absl::Duration want = DesignTimeout(1, expected_, floor_, ceiling_);
  ASSERT_LT(want, ceiling_);
  ASSERT_GT(want, floor_);
  EXPECT_EQ(TimeToFailure(NameOf(1)), want);
  EXPECT_EQ(swim_->counters().deaths, 1u);
  int failed = 0;
  for (const auto& e : app_.events)
    failed += e.event.type == EventType::kFailed;
  EXPECT_EQ(failed, 1);
}

TEST_F(SuspicionTimeoutTest, LifeguardEnoughConfirmationsReachTheFloor) {
  SetUpCluster(true);
  ASSERT_EQ(expected_, 2);
  Deliver(AddrOf(2), {MakeSuspect(NameOf(1), 0, NameOf(2))});
  rt_.now += absl::Seconds(1);
  Deliver(AddrOf(3), {MakeSuspect(NameOf(1), 0, NameOf(3))});

  // Each new confirmation is gossiped on.
  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  const int i =
      sent[0].IndexOf([](const auto& m) { return IsSuspectAbout(m, "m1"); });
  ASSERT_GE(i, 0);
  EXPECT_EQ(sent[0].messages[i].suspect().from(), NameOf(3));

  rt_.now = t0_ + absl::Seconds(2);
  Deliver(AddrOf(4), {MakeSuspect(NameOf(1), 0, NameOf(4))});
  // Past the expected count, more confirmations change nothing.
  Deliver(AddrOf(5), {MakeSuspect(NameOf(1), 0, NameOf(5))});
  EXPECT_EQ(TimeToFailure(NameOf(1)), floor_);
}

TEST_F(SuspicionTimeoutTest, WithoutLifeguardTheTimeoutIsTheFloor) {
  SetUpCluster(false);
  Deliver(AddrOf(2), {MakeSuspect(NameOf(1), 0, NameOf(2))});
  rt_.now += absl::Seconds(1);
  Deliver(AddrOf(3), {MakeSuspect(NameOf(1), 0, NameOf(3))});
  RunUntil(t0_ + floor_ - absl::Milliseconds(1), {TimerKind::kSuspicion});
  EXPECT_EQ(StateOf(NameOf(1)), MemberState::kSuspect);
  EXPECT_EQ(TimeToFailure(NameOf(1)), floor_);
}

TEST_F(SuspicionTimeoutTest, RefutedSuspicionNeverFires) {
  SetUpCluster(true);
  Deliver(AddrOf(2), {MakeSuspect(NameOf(1), 0, NameOf(2))});
  rt_.now += absl::Seconds(1);
  Deliver(AddrOf(1), {MakeAlive(NameOf(1), AddrOf(1), 1)});
  ASSERT_EQ(StateOf(NameOf(1)), MemberState::kAlive);
  RunUntil(t0_ + ceiling_ + absl::Seconds(10), {TimerKind::kSuspicion});
  EXPECT_EQ(StateOf(NameOf(1)), MemberState::kAlive);
  EXPECT_EQ(swim_->counters().deaths, 0u);
}

}  // namespace
}  // namespace roster::test
