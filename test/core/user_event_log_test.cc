// Unit tests of core::UserEventLog: what tells a new user event from a
// copy gossip brought again, and what a joiner asking to replay is sent.
#include "core/user_event_log.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace roster::core {
namespace {

using Verdict = UserEventLog::Verdict;

TEST(UserEventLogTest, ACopyIsSeenAndOnlyTheSameKeyAtTheSameTimeIsACopy) {
  UserEventLog log;
  EXPECT_EQ(log.Record(10, 5, "a/1/deploy", "e1"), Verdict::kNew);
  EXPECT_EQ(log.Record(10, 5, "a/1/deploy", "e1"), Verdict::kSeen);
  // Another origin, or another name, at the same time is another event.
  EXPECT_EQ(log.Record(10, 5, "b/1/deploy", "e2"), Verdict::kNew);
  EXPECT_EQ(log.Record(10, 5, "a/1/restart", "e3"), Verdict::kNew);
  // The same key at another time is another event too.
  EXPECT_EQ(log.Record(10, 6, "a/1/deploy", "e4"), Verdict::kNew);
  EXPECT_EQ(log.Record(10, 6, "a/1/deploy", "e4"), Verdict::kSeen);
}

TEST(UserEventLogTest, AnEventOlderThanTheWindowIsTooOld) {
  UserEventLog log;
  const uint64_t clock = 2000;
  // The oldest time still told apart is clock - kWindow.
  EXPECT_EQ(log.Record(clock, clock - UserEventLog::kWindow, "a", "e"),
            Verdict::kNew);
  EXPECT_EQ(log.Record(clock, clock - UserEventLog::kWindow - 1, "a", "e"),
            Verdict::kTooOld);
  // Refused, not recorded: it stays too old however often it comes.
  EXPECT_EQ(log.Record(clock, clock - UserEventLog::kWindow - 1, "a", "e"),
            Verdict::kTooOld);
}

TEST(UserEventLogTest, ATimeWhoseSlotHoldsANewerTimeIsTooOld) {
  UserEventLog log;
  // The clock given says nothing here; the slot, shared by times kWindow
  // apart, holds the newer one, so the older cannot be told from a copy.
  EXPECT_EQ(log.Record(0, 8 + UserEventLog::kWindow, "a", "new"),
            Verdict::kNew);
  EXPECT_EQ(log.Record(0, 8, "a", "old"), Verdict::kTooOld);
  EXPECT_EQ(log.Recent(1 << 20), "new");
}

TEST(UserEventLogTest, EachTimeHoldsAtMostAFewEvents) {
  UserEventLog log;
  for (size_t i = 0; i < UserEventLog::kEventsPerTime; ++i)
    ASSERT_EQ(log.Record(100, 42, absl::StrCat("origin", i), "e"),
              Verdict::kNew)
        << i;
  EXPECT_EQ(log.Record(100, 42, "one-more", "e"), Verdict::kFull);
  // Still full rather than forgotten; the ones held are still copies.
  EXPECT_EQ(log.Record(100, 42, "one-more", "e"), Verdict::kFull);
  EXPECT_EQ(log.Record(100, 42, "origin0", "e"), Verdict::kSeen);
  // Another time has room of its own.
  EXPECT_EQ(log.Record(100, 43, "one-more", "e"), Verdict::kNew);
}

TEST(UserEventLogTest, RecentIsOldestFirstWhateverTheOrderOfArrival) {
  UserEventLog log;
  ASSERT_EQ(log.Record(100, 30, "c", "[30]"), Verdict::kNew);
  ASSERT_EQ(log.Record(100, 10, "a", "[10]"), Verdict::kNew);
  ASSERT_EQ(log.Record(100, 20, "b", "[20]"), Verdict::kNew);
  EXPECT_EQ(log.Recent(1 << 20), "[10][20][30]");
  EXPECT_EQ(log.Recent(0), "");
}

TEST(UserEventLogTest, RecentKeepsTheNewestThatFitTheBudget) {
  UserEventLog log;
  ASSERT_EQ(log.Record(100, 10, "a", "[10]"), Verdict::kNew);
  ASSERT_EQ(log.Record(100, 20, "b", "[20]"), Verdict::kNew);
  ASSERT_EQ(log.Record(100, 30, "c", "[30]"), Verdict::kNew);
  EXPECT_EQ(log.Recent(8), "[20][30]");
  EXPECT_EQ(log.Recent(11), "[20][30]");
  EXPECT_EQ(log.Recent(12), "[10][20][30]");
}

// The newest that fit, and none older than one that did not: a joiner
// replaying them must not get an old event while a newer one is left out.
TEST(UserEventLogTest, RecentLeavesNoGapBehindAnEventThatDidNotFit) {
  UserEventLog log;
  ASSERT_EQ(log.Record(100, 10, "a", "1"), Verdict::kNew);
  ASSERT_EQ(log.Record(100, 20, "b", "22222"), Verdict::kNew);
  ASSERT_EQ(log.Record(100, 30, "c", "33333333"), Verdict::kNew);
  EXPECT_EQ(log.Recent(10), "33333333");
  // The same within one time.
  UserEventLog same;
  ASSERT_EQ(same.Record(100, 50, "x", "xxxxxxxx"), Verdict::kNew);
  ASSERT_EQ(same.Record(100, 49, "y", "y"), Verdict::kNew);
  ASSERT_EQ(same.Record(100, 50, "z", "zzzzz"), Verdict::kNew);
  const std::string recent = same.Recent(10);
  EXPECT_EQ(recent.find('y'), std::string::npos) << recent;
}

}  // namespace
}  // namespace roster::core
