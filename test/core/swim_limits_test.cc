// One roster::Swim under hostile or oversized input: garbage datagrams,
// another cluster's label, address conflicts, a full member table, the
// packet budget and broadcasts too large for it (the harness is
// test/core/swim_harness.h).
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/timers.h"
#include "core/wire/codec.h"
#include "core/wire/frame.h"
#include "gtest/gtest.h"
#include "proto/roster.pb.h"
#include "roster/swim.h"
#include "test/common/messages.h"
#include "test/core/swim_harness.h"

namespace roster::test {
namespace {

// ---------------------------------------------------------------- garbage

TEST_F(SwimTest, GarbageIsCountedAndDroppedWithoutEffect) {
  CreateAndStart();
  AddMembers(1, 2);
  const auto before = swim_->Members();
  const uint64_t drops_before = swim_->counters().total_drops();
  const size_t mark = Mark();

  std::string good = Datagram({MakeAlive("intruder", "10.6.6.6:1", 9)});
  std::string bad_crc = good;
  bad_crc.back() ^= 0x40;
  std::string bad_version = good;
  bad_version[0] = 7;
  std::string truncated = good.substr(0, 4);
  // A sound frame around bytes that are not a Packet.
  std::string bad_payload = core::SealFrame("\xff\xff\xff\xff\x0f", "");
  // A sound packet whose Alive has no name.
  std::string no_name = Datagram({MakeAlive("", "10.6.6.6:1", 9)});
  const std::vector<std::string> junk = {
      "",          "x",       "garbage bytes, not a frame",
      bad_crc,     truncated, bad_version,
      bad_payload, no_name,   std::string(70000, '\x01')};
  for (const std::string& bytes : junk) swim_->HandlePacket(AddrOf(1), bytes);

  const Counters& c = swim_->counters();
  EXPECT_EQ(c.total_drops() - drops_before, junk.size());
  EXPECT_EQ(c.drops_of(DropReason::kBadChecksum), 1u);
  EXPECT_EQ(c.drops_of(DropReason::kBadVersion), 2u);  // "garbage", 7
  EXPECT_EQ(c.drops_of(DropReason::kTooLarge), 1u);
  EXPECT_EQ(Mark(), mark) << "answered garbage";
  const auto after = swim_->Members();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].name, before[i].name);
    EXPECT_EQ(after[i].state, before[i].state);
    EXPECT_EQ(after[i].incarnation, before[i].incarnation);
  }
  EXPECT_FALSE(swim_->Lookup("intruder").has_value());
}

TEST_F(SwimTest, LabelledMemberDropsOtherClustersTraffic) {
  Config c = BaseConfig();
  c.label = "alpha";
  CreateAndStart(c);
  const size_t mark = Mark();
  const auto ping = MakePing(11, kSelf, NameOf(1), AddrOf(1));
  swim_->HandlePacket(AddrOf(1), Datagram({ping}, "beta"));
  swim_->HandlePacket(AddrOf(1), Datagram({ping}, ""));
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kWrongLabel), 2u);
  EXPECT_EQ(Mark(), mark);

  swim_->HandlePacket(AddrOf(1), Datagram({ping}, "alpha"));
  ASSERT_EQ(Mark(), mark + 1);
  // Our answer carries our label.
  auto opened = core::OpenFrame(rt_.sent.back().bytes, "alpha", 65507);
  EXPECT_TRUE(opened.ok()) << opened.error.message;
  auto unlabelled = core::OpenFrame(rt_.sent.back().bytes, "", 65507);
  EXPECT_FALSE(unlabelled.ok());
  EXPECT_EQ(unlabelled.error.reason, DropReason::kWrongLabel);

  // Streams too.
  wire::PushPull pp;
  pp.set_source(NameOf(1));
  *pp.add_members() = Record(NameOf(1), AddrOf(1), 0, wire::MEMBER_STATE_ALIVE);
  std::string answer =
      swim_->HandleStream(AddrOf(1), PushPullRequest(pp, "beta"));
  EXPECT_TRUE(IsRefusal(answer));
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kWrongLabel), 3u);
  EXPECT_FALSE(swim_->Lookup(NameOf(1)).has_value());
}

// ---------------------------------------------------------------- the table

