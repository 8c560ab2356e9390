// Unit tests for lib/core/broadcast_queue.h: the transmit-limited queue of
// news that rides on outgoing datagrams.
#include "core/broadcast_queue.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "test/common/split_mix.h"

namespace roster::core {
namespace {

// An entry whose content identifies it: "<tag>:" padded with the tag's first
// letter to `size` bytes (at least 4, the smallest entry roster encodes).
std::string Entry(const std::string& tag, size_t size = 8) {
  std::string e = absl::StrCat(tag, ":");
  if (e.size() < size) e.append(size - e.size(), tag[0]);
  return e;
}

// Fills with a budget large enough for everything and returns the bytes.
std::string FillAll(BroadcastQueue& q, int limit) {
  std::string out;
  q.Fill(1 << 20, limit, &out);
  return out;
}

// ---------------------------------------------------------------------------
// TransmitLimit: RetransmitMult * ceil(log10(n + 1)), at least 1.

TEST(TransmitLimitTest, DesignValuesForMult4) {
  EXPECT_EQ(BroadcastQueue::TransmitLimit(4, 1), 4);
  EXPECT_EQ(BroadcastQueue::TransmitLimit(4, 2), 4);
  EXPECT_EQ(BroadcastQueue::TransmitLimit(4, 9), 4);
  EXPECT_EQ(BroadcastQueue::TransmitLimit(4, 10), 8);
  EXPECT_EQ(BroadcastQueue::TransmitLimit(4, 50), 8);
  EXPECT_EQ(BroadcastQueue::TransmitLimit(4, 99), 8);
  EXPECT_EQ(BroadcastQueue::TransmitLimit(4, 100), 12);
  EXPECT_EQ(BroadcastQueue::TransmitLimit(4, 999), 12);
  EXPECT_EQ(BroadcastQueue::TransmitLimit(4, 1000), 16);
  EXPECT_EQ(BroadcastQueue::TransmitLimit(4, 10000), 20);
}

TEST(TransmitLimitTest, OtherMultipliers) {
  EXPECT_EQ(BroadcastQueue::TransmitLimit(2, 1), 2);
  EXPECT_EQ(BroadcastQueue::TransmitLimit(2, 10), 4);
  EXPECT_EQ(BroadcastQueue::TransmitLimit(1, 100), 3);
  EXPECT_EQ(BroadcastQueue::TransmitLimit(3, 5000), 12);
}

TEST(TransmitLimitTest, AtLeastOne) {
  // n = 0 gives ceil(log10(1)) = 0.
  EXPECT_EQ(BroadcastQueue::TransmitLimit(4, 0), 1);
  EXPECT_EQ(BroadcastQueue::TransmitLimit(0, 100), 1);
  for (size_t n = 0; n < 2000; n += 37) {
    EXPECT_GE(BroadcastQueue::TransmitLimit(1, n), 1) << "n = " << n;
  }
}

// ---------------------------------------------------------------------------
// Basics.

TEST(BroadcastQueueTest, EmptyQueueFillsNothing) {
  BroadcastQueue q;
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
  std::string out = "prefix";
  EXPECT_EQ(q.Fill(1400, 4, &out), 0u);
  EXPECT_EQ(out, "prefix");
}

TEST(BroadcastQueueTest, FillAppendsAndReturnsBytes) {
  BroadcastQueue q;
  q.Push("", Entry("a", 10));
  std::string out = "hdr";
  EXPECT_EQ(q.Fill(1400, 4, &out), 10u);
  EXPECT_EQ(out, "hdr" + Entry("a", 10));
}

TEST(BroadcastQueueTest, Contains) {
  BroadcastQueue q;
  EXPECT_FALSE(q.Contains("m1"));
  q.Push("m1", Entry("x"));
  EXPECT_TRUE(q.Contains("m1"));
  EXPECT_FALSE(q.Contains("m2"));
  EXPECT_FALSE(q.Contains("m"));
  EXPECT_FALSE(q.Contains(""));
  q.Push("", Entry("y"));
  EXPECT_FALSE(q.Contains(""));
  // Sent to its limit: gone, and no longer contained.
  FillAll(q, 1);
  EXPECT_FALSE(q.Contains("m1"));
  EXPECT_TRUE(q.empty());
}

// ---------------------------------------------------------------------------
// Ordering.

TEST(BroadcastQueueTest, NewestFirstAmongEqualTransmits) {
  BroadcastQueue q;
  q.Push("a", Entry("a"));
  q.Push("b", Entry("b"));
  q.Push("", Entry("c"));
  EXPECT_EQ(FillAll(q, 10), Entry("c") + Entry("b") + Entry("a"));
}

TEST(BroadcastQueueTest, FewestSentFirst) {
  BroadcastQueue q;
  q.Push("a", Entry("a"));
  q.Push("b", Entry("b"));
  // Send both once.
  ASSERT_EQ(FillAll(q, 10), Entry("b") + Entry("a"));
  // Newer news, never sent, goes ahead of both.
  q.Push("c", Entry("c"));
  EXPECT_EQ(FillAll(q, 10), Entry("c") + Entry("b") + Entry("a"));
  // Now a fresh one, then an only-partly-sent queue.
  q.Push("d", Entry("d"));
  // Budget for exactly one entry: d (0 sent) beats c (1 sent).
  std::string out;
  q.Fill(8, 10, &out);
  EXPECT_EQ(out, Entry("d"));
  // d and c have one transmission each now, a and b two: c/d first, the
  // newer (d) ahead of c.
  EXPECT_EQ(FillAll(q, 10), Entry("d") + Entry("c") + Entry("b") + Entry("a"));
}

TEST(BroadcastQueueTest, OlderEntryThatWasSkippedGetsSentFirstLater) {
  BroadcastQueue q;
  q.Push("", Entry("old"));
  q.Push("", Entry("new"));
  std::string out;
  q.Fill(8, 10, &out);  // room for one
  EXPECT_EQ(out, Entry("new"));
  out.clear();
  q.Fill(8, 10, &out);  // "old" has fewer transmissions now
  EXPECT_EQ(out, Entry("old"));
}

// ---------------------------------------------------------------------------
// Transmit limit.

TEST(BroadcastQueueTest, DroppedAfterExactlyTransmitLimitFills) {
  for (int limit = 1; limit <= 12; ++limit) {
    BroadcastQueue q;
    q.Push("k", Entry("k"));
    for (int i = 0; i < limit; ++i) {
      ASSERT_TRUE(q.Contains("k")) << "limit " << limit << " fill " << i;
      ASSERT_EQ(q.size(), 1u);
      std::string out;
      EXPECT_EQ(q.Fill(1400, limit, &out), 8u)
          << "limit " << limit << " fill " << i;
      EXPECT_EQ(out, Entry("k"));
    }
    EXPECT_TRUE(q.empty()) << "limit " << limit;
    EXPECT_FALSE(q.Contains("k"));
    std::string out;
    EXPECT_EQ(q.Fill(1400, limit, &out), 0u);
    EXPECT_TRUE(out.empty());
  }
}

TEST(BroadcastQueueTest, FillsThatSkipAnEntryDoNotCountForIt) {
  BroadcastQueue q;
  q.Push("big", Entry("big", 100));
  // Too small for it: not a transmission.
  for (int i = 0; i < 10; ++i) {
    std::string out;
    EXPECT_EQ(q.Fill(50, 2, &out), 0u);
  }
  EXPECT_EQ(q.size(), 1u);
  std::string out;
  EXPECT_EQ(q.Fill(100, 2, &out), 100u);
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.Fill(100, 2, &out), 100u);
  EXPECT_TRUE(q.empty());
}

// ---------------------------------------------------------------------------
// Keys.

TEST(BroadcastQueueTest, KeyedPushReplacesOlderEntry) {
  BroadcastQueue q;
  q.Push("m1", Entry("old-alive"));
  q.Push("m2", Entry("other"));
  ASSERT_EQ(q.size(), 2u);
  q.Push("m1", Entry("new-suspect"));
  EXPECT_EQ(q.size(), 2u);
  EXPECT_TRUE(q.Contains("m1"));
  const std::string out = FillAll(q, 10);
  EXPECT_EQ(out, Entry("new-suspect") + Entry("other"));
  EXPECT_EQ(out.find(Entry("old-alive")), std::string::npos);
}

TEST(BroadcastQueueTest, ReplacementStartsFromZeroTransmits) {
  BroadcastQueue q;
  q.Push("m1", Entry("v1"));
  FillAll(q, 3);
  FillAll(q, 3);  // v1 sent twice; one more and it would be dropped
  q.Push("m1", Entry("v2"));
  EXPECT_EQ(q.size(), 1u);
  // v2 gets its own full three transmissions.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(q.Contains("m1")) << i;
    EXPECT_EQ(FillAll(q, 3), Entry("v2")) << i;
  }
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.Contains("m1"));
}

