// Rejoining after a restart through the snapshot file
// (NodeConfig::snapshot_path), and force-leave, over loopback: a member
// destroyed without a leave (a crash, as far as its peers can tell) and
// started again with its file and no seeds is back in its new life at
// every peer within 3 s; one that left does not come back on its own; a
// damaged file is set aside and the seeds still work. Force-leave removes
// a failed member from every table.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "net/snapshot_file.h"
#include "roster/node.h"
#include "test/common/wait_until.h"
#include "test/net/net_cluster.h"

namespace roster {
namespace {

namespace fs = std::filesystem;

class RejoinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           absl::StrCat(
               "roster-rejoin-", ::getpid(), "-",
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string PathOf(const std::string& name) const {
    return (dir_ / absl::StrCat(name, ".snapshot")).string();
  }
  // Three members, each with its snapshot file, joined.
  void StartCluster() {
    cluster_ = std::make_unique<Cluster>(
        3, [this](NodeConfig& c) { c.snapshot_path = PathOf(c.swim.name); });
    ASSERT_TRUE(cluster_->JoinAll().ok());
    ASSERT_TRUE(
        WaitUntil([&] { return cluster_->Converged(); }, absl::Seconds(10)));
  }
  // n2's file lists the two others.
  bool FileListsPeers() {
    auto read = net::ReadSnapshotFile(PathOf("n2"));
    return read.ok() && read->members.size() == 2;
  }
  std::unique_ptr<Node> Restart(bool rejoin_after_leave = false) {
    NodeConfig c = TestConfig("n2");
    c.snapshot_path = PathOf("n2");
    c.rejoin_after_leave = rejoin_after_leave;
    c.on_log = [this](LogLevel, std::string_view m) {
      std::lock_guard<std::mutex> lock(mu_);
      logs_.emplace_back(m);
    };
    auto node = Node::Start(std::move(c));
    EXPECT_TRUE(node.ok()) << node.status();
    return node.ok() ? std::move(*node) : nullptr;
  }
  bool Logged(std::string_view text) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& l : logs_)
      if (l.find(text) != std::string::npos) return true;
    return false;
  }
  // n0 and n1 see `n2` alive in its life, at its address.
  bool PeersSee(const Node& n2) {
    const MemberInfo self = n2.Self();
    for (int i = 0; i < 2; ++i) {
      auto m = cluster_->node(i).Lookup("n2");
      if (!m || m->state != MemberState::kAlive || m->life != self.life ||
          m->addr != self.addr)
        return false;
    }
    return true;
  }

  fs::path dir_;
  std::unique_ptr<Cluster> cluster_;
  std::mutex mu_;
  std::vector<std::string> logs_;
};

TEST_F(RejoinTest, ACrashedMemberRejoinsThroughItsFileWithoutSeeds) {
  StartCluster();
  ASSERT_TRUE(WaitUntil([&] { return FileListsPeers(); }, absl::Seconds(10)));
  const MemberInfo before = cluster_->node(2).Self();
  cluster_->Kill(2);  // no leave: to its peers, a crash
  // At a new port: only the named predecessor lets peers that still hold
  // the old life alive take the new one at once.
  const absl::Time start = absl::Now();
  std::unique_ptr<Node> n2 = Restart();
  ASSERT_NE(n2, nullptr);
  EXPECT_NE(n2->Self().life, before.life);
  EXPECT_GT(n2->Self().incarnation, before.incarnation);
  ASSERT_TRUE(WaitUntil([&] { return PeersSee(*n2); }, absl::Seconds(10)));
  const absl::Duration took = absl::Now() - start;
  std::printf("every peer saw the new life %.0f ms after the restart\n",
              absl::ToDoubleMilliseconds(took));
  EXPECT_LT(took, absl::Seconds(3));
  EXPECT_TRUE(Logged("restored from snapshot file"));
  EXPECT_EQ(n2->NumAlive(), 3u);
  // Taken as a restart, not as a failure and a join.
  for (int i = 0; i < 2; ++i) {
    Recorder& r = cluster_->recorder(i);
    std::lock_guard<std::mutex> lock(r.mu);
    bool restarted = false;
    for (const Event& e : r.events)
      restarted |= e.type == EventType::kRestarted && e.member.name == "n2";
    EXPECT_TRUE(restarted) << i;
  }
}

