// Unit tests for lib/core/member_table.h: precedence rules, the probe order
// and sampling.
#include "core/member_table.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "roster/member.h"
#include "test/common/split_mix.h"

namespace roster::core {
namespace {

MemberInfo Info(std::string name, MemberState state = MemberState::kAlive,
                uint64_t incarnation = 0) {
  MemberInfo info;
  info.name = std::move(name);
  info.addr = "10.0.0.1:7946";
  info.state = state;
  info.incarnation = incarnation;
  return info;
}

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);
const absl::Duration kLongRetention = absl::Hours(24);

// ---------------------------------------------------------------------------
// Precedence.

enum class Inc { kLower, kEqual, kHigher };

const char* IncName(Inc inc) {
  switch (inc) {
    case Inc::kLower:
      return "lower";
    case Inc::kEqual:
      return "equal";
    case Inc::kHigher:
      return "higher";
  }
  return "?";
}

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kIgnore:
      return "ignore";
    case Verdict::kApply:
      return "apply";
    case Verdict::kConfirm:
      return "confirm";
  }
  return "?";
}

struct PrecedenceRow {
  MemberState current;
  Inc incoming;
  Verdict alive;
  Verdict suspect;
  Verdict dead;
};

constexpr Verdict I = Verdict::kIgnore;
constexpr Verdict A = Verdict::kApply;
constexpr Verdict C = Verdict::kConfirm;

// DESIGN.md: alive beats suspect or dead only at a higher incarnation;
// suspect beats alive at an equal or higher one (and confirms an existing
// suspicion at an equal one); dead beats alive and suspect at an equal or
// higher one; nothing but a higher-incarnation alive beats dead or left.
const PrecedenceRow kPrecedence[] = {
    // current               incoming      alive suspect dead
    {MemberState::kAlive, Inc::kLower, I, I, I},
    {MemberState::kAlive, Inc::kEqual, I, A, A},
    {MemberState::kAlive, Inc::kHigher, A, A, A},
    {MemberState::kSuspect, Inc::kLower, I, I, I},
    {MemberState::kSuspect, Inc::kEqual, I, C, A},
    {MemberState::kSuspect, Inc::kHigher, A, A, A},
    {MemberState::kDead, Inc::kLower, I, I, I},
    {MemberState::kDead, Inc::kEqual, I, I, I},
    {MemberState::kDead, Inc::kHigher, A, I, I},
    {MemberState::kLeft, Inc::kLower, I, I, I},
    {MemberState::kLeft, Inc::kEqual, I, I, I},
    {MemberState::kLeft, Inc::kHigher, A, I, I},
};

uint64_t IncomingIncarnation(uint64_t current, Inc inc) {
  switch (inc) {
    case Inc::kLower:
      return current - 1;
    case Inc::kEqual:
      return current;
    case Inc::kHigher:
      return current + 1;
  }
  return current;
}

TEST(PrecedenceTest, TableMatchesDesign) {
  // Several current incarnations, including ones where +-1 and far jumps
  // matter.
  for (uint64_t current_inc :
       {uint64_t{1}, uint64_t{7}, uint64_t{1} << 40, UINT64_MAX - 1}) {
    for (const PrecedenceRow& row : kPrecedence) {
      const MemberInfo current = Info("m", row.current, current_inc);
      const uint64_t incoming = IncomingIncarnation(current_inc, row.incoming);
      SCOPED_TRACE(absl::StrCat("current ",
                                std::string(MemberStateName(row.current)),
                                " inc ", current_inc, ", incoming ",
                                IncName(row.incoming), " (", incoming, ")"));
      EXPECT_EQ(AliveVerdict(current, incoming), row.alive)
          << "alive: got " << VerdictName(AliveVerdict(current, incoming));
      EXPECT_EQ(SuspectVerdict(current, incoming), row.suspect)
          << "suspect: got " << VerdictName(SuspectVerdict(current, incoming));
      EXPECT_EQ(DeadVerdict(current, incoming), row.dead)
          << "dead: got " << VerdictName(DeadVerdict(current, incoming));
    }
  }
}

