// Restarts and moves over real sockets, on loopback: a process that leaves
// and comes back at a new port (a quick move), one killed and started
// again at a new port (a hard move) or at its own port (a fast restart),
// and a Join after a Leave on the same Node. The same cases are played on
// the simulator in test/sim/life_test.cc, and across network namespaces
// in test/netns.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "roster/node.h"
#include "test/common/wait_until.h"
#include "test/net/net_cluster.h"

namespace roster {
namespace {

constexpr int kPeers = 4;
constexpr char kMover[] = "mover";

// Peers n0..n3 and a member named "mover" that restarts; every peer
// records its events.
class Moves {
 public:
  Moves() : cluster_(kPeers) {
    EXPECT_TRUE(cluster_.JoinAll().ok());
    mover_ = StartMover("127.0.0.1:0");
    EXPECT_TRUE(mover_->Join({cluster_.node(0).addr()}).ok());
    EXPECT_TRUE(WaitUntil([&] { return AllSeeMover(); }, absl::Seconds(10)));
  }

  std::unique_ptr<Node> StartMover(const std::string& bind) {
    NodeConfig c = TestConfig(kMover);
    c.bind_addr = bind;
    auto node = Node::Start(std::move(c));
    EXPECT_TRUE(node.ok()) << node.status();
    return node.ok() ? std::move(*node) : nullptr;
  }

  // Every peer sees the mover alive at its current address, in its
  // current life.
  bool AllSeeMover() {
    const MemberInfo self = mover_->Self();
    for (int i = 0; i < kPeers; ++i) {
      auto m = cluster_.node(i).Lookup(kMover);
      if (!m || m->state != MemberState::kAlive || m->addr != self.addr ||
          m->life != self.life)
        return false;
    }
    return true;
  }

  // How many peers raised `type` about the mover since the mark.
  int PeersSaw(EventType type) {
    int n = 0;
    for (int i = 0; i < kPeers; ++i) {
      Recorder& r = cluster_.recorder(i);
      std::lock_guard<std::mutex> lock(r.mu);
      for (size_t e = marks_[i]; e < r.events.size(); ++e) {
        if (r.events[e].type == type && r.events[e].member.name == kMover) {
          ++n;
          break;
        }
      }
    }
    return n;
  }
  void Mark() {
    marks_.assign(kPeers, 0);
    for (int i = 0; i < kPeers; ++i) {
      Recorder& r = cluster_.recorder(i);
      std::lock_guard<std::mutex> lock(r.mu);
      marks_[i] = r.events.size();
    }
  }

  // Restarts the mover at `bind` and joins it; returns how long until
  // every peer saw the new life, or an infinite duration.
  absl::Duration RestartAndJoin(const std::string& bind) {
    const absl::Time start = absl::Now();
    mover_ = StartMover(bind);
    if (mover_ == nullptr) return absl::InfiniteDuration();
    absl::Status joined = mover_->Join({cluster_.node(0).addr()});
    EXPECT_TRUE(joined.ok()) << joined;
    if (!WaitUntil([&] { return AllSeeMover(); }, absl::Seconds(10)))
      return absl::InfiniteDuration();
    return absl::Now() - start;
  }

  Cluster& cluster() { return cluster_; }
  Node& mover() { return *mover_; }
  void KillMover() { mover_->Shutdown(); }

 private:
  Cluster cluster_;
  std::unique_ptr<Node> mover_;
  std::vector<size_t> marks_ = std::vector<size_t>(kPeers, 0);
};

TEST(LifeNetTest, AQuickMoveIsSeenAtTheNewAddress) {
  Moves moves;
  const std::string old_addr = moves.mover().addr();
  ASSERT_TRUE(moves.mover().Leave(absl::Seconds(5)).ok());
  moves.KillMover();
  moves.Mark();
  const absl::Duration took = moves.RestartAndJoin("127.0.0.1:0");
  ASSERT_LT(took, absl::Seconds(10));
  EXPECT_NE(moves.mover().addr(), old_addr);
  std::printf(
      "quick move over loopback: every peer saw the new address in "
      "%s\n",
      absl::FormatDuration(took).c_str());
  // The old life's leave never lands on the new one.
  moves.Mark();
  EXPECT_FALSE(WaitUntil([&] { return moves.PeersSaw(EventType::kLeft) > 0; },
                         absl::Seconds(3)));
  EXPECT_TRUE(moves.AllSeeMover());
}

TEST(LifeNetTest, AHardMoveTakesTheNameOver) {
  Moves moves;
  moves.KillMover();  // no leave: a crash, as far as the peers can tell
  moves.Mark();
  const absl::Duration took = moves.RestartAndJoin("127.0.0.1:0");
  ASSERT_LT(took, absl::Seconds(10));
  EXPECT_EQ(moves.mover().counters().protocol.takeovers, 1u);
  // The events follow the views they describe, on each delivery thread.
  EXPECT_TRUE(
      WaitUntil([&] { return moves.PeersSaw(EventType::kRestarted) == kPeers; },
                absl::Seconds(2)));
  EXPECT_EQ(moves.PeersSaw(EventType::kFailed), 0);
  std::printf(
      "hard move over loopback: every peer saw the new address in "
      "%s\n",
      absl::FormatDuration(took).c_str());
}

TEST(LifeNetTest, AFastRestartRaisesRestartedAtEveryPeer) {
  Moves moves;
  const std::string addr = moves.mover().addr();
  const uint32_t old_life = moves.mover().Self().life;
  moves.KillMover();
  moves.Mark();
  const absl::Time start = absl::Now();
  ASSERT_LT(moves.RestartAndJoin(addr), absl::Seconds(10));
  ASSERT_TRUE(
      WaitUntil([&] { return moves.PeersSaw(EventType::kRestarted) == kPeers; },
                absl::Seconds(10)));
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(moves.mover().addr(), addr);
  EXPECT_NE(moves.mover().Self().life, old_life);
  EXPECT_EQ(moves.PeersSaw(EventType::kFailed), 0);
  std::printf("fast restart over loopback: restarted at every peer in %s\n",
              absl::FormatDuration(took).c_str());
}

TEST(LifeNetTest, JoinAfterLeaveStartsANewLife) {
  Moves moves;
  const uint32_t old_life = moves.mover().Self().life;
  ASSERT_TRUE(moves.mover().Leave(absl::Seconds(5)).ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto m = moves.cluster().node(0).Lookup(kMover);
        return m && m->state == MemberState::kLeft;
      },
      absl::Seconds(10)));
  ASSERT_TRUE(moves.mover().Join({moves.cluster().node(0).addr()}).ok());
  EXPECT_NE(moves.mover().Self().life, old_life);
  EXPECT_TRUE(
      WaitUntil([&] { return moves.AllSeeMover(); }, absl::Seconds(10)));
}

}  // namespace
}  // namespace roster