TEST(BroadcastQueueTest, ReplacedKeyStillTrackedAfterTransmissions) {
  BroadcastQueue q;
  q.Push("m1", Entry("v1"));
  FillAll(q, 10);  // re-keys the entry internally
  q.Push("m1", Entry("v2"));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(FillAll(q, 10), Entry("v2"));
  q.Push("m1", Entry("v3"));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(FillAll(q, 10), Entry("v3"));
}

TEST(BroadcastQueueTest, EmptyKeyNeverReplaces) {
  BroadcastQueue q;
  q.Push("", Entry("u1"));
  q.Push("", Entry("u2"));
  q.Push("", Entry("u3"));
  EXPECT_EQ(q.size(), 3u);
  q.Push("m", Entry("m"));
  q.Push("", Entry("u4"));
  EXPECT_EQ(q.size(), 5u);
  EXPECT_TRUE(q.Contains("m"));
  EXPECT_EQ(FillAll(q, 10),
            Entry("u4") + Entry("m") + Entry("u3") + Entry("u2") + Entry("u1"));
}

TEST(BroadcastQueueTest, DistinctKeysDoNotReplace) {
  BroadcastQueue q;
  q.Push("node", Entry("a"));
  q.Push("node1", Entry("b"));
  q.Push("nod", Entry("c"));
  EXPECT_EQ(q.size(), 3u);
}