TEST(PrecedenceTest, FarHigherAndFarLowerIncarnations) {
  for (MemberState s : {MemberState::kAlive, MemberState::kSuspect,
                        MemberState::kDead, MemberState::kLeft}) {
    const MemberInfo current = Info("m", s, 1000);
    SCOPED_TRACE(std::string(MemberStateName(s)));
    EXPECT_EQ(AliveVerdict(current, 0), Verdict::kIgnore);
    EXPECT_EQ(SuspectVerdict(current, 0), Verdict::kIgnore);
    EXPECT_EQ(DeadVerdict(current, 0), Verdict::kIgnore);
    EXPECT_EQ(AliveVerdict(current, UINT64_MAX), Verdict::kApply);
  }
}

TEST(PrecedenceTest, IncarnationZero) {
  const MemberInfo alive = Info("m", MemberState::kAlive, 0);
  EXPECT_EQ(AliveVerdict(alive, 0), Verdict::kIgnore);
  EXPECT_EQ(SuspectVerdict(alive, 0), Verdict::kApply);
  EXPECT_EQ(DeadVerdict(alive, 0), Verdict::kApply);
  const MemberInfo suspect = Info("m", MemberState::kSuspect, 0);
  EXPECT_EQ(SuspectVerdict(suspect, 0), Verdict::kConfirm);
  EXPECT_EQ(AliveVerdict(suspect, 1), Verdict::kApply);
}

// ---------------------------------------------------------------------------
// RandomBelow.

TEST(RandomBelowTest, StaysInRange) {
  uint64_t state = 1;
  auto rng = [&state] { return test::SplitMix64(state); };
  for (size_t n : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{10},
                   size_t{1000}, size_t{1} << 40}) {
    for (int i = 0; i < 10000; ++i) {
      ASSERT_LT(RandomBelow(rng, n), n) << "n = " << n;
    }
  }
}

TEST(RandomBelowTest, ExtremesOfTheGenerator) {
  auto zero = [] { return uint64_t{0}; };
  auto top = [] { return UINT64_MAX; };
  auto half = [] { return uint64_t{1} << 63; };
  for (size_t n : {size_t{1}, size_t{2}, size_t{10}, size_t{12345}}) {
    EXPECT_EQ(RandomBelow(zero, n), 0u) << n;
    EXPECT_EQ(RandomBelow(top, n), n - 1) << n;
  }
  EXPECT_EQ(RandomBelow(half, 10), 5u);
  EXPECT_EQ(RandomBelow(half, 2), 1u);
}

TEST(RandomBelowTest, RoughlyUniform) {
  uint64_t state = 0xabcdef;
  auto rng = [&state] { return test::SplitMix64(state); };
  for (size_t n : {size_t{2}, size_t{3}, size_t{10}, size_t{17}}) {
    const int draws = 200000;
    std::vector<int> counts(n, 0);
    for (int i = 0; i < draws; ++i) ++counts[RandomBelow(rng, n)];
    const double expected = static_cast<double>(draws) / n;
    for (size_t v = 0; v < n; ++v) {
      // Far beyond 5 standard deviations of a binomial at these sizes.
      EXPECT_NEAR(counts[v], expected, expected * 0.05)
          << "n = " << n << " value " << v;
    }
  }
}

// ---------------------------------------------------------------------------
// Add, Find, SetState and counts.

TEST(MemberTableTest, AddFindAndCounts) {
  uint64_t state = 7;
  auto rng = [&state] { return test::SplitMix64(state); };
  MemberTable t;
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.Find("a"), nullptr);

  Member* a = t.Add(Info("a"), rng);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->Info().name, "a");
  t.Add(Info("b"), rng);
  t.Add(Info("c", MemberState::kSuspect, 3), rng);
  t.Add(Info("d", MemberState::kDead), rng);
  t.Add(Info("e", MemberState::kLeft), rng);

  EXPECT_EQ(t.size(), 5u);
  EXPECT_EQ(t.members().size(), 5u);
  EXPECT_EQ(t.count(MemberState::kAlive), 2u);
  EXPECT_EQ(t.count(MemberState::kSuspect), 1u);
  EXPECT_EQ(t.count(MemberState::kDead), 1u);
  EXPECT_EQ(t.count(MemberState::kLeft), 1u);
  EXPECT_EQ(t.NumAlive(), 3u);

  EXPECT_EQ(t.Find("a"), a);
  ASSERT_NE(t.Find("c"), nullptr);
  EXPECT_EQ(t.Find("c")->Info().incarnation, 3u);
  EXPECT_EQ(t.Find("c")->Info().state, MemberState::kSuspect);
  EXPECT_EQ(t.Find("f"), nullptr);
  EXPECT_EQ(t.Find(""), nullptr);
  const MemberTable& ct = t;
  EXPECT_EQ(ct.Find("a"), a);

  std::set<std::string> names;
  for (const Member* m : t.members()) names.insert(m->Info().name);
  EXPECT_EQ(names, (std::set<std::string>{"a", "b", "c", "d", "e"}));
}

