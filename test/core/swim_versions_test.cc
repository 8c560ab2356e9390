// Unit tests of one roster::Swim and protocol versions (doc/wire_format.md,
// "Versions and compatibility"): the range a member advertises in its alive
// news and push-pull records, and what it keeps of its peers' ranges.
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/wire/codec.h"
#include "core/wire/encode.h"
#include "core/wire/frame.h"
#include "core/wire/streams.h"
#include "core/wire/versions.h"
#include "gtest/gtest.h"
#include "proto/roster.pb.h"
#include "test/common/messages.h"
#include "test/core/swim_harness.h"

namespace roster::test {
namespace {

wire::Message VersionedAlive(const std::string& name, const std::string& addr,
                             uint64_t incarnation, uint32_t life, uint32_t min,
                             uint32_t max) {
  wire::Message m = MakeAlive(name, addr, incarnation);
  m.mutable_alive()->set_life(life);
  m.mutable_alive()->set_protocol_min(min);
  m.mutable_alive()->set_protocol_max(max);
  return m;
}

class SwimVersionsTest : public SwimTest {
 protected:
  // The alive news about `name` in what the member sent since `mark`.
  std::optional<wire::Alive> SentAliveOf(size_t mark, const std::string& name) {
    for (const Datagrams& d : SentSince(mark))
      for (const wire::Message& m : d.messages)
        if (IsAliveAbout(m, name)) return m.alive();
    return std::nullopt;
  }
};

TEST_F(SwimVersionsTest, AMemberAdvertisesTheRangeItSpeaks) {
  Config c = BaseConfig();
  EXPECT_EQ(c.protocol_max, core::kProtocolVersion);
  c.protocol_max = 3;
  CreateAndStart(c);
  EXPECT_EQ(swim_->Self().protocol_min, core::kMinProtocolVersion);
  EXPECT_EQ(swim_->Self().protocol_max, 3u);
  AddMembers(1, 1);
  const size_t mark = Mark();
  ProbeOnce();  // carries our queued alive
  const auto alive = SentAliveOf(mark, kSelf);
  ASSERT_TRUE(alive.has_value());
  EXPECT_EQ(alive->protocol_min(), core::kMinProtocolVersion);
  EXPECT_EQ(alive->protocol_max(), 3u);
}

TEST_F(SwimVersionsTest, ALifeKeepsItsRangeUntilANewLifeSaysAnother) {
  CreateAndStart();
  Deliver(kStranger, {VersionedAlive("peer", "10.0.2.1:7946", 1, 11, 1, 2)});
  ASSERT_TRUE(swim_->Lookup("peer").has_value());
  EXPECT_EQ(swim_->Lookup("peer")->protocol_min, 1u);
  EXPECT_EQ(swim_->Lookup("peer")->protocol_max, 2u);
  // News of the same life that does not say (relayed by an older build)
  // keeps what the life said, whether it is newer or not.
  Deliver(kStranger, {VersionedAlive("peer", "10.0.2.1:7946", 1, 11, 0, 0)});
  Deliver(kStranger, {VersionedAlive("peer", "10.0.2.1:7946", 2, 11, 0, 0)});
  EXPECT_EQ(swim_->Lookup("peer")->incarnation, 2u);
  EXPECT_EQ(swim_->Lookup("peer")->protocol_max, 2u);
  // A life held before its versions were heard learns them from the same
  // facts.
  Deliver(kStranger, {VersionedAlive("old", "10.0.2.2:7946", 0, 12, 0, 0)});
  EXPECT_EQ(swim_->Lookup("old")->protocol_max, 0u);
  Deliver(kStranger, {VersionedAlive("old", "10.0.2.2:7946", 0, 12, 1, 4)});
  EXPECT_EQ(swim_->Lookup("old")->protocol_max, 4u);
  // A new process may be another build (a rollback): it says for itself.
  Deliver("10.0.2.1:7946",
          {VersionedAlive("peer", "10.0.2.1:7946", 0, 13, 0, 0)});
  EXPECT_EQ(swim_->Lookup("peer")->life, 13u);
  EXPECT_EQ(swim_->Lookup("peer")->protocol_min, 0u);
  EXPECT_EQ(swim_->Lookup("peer")->protocol_max, 0u);
  // Beyond a byte, held at the top.
  Deliver(kStranger, {VersionedAlive("big", "10.0.2.3:7946", 0, 14, 1, 300)});
  EXPECT_EQ(swim_->Lookup("big")->protocol_max, core::kMaxProtocolVersion);
}

TEST_F(SwimVersionsTest, PushPullCarriesRanges) {
  Config c = BaseConfig();
  c.protocol_max = 2;
  CreateAndStart(c);
  Deliver(kStranger, {VersionedAlive("told", "10.0.2.4:7946", 0, 21, 1, 5)});
  wire::PushPull request;
  request.set_source("peer");
  wire::MemberRecord peer =
      Record("peer", "10.0.2.1:7946", 0, wire::MEMBER_STATE_ALIVE);
  peer.set_life(7);
  peer.set_protocol_min(1);
  peer.set_protocol_max(2);
  *request.add_members() = peer;
  const std::string answer =
      swim_->HandleStream("10.0.2.1:7946", PushPullRequest(request));
  ASSERT_FALSE(IsRefusal(answer));
  EXPECT_EQ(swim_->Lookup("peer")->protocol_max, 2u);

  std::string opened;
  auto frame = core::OpenStream(answer, "", 1 << 20, nullptr, &opened);
  ASSERT_TRUE(frame.ok()) << frame.error.message;
  auto state = core::DecodePushPull(frame.value.body, Limits{});
  ASSERT_TRUE(state.ok()) << state.error.message;
  std::set<std::string> names;
  for (const wire::MemberRecord& r : state.value.members()) {
    names.insert(r.name());
    if (r.name() == kSelf) {
      EXPECT_EQ(r.protocol_min(), 1u);
      EXPECT_EQ(r.protocol_max(), 2u);
    }
    if (r.name() == "told") {
      EXPECT_EQ(r.protocol_min(), 1u);
      EXPECT_EQ(r.protocol_max(), 5u);
    }
  }
  // The peer's own record came back exactly as we hold it: left out.
  EXPECT_EQ(names, (std::set<std::string>{kSelf, "told"}));
}

// A Packet.messages entry around a body of kind `kind`, written by hand:
// no encoder of this build writes a kind it does not know.
std::string RawEntry(int kind, std::string_view body) {
  std::string message(1, static_cast<char>((kind << 3) | 2));
  message += static_cast<char>(body.size());
  message += body;
  std::string entry("\x0a", 1);
  entry += static_cast<char>(message.size());
  return entry + message;
}

TEST_F(SwimVersionsTest, AnUnknownKindIsSkippedAndTheRestHandled) {
  CreateAndStart();
  const std::string alive =
      core::AliveEntry("peer", "10.0.2.1:7946", 3, "m", 31, 0, 1, 4);
  swim_->HandlePacket(
      kStranger, core::SealFrame(
                     RawEntry(core::kMaxMessageKind + 1, "later") + alive, ""));
  ASSERT_TRUE(swim_->Lookup("peer").has_value());
  EXPECT_EQ(swim_->Lookup("peer")->incarnation, 3u);
  EXPECT_EQ(swim_->Lookup("peer")->protocol_max, 4u);
  EXPECT_EQ(swim_->counters().unknown_kinds_skipped, 1u);
  EXPECT_EQ(swim_->counters().total_drops(), 0u);
  // After the known one too, and in a datagram protobuf reads (a future
  // kind past a one-byte tag).
  const std::string again =
      core::AliveEntry("peer", "10.0.2.1:7946", 4, "m", 31, 0, 1, 4);
  std::string far("\x0a\x04\xa2\x06\x01z", 6);  // kind 100
  swim_->HandlePacket(kStranger, core::SealFrame(again + far, ""));
  EXPECT_EQ(swim_->Lookup("peer")->incarnation, 4u);
  EXPECT_EQ(swim_->counters().unknown_kinds_skipped, 2u);
  EXPECT_EQ(swim_->counters().total_drops(), 0u);
  // A malformed entry still costs the whole datagram: kind 0, an empty
  // Message, a future kind written as a number.
  for (const std::string& bad :
       {std::string("\x0a\x02\x02\x00", 4), std::string("\x0a\x00", 2),
        std::string("\x0a\x02\x60\x01", 4)}) {
    const std::string alive5 =
        core::AliveEntry("peer", "10.0.2.1:7946", 5, "m", 31, 0, 1, 4);
    swim_->HandlePacket(kStranger, core::SealFrame(bad + alive5, ""));
    EXPECT_EQ(swim_->Lookup("peer")->incarnation, 4u);
  }
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kMalformed), 3u);
  EXPECT_EQ(swim_->counters().unknown_kinds_skipped, 2u);
}