// ---------------------------------------------------------------------------
// Budget.

TEST(BroadcastQueueTest, SkipsEntriesThatDoNotFitButTakesSmallerOnes) {
  BroadcastQueue q;
  q.Push("", Entry("small-old", 30));
  q.Push("", Entry("large", 200));
  q.Push("", Entry("medium", 60));
  // Order: medium (newest), large, small-old. Budget 100: medium fits (60),
  // large does not (40 left), small-old does.
  std::string out;
  EXPECT_EQ(q.Fill(100, 10, &out), 90u);
  EXPECT_EQ(out, Entry("medium", 60) + Entry("small-old", 30));
  // The skipped one is first next time: it was sent least.
  out.clear();
  EXPECT_EQ(q.Fill(250, 10, &out), 230u);
  EXPECT_EQ(out, Entry("large", 200) + Entry("small-old", 30));
}

TEST(BroadcastQueueTest, ExactFit) {
  BroadcastQueue q;
  q.Push("", Entry("a", 50));
  q.Push("", Entry("b", 50));
  std::string out;
  EXPECT_EQ(q.Fill(100, 10, &out), 100u);
  EXPECT_EQ(out.size(), 100u);
  out.clear();
  EXPECT_EQ(q.Fill(99, 10, &out), 50u);
}

TEST(BroadcastQueueTest, ZeroBudgetSendsNothing) {
  BroadcastQueue q;
  q.Push("k", Entry("k"));
  std::string out;
  EXPECT_EQ(q.Fill(0, 1, &out), 0u);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(q.size(), 1u);
}

// A straightforward model of the documented behaviour, to compare against.
class ModelQueue {
 public:
  void Push(const std::string& key, const std::string& entry) {
    if (!key.empty()) {
      items_.erase(std::remove_if(items_.begin(), items_.end(),
                                  [&](const Item& i) { return i.key == key; }),
                   items_.end());
    }
    items_.push_back({key, entry, 0, next_id_++});
  }
  std::string Fill(size_t budget, int limit) {
    std::sort(items_.begin(), items_.end(), [](const Item& a, const Item& b) {
      if (a.transmits != b.transmits) return a.transmits < b.transmits;
      return a.id > b.id;  // newest first
    });
    // Each entry appended counts one transmission; an entry is dropped
    // when a transmission brings it to the limit.
    // The scan gives up after 16 consecutive entries that do not fit, or
    // once fewer than 4 bytes are left.
    std::string out;
    std::vector<Item> kept;
    int misses = 0;
    bool scanning = true;
    for (Item& i : items_) {
      if (budget - out.size() < 4 || misses >= 16) scanning = false;
      if (scanning && out.size() + i.entry.size() <= budget) {
        misses = 0;
        out += i.entry;
        if (++i.transmits >= limit) continue;
      } else if (scanning) {
        ++misses;
      }
      kept.push_back(std::move(i));
    }
    items_ = std::move(kept);
    return out;
  }
  size_t size() const { return items_.size(); }
  bool Contains(const std::string& key) const {
    return std::any_of(items_.begin(), items_.end(),
                       [&](const Item& i) { return i.key == key; });
  }

 private:
  struct Item {
    std::string key;
    std::string entry;
    int transmits;
    uint64_t id;
  };
  std::vector<Item> items_;
  uint64_t next_id_ = 0;
};

