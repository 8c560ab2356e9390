// net::Snapshots: what is published, when the member list is rebuilt, and
// when nothing is published at all. One Swim on a runtime whose clock the
// test moves; nothing is sent anywhere.
#include "net/snapshot.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "roster/config.h"
#include "roster/runtime.h"
#include "roster/swim.h"

namespace roster::net {
namespace {

class StillRuntime : public Runtime {
 public:
  absl::Time Now() override { return now; }
  uint64_t Random() override { return ++rng; }
  void SendPacket(const std::string&, std::string) override {}
  void StartSync(const std::string&, std::string) override {}
  void After(absl::Duration, Timer) override {}

  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  uint64_t rng = 1;
};

MemberInfo Peer(int i) {
  MemberInfo m;
  m.name = absl::StrCat("peer", i);
  m.addr = absl::StrCat("10.0.0.", i + 2, ":7946");
  m.incarnation = 1;
  return m;
}

class SnapshotsTest : public ::testing::Test {
 protected:
  SnapshotsTest() {
    auto swim =
        Swim::Create(Config::ForProfile(Profile::kLan, "self", "10.0.0.1:7946"),
                     &runtime_, nullptr);
    EXPECT_TRUE(swim.ok()) << swim.status();
    swim_ = std::move(*swim);
  }
  void Publish() { snapshots_.Publish(*swim_, net_, runtime_.now); }

  StillRuntime runtime_;
  std::unique_ptr<Swim> swim_;
  NetCounters net_;
  Snapshots snapshots_;
};

TEST_F(SnapshotsTest, NothingBeforeTheFirstPublishNorAfterClose) {
  EXPECT_EQ(snapshots_.Latest(), nullptr);
  Publish();
  ASSERT_NE(snapshots_.Latest(), nullptr);
  snapshots_.Close();
  EXPECT_EQ(snapshots_.Latest(), nullptr);
  Publish();
  EXPECT_EQ(snapshots_.Latest(), nullptr);
}

TEST_F(SnapshotsTest, MembersSortedByNameAndFoundByName) {
  swim_->Preload({Peer(3), Peer(1), Peer(2)});
  Publish();
  auto snapshot = snapshots_.Latest();
  ASSERT_NE(snapshot, nullptr);
  std::vector<std::string> names;
  for (const auto& m : *snapshot->members) names.push_back(m->name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"peer1", "peer2", "peer3", "self"}));
  EXPECT_EQ(snapshot->num_alive, 4u);
  EXPECT_EQ(snapshot->Live().size(), 4u);
  EXPECT_EQ(snapshot->All().size(), 4u);
  ASSERT_TRUE(snapshot->Find("peer2").has_value());
  EXPECT_EQ(snapshot->Find("peer2")->addr, "10.0.0.4:7946");
  EXPECT_FALSE(snapshot->Find("peer").has_value());
  EXPECT_FALSE(snapshot->Find("zzz").has_value());
  EXPECT_EQ(snapshot->self.name, "self");
}

TEST_F(SnapshotsTest, ATurnThatChangedNothingPublishesNothing) {
  Publish();
  auto first = snapshots_.Latest();
  Publish();
  EXPECT_EQ(snapshots_.Latest(), first);
}

TEST_F(SnapshotsTest, CountersAloneShareTheMemberList) {
  Publish();
  auto first = snapshots_.Latest();
  ++net_.dns_lookups;
  Publish();
  auto second = snapshots_.Latest();
  ASSERT_NE(second, first);
  EXPECT_EQ(second->counters.net.dns_lookups, 1u);
  EXPECT_EQ(second->members, first->members) << "not rebuilt";
}

TEST_F(SnapshotsTest, AnEventReplacesOneRecordAndTheRestAreShared) {
  swim_->Preload({Peer(1), Peer(2)});
  Publish();
  auto before = snapshots_.Latest();
  MemberInfo moved = *before->Find("peer1");
  moved.addr = "10.0.0.99:7946";
  moved.last_change = EventType::kUpdated;
  snapshots_.Note(moved);
  Publish();
  auto after = snapshots_.Latest();
  ASSERT_NE(after->members, before->members);
  EXPECT_EQ(after->Find("peer1")->addr, "10.0.0.99:7946");
  ASSERT_EQ(after->members->size(), 3u);
  EXPECT_NE((*after->members)[0], (*before->members)[0]);  // peer1
  EXPECT_EQ((*after->members)[1], (*before->members)[1]);  // peer2, shared
  EXPECT_EQ((*after->members)[2], (*before->members)[2]);  // self, shared
}

TEST_F(SnapshotsTest, MembersAddedWithoutAnEventAndThisMembersChangesShow) {
  Publish();
  swim_->Preload({Peer(1)});
  Publish();
  EXPECT_EQ(snapshots_.Latest()->members->size(), 2u);
  ASSERT_TRUE(swim_->SetMeta("role=cache").ok());
  Publish();
  auto snapshot = snapshots_.Latest();
  EXPECT_EQ(snapshot->self.meta, "role=cache");
  EXPECT_EQ(snapshot->Find("self")->meta, "role=cache");
}

TEST_F(SnapshotsTest, WhatChangesWithoutAnEventIsSweptUp) {
  swim_->Preload({Peer(1), Peer(2), Peer(3)});
  Publish();
  // A record the loop's copy got wrong, as a change without an event
  // leaves it: the sweep reads it again from the Swim.
  MemberInfo stale = *snapshots_.Latest()->Find("peer2");
  stale.incarnation = 99;
  snapshots_.Note(stale);
  Publish();
  EXPECT_EQ(snapshots_.Latest()->Find("peer2")->incarnation, 99u);
  runtime_.now += Snapshots::kSweepPerThousand;  // the whole table is due
  Publish();
  EXPECT_EQ(snapshots_.Latest()->Find("peer2")->incarnation, 1u);
  auto swept = snapshots_.Latest();
  Publish();
  EXPECT_EQ(snapshots_.Latest(), swept) << "nothing left to change";
}

}  // namespace
}  // namespace roster::net