// Text that fits in the member and text that does not, changed both ways:
// what is read back, and what the indexes find, is what was last set.
TEST(MemberTableTest, TextInsideAndOutsideTheMember) {
  uint64_t state = 9;
  auto rng = [&state] { return test::SplitMix64(state); };
  MemberTable t;
  const std::string long_name(200, 'n');
  const std::string long_addr(255, 'a');
  const std::string long_meta(5000, 'm');
  MemberInfo info = Info("short");
  Member* s = t.Add(info, rng);
  info.name = long_name;
  info.addr = long_addr;
  info.meta = long_meta;
  Member* l = t.Add(info, rng);
  EXPECT_EQ(s->name(), "short");
  EXPECT_EQ(s->addr(), "10.0.0.1:7946");
  EXPECT_EQ(s->meta(), "");
  EXPECT_EQ(l->name(), long_name);
  EXPECT_EQ(l->addr(), long_addr);
  EXPECT_EQ(l->meta(), long_meta);
  EXPECT_EQ(t.Find(long_name), l);
  EXPECT_EQ(t.FindByAddr(long_addr), l);

  // Inline to heap and back, with views into the member's own text.
  t.SetMeta(*s, long_meta);
  EXPECT_EQ(s->name(), "short");
  EXPECT_EQ(s->meta(), long_meta);
  t.SetAddr(*s, "10.0.0.2:7946");
  EXPECT_EQ(s->addr(), "10.0.0.2:7946");
  EXPECT_EQ(s->meta(), long_meta);
  EXPECT_EQ(t.FindByAddr("10.0.0.2:7946"), s);
  EXPECT_EQ(t.FindByAddr("10.0.0.1:7946"), nullptr);
  t.SetMeta(*s, s->name());
  EXPECT_EQ(s->meta(), "short");
  t.SetMeta(*l, "");
  t.SetAddr(*l, "b:1");
  EXPECT_EQ(l->name(), long_name);
  EXPECT_EQ(l->addr(), "b:1");
  EXPECT_EQ(l->meta(), "");
  EXPECT_EQ(t.Find(long_name), l);
  EXPECT_EQ(t.FindByAddr("b:1"), l);
  EXPECT_EQ(t.FindByAddr(long_addr), nullptr);
  EXPECT_EQ(t.Find("short"), s);
  // Exactly the inline capacity, and one past it.
  for (size_t size : {40u, 41u}) {
    info.name = std::string(size - 20, 'x') + std::to_string(size);
    info.addr = std::string(20 - std::to_string(size).size(), 'y');
    info.meta = "";
    Member* m = t.Add(info, rng);
    EXPECT_EQ(m->name(), info.name);
    EXPECT_EQ(m->addr(), info.addr);
    EXPECT_EQ(t.Find(info.name), m);
  }
}

// Many members: every one is found by name, and only those; prefetching
// names, present or not, changes nothing.
TEST(MemberTableTest, ManyNamesAndPrefetch) {
  uint64_t state = 10;
  auto rng = [&state] { return test::SplitMix64(state); };
  MemberTable t;
  std::vector<Member*> added;
  for (int i = 0; i < 5000; ++i)
    added.push_back(t.Add(Info(test::NodeName(i)), rng));
  std::vector<std::string> names;
  for (int i = 0; i < 6000; i += 7) names.push_back(test::NodeName(i));
  names.push_back("");
  t.Prefetch(names, [](const std::string& n) { return std::string_view(n); });
  for (int i = 0; i < 6000; ++i) {
    EXPECT_EQ(t.Find(test::NodeName(i)), i < 5000 ? added[i] : nullptr) << i;
  }
  EXPECT_EQ(t.size(), 5000u);
}

