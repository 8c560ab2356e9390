// Network coordinates in one member: its acks carry its coordinate, and
// the direct acks of its probes move it and show the target's.
#include <cmath>
#include <limits>
#include <string>

#include "absl/time/time.h"
#include "core/coordinate.h"
#include "core/wire/coordinate.h"
#include "gtest/gtest.h"
#include "roster/swim.h"
#include "test/core/swim_harness.h"

namespace roster::test {
namespace {

Coordinate Somewhere() {
  Coordinate c;
  c.vec[0] = 0.012;
  c.vec[3] = -0.004;
  c.error = 0.25;
  c.height = 0.0005;
  return c;
}

class CoordinatesTest : public SwimTest {
 protected:
  void Start(bool coordinates = true) {
    Config config = BaseConfig();
    config.coordinates = coordinates;
    CreateAndStart(config);
    AddMembers(1, 1);
  }
  // Probes m1 and acks it `rtt` later from `from`, with `coordinate`.
  void ProbeAndAck(const std::string& coordinate,
                   const std::string& from = "") {
    Datagrams probe = ProbeOnce();
    ASSERT_EQ(probe.to, AddrOf(1));
    rt_.now += absl::Milliseconds(30);
    Deliver(from.empty() ? AddrOf(1) : from,
            {MakeAck(PingSeq(probe), "", coordinate)});
    Fire(TimerKind::kProbeDeadline);
  }
  std::optional<Coordinate> Of(int i) {
    return swim_->Lookup(NameOf(i))->coordinate;
  }
  // The coordinate in the ack this member sends to a ping.
  std::string AckedCoordinate() {
    const size_t mark = Mark();
    Deliver(AddrOf(1), {MakePing(77, kSelf, NameOf(1), "")});
    auto sent = SentSince(mark);
    EXPECT_EQ(sent.size(), 1u);
    if (sent.empty()) return "?";
    const int ack = sent[0].IndexOf([](const auto& m) { return m.has_ack(); });
    EXPECT_GE(ack, 0);
    return ack < 0 ? "?" : sent[0].messages[ack].ack().coordinate();
  }
};

TEST_F(CoordinatesTest, AcksCarryThisMembersCoordinate) {
  Start();
  // Fresh: known to itself from the start, and sent as it is.
  ASSERT_TRUE(swim_->Self().coordinate.has_value());
  EXPECT_EQ(*swim_->Self().coordinate, core::FreshCoordinate());
  EXPECT_EQ(AckedCoordinate(), core::EncodeCoordinate(core::FreshCoordinate()));
  EXPECT_FALSE(Of(1).has_value()) << "none before m1 answers a probe";
}

TEST_F(CoordinatesTest, ADirectAckMovesOursAndShowsTheTargets) {
  Start();
  ProbeAndAck(core::EncodeCoordinate(Somewhere()));
  ASSERT_TRUE(Of(1).has_value());
  Coordinate read;
  core::DecodeCoordinate(core::EncodeCoordinate(Somewhere()), &read);
  EXPECT_EQ(*Of(1), read);
  const Coordinate self = *swim_->Self().coordinate;
  EXPECT_NE(self, core::FreshCoordinate());
  EXPECT_LT(self.error, 1.5);
  // Members() shows the same, and the next ack carries the moved one.
  for (const MemberInfo& m : swim_->Members()) {
    ASSERT_TRUE(m.coordinate.has_value()) << m.name;
    EXPECT_EQ(*m.coordinate, m.name == kSelf ? self : read);
  }
  EXPECT_EQ(AckedCoordinate(), core::EncodeCoordinate(self));
  // The estimate between us is finite and in the range of the sample.
  const absl::Duration estimate = EstimateRtt(self, *Of(1));
  EXPECT_GT(estimate, absl::ZeroDuration());
  EXPECT_LT(estimate, absl::Milliseconds(100));
}

TEST_F(CoordinatesTest, RelayedAcksAreNotSamples) {
  Start();
  ProbeAndAck(core::EncodeCoordinate(Somewhere()), AddrOf(2));
  EXPECT_FALSE(Of(1).has_value());
  EXPECT_EQ(*swim_->Self().coordinate, core::FreshCoordinate());
}

TEST_F(CoordinatesTest, BadCoordinatesAreCountedAndChangeNothing) {
  Start();
  Coordinate nan = Somewhere();
  nan.vec[5] = std::numeric_limits<double>::quiet_NaN();
  Coordinate far = Somewhere();
  far.height = 1e30;
  const std::string bad[] = {
      core::EncodeCoordinate(nan),
      core::EncodeCoordinate(far),
      core::EncodeCoordinate(Somewhere()).substr(0, 45),
      std::string("\x01\x07", 2) + std::string(44, '\0'),
  };
  for (const std::string& bytes : bad) ProbeAndAck(bytes);
  EXPECT_EQ(swim_->counters().coordinates_refused, 4u);
  // A later layout is a newer build's, not an attack: ignored uncounted.
  std::string later = core::EncodeCoordinate(Somewhere());
  later[0] = 2;
  ProbeAndAck(later);
  ProbeAndAck("");  // an older build
  EXPECT_EQ(swim_->counters().coordinates_refused, 4u);
  EXPECT_FALSE(Of(1).has_value());
  EXPECT_EQ(*swim_->Self().coordinate, core::FreshCoordinate());
  // The acks themselves counted: m1 is alive, with its RTT.
  EXPECT_EQ(swim_->Lookup(NameOf(1))->rtt, absl::Milliseconds(30));
}

TEST_F(CoordinatesTest, OffNeitherSentNorLearnt) {
  Start(/*coordinates=*/false);
  EXPECT_FALSE(swim_->Self().coordinate.has_value());
  EXPECT_EQ(AckedCoordinate(), "");
  ProbeAndAck(core::EncodeCoordinate(Somewhere()));
  EXPECT_FALSE(Of(1).has_value());
  EXPECT_EQ(swim_->counters().coordinates_refused, 0u);
}

TEST_F(CoordinatesTest, AForgottenMembersCoordinateGoesWithIt) {
  Start();
  ProbeAndAck(core::EncodeCoordinate(Somewhere()));
  ASSERT_TRUE(Of(1).has_value());
  Deliver(kStranger, {MakeDead(NameOf(1), 0, NameOf(1))});
  rt_.now += swim_->config().dead_retention + absl::Seconds(1);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(Fire(TimerKind::kProbe));
  ASSERT_FALSE(swim_->Lookup(NameOf(1)).has_value());
  AddMembers(2, 1);  // may reuse m1's slot
  EXPECT_FALSE(Of(2).has_value());
}

}  // namespace
}  // namespace roster::test
