// Unit tests for lib/core/coordinate.h (Vivaldi as Serf computes it) and
// its wire layout (lib/core/wire/coordinate.h).
#include "core/coordinate.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/wire/coordinate.h"
#include "gtest/gtest.h"
#include "roster/coordinate.h"
#include "test/common/split_mix.h"
#include "test/core/wire_samples.h"

namespace roster::core {
namespace {

// A generator for the clients' one random choice, and one for the test's
// own (which peer, which sample).
struct Draws {
  std::mt19937_64 gen;
  uint64_t calls = 0;
  explicit Draws(uint64_t seed) : gen(seed) {}
  uint64_t operator()() {
    ++calls;
    return gen();
  }
};

// RTTs of a structured network: `regions` regions of `per_region`
// members; 2 ms within a region, a fixed 30 to 150 ms between two.
struct Matrix {
  int n;
  std::vector<double> rtt_s;  // n * n
  double At(int a, int b) const { return rtt_s[a * n + b]; }
};

Matrix Regions(int regions, int per_region, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<double> between(regions * regions, 0);
  for (int a = 0; a < regions; ++a) {
    for (int b = a + 1; b < regions; ++b) {
      between[a * regions + b] = between[b * regions + a] =
          0.030 + 0.120 * (gen() % 1000) / 1000.0;
    }
  }
  Matrix m{regions * per_region, {}};
  m.rtt_s.assign(m.n * m.n, 0);
  for (int a = 0; a < m.n; ++a) {
    for (int b = 0; b < m.n; ++b) {
      if (a == b) continue;
      m.rtt_s[a * m.n + b] =
          0.002 + between[(a % regions) * regions + (b % regions)];
    }
  }
  return m;
}

// Each round, every member samples one random peer.
void Simulate(std::vector<CoordinateClient>& clients, const Matrix& m,
              int rounds, uint64_t seed, Draws& draws) {
  std::mt19937_64 pick(seed);
  for (int r = 0; r < rounds; ++r) {
    for (int a = 0; a < m.n; ++a) {
      int b = static_cast<int>(pick() % (m.n - 1));
      if (b >= a) ++b;
      const Coordinate theirs = clients[b].coordinate();
      ASSERT_EQ(clients[a].Update(test::NodeName(b), theirs,
                                  absl::Seconds(m.At(a, b)), std::ref(draws)),
                CoordinateClient::Outcome::kApplied);
    }
  }
}

double MedianRelativeError(const std::vector<CoordinateClient>& clients,
                           const Matrix& m) {
  std::vector<double> errors;
  for (int a = 0; a < m.n; ++a) {
    for (int b = a + 1; b < m.n; ++b) {
      const double estimate = absl::ToDoubleSeconds(
          EstimateRtt(clients[a].coordinate(), clients[b].coordinate()));
      errors.push_back(std::abs(estimate - m.At(a, b)) / m.At(a, b));
    }
  }
  std::sort(errors.begin(), errors.end());
  return errors[errors.size() / 2];
}

TEST(CoordinateTest, FreshCoordinatesKnowNothing) {
  const Coordinate c = FreshCoordinate();
  EXPECT_EQ(c, Coordinate{});  // the public defaults are Serf's too
  EXPECT_EQ(c.error, 1.5);
  EXPECT_EQ(c.height, 10e-6);
  // Two fresh coordinates predict two heights: nothing useful.
  EXPECT_EQ(EstimateRtt(c, c), absl::Microseconds(20));
}

TEST(CoordinateTest, EstimateIsEuclideanPlusHeightsPlusAdjustments) {
  Coordinate a, b;
  a.vec[0] = 0.003;
  b.vec[1] = 0.004;  // 5 ms apart
  a.height = 0.001;
  b.height = 0.002;
  EXPECT_EQ(EstimateRtt(a, b), absl::Milliseconds(8));
  EXPECT_EQ(EstimateRtt(b, a), absl::Milliseconds(8));
  a.adjustment = 0.0015;
  b.adjustment = -0.0005;
  EXPECT_EQ(EstimateRtt(a, b), absl::Milliseconds(9));
  // Adjustments that would make it nonpositive are left out.
  a.adjustment = b.adjustment = -0.005;
  EXPECT_EQ(EstimateRtt(a, b), absl::Milliseconds(8));
  a.height = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(EstimateRtt(a, b), absl::InfiniteDuration());
}

TEST(CoordinateTest, ConvergesOnAStructuredNetwork) {
  const Matrix m = Regions(/*regions=*/4, /*per_region=*/6, /*seed=*/7);
  std::vector<CoordinateClient> clients(m.n);
  Draws draws(11);
  const double before = MedianRelativeError(clients, m);
  EXPECT_GT(before, 0.99);  // every estimate is 20 us
  Simulate(clients, m, 300, 13, draws);
  const double after = MedianRelativeError(clients, m);
  EXPECT_LT(after, 0.10) << "before " << before;
  for (const CoordinateClient& c : clients) {
    EXPECT_LT(c.coordinate().error, 0.5);
    EXPECT_EQ(c.resets(), 0u);
    EXPECT_EQ(c.refused(), 0u);
  }
}

TEST(CoordinateTest, SameInputsAndDrawsGiveTheSameCoordinates) {
  const Matrix m = Regions(3, 4, 5);
  std::vector<CoordinateClient> a(m.n), b(m.n);
  Draws da(3), db(3);
  Simulate(a, m, 50, 9, da);
  Simulate(b, m, 50, 9, db);
  for (int i = 0; i < m.n; ++i) EXPECT_EQ(a[i].coordinate(), b[i].coordinate());
  // Randomness is asked for only where coordinates coincide: at the
  // start, not on every update.
  EXPECT_GT(da.calls, 0u);
  EXPECT_LT(da.calls, static_cast<uint64_t>(m.n) * 50 * 8 / 4);
  EXPECT_EQ(da.calls, db.calls);
}

TEST(CoordinateTest, RefusesBadInputAndCountsIt) {
  CoordinateClient client;
  Draws draws(1);
  Coordinate peer;
  peer.vec[0] = 0.01;
  ASSERT_EQ(client.Update("a", peer, absl::Milliseconds(20), std::ref(draws)),
            CoordinateClient::Outcome::kApplied);
  const Coordinate before = client.coordinate();

  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<Coordinate> bad(8, peer);
  bad[0].vec[3] = nan;
  bad[1].height = inf;
  bad[2].error = -1;
  bad[3].error = nan;
  bad[4].adjustment = -inf;
  bad[5].vec[7] = 10.5;  // further than any RTT taken
  bad[6].height = -0.001;
  bad[7].error = 1e9;
  for (const Coordinate& c : bad) {
    EXPECT_EQ(client.Update("a", c, absl::Milliseconds(20), std::ref(draws)),
              CoordinateClient::Outcome::kBadCoordinate);
  }
  for (absl::Duration rtt :
       {absl::Milliseconds(-1), absl::Seconds(10) + absl::Nanoseconds(1),
        absl::InfiniteDuration(), -absl::InfiniteDuration()}) {
    EXPECT_EQ(client.Update("a", peer, rtt, std::ref(draws)),
              CoordinateClient::Outcome::kBadRtt);
  }
  EXPECT_EQ(client.refused(), 12u);
  EXPECT_EQ(client.coordinate(), before);
  // Not even the latency filter saw them.
  EXPECT_EQ(client.peers(), 1u);
}

TEST(CoordinateTest, TheMedianOfThreeIgnoresOneLateSample) {
  Coordinate peer;
  peer.vec[0] = 0.01;
  peer.error = 0.2;
  CoordinateClient spiked, steady;
  Draws d1(4), d2(4);
  const absl::Duration rtts[] = {absl::Milliseconds(10), absl::Milliseconds(10),
                                 absl::Milliseconds(900)};
  for (absl::Duration rtt : rtts) {
    spiked.Update("p", peer, rtt, std::ref(d1));
    steady.Update("p", peer, absl::Milliseconds(10), std::ref(d2));
  }
  EXPECT_EQ(spiked.coordinate(), steady.coordinate());
  // Samples are per peer: another's late answer is its own.
  spiked.Update("q", peer, absl::Milliseconds(900), std::ref(d1));
  steady.Update("q", peer, absl::Milliseconds(10), std::ref(d2));
  EXPECT_NE(spiked.coordinate(), steady.coordinate());
  EXPECT_EQ(spiked.peers(), 2u);
  spiked.Forget("q");
  EXPECT_EQ(spiked.peers(), 1u);
  spiked.ForgetUnless([](std::string_view name) { return name != "p"; });
  EXPECT_EQ(spiked.peers(), 0u);
}

// ---------------------------------------------------------------- wire

TEST(CoordinateWireTest, RoundTripsInFortySixBytes) {
  Coordinate c;
  for (size_t i = 0; i < c.vec.size(); ++i) c.vec[i] = 0.001 * (i + 1) - 0.004;
  c.error = 0.321;
  c.adjustment = -0.0007;
  c.height = 0.0023;
  const std::string bytes = EncodeCoordinate(c);
  ASSERT_EQ(bytes.size(), kCoordinateBytes);
  EXPECT_EQ(bytes.size(), 46u);
  EXPECT_EQ(bytes[0], 1);
  EXPECT_EQ(bytes[1], 8);
  Coordinate read;
  ASSERT_EQ(DecodeCoordinate(bytes, &read), CoordinateRead::kOk);
  for (size_t i = 0; i < c.vec.size(); ++i)
    EXPECT_NEAR(read.vec[i], c.vec[i], 1e-9);
  EXPECT_NEAR(read.error, c.error, 1e-7);
  EXPECT_NEAR(read.adjustment, c.adjustment, 1e-9);
  EXPECT_NEAR(read.height, c.height, 1e-9);
  EXPECT_EQ(EncodeCoordinate(FreshCoordinate()), FreshCoordinateBytes());
  // Big-endian IEEE 754 binary32: 0.321f is 0x3EA45A1D.
  EXPECT_EQ(bytes.substr(34, 4), std::string("\x3E\xA4\x5A\x1D", 4));
}

TEST(CoordinateWireTest, ReadsOnlyItsOwnLayout) {
  Coordinate out;
  EXPECT_EQ(DecodeCoordinate("", &out), CoordinateRead::kAbsent);
  std::string bytes = EncodeCoordinate(Coordinate{});
  std::string later = bytes;
  later[0] = 2;
  EXPECT_EQ(DecodeCoordinate(later, &out), CoordinateRead::kUnknownLayout);
  EXPECT_EQ(DecodeCoordinate(bytes.substr(0, 45), &out),
            CoordinateRead::kMalformed);
  EXPECT_EQ(DecodeCoordinate(bytes + "x", &out), CoordinateRead::kMalformed);
  std::string three = bytes;
  three[1] = 3;
  EXPECT_EQ(DecodeCoordinate(three, &out), CoordinateRead::kMalformed);
  // A NaN reads as a NaN: judging it is the client's (IsPlausible).
  Coordinate nan;
  nan.vec[2] = std::numeric_limits<double>::quiet_NaN();
  ASSERT_EQ(DecodeCoordinate(EncodeCoordinate(nan), &out), CoordinateRead::kOk);
  EXPECT_FALSE(IsPlausible(out));
}

}  // namespace
}  // namespace roster::core
