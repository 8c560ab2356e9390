// Unit tests for lib/core/suspicion.h: Lifeguard's dynamic suspicion timeout.
#include "core/suspicion.h"

#include <cmath>
#include <cstddef>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace roster::core {
namespace {

// ---------------------------------------------------------------------------
// SuspicionFloor: SuspicionMult * max(1, log10(n)) * ProbeInterval.

struct FloorCase {
  size_t n;
  int64_t expected_ms;  // computed by hand for mult 4, interval 1 s
};

TEST(SuspicionFloorTest, LanValuesMatchDesignFormula) {
  // log10(1) = 0, log10(5) ~ 0.70 and log10(10) = 1 all use the minimum
  // scale of 1; then 2, 3 and 4 for 100, 1000 and 10000.
  const FloorCase cases[] = {
      {1, 4000},   {5, 4000},     {10, 4000},
      {100, 8000}, {1000, 12000}, {10000, 16000},
  };
  for (const FloorCase& c : cases) {
    EXPECT_EQ(SuspicionFloor(4, c.n, absl::Seconds(1)),
              absl::Milliseconds(c.expected_ms))
        << "n = " << c.n;
  }
}

TEST(SuspicionFloorTest, NonPowersOfTenFollowTheLogarithm) {
  // Independent computation of the formula, allowing the documented
  // millisecond truncation.
  for (size_t n : {2, 11, 20, 50, 99, 101, 250, 999, 5000, 12345}) {
    const double scale = std::max(1.0, std::log10(static_cast<double>(n)));
    const double expected_ms = 4.0 * scale * 1000.0;
    const double got_ms =
        absl::ToDoubleMilliseconds(SuspicionFloor(4, n, absl::Seconds(1)));
    EXPECT_LE(got_ms, expected_ms + 1e-6) << "n = " << n;
    EXPECT_GT(got_ms, expected_ms - 1.0) << "n = " << n;
  }
}

TEST(SuspicionFloorTest, ScalesWithMultAndInterval) {
  // WAN: mult 6, interval 5 s.
  EXPECT_EQ(SuspicionFloor(6, 3, absl::Seconds(5)), absl::Seconds(30));
  EXPECT_EQ(SuspicionFloor(6, 100, absl::Seconds(5)), absl::Seconds(60));
  // Local: mult 3, interval 1 s.
  EXPECT_EQ(SuspicionFloor(3, 1000, absl::Seconds(1)), absl::Seconds(9));
  // Sub-second interval.
  EXPECT_EQ(SuspicionFloor(4, 100, absl::Milliseconds(250)), absl::Seconds(2));
}

TEST(SuspicionFloorTest, NonDecreasingInClusterSize) {
  absl::Duration prev = absl::ZeroDuration();
  for (size_t n = 1; n <= 20000; n = n * 3 / 2 + 1) {
    absl::Duration f = SuspicionFloor(4, n, absl::Seconds(1));
    EXPECT_GE(f, prev) << "n = " << n;
    EXPECT_GE(f, absl::Seconds(4)) << "n = " << n;
    prev = f;
  }
}

TEST(SuspicionFloorTest, EmptyClusterUsesMinimumScale) {
  EXPECT_EQ(SuspicionFloor(4, 0, absl::Seconds(1)), absl::Seconds(4));
}

// ---------------------------------------------------------------------------
// SuspicionTimeout: max - (max - min) * log(c + 1) / log(k + 1).

TEST(SuspicionTimeoutTest, NoConfirmationsGivesMax) {
  EXPECT_EQ(SuspicionTimeout(0, 2, absl::Seconds(4), absl::Seconds(24)),
            absl::Seconds(24));
  EXPECT_EQ(SuspicionTimeout(0, 5, absl::Seconds(1), absl::Seconds(6)),
            absl::Seconds(6));
}

TEST(SuspicionTimeoutTest, AllExpectedConfirmationsGiveMin) {
  for (int k = 1; k <= 10; ++k) {
    EXPECT_EQ(SuspicionTimeout(k, k, absl::Seconds(4), absl::Seconds(24)),
              absl::Seconds(4))
        << "k = " << k;
  }
}

TEST(SuspicionTimeoutTest, HandComputedValue) {
  // min 4 s, max 24 s, k 2, c 1:
  //   24000 - 20000 * ln 2 / ln 3 = 24000 - 12618.595... = 11381.40... ms
  EXPECT_EQ(SuspicionTimeout(1, 2, absl::Seconds(4), absl::Seconds(24)),
            absl::Milliseconds(11381));
  // Same, computed independently from the formula, truncated to ms.
  const double raw = 24000.0 - 20000.0 * std::log(2.0) / std::log(3.0);
  EXPECT_EQ(SuspicionTimeout(1, 2, absl::Seconds(4), absl::Seconds(24)),
            absl::Milliseconds(static_cast<int64_t>(std::floor(raw))));
}

TEST(SuspicionTimeoutTest, MoreHandComputedValues) {
  // min 1 s, max 6 s, k 3: c 1 -> 6000 - 5000 * ln2/ln4 = 6000 - 2500.
  EXPECT_EQ(SuspicionTimeout(1, 3, absl::Seconds(1), absl::Seconds(6)),
            absl::Milliseconds(3500));
  // c 2 -> 6000 - 5000 * ln3/ln4 = 6000 - 3962.406... = 2037.59... ms.
  EXPECT_EQ(SuspicionTimeout(2, 3, absl::Seconds(1), absl::Seconds(6)),
            absl::Milliseconds(2037));
  // k 1: no intermediate value, c 1 is already the floor.
  EXPECT_EQ(SuspicionTimeout(1, 1, absl::Seconds(1), absl::Seconds(6)),
            absl::Seconds(1));
}

TEST(SuspicionTimeoutTest, MonotoneNonIncreasingAndNeverBelowMin) {
  const absl::Duration min = absl::Milliseconds(4000);
  const absl::Duration max = absl::Milliseconds(24000);
  for (int k = 1; k <= 12; ++k) {
    absl::Duration prev = absl::InfiniteDuration();
    for (int c = 0; c <= k + 5; ++c) {
      absl::Duration t = SuspicionTimeout(c, k, min, max);
      EXPECT_LE(t, prev) << "k = " << k << " c = " << c;
      EXPECT_GE(t, min) << "k = " << k << " c = " << c;
      EXPECT_LE(t, max) << "k = " << k << " c = " << c;
      if (c > 0 && c < k) {
        // Strictly between the bounds while confirmations still count.
        EXPECT_LT(t, max) << "k = " << k << " c = " << c;
        EXPECT_GT(t, min) << "k = " << k << " c = " << c;
      }
      prev = t;
    }
  }
}

TEST(SuspicionTimeoutTest, ExtraConfirmationsStayAtMin) {
  EXPECT_EQ(SuspicionTimeout(3, 2, absl::Seconds(4), absl::Seconds(24)),
            absl::Seconds(4));
  EXPECT_EQ(SuspicionTimeout(100, 2, absl::Seconds(4), absl::Seconds(24)),
            absl::Seconds(4));
}

TEST(SuspicionTimeoutTest, NoExpectedConfirmationsGivesMin) {
  EXPECT_EQ(SuspicionTimeout(0, 0, absl::Seconds(4), absl::Seconds(24)),
            absl::Seconds(4));
  EXPECT_EQ(SuspicionTimeout(0, -1, absl::Seconds(4), absl::Seconds(24)),
            absl::Seconds(4));
  EXPECT_EQ(SuspicionTimeout(5, 0, absl::Seconds(4), absl::Seconds(24)),
            absl::Seconds(4));
}

TEST(SuspicionTimeoutTest, TruncatesToMilliseconds) {
  // min 0, max 1000.9 ms at c 0 is max itself, truncated.
  const absl::Duration t =
      SuspicionTimeout(0, 2, absl::ZeroDuration(), absl::Microseconds(1000900));
  EXPECT_EQ(t, absl::Milliseconds(1000));
  // Every result is a whole number of milliseconds.
  for (int c = 0; c <= 4; ++c) {
    absl::Duration d =
        SuspicionTimeout(c, 4, absl::Milliseconds(1234), absl::Seconds(17));
    EXPECT_EQ(d, absl::Milliseconds(absl::ToInt64Milliseconds(d)))
        << "c = " << c;
  }
}

TEST(SuspicionTimeoutTest, LanProfileNumbers) {
  // LAN, 100 members: floor 8 s, ceiling 6 * floor, k = 4 - 2 = 2.
  const absl::Duration min = SuspicionFloor(4, 100, absl::Seconds(1));
  const absl::Duration max = 6 * min;
  ASSERT_EQ(min, absl::Seconds(8));
  EXPECT_EQ(SuspicionTimeout(0, 2, min, max), absl::Seconds(48));
  // 48000 - 40000 * ln2/ln3 = 48000 - 25237.19 = 22762.8 ms.
  EXPECT_EQ(SuspicionTimeout(1, 2, min, max), absl::Milliseconds(22762));
  EXPECT_EQ(SuspicionTimeout(2, 2, min, max), absl::Seconds(8));
}

// ---------------------------------------------------------------------------
// Suspicion.

const absl::Time kStart = absl::FromUnixSeconds(1000);

TEST(SuspicionTest, StartsWithoutConfirmationsAtMax) {
  Suspicion s("origin", 3, absl::Seconds(4), absl::Seconds(24), kStart);
  EXPECT_EQ(s.confirmations(), 0);
  EXPECT_EQ(s.expected(), 3);
  EXPECT_EQ(s.Deadline(), kStart + absl::Seconds(24));
}

TEST(SuspicionTest, OriginDoesNotCount) {
  Suspicion s("origin", 3, absl::Seconds(4), absl::Seconds(24), kStart);
  EXPECT_FALSE(s.Confirm("origin"));
  EXPECT_EQ(s.confirmations(), 0);
  EXPECT_EQ(s.Deadline(), kStart + absl::Seconds(24));
  EXPECT_TRUE(s.Confirm("a"));
  EXPECT_FALSE(s.Confirm("origin"));
  EXPECT_EQ(s.confirmations(), 1);
}

TEST(SuspicionTest, DuplicatesDoNotCount) {
  Suspicion s("origin", 3, absl::Seconds(4), absl::Seconds(24), kStart);
  EXPECT_TRUE(s.Confirm("a"));
  const absl::Time after_one = s.Deadline();
  EXPECT_FALSE(s.Confirm("a"));
  EXPECT_FALSE(s.Confirm("a"));
  EXPECT_EQ(s.confirmations(), 1);
  EXPECT_EQ(s.Deadline(), after_one);
  EXPECT_TRUE(s.Confirm("b"));
  EXPECT_FALSE(s.Confirm("a"));
  EXPECT_FALSE(s.Confirm("b"));
  EXPECT_EQ(s.confirmations(), 2);
}

TEST(SuspicionTest, NamesAreComparedExactly) {
  Suspicion s("node", 3, absl::Seconds(4), absl::Seconds(24), kStart);
  // Prefixes and extensions of the origin's name are different members.
  EXPECT_TRUE(s.Confirm("node1"));
  EXPECT_TRUE(s.Confirm("nod"));
  EXPECT_EQ(s.confirmations(), 2);
}

TEST(SuspicionTest, AtMostExpectedConfirmationsCount) {
  Suspicion s("origin", 2, absl::Seconds(4), absl::Seconds(24), kStart);
  EXPECT_TRUE(s.Confirm("a"));
  EXPECT_TRUE(s.Confirm("b"));
  EXPECT_EQ(s.Deadline(), kStart + absl::Seconds(4));
  EXPECT_FALSE(s.Confirm("c"));
  EXPECT_FALSE(s.Confirm("d"));
  EXPECT_EQ(s.confirmations(), 2);
  EXPECT_EQ(s.Deadline(), kStart + absl::Seconds(4));
}

TEST(SuspicionTest, ZeroExpectedNeverConfirmsAndUsesMin) {
  Suspicion s("origin", 0, absl::Seconds(4), absl::Seconds(24), kStart);
  EXPECT_FALSE(s.Confirm("a"));
  EXPECT_EQ(s.confirmations(), 0);
  EXPECT_EQ(s.Deadline(), kStart + absl::Seconds(4));
}

TEST(SuspicionTest, DeadlineShrinksWithEachConfirmation) {
  const int k = 5;
  Suspicion s("origin", k, absl::Seconds(4), absl::Seconds(24), kStart);
  absl::Time prev = s.Deadline();
  EXPECT_EQ(prev, kStart + absl::Seconds(24));
  for (int i = 0; i < k; ++i) {
    ASSERT_TRUE(s.Confirm("member-" + std::to_string(i)));
    const absl::Time d = s.Deadline();
    EXPECT_LT(d, prev) << "after " << (i + 1) << " confirmations";
    EXPECT_GE(d, kStart + absl::Seconds(4));
    EXPECT_EQ(d, kStart + SuspicionTimeout(i + 1, k, absl::Seconds(4),
                                           absl::Seconds(24)));
    prev = d;
  }
  EXPECT_EQ(prev, kStart + absl::Seconds(4));
}

TEST(SuspicionTest, HandComputedDeadline) {
  Suspicion s("origin", 2, absl::Seconds(4), absl::Seconds(24), kStart);
  ASSERT_TRUE(s.Confirm("a"));
  EXPECT_EQ(s.Deadline(), kStart + absl::Milliseconds(11381));
}

}  // namespace
}  // namespace roster::core