TEST(MemberTableTest, SetStateMovesCountsAndStampsTime) {
  uint64_t state = 8;
  auto rng = [&state] { return test::SplitMix64(state); };
  MemberTable t;
  Member* a = t.Add(Info("a"), rng);
  t.Add(Info("b"), rng);

  t.SetState(*a, MemberState::kSuspect, kNow);
  EXPECT_EQ(a->Info().state, MemberState::kSuspect);
  EXPECT_EQ(a->Info().state_changed, kNow);
  EXPECT_EQ(t.count(MemberState::kAlive), 1u);
  EXPECT_EQ(t.count(MemberState::kSuspect), 1u);
  EXPECT_EQ(t.NumAlive(), 2u);

  t.SetState(*a, MemberState::kDead, kNow + absl::Seconds(5));
  EXPECT_EQ(a->Info().state_changed, kNow + absl::Seconds(5));
  EXPECT_EQ(t.count(MemberState::kSuspect), 0u);
  EXPECT_EQ(t.count(MemberState::kDead), 1u);
  EXPECT_EQ(t.NumAlive(), 1u);

  // Setting the same state does not double count.
  t.SetState(*a, MemberState::kDead, kNow + absl::Seconds(6));
  EXPECT_EQ(t.count(MemberState::kDead), 1u);
  EXPECT_EQ(t.size(), 2u);

  t.SetState(*a, MemberState::kAlive, kNow + absl::Seconds(9));
  EXPECT_EQ(t.count(MemberState::kAlive), 2u);
  EXPECT_EQ(t.count(MemberState::kDead), 0u);
  EXPECT_EQ(a->Info().state_changed, kNow + absl::Seconds(9));

  t.SetState(*a, MemberState::kLeft, kNow + absl::Seconds(10));
  EXPECT_EQ(t.count(MemberState::kLeft), 1u);
  EXPECT_EQ(t.count(MemberState::kAlive), 1u);
  size_t total = 0;
  for (MemberState s : {MemberState::kAlive, MemberState::kSuspect,
                        MemberState::kDead, MemberState::kLeft}) {
    total += t.count(s);
  }
  EXPECT_EQ(total, t.size());
}

TEST(MemberTableTest, OrderIsDeterministicPerSeedAndRandomAcrossSeeds) {
  auto build = [](uint64_t seed) {
    uint64_t state = seed;
    auto rng = [&state] { return test::SplitMix64(state); };
    MemberTable t;
    for (int i = 0; i < 12; ++i) t.Add(Info(test::NodeName(i)), rng);
    std::vector<std::string> order;
    for (const Member* m : t.members()) order.push_back(m->Info().name);
    return order;
  };
  EXPECT_EQ(build(99), build(99));
  std::set<std::vector<std::string>> orders;
  std::set<std::string> last;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    auto order = build(seed);
    orders.insert(order);
    last.insert(order.back());
  }
  // New members go to random places, not always the end.
  EXPECT_GT(orders.size(), 20u);
  EXPECT_GT(last.size(), 3u);
}

// ---------------------------------------------------------------------------
// NextProbeTarget.

TEST(NextProbeTargetTest, NullWhenEmptyOrAlone) {
  uint64_t state = 3;
  auto rng = [&state] { return test::SplitMix64(state); };
  MemberTable t;
  EXPECT_EQ(t.NextProbeTarget("self", rng, kNow, kLongRetention), nullptr);
  t.Add(Info("self"), rng);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(t.NextProbeTarget("self", rng, kNow, kLongRetention), nullptr);
  }
}

TEST(NextProbeTargetTest, NullWhenEveryoneElseIsDeadOrLeft) {
  uint64_t state = 4;
  auto rng = [&state] { return test::SplitMix64(state); };
  MemberTable t;
  t.Add(Info("self"), rng);
  Member* d = t.Add(Info("d"), rng);
  Member* l = t.Add(Info("l"), rng);
  t.SetState(*d, MemberState::kDead, kNow);
  t.SetState(*l, MemberState::kLeft, kNow);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(t.NextProbeTarget("self", rng, kNow, kLongRetention), nullptr);
  }
  EXPECT_EQ(t.size(), 3u);  // within retention: kept
}

