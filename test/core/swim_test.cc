// Unit tests of one roster::Swim driven by a scripted Runtime (the harness
// is test/core/swim_harness.h): creating and starting a member, its
// metadata, and leaving. The other protocol ideas have their own files in
// the same binary: swim_probe_test.cc (pings, probes, relays, suspicion
// timeouts), swim_gossip_test.cc (news, refutation, broadcasts),
// swim_sync_test.cc (push-pull and joining) and swim_limits_test.cc
// (hostile input, labels, the table's and the packet's limits).
#include "roster/swim.h"

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/timers.h"
#include "gtest/gtest.h"
#include "test/common/messages.h"
#include "test/core/swim_harness.h"

namespace roster::test {
namespace {

// ---------------------------------------------------------------- lifecycle

TEST_F(SwimTest, CreateRejectsInvalidConfigs) {
  auto expect_invalid = [&](Config c, const char* what) {
    auto swim = Swim::Create(std::move(c), &rt_, &app_);
    EXPECT_FALSE(swim.ok()) << what;
    if (!swim.ok()) {
      EXPECT_EQ(swim.status().code(), absl::StatusCode::kInvalidArgument)
          << what;
    }
  };
  Config c = BaseConfig();
  c.probe_timeout = c.probe_interval + absl::Milliseconds(1);
  expect_invalid(c, "probe_timeout > probe_interval");
  c = BaseConfig();
  c.name = "";
  expect_invalid(c, "empty name");
  c = BaseConfig();
  c.advertise_addr = "";
  expect_invalid(c, "empty address");
  c = BaseConfig();
  c.packet_budget = 100;
  expect_invalid(c, "tiny packet budget");
  c = BaseConfig();
  c.meta = std::string(c.limits.max_meta_bytes + 1, 'm');
  expect_invalid(c, "oversize meta");
  c = BaseConfig();
  c.label = std::string(256, 'l');
  expect_invalid(c, "oversize label");

  auto no_runtime = Swim::Create(BaseConfig(), nullptr, &app_);
  EXPECT_FALSE(no_runtime.ok());

  // A valid one does nothing until Start().
  auto ok = Swim::Create(BaseConfig(), &rt_, nullptr);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(rt_.sent.empty());
  EXPECT_TRUE(rt_.timers.empty());
  EXPECT_EQ((*ok)->Self().name, kSelf);
  EXPECT_EQ((*ok)->Self().state, MemberState::kAlive);
  EXPECT_EQ((*ok)->Members().size(), 1u);
}

TEST_F(SwimTest, StartSchedulesProtocolTimersOnce) {
  Create();
  // Timers before Start() are ignored.
  swim_->HandleTimer(core::MakeTimer(TimerKind::kProbe));
  EXPECT_TRUE(rt_.timers.empty());

  swim_->Start();
  const auto* probe = LastTimer(TimerKind::kProbe);
  const auto* gossip = LastTimer(TimerKind::kGossip);
  const auto* push_pull = LastTimer(TimerKind::kPushPull);
  ASSERT_NE(probe, nullptr);
  ASSERT_NE(gossip, nullptr);
  ASSERT_NE(push_pull, nullptr);
  EXPECT_GE(probe->delay, absl::ZeroDuration());
  EXPECT_LT(probe->delay, swim_->config().probe_interval);
  EXPECT_GE(gossip->delay, absl::ZeroDuration());
  EXPECT_LT(gossip->delay, swim_->config().gossip_interval);
  EXPECT_GE(push_pull->delay, swim_->config().push_pull_interval);
  EXPECT_EQ(CountTimers(TimerKind::kProbe), 1);
  EXPECT_EQ(CountTimers(TimerKind::kGossip), 1);

  const size_t timers = rt_.timers.size();
  swim_->Start();
  EXPECT_EQ(rt_.timers.size(), timers) << "a second Start() re-armed timers";

  // The timers re-arm themselves.
  ASSERT_TRUE(Fire(TimerKind::kProbe));
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  EXPECT_EQ(CountTimers(TimerKind::kProbe), 2);
  EXPECT_EQ(CountTimers(TimerKind::kGossip), 2);
  EXPECT_EQ(LastTimer(TimerKind::kProbe)->delay,
            swim_->config().probe_interval);
  EXPECT_EQ(LastTimer(TimerKind::kGossip)->delay,
            swim_->config().gossip_interval);
  // Alone: nobody to probe or gossip to.
  EXPECT_TRUE(rt_.sent.empty());
  EXPECT_EQ(swim_->counters().probes, 0u);
}

// ---------------------------------------------------------------- metadata

TEST_F(SwimTest, SetMetaRaisesIncarnationAndGossipsIt) {
  Config c = BaseConfig();
  c.meta = "v1";
  CreateAndStart(c);
  AddMembers(1, 2);
  ASSERT_TRUE(swim_->SetMeta("v2").ok());
  EXPECT_EQ(swim_->Self().meta, "v2");
  EXPECT_EQ(swim_->Self().incarnation, 1u);

  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  for (const auto& d : sent) {
    const int i =
        d.IndexOf([](const auto& m) { return IsAliveAbout(m, kSelf); });
    ASSERT_GE(i, 0);
    EXPECT_EQ(d.messages[i].alive().meta(), "v2");
    EXPECT_EQ(d.messages[i].alive().incarnation(), 1u);
  }

  const auto status =
      swim_->SetMeta(std::string(c.limits.max_meta_bytes + 1, 'x'));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(swim_->Self().meta, "v2");
  EXPECT_EQ(swim_->Self().incarnation, 1u);
  EXPECT_TRUE(swim_->SetMeta(std::string(c.limits.max_meta_bytes, 'x')).ok());
}

// Metadata whose news would not fit in one datagram is refused: it could
// spread only through push-pull, seconds instead of milliseconds.
TEST_F(SwimTest, MetadataThatCannotBeGossipedIsRefused) {
  Config c = BaseConfig();
  c.limits.max_meta_bytes = 4096;
  CreateAndStart(c);
  const auto status = swim_->SetMeta(std::string(c.packet_budget, 'm'));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find("packet budget"), absl::string_view::npos)
      << status;
  EXPECT_EQ(swim_->Self().incarnation, 0u);
  EXPECT_TRUE(swim_->Self().meta.empty());
  // What fits goes out.
  EXPECT_TRUE(swim_->SetMeta(std::string(c.packet_budget / 2, 'm')).ok());
}

// ---------------------------------------------------------------- leaving

TEST_F(SwimTest, LeaveCompletesAfterTheTransmitLimitAndStopsProbing) {
  CreateAndStart();
  AddMembers(1, 3);
  EXPECT_FALSE(swim_->LeaveComplete()) << "complete before leaving";
  swim_->Leave();
  EXPECT_EQ(swim_->Self().state, MemberState::kLeft);
  EXPECT_FALSE(swim_->LeaveComplete());
  const int limit = TransmitLimit(3);
  ASSERT_EQ(limit, 8) << "the floor of 2 * (gossip_nodes + 1)";

  const size_t mark = Mark();
  // The probe timer armed at Start() fires, and neither probes nor re-arms.
  const int probe_timers = CountTimers(TimerKind::kProbe);
  ASSERT_TRUE(Fire(TimerKind::kProbe));
  EXPECT_EQ(CountTimers(TimerKind::kProbe), probe_timers);
  int sent_dead = 0;
  for (int tick = 0; tick < 20 && !swim_->LeaveComplete(); ++tick) {
    const size_t before = Mark();
    ASSERT_TRUE(Fire(TimerKind::kGossip));
    for (const auto& d : SentSince(before)) {
      sent_dead += d.Count([](const auto& m) {
        return IsDeadAbout(m, kSelf) && m.dead().from() == kSelf;
      });
    }
    EXPECT_LE(sent_dead, limit);
    EXPECT_EQ(swim_->LeaveComplete(), sent_dead >= limit)
        << "after " << sent_dead << " transmissions";
  }
  EXPECT_TRUE(swim_->LeaveComplete());
  EXPECT_EQ(sent_dead, limit);
  for (const auto& d : SentSince(mark)) {
    EXPECT_FALSE(d.Has([](const auto& m) { return m.has_ping(); }))
        << "probed after leaving";
  }
  EXPECT_EQ(swim_->counters().probes, 0u);

  // Our own leave echoing back is not refuted.
  Deliver(AddrOf(1), {MakeDead(kSelf, 0, kSelf)});
  EXPECT_EQ(swim_->Self().state, MemberState::kLeft);
  EXPECT_EQ(swim_->counters().refutations, 0u);
}

TEST_F(SwimTest, LeaveOfALoneMemberIsCompleteAtOnce) {
  CreateAndStart();
  swim_->Leave();
  EXPECT_TRUE(swim_->LeaveComplete());
}

}  // namespace
}  // namespace roster::test
