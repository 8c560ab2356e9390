// Unit tests for lib/core/awareness.h: Lifeguard's local health multiplier.
#include "core/awareness.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace roster::core {
namespace {

TEST(AwarenessTest, StartsHealthy) {
  Awareness a(8);
  EXPECT_EQ(a.score(), 0);
  EXPECT_EQ(a.Scale(absl::Seconds(1)), absl::Seconds(1));
}

TEST(AwarenessTest, DeltasMoveTheScoreUpAndDown) {
  Awareness a(8);
  a.ApplyDelta(1);
  EXPECT_EQ(a.score(), 1);
  a.ApplyDelta(1);
  a.ApplyDelta(1);
  EXPECT_EQ(a.score(), 3);
  a.ApplyDelta(-1);
  EXPECT_EQ(a.score(), 2);
  a.ApplyDelta(2);
  EXPECT_EQ(a.score(), 4);
  a.ApplyDelta(-3);
  EXPECT_EQ(a.score(), 1);
  a.ApplyDelta(0);
  EXPECT_EQ(a.score(), 1);
}

TEST(AwarenessTest, ClampsAtMaxMinusOne) {
  Awareness a(8);
  for (int i = 0; i < 20; ++i) a.ApplyDelta(1);
  EXPECT_EQ(a.score(), 7);
  a.ApplyDelta(100);
  EXPECT_EQ(a.score(), 7);
  // Clamping does not accumulate hidden debt: one step down leaves the top.
  a.ApplyDelta(-1);
  EXPECT_EQ(a.score(), 6);
}

TEST(AwarenessTest, ClampsAtZero) {
  Awareness a(8);
  a.ApplyDelta(-1);
  EXPECT_EQ(a.score(), 0);
  a.ApplyDelta(-100);
  EXPECT_EQ(a.score(), 0);
  // No hidden credit either: one step up from the floor is 1.
  a.ApplyDelta(1);
  EXPECT_EQ(a.score(), 1);
}

TEST(AwarenessTest, LargeJumpsClampBothWays) {
  Awareness a(5);
  a.ApplyDelta(3);
  EXPECT_EQ(a.score(), 3);
  a.ApplyDelta(3);
  EXPECT_EQ(a.score(), 4);
  a.ApplyDelta(-10);
  EXPECT_EQ(a.score(), 0);
}

TEST(AwarenessTest, MaxMultiplierOneNeverRaisesTheScore) {
  Awareness a(1);
  a.ApplyDelta(1);
  EXPECT_EQ(a.score(), 0);
  a.ApplyDelta(5);
  EXPECT_EQ(a.score(), 0);
  EXPECT_EQ(a.Scale(absl::Milliseconds(500)), absl::Milliseconds(500));
}

TEST(AwarenessTest, ScaleMultipliesByScorePlusOne) {
  Awareness a(8);
  const absl::Duration interval = absl::Milliseconds(500);
  for (int expected_score = 0; expected_score < 8; ++expected_score) {
    ASSERT_EQ(a.score(), expected_score);
    EXPECT_EQ(a.Scale(interval), absl::Milliseconds(500 * (expected_score + 1)))
        << "score " << expected_score;
    a.ApplyDelta(1);
  }
  // Saturated at 7: the largest multiplier is max_multiplier, i.e. 8.
  EXPECT_EQ(a.Scale(interval), absl::Seconds(4));
  EXPECT_EQ(a.Scale(absl::Seconds(1)), absl::Seconds(8));
}

TEST(AwarenessTest, ScaleOfZeroIsZero) {
  Awareness a(8);
  a.ApplyDelta(5);
  EXPECT_EQ(a.Scale(absl::ZeroDuration()), absl::ZeroDuration());
}

TEST(AwarenessTest, ScaleKeepsSubMillisecondPrecision) {
  Awareness a(8);
  a.ApplyDelta(2);
  EXPECT_EQ(a.Scale(absl::Microseconds(333)), absl::Microseconds(999));
}

}  // namespace
}  // namespace roster::core