TEST(NextProbeTargetTest, EveryOtherLiveMemberOncePerPass) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    uint64_t state = seed;
    auto rng = [&state] { return test::SplitMix64(state); };
    MemberTable t;
    const int n = 3 + static_cast<int>(seed * 7 % 25);
    std::set<std::string> others;
    for (int i = 0; i < n; ++i) {
      t.Add(Info(test::NodeName(i)), rng);
      if (i != 0) others.insert(test::NodeName(i));
    }
    const std::string self = test::NodeName(0);
    for (int pass = 0; pass < 6; ++pass) {
      std::vector<std::string> got;
      for (int i = 0; i < n - 1; ++i) {
        Member* m = t.NextProbeTarget(self, rng, kNow, kLongRetention);
        ASSERT_NE(m, nullptr) << "seed " << seed << " pass " << pass;
        got.push_back(m->Info().name);
      }
      std::set<std::string> distinct(got.begin(), got.end());
      EXPECT_EQ(distinct.size(), got.size())
          << "a member probed twice in one pass; seed " << seed << " pass "
          << pass;
      EXPECT_EQ(distinct, others) << "seed " << seed << " pass " << pass;
    }
  }
}

TEST(NextProbeTargetTest, SuspectsAreProbedDeadAndLeftAreNot) {
  for (uint64_t seed = 11; seed <= 20; ++seed) {
    uint64_t state = seed;
    auto rng = [&state] { return test::SplitMix64(state); };
    MemberTable t;
    const int n = 20;
    for (int i = 0; i < n; ++i) t.Add(Info(test::NodeName(i)), rng);
    std::set<std::string> live;
    for (int i = 1; i < n; ++i) {
      Member* m = t.Find(test::NodeName(i));
      switch (i % 4) {
        case 0:
          t.SetState(*m, MemberState::kDead, kNow);
          break;
        case 1:
          t.SetState(*m, MemberState::kLeft, kNow);
          break;
        case 2:
          t.SetState(*m, MemberState::kSuspect, kNow);
          live.insert(test::NodeName(i));
          break;
        default:
          live.insert(test::NodeName(i));
          break;
      }
    }
    for (int pass = 0; pass < 5; ++pass) {
      std::set<std::string> got;
      for (size_t i = 0; i < live.size(); ++i) {
        Member* m =
            t.NextProbeTarget(test::NodeName(0), rng, kNow, kLongRetention);
        ASSERT_NE(m, nullptr);
        EXPECT_NE(m->Info().name, test::NodeName(0));
        EXPECT_NE(m->Info().state, MemberState::kDead) << m->Info().name;
        EXPECT_NE(m->Info().state, MemberState::kLeft) << m->Info().name;
        got.insert(m->Info().name);
      }
      EXPECT_EQ(got, live) << "seed " << seed << " pass " << pass;
    }
  }
}

TEST(NextProbeTargetTest, SelfNeverReturned) {
  uint64_t state = 77;
  auto rng = [&state] { return test::SplitMix64(state); };
  MemberTable t;
  for (int i = 0; i < 5; ++i) t.Add(Info(test::NodeName(i)), rng);
  for (int i = 0; i < 200; ++i) {
    Member* m = t.NextProbeTarget(test::NodeName(3), rng, kNow, kLongRetention);
    ASSERT_NE(m, nullptr);
    EXPECT_NE(m->Info().name, test::NodeName(3));
  }
}

TEST(NextProbeTargetTest, MemberMarkedDeadMidPassIsSkipped) {
  uint64_t state = 5;
  auto rng = [&state] { return test::SplitMix64(state); };
  MemberTable t;
  for (int i = 0; i < 10; ++i) t.Add(Info(test::NodeName(i)), rng);
  Member* first =
      t.NextProbeTarget(test::NodeName(0), rng, kNow, kLongRetention);
  ASSERT_NE(first, nullptr);
  // Kill every member except the one just probed and self.
  for (int i = 1; i < 10; ++i) {
    Member* m = t.Find(test::NodeName(i));
    if (m != first) t.SetState(*m, MemberState::kDead, kNow);
  }
  for (int i = 0; i < 30; ++i) {
    Member* m = t.NextProbeTarget(test::NodeName(0), rng, kNow, kLongRetention);
    ASSERT_EQ(m, first);
  }
}