TEST_F(SwimTest, AliveFromAnotherAddressForALiveMemberIsAConflict) {
  CreateAndStart();
  AddMembers(1, 1);
  Deliver(kStranger, {MakeAlive(NameOf(1), "10.7.7.7:7946", 5)});
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kAddressConflict), 1u);
  EXPECT_EQ(swim_->Lookup(NameOf(1))->addr, AddrOf(1));
  EXPECT_EQ(swim_->Lookup(NameOf(1))->incarnation, 0u);
}

TEST_F(SwimTest, TableFullDropsNewMembers) {
  Config c = BaseConfig();
  c.limits.max_members = 3;
  CreateAndStart(c);
  AddMembers(1, 4);
  EXPECT_EQ(swim_->Members().size(), 3u);
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kTableFull), 2u);
}

// ---------------------------------------------------------------- budget

struct BudgetCase {
  std::string label;
  size_t budget;
};
void PrintTo(const BudgetCase& c, std::ostream* os) {
  *os << "label of " << c.label.size() << " bytes, budget " << c.budget;
}

class PacketBudgetTest : public SwimTest,
                         public ::testing::WithParamInterface<BudgetCase> {};

TEST_P(PacketBudgetTest, EveryDatagramFitsAndPingsStillGoOut) {
  Config c = BaseConfig();
  c.label = GetParam().label;
  c.packet_budget = GetParam().budget;
  CreateAndStart(c);
  AddMembers(1, 300);
  // The biggest piece of news queued.
  const size_t largest_entry =
      core::EncodeMessageEntry(MakeAlive(NameOf(300), AddrOf(300), 0)).size();

  const size_t mark = Mark();
  Datagrams probe = ProbeOnce();
  EXPECT_TRUE(probe.Has([](const auto& m) { return m.has_ping(); }));
  Deliver(AddrOf(5), {MakePing(31337, kSelf, NameOf(5), AddrOf(5))});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Fire(TimerKind::kGossip));

  auto sent = SentSince(mark);
  ASSERT_GE(sent.size(), 10u);
  bool acked = false;
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_LE(sent[i].size, c.packet_budget) << "datagram " << i;
    // Filled: no room was left for another piece of news.
    EXPECT_GT(sent[i].size + largest_entry, c.packet_budget)
        << "datagram " << i;
    EXPECT_GT(sent[i].messages.size(), 5u);
    acked |= sent[i].Has(
        [](const auto& m) { return m.has_ack() && m.ack().seq() == 31337; });
  }
  EXPECT_TRUE(acked) << "the ack was crowded out";
}

INSTANTIATE_TEST_SUITE_P(
    Budgets, PacketBudgetTest,
    ::testing::Values(BudgetCase{"", 1400}, BudgetCase{"", 512},
                      BudgetCase{std::string(200, 'L'), 1400},
                      BudgetCase{"prod-eu-west", 600}),
    [](const auto& info) {
      return absl::StrCat(info.param.label.empty() ? "NoLabel" : "Label",
                          info.param.label.size(), "Budget", info.param.budget);
    });

// ---------------------------------------------------------------- broadcasts

TEST_F(SwimTest, BroadcastTooLargeForTheBudgetIsRefused) {
  CreateAndStart();
  AddMembers(1, 1);
  EXPECT_EQ(swim_->Broadcast(std::string(1400, 'b')).code(),
            absl::StatusCode::kInvalidArgument);
  // The largest accepted payload still fits in one datagram.
  size_t largest = 1400;
  while (largest > 0 && !swim_->Broadcast(std::string(largest, 'b')).ok())
    --largest;
  ASSERT_GT(largest, 1300u);
  // It goes out whole, within the budget (once the small membership news
  // queued here has been sent: see LargeBroadcastIsNotStarved...).
  const size_t mark = Mark();
  for (int tick = 0; tick < 10; ++tick) ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  bool carried = false;
  for (const auto& d : sent) {
    EXPECT_LE(d.size, swim_->config().packet_budget);
    carried |= d.Has([&](const auto& m) {
      return m.has_user() && m.user().payload().size() == largest;
    });
  }
  EXPECT_TRUE(carried);
}

}  // namespace
}  // namespace roster::test