TEST_F(SwimVersionsTest, AHelloGoesOnceALifeToMembersThatSpeakVersion2) {
  Config c = BaseConfig();
  c.protocol_max = 2;
  CreateAndStart(c);
  Deliver(kStranger, {VersionedAlive("new", "10.0.2.1:7946", 0, 41, 1, 2),
                      VersionedAlive("old", "10.0.2.2:7946", 0, 42, 1, 1),
                      VersionedAlive("older", "10.0.2.3:7946", 0, 43, 0, 0)});
  auto hellos = [&](size_t mark) {
    std::vector<std::string> to;
    for (const Datagrams& d : SentSince(mark))
      for (const wire::Message& m : d.messages)
        if (m.has_hello()) to.push_back(d.to);
    return to;
  };
  // Two rounds of probes: every member pinged twice.
  size_t mark = Mark();
  for (int i = 0; i < 3; ++i) ProbeOnce();
  EXPECT_EQ(hellos(mark), std::vector<std::string>{"10.0.2.1:7946"});
  mark = Mark();
  for (int i = 0; i < 3; ++i) ProbeOnce();
  EXPECT_TRUE(hellos(mark).empty());
  // A new life hears one again.
  Deliver("10.0.2.1:7946",
          {VersionedAlive("new", "10.0.2.1:7946", 0, 44, 1, 2)});
  mark = Mark();
  for (int i = 0; i < 3; ++i) ProbeOnce();
  EXPECT_EQ(hellos(mark), std::vector<std::string>{"10.0.2.1:7946"});
}