TEST(BroadcastQueueTest, RandomizedFillNeverExceedsBudgetAndMatchesModel) {
  uint64_t state = 0x5eed1234u;
  BroadcastQueue q;
  ModelQueue model;
  uint64_t serial = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    const uint64_t r = test::SplitMix64(state);
    // Keep the queue to a realistic length (tens of entries) so that both
    // pushes and fills keep happening.
    if (r % 3 != 0 && q.size() < 60) {
      // Push: sizes from 4 to ~700 bytes, keys from a small set (so
      // replacements are common) or empty.
      const size_t size = 4 + test::SplitMix64(state) % 700;
      const uint64_t k = test::SplitMix64(state) % 40;
      const std::string key = k < 8 ? "" : absl::StrCat("m", k);
      std::string entry = absl::StrCat("#", serial++, "#");
      entry.resize(size, static_cast<char>('a' + serial % 26));
      q.Push(key, entry);
      model.Push(key, entry);
    } else {
      const size_t budget = test::SplitMix64(state) % 1500;
      const int limit = 1 + static_cast<int>(test::SplitMix64(state) % 6);
      std::string out = "xyz";
      const size_t used = q.Fill(budget, limit, &out);
      ASSERT_LE(used, budget) << "iteration " << iter;
      ASSERT_EQ(out.size(), 3 + used) << "iteration " << iter;
      ASSERT_EQ(out.substr(0, 3), "xyz");
      ASSERT_EQ(out.substr(3), model.Fill(budget, limit))
          << "iteration " << iter << " budget " << budget;
    }
    ASSERT_EQ(q.size(), model.size()) << "iteration " << iter;
    ASSERT_EQ(q.empty(), model.size() == 0);
    if (iter % 97 == 0) {
      for (int k = 8; k < 40; ++k) {
        const std::string key = absl::StrCat("m", k);
        ASSERT_EQ(q.Contains(key), model.Contains(key))
            << "iteration " << iter << " key " << key;
      }
    }
  }
}

TEST(BroadcastQueueTest, RandomizedBudgetsWithManySmallEntries) {
  uint64_t state = 42;
  for (int round = 0; round < 200; ++round) {
    BroadcastQueue q;
    const int n = 1 + static_cast<int>(test::SplitMix64(state) % 300);
    for (int i = 0; i < n; ++i) {
      q.Push("", std::string(4 + test::SplitMix64(state) % 120, 'e'));
    }
    for (int f = 0; f < 20 && !q.empty(); ++f) {
      const size_t budget = test::SplitMix64(state) % 1400;
      std::string out;
      const size_t used = q.Fill(budget, 3, &out);
      ASSERT_LE(used, budget);
      ASSERT_EQ(out.size(), used);
    }
  }
}

// ---------------------------------------------------------------------------
// Prune.

TEST(BroadcastQueueTest, PruneDropsMostTransmittedFirst) {
  BroadcastQueue q;
  q.Push("twice", Entry("twice"));
  FillAll(q, 10);
  q.Push("once", Entry("once"));
  FillAll(q, 10);  // twice: 2, once: 1
  q.Push("never", Entry("never"));
  q.Push("", Entry("never-unkeyed"));
  ASSERT_EQ(q.size(), 4u);

  EXPECT_EQ(q.Prune(3), 1u);
  EXPECT_EQ(q.size(), 3u);
  EXPECT_FALSE(q.Contains("twice"));
  EXPECT_TRUE(q.Contains("once"));
  EXPECT_TRUE(q.Contains("never"));

  EXPECT_EQ(q.Prune(2), 1u);
  EXPECT_FALSE(q.Contains("once"));
  EXPECT_TRUE(q.Contains("never"));
  EXPECT_EQ(FillAll(q, 10), Entry("never-unkeyed") + Entry("never"));
}

TEST(BroadcastQueueTest, PruneWithinBoundIsNoop) {
  BroadcastQueue q;
  q.Push("a", Entry("a"));
  q.Push("b", Entry("b"));
  EXPECT_EQ(q.Prune(2), 0u);
  EXPECT_EQ(q.Prune(100), 0u);
  EXPECT_EQ(q.size(), 2u);
}

TEST(BroadcastQueueTest, PruneToZeroEmptiesEverything) {
  BroadcastQueue q;
  for (int i = 0; i < 10; ++i) q.Push(absl::StrCat("k", i), Entry("x"));
  q.Push("", Entry("y"));
  EXPECT_EQ(q.Prune(0), 11u);
  EXPECT_TRUE(q.empty());
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(q.Contains(absl::StrCat("k", i)));
  // Pruned keys can be pushed again as fresh entries.
  q.Push("k3", Entry("z"));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(FillAll(q, 10), Entry("z"));
}

TEST(BroadcastQueueTest, PruneKeepsFreshNews) {
  BroadcastQueue q;
  for (int i = 0; i < 5; ++i) q.Push(absl::StrCat("old", i), Entry("o"));
  FillAll(q, 10);
  for (int i = 0; i < 5; ++i) q.Push(absl::StrCat("new", i), Entry("n"));
  EXPECT_EQ(q.Prune(5), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(q.Contains(absl::StrCat("new", i))) << i;
    EXPECT_FALSE(q.Contains(absl::StrCat("old", i))) << i;
  }
}

}  // namespace
}  // namespace roster::core