TEST(NextProbeTargetTest, ReapsMembersDeadLongerThanRetentionAtPassEnd) {
  uint64_t state = 6;
  auto rng = [&state] { return test::SplitMix64(state); };
  const absl::Duration retention = absl::Seconds(60);
  const absl::Time t0 = kNow;
  MemberTable t;
  t.Add(Info("self"), rng);
  t.Add(Info("a"), rng);
  Member* b = t.Add(Info("b"), rng);
  Member* c = t.Add(Info("c"), rng);
  Member* d = t.Add(Info("d"), rng);
  Member* e = t.Add(Info("e"), rng);
  t.SetState(*b, MemberState::kDead, t0);
  t.SetState(*c, MemberState::kLeft, t0);
  t.SetState(*d, MemberState::kDead, t0 + absl::Seconds(30));
  t.SetState(*e, MemberState::kDead, t0 + absl::Seconds(1));
  ASSERT_EQ(t.size(), 6u);

  // Within retention for everyone: nothing is reaped however many passes.
  for (int i = 0; i < 10; ++i) {
    Member* m =
        t.NextProbeTarget("self", rng, t0 + absl::Seconds(59), retention);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->Info().name, "a");
  }
  EXPECT_EQ(t.size(), 6u);

  // At t0 + 61 s: b and c (changed at t0) are past retention; e (t0 + 1 s)
  // is exactly at it, not longer; d is well within it. Two calls cross at
  // least one pass end.
  const absl::Time later = t0 + absl::Seconds(61);
  for (int i = 0; i < 2; ++i) {
    Member* m = t.NextProbeTarget("self", rng, later, retention);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->Info().name, "a");
  }
  EXPECT_EQ(t.size(), 4u);
  EXPECT_EQ(t.Find("b"), nullptr);
  EXPECT_EQ(t.Find("c"), nullptr);
  EXPECT_NE(t.Find("d"), nullptr);
  EXPECT_NE(t.Find("e"), nullptr);
  EXPECT_NE(t.Find("a"), nullptr);
  EXPECT_NE(t.Find("self"), nullptr);
  EXPECT_EQ(t.count(MemberState::kDead), 2u);
  EXPECT_EQ(t.count(MemberState::kLeft), 0u);
  EXPECT_EQ(t.count(MemberState::kAlive), 2u);
  EXPECT_EQ(t.members().size(), 4u);
  for (const Member* m : t.members()) {
    EXPECT_TRUE(m->Info().name != "b" && m->Info().name != "c")
        << m->Info().name;
  }

  // Much later, the rest of the dead go too.
  for (int i = 0; i < 2; ++i) {
    t.NextProbeTarget("self", rng, t0 + absl::Hours(1), retention);
  }
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.count(MemberState::kDead), 0u);
  // A reaped name can be added again.
  t.Add(Info("b"), rng);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.count(MemberState::kAlive), 3u);
}

TEST(NextProbeTargetTest, ReshufflesAfterEachPass) {
  uint64_t state = 21;
  auto rng = [&state] { return test::SplitMix64(state); };
  MemberTable t;
  const int n = 11;
  for (int i = 0; i < n; ++i) t.Add(Info(test::NodeName(i)), rng);
  std::set<std::vector<std::string>> pass_orders;
  const int passes = 10;
  for (int pass = 0; pass < passes; ++pass) {
    std::vector<std::string> order;
    for (int i = 0; i < n - 1; ++i) {
      Member* m =
          t.NextProbeTarget(test::NodeName(0), rng, kNow, kLongRetention);
      ASSERT_NE(m, nullptr);
      order.push_back(m->Info().name);
    }
    pass_orders.insert(order);
  }
  // 10! orders: repeating the same walk pass after pass means no reshuffle.
  EXPECT_GE(pass_orders.size(), static_cast<size_t>(passes - 1));
}