TEST_F(SwimVersionsTest, AMemberOfVersion1SendsNoHelloAndSkipsOne) {
  Config c = BaseConfig();
  c.protocol_max = 1;  // an older build
  CreateAndStart(c);
  Deliver(kStranger, {VersionedAlive("new", "10.0.2.1:7946", 0, 41, 1, 2)});
  const size_t mark = Mark();
  for (int i = 0; i < 2; ++i) ProbeOnce();
  for (const Datagrams& d : SentSince(mark))
    for (const wire::Message& m : d.messages) EXPECT_FALSE(m.has_hello());
  Deliver("10.0.2.1:7946",
          {MakeHello("new"), MakeAlive("other", "10.0.2.5:1", 2)});
  EXPECT_EQ(swim_->counters().unknown_kinds_skipped, 1u);
  EXPECT_EQ(swim_->counters().hellos_received, 0u);
  EXPECT_TRUE(swim_->Lookup("other").has_value());
  EXPECT_EQ(swim_->counters().total_drops(), 0u);
}

TEST_F(SwimVersionsTest, AMemberOfVersion2CountsAHello) {
  Config c = BaseConfig();
  c.protocol_max = 2;
  CreateAndStart(c);
  Deliver("10.0.2.1:7946", {MakeHello("new")});
  EXPECT_EQ(swim_->counters().hellos_received, 1u);
  EXPECT_EQ(swim_->counters().unknown_kinds_skipped, 0u);
}

}  // namespace
}  // namespace roster::test
