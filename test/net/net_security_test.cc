// The keyring, admission and a garbage flood over real sockets, loopback
// only. Waits are on conditions with deadlines, never fixed sleeps.
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/wire/frame.h"
#include "gtest/gtest.h"
#include "roster/keyring.h"
#include "roster/node.h"
#include "test/common/messages.h"
#include "test/common/test_keys.h"
#include "test/common/wait_until.h"
#include "test/net/net_cluster.h"

namespace roster {
namespace {

int CountEvents(Cluster& cluster, EventType type) {
  int count = 0;
  for (int i = 0; i < cluster.size(); ++i) {
    Recorder& r = cluster.recorder(i);
    std::lock_guard<std::mutex> lock(r.mu);
    for (const Event& e : r.events) count += e.type == type;
  }
  return count;
}

uint64_t DropsEverywhere(Cluster& cluster, DropReason reason) {
  uint64_t total = 0;
  for (int i = 0; i < cluster.size(); ++i) {
    total += cluster.node(i).counters().protocol.drops_of(reason);
  }
  return total;
}

// Every member of `marks` has received `more` datagrams since they were
// taken: the cluster has been through some probe rounds.
bool Progressed(Cluster& cluster, const std::vector<uint64_t>& marks,
                uint64_t more) {
  for (size_t i = 0; i < marks.size(); ++i) {
    if (cluster.node(i).counters().protocol.packets_received < marks[i] + more)
      return false;
  }
  return true;
}

std::vector<uint64_t> Marks(Cluster& cluster, int members) {
  std::vector<uint64_t> marks;
  for (int i = 0; i < members; ++i) {
    marks.push_back(cluster.node(i).counters().protocol.packets_received);
  }
  return marks;
}

// Waits for some probe rounds among the first `members` (all by default).
void WaitForRounds(Cluster& cluster, int members = -1) {
  auto marks = Marks(cluster, members < 0 ? cluster.size() : members);
  ASSERT_TRUE(WaitUntil([&] { return Progressed(cluster, marks, 20); },
                        absl::Seconds(20)));
}

TEST(NetSecurityTest, LiveKeyRotationMarksNoMemberFailed) {
  std::vector<std::shared_ptr<Keyring>> rings;
  Cluster cluster(5, [&](NodeConfig& c) {
    rings.push_back(Ring({Key('A')}));
    c.swim.keyring = rings.back();
  });
  ASSERT_TRUE(cluster.JoinAll().ok());
  ASSERT_TRUE(
      WaitUntil([&] { return cluster.Converged(); }, absl::Seconds(10)));
  for (auto& ring : rings) ASSERT_TRUE(ring->Install(Key('B')).ok());
  WaitForRounds(cluster);
  for (auto& ring : rings) ASSERT_TRUE(ring->UsePrimary(Key('B')).ok());
  WaitForRounds(cluster);
  for (auto& ring : rings) ASSERT_TRUE(ring->Remove(Key('A')).ok());
  WaitForRounds(cluster);
  EXPECT_EQ(CountEvents(cluster, EventType::kSuspected), 0);
  EXPECT_EQ(CountEvents(cluster, EventType::kFailed), 0);
  EXPECT_EQ(DropsEverywhere(cluster, DropReason::kUndecryptable), 0u);
  EXPECT_TRUE(cluster.Converged());

  // Only the new key reads the member list now.
  auto with_new = QueryMembers(cluster.node(2).addr(), "", absl::Seconds(5),
                               Ring({Key('B')}).get());
  ASSERT_TRUE(with_new.ok()) << with_new.status();
  EXPECT_EQ(with_new->size(), 5u);
  EXPECT_FALSE(QueryMembers(cluster.node(2).addr(), "", absl::Seconds(5),
                            Ring({Key('A')}).get())
                   .ok());
  EXPECT_FALSE(QueryMembers(cluster.node(2).addr()).ok()) << "plaintext";
}

TEST(NetSecurityTest, WrongKeyOrNoKeyCannotJoin) {
  Cluster cluster(3, [](NodeConfig& c) { c.swim.keyring = Ring({Key('A')}); });
  ASSERT_TRUE(cluster.JoinAll().ok());
  ASSERT_TRUE(
      WaitUntil([&] { return cluster.Converged(); }, absl::Seconds(10)));
  for (auto ring : {Ring({Key('B')}), std::shared_ptr<Keyring>()}) {
    NodeConfig c = TestConfig(ring ? "wrong-key" : "no-key");
    c.swim.keyring = ring;
    auto outsider = Node::Start(std::move(c));
    ASSERT_TRUE(outsider.ok()) << outsider.status();
    absl::Status joined = (*outsider)->Join({cluster.node(0).addr()});
    EXPECT_FALSE(joined.ok());
    EXPECT_NE(joined.message().find("keyring"), absl::string_view::npos)
        << joined;
    EXPECT_EQ((*outsider)->NumAlive(), 1u);
  }
  WaitForRounds(cluster);
  for (int i = 0; i < cluster.size(); ++i) {
    EXPECT_EQ(cluster.node(i).Members().size(), 3u);
  }
}

// Over real sockets too: the joiner seals its request and opens the
// answer, the seed opens the request and seals the answer, once each.
TEST(NetSecurityTest, APushPullIsOneAeadPassEachWay) {
  auto start = [](const std::string& name) {
    NodeConfig c = TestConfig(name);
    c.swim.keyring = Ring({Key('A')});
    c.swim.push_pull_interval = absl::ZeroDuration();
    c.swim.reconnect_interval = absl::ZeroDuration();
    return Node::Start(std::move(c));
  };
  auto seed = start("seed");
  auto joiner = start("joiner");
  ASSERT_TRUE(seed.ok() && joiner.ok());
  ASSERT_TRUE((*joiner)->Join({(*seed)->addr()}).ok());
  // The seed's counts show at the end of the turn that served the request.
  EXPECT_TRUE(WaitUntil(
      [&] { return (*seed)->counters().protocol.stream_frames_opened == 1; },
      absl::Seconds(2)));
  for (Node* n : {seed->get(), joiner->get()}) {
    EXPECT_EQ(n->counters().protocol.stream_frames_sealed, 1u) << n->name();
    EXPECT_EQ(n->counters().protocol.stream_frames_opened, 1u) << n->name();
  }
}

TEST(NetSecurityTest, AVetoedMemberIsNeverReportedJoined) {
  Cluster cluster(4, [](NodeConfig& c) {
    c.allow_member = [](const MemberInfo& m) { return m.name != "n3"; };
  });
  EXPECT_TRUE(cluster.node(1).Join({cluster.node(0).addr()}).ok());
  EXPECT_TRUE(cluster.node(2).Join({cluster.node(0).addr()}).ok());
  absl::Status vetoed = cluster.node(3).Join({cluster.node(0).addr()});
  EXPECT_FALSE(vetoed.ok());
  EXPECT_NE(vetoed.message().find("not admitted"), absl::string_view::npos)
      << vetoed;
  WaitForRounds(cluster, 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(cluster.node(i).Lookup("n3").has_value()) << i;
    Recorder& r = cluster.recorder(i);
    std::lock_guard<std::mutex> lock(r.mu);
    for (const Event& e : r.events) EXPECT_NE(e.member.name, "n3");
  }
}

TEST(NetSecurityTest, AGarbageFloodLeavesTheViewIntactAndProbesAnswered) {
  Cluster cluster(3, [](NodeConfig& c) {
    c.swim.keyring = Ring({Key('A')});
    c.swim.label = "prod";
  });
  ASSERT_TRUE(cluster.JoinAll().ok());
  ASSERT_TRUE(
      WaitUntil([&] { return cluster.Converged(); }, absl::Seconds(10)));
  Node& target = cluster.node(0);
  const uint64_t drops_before = target.counters().protocol.total_drops();

  // 6,000 datagrams in three kinds: random bytes; frames sealed with
  // another key; and a real sealed frame with one bit changed.
  auto wrong = Ring({Key('Z')});
  auto right = Ring({Key('A')});
  std::mt19937_64 rng(7);
  auto random = [&] { return rng(); };
  const std::string entry = test::Payload(test::MakePing(1, "n0"));
  const absl::Time start = absl::Now();
  constexpr int kFlood = 6000;
  for (int i = 0; i < kFlood; ++i) {
    std::string bytes;
    switch (i % 3) {
      case 0:
        bytes.resize(rng() % 1400 + 1);
        for (char& ch : bytes) ch = static_cast<char>(rng());
        break;
      case 1:
        bytes = core::SealFrame(entry, "prod", wrong.get(), random);
        break;
      default:
        bytes = core::SealFrame(entry, "prod", right.get(), random);
        bytes[rng() % bytes.size()] ^= static_cast<char>(1 << (rng() % 8));
        break;
    }
    SendDatagram(target.addr(), bytes);
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  // Loopback may drop some under the flood; most must arrive and be counted.
  EXPECT_TRUE(WaitUntil(
      [&] {
        return target.counters().protocol.total_drops() >=
               drops_before + kFlood * 9 / 10;
      },
      absl::Seconds(10)))
      << target.counters().protocol.total_drops() - drops_before;
  EXPECT_GT(target.counters().protocol.drops_of(DropReason::kUndecryptable),
            0u);

  // The member kept its view, answered probes throughout, and was never
  // suspected.
  WaitForRounds(cluster);
  EXPECT_EQ(target.NumAlive(), 3u);
  EXPECT_TRUE(cluster.AllSee(0, MemberState::kAlive));
  EXPECT_EQ(CountEvents(cluster, EventType::kFailed), 0);
}

TEST(NetSecurityTest, StreamsFromOutsideTheAllowedNetworksAreClosedAtOnce) {
  NodeConfig config = TestConfig("gated");
  config.swim.allowed_networks = {"127.0.0.1/32"};
  auto node = Node::Start(std::move(config));
  ASSERT_TRUE(node.ok()) << node.status();
  const std::string addr = (*node)->addr();
  const size_t colon = addr.rfind(':');
  sockaddr_in to{};
  to.sin_family = AF_INET;
  inet_pton(AF_INET, addr.substr(0, colon).c_str(), &to.sin_addr);
  to.sin_port = htons(static_cast<uint16_t>(std::stoi(addr.substr(colon + 1))));
  // From 127.0.0.2, outside the list: closed before a byte is read.
  sockaddr_in from{};
  from.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.2", &from.sin_addr);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)), 0);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)), 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char byte;
  EXPECT_EQ(read(fd, &byte, 1), 0) << "closed by the member";
  close(fd);
  // Counted in the snapshot published at the end of the accepting turn.
  EXPECT_TRUE(WaitUntil(
      [&] { return (*node)->counters().net.streams_not_admitted == 1; },
      absl::Seconds(2)));
  EXPECT_EQ((*node)->counters().net.streams_accepted, 0u);
  // From 127.0.0.1, inside: served.
  auto members = QueryMembers(addr);
  ASSERT_TRUE(members.ok()) << members.status();
  EXPECT_EQ(members->size(), 1u);
}

}  // namespace
}  // namespace roster