// The owner keeps a pointer to its own entry: reaping must never free it,
// even while it is leaving (left) for longer than the retention.
TEST(NextProbeTargetTest, SelfIsNeverReaped) {
  uint64_t state = 22;
  auto rng = [&state] { return test::SplitMix64(state); };
  MemberTable t;
  Member* self = t.Add(Info("self"), rng);
  t.Add(Info("a"), rng);
  t.SetState(*self, MemberState::kLeft, kNow);
  for (int i = 0; i < 6; ++i) {
    Member* m =
        t.NextProbeTarget("self", rng, kNow + absl::Hours(1), absl::Seconds(1));
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->Info().name, "a");
  }
  EXPECT_EQ(t.Find("self"), self);
  EXPECT_EQ(t.size(), 2u);
}

TEST(NextProbeTargetTest, AliveMembersAreNeverReaped) {
  uint64_t state = 12;
  auto rng = [&state] { return test::SplitMix64(state); };
  MemberTable t;
  for (int i = 0; i < 8; ++i) t.Add(Info(test::NodeName(i)), rng);
  t.SetState(*t.Find(test::NodeName(2)), MemberState::kSuspect, kNow);
  for (int i = 0; i < 50; ++i) {
    t.NextProbeTarget(test::NodeName(0), rng, kNow + absl::Hours(100),
                      absl::Seconds(1));
  }
  EXPECT_EQ(t.size(), 8u);
}

// DESIGN.md: walking a shuffled list, a failed member is probed within at
// most 2n-1 periods. Checked from every starting call over many seeds.
void CheckProbedWithin2nMinus1(const std::vector<std::string>& targets,
                               const std::string& member, size_t n, size_t from,
                               uint64_t seed) {
  const size_t window = 2 * n - 1;
  size_t last = from;  // the window opens at `from`
  bool first = true;
  for (size_t i = from; i < targets.size(); ++i) {
    if (targets[i] != member) continue;
    const size_t gap = first ? i - from + 1 : i - last;
    ASSERT_LE(gap, window) << member << " seed " << seed << " at call " << i;
    last = i;
    first = false;
  }
  ASSERT_FALSE(first) << member << " never probed; seed " << seed;
  ASSERT_LT(targets.size() - last - 1, window)
      << member << " not probed in the last calls; seed " << seed;
}

TEST(NextProbeTargetTest, FailedMemberProbedWithin2nMinus1Calls) {
  for (uint64_t seed = 100; seed < 140; ++seed) {
    uint64_t state = seed;
    auto rng = [&state] { return test::SplitMix64(state); };
    MemberTable t;
    const size_t n = 2 + seed % 23;
    for (size_t i = 0; i < n; ++i) t.Add(Info(test::NodeName(i)), rng);
    std::vector<std::string> targets;
    for (size_t call = 0; call < 12 * n; ++call) {
      Member* m =
          t.NextProbeTarget(test::NodeName(0), rng, kNow, kLongRetention);
      ASSERT_NE(m, nullptr);
      targets.push_back(m->Info().name);
    }
    for (size_t i = 1; i < n; ++i) {
      CheckProbedWithin2nMinus1(targets, test::NodeName(i), n, 0, seed);
    }
  }
}

TEST(NextProbeTargetTest, JoinersAlsoProbedWithin2nMinus1Calls) {
  for (uint64_t seed = 200; seed < 230; ++seed) {
    uint64_t state = seed;
    auto rng = [&state] { return test::SplitMix64(state); };
    MemberTable t;
    const size_t initial = 3 + seed % 7;
    const size_t final_n = initial + 10;
    for (size_t i = 0; i < initial; ++i) t.Add(Info(test::NodeName(i)), rng);
    std::map<std::string, size_t> joined_at;
    for (size_t i = 1; i < initial; ++i) joined_at[test::NodeName(i)] = 0;
    std::vector<std::string> targets;
    size_t next_name = initial;
    for (size_t call = 0; call < 20 * final_n; ++call) {
      // Members join at random moments, mid-pass included.
      if (next_name < final_n && test::SplitMix64(state) % 4 == 0) {
        t.Add(Info(test::NodeName(static_cast<int>(next_name))), rng);
        joined_at[test::NodeName(static_cast<int>(next_name))] = call;
        ++next_name;
      }
      Member* m =
          t.NextProbeTarget(test::NodeName(0), rng, kNow, kLongRetention);
      ASSERT_NE(m, nullptr);
      targets.push_back(m->Info().name);
    }
    ASSERT_EQ(t.size(), final_n);
    for (const auto& [name, at] : joined_at) {
      CheckProbedWithin2nMinus1(targets, name, final_n, at, seed);
    }
  }
}