TEST_F(RejoinTest, AMemberThatLeftDoesNotRejoinOnItsOwn) {
  StartCluster();
  ASSERT_TRUE(WaitUntil([&] { return FileListsPeers(); }, absl::Seconds(10)));
  ASSERT_TRUE(cluster_->node(2).Leave(absl::Seconds(5)).ok());
  cluster_->Kill(2);
  ASSERT_TRUE(net::ReadSnapshotFile(PathOf("n2"))->left);
  ASSERT_TRUE(WaitUntil([&] { return cluster_->AllSee(2, MemberState::kLeft); },
                        absl::Seconds(10)));
  {
    std::unique_ptr<Node> n2 = Restart();
    ASSERT_NE(n2, nullptr);
    absl::SleepFor(absl::Seconds(2));
    EXPECT_EQ(n2->NumAlive(), 1u);
    EXPECT_EQ(cluster_->node(0).Lookup("n2")->state, MemberState::kLeft);
    EXPECT_TRUE(Logged("it had left gracefully"));
  }
  // The file still says left (the start wrote nothing else of note), and
  // with rejoin_after_leave it comes back.
  std::unique_ptr<Node> n2 = Restart(/*rejoin_after_leave=*/true);
  ASSERT_NE(n2, nullptr);
  EXPECT_TRUE(WaitUntil([&] { return PeersSee(*n2); }, absl::Seconds(10)));
}

TEST_F(RejoinTest, ADamagedFileIsSetAsideAndTheSeedsStillWork) {
  StartCluster();
  cluster_->Kill(2);
  {
    std::ofstream out(PathOf("n2"), std::ios::trunc);
    out << "ROSTERSF but not really a snapshot file";
  }
  std::unique_ptr<Node> n2 = Restart();
  ASSERT_NE(n2, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return Logged("not used"); }, absl::Seconds(5)));
  EXPECT_TRUE(Logged("moved aside to " + PathOf("n2") + ".bad"));
  EXPECT_TRUE(fs::exists(PathOf("n2") + ".bad"));
  EXPECT_EQ(n2->NumAlive(), 1u);  // nobody to rejoin
  ASSERT_TRUE(n2->Join({cluster_->node(0).addr()}).ok());
  EXPECT_TRUE(WaitUntil([&] { return PeersSee(*n2); }, absl::Seconds(10)));
  // And it writes a good file again.
  EXPECT_TRUE(WaitUntil([&] { return FileListsPeers(); }, absl::Seconds(10)));
}

TEST(ForceLeaveNetTest, AFailedMemberIsRemovedFromEveryTable) {
  Cluster cluster(4);
  ASSERT_TRUE(cluster.JoinAll().ok());
  ASSERT_TRUE(
      WaitUntil([&] { return cluster.Converged(); }, absl::Seconds(10)));
  absl::Status live = cluster.node(0).ForceLeave("n3");
  EXPECT_TRUE(absl::IsFailedPrecondition(live)) << live;
  EXPECT_TRUE(absl::IsNotFound(cluster.node(0).ForceLeave("nobody")));
  cluster.Kill(3);
  cluster.Kill(2);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return cluster.AllSee(3, MemberState::kDead) &&
               cluster.AllSee(2, MemberState::kDead);
      },
      absl::Seconds(15)));
  absl::Time start = absl::Now();
  ASSERT_TRUE(cluster.node(0).ForceLeave("n3").ok());
  ASSERT_TRUE(WaitUntil([&] { return cluster.AllSee(3, MemberState::kLeft); },
                        absl::Seconds(5)));
  std::printf("force-leave: every member saw it left %.0f ms after the call\n",
              absl::ToDoubleMilliseconds(absl::Now() - start));
  start = absl::Now();
  ASSERT_TRUE(cluster.node(1).ForceLeave("n2", /*prune=*/true).ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        return !cluster.node(0).Lookup("n2") && !cluster.node(1).Lookup("n2");
      },
      absl::Seconds(5)));
  std::printf("force-leave with prune: gone from every table %.0f ms after\n",
              absl::ToDoubleMilliseconds(absl::Now() - start));
  absl::SleepFor(absl::Seconds(1));  // stale news does not bring it back
  EXPECT_FALSE(cluster.node(0).Lookup("n2").has_value());
}

}  // namespace
}  // namespace roster