// ---------------------------------------------------------------------------
// Sample.

TEST(SampleTest, DistinctAcceptedAtMostK) {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    uint64_t state = seed;
    auto rng = [&state] { return test::SplitMix64(state); };
    MemberTable t;
    const int n = 1 + static_cast<int>(seed % 30);
    for (int i = 0; i < n; ++i) t.Add(Info(test::NodeName(i)), rng);
    // Accept only even-numbered members.
    auto accept = [](const Member& m) {
      return (m.Info().name.back() - '0') % 2 == 0;
    };
    for (size_t k :
         {size_t{0}, size_t{1}, size_t{3}, size_t{10}, size_t{100}}) {
      std::vector<Member*> got = t.Sample(k, rng, accept);
      EXPECT_LE(got.size(), k);
      std::set<Member*> distinct(got.begin(), got.end());
      EXPECT_EQ(distinct.size(), got.size()) << "seed " << seed << " k " << k;
      for (Member* m : got) {
        ASSERT_NE(m, nullptr);
        EXPECT_TRUE(accept(*m)) << m->Info().name;
        EXPECT_EQ(t.Find(m->Info().name), m);
      }
    }
  }
}

TEST(SampleTest, ReturnsKWhenPlentyAreAccepted) {
  uint64_t state = 31;
  auto rng = [&state] { return test::SplitMix64(state); };
  MemberTable t;
  for (int i = 0; i < 50; ++i) t.Add(Info(test::NodeName(i)), rng);
  auto all = [](const Member&) { return true; };
  for (int trial = 0; trial < 100; ++trial) {
    EXPECT_EQ(t.Sample(3, rng, all).size(), 3u);
  }
}

TEST(SampleTest, NeverReturnsRejectedMembers) {
  uint64_t state = 32;
  auto rng = [&state] { return test::SplitMix64(state); };
  MemberTable t;
  for (int i = 0; i < 20; ++i) t.Add(Info(test::NodeName(i)), rng);
  t.SetState(*t.Find(test::NodeName(4)), MemberState::kDead, kNow);
  auto none = [](const Member&) { return false; };
  EXPECT_TRUE(t.Sample(5, rng, none).empty());
  auto only_dead = [](const Member& m) {
    return m.Info().state == MemberState::kDead;
  };
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<Member*> got = t.Sample(5, rng, only_dead);
    ASSERT_LE(got.size(), 1u);
    if (!got.empty()) {
      EXPECT_EQ(got[0]->Info().name, test::NodeName(4));
    }
  }
}

TEST(SampleTest, EmptyTable) {
  uint64_t state = 33;
  auto rng = [&state] { return test::SplitMix64(state); };
  MemberTable t;
  auto all = [](const Member&) { return true; };
  EXPECT_TRUE(t.Sample(3, rng, all).empty());
}

TEST(SampleTest, RoughlyUniformOverAcceptedMembers) {
  uint64_t state = 34;
  auto rng = [&state] { return test::SplitMix64(state); };
  MemberTable t;
  const int n = 10;
  for (int i = 0; i < n; ++i) t.Add(Info(test::NodeName(i)), rng);
  auto all = [](const Member&) { return true; };
  std::map<std::string, int> counts;
  const int trials = 20000;
  for (int trial = 0; trial < trials; ++trial) {
    std::vector<Member*> got = t.Sample(2, rng, all);
    ASSERT_EQ(got.size(), 2u);
    for (Member* m : got) ++counts[m->Info().name];
  }
  ASSERT_EQ(counts.size(), static_cast<size_t>(n));
  const double expected = 2.0 * trials / n;  // 4000
  for (const auto& [name, c] : counts) {
    EXPECT_NEAR(c, expected, expected * 0.08) << name;
  }
}

}  // namespace
}  // namespace roster::core
