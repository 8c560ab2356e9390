// On loopback: a Join that a hung seed does not hold, round-trip times and
// ack payloads over real sockets, and the core's log lines reaching
// NodeConfig::on_log.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "roster/node.h"
#include "test/common/test_keys.h"
#include "test/common/wait_until.h"
#include "test/net/net_cluster.h"

namespace roster {
namespace {

// A TCP listener on 127.0.0.1 that accepts every connection and never
// says a word: a seed whose process hangs.
class HungSeed {
 public:
  HungSeed() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    addr_ = absl::StrCat("127.0.0.1:", ntohs(a.sin_port));
    acceptor_ = std::thread([this] {
      for (;;) {
        int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;  // the listener was shut down
        std::lock_guard<std::mutex> lock(mu_);
        accepted_.push_back(c);
      }
    });
  }
  ~HungSeed() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    acceptor_.join();
    for (int c : accepted_) close(c);
  }
  const std::string& addr() const { return addr_; }

 private:
  int fd_ = -1;
  std::string addr_;
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> accepted_;
};

NodeConfig PatientConfig(const std::string& name, bool wait_for_all) {
  NodeConfig c = TestConfig(name);
  // Long enough that waiting for the hung seed shows.
  c.idle_timeout = absl::Seconds(3);
  c.stream_timeout = absl::Seconds(3);
  c.swim.join_waits_for_all_seeds = wait_for_all;
  return c;
}

TEST(ObserveNetTest, AHungSeedDoesNotHoldAJoinAnotherSeedAnswered) {
  HungSeed hung;
  auto seed = Node::Start(TestConfig("seed"));
  ASSERT_TRUE(seed.ok()) << seed.status();
  std::mutex mu;
  std::vector<std::string> lines;
  NodeConfig c = PatientConfig("joiner", /*wait_for_all=*/false);
  c.on_log = [&](LogLevel, std::string_view line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.emplace_back(line);
  };
  auto joiner = Node::Start(std::move(c));
  ASSERT_TRUE(joiner.ok()) << joiner.status();
  const absl::Time start = absl::Now();
  absl::Status s = (*joiner)->Join({hung.addr(), (*seed)->addr()});
  const absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_LT(took, absl::Seconds(1)) << "held by the hung seed";
  std::printf("join with a hung seed: %s\n",
              absl::FormatDuration(took).c_str());
  // The hung seed's exchange times out after the stream timeout (3 s), and
  // is logged (no retry of that seed starts while it is in flight).
  EXPECT_TRUE(WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        for (const std::string& line : lines)
          if (line.find(hung.addr()) != std::string::npos &&
              line.find("failed") != std::string::npos)
            return true;
        return false;
      },
      absl::Seconds(20)));
  std::lock_guard<std::mutex> lock(mu);
  bool tried = false;
  for (const std::string& line : lines)
    if (line.find("join: trying seed " + hung.addr()) != std::string::npos)
      tried = true;
  EXPECT_TRUE(tried);
}

TEST(ObserveNetTest, WaitingForEverySeedWaitsOutTheHungOne) {
  HungSeed hung;
  auto seed = Node::Start(TestConfig("seed"));
  ASSERT_TRUE(seed.ok()) << seed.status();
  auto joiner = Node::Start(PatientConfig("joiner", /*wait_for_all=*/true));
  ASSERT_TRUE(joiner.ok()) << joiner.status();
  const absl::Time start = absl::Now();
  absl::Status s = (*joiner)->Join({hung.addr(), (*seed)->addr()});
  const absl::Duration took = absl::Now() - start;
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_GE(took, absl::Seconds(2)) << "did not wait for the hung seed";
  std::printf("join waiting for every seed: %s\n",
              absl::FormatDuration(took).c_str());
}

TEST(ObserveNetTest, AcksCarryPayloadsAndRttsAreListed) {
  std::mutex mu;
  std::vector<std::string> payloads;
  std::atomic<int64_t> max_rtt_us{0};
  Cluster cluster(2, [&](NodeConfig& c) {
    const std::string mine = absl::StrCat("payload-of-", c.swim.name);
    c.ack_payload = [mine] { return mine; };
    c.on_ack_payload = [&](std::string_view from, std::string_view payload,
                           absl::Duration rtt) {
      std::lock_guard<std::mutex> lock(mu);
      payloads.push_back(
          absl::StrCat(std::string(from), "=", std::string(payload)));
      max_rtt_us =
          std::max<int64_t>(max_rtt_us, absl::ToInt64Microseconds(rtt));
    };
  });
  ASSERT_TRUE(cluster.JoinAll().ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto a = cluster.node(0).Lookup("n1");
        auto b = cluster.node(1).Lookup("n0");
        return a && b && a->rtt > absl::ZeroDuration() &&
               b->rtt > absl::ZeroDuration();
      },
      absl::Seconds(10)));
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_FALSE(payloads.empty());
    for (const std::string& p : payloads)
      EXPECT_TRUE(p == "n0=payload-of-n0" || p == "n1=payload-of-n1") << p;
  }
  // Loopback: well under the probe timeout.
  EXPECT_LT(max_rtt_us.load(), 120'000);
  auto listed = QueryMembers(cluster.node(0).addr());
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].rtt, absl::ZeroDuration()) << "n0 itself";
  EXPECT_GT((*listed)[1].rtt, absl::ZeroDuration()) << "n0's view of n1";
}

TEST(ObserveNetTest, MembersLearnEachOthersCoordinates) {
  Cluster cluster(3);
  ASSERT_TRUE(cluster.JoinAll().ok());
  // Every member has probed every other directly at least once.
  auto all_known = [&] {
    for (int o = 0; o < 3; ++o) {
      for (const MemberInfo& m : cluster.node(o).Members()) {
        if (!m.coordinate) return false;
      }
      if (cluster.node(o).Members().size() != 3) return false;
      // Moved by its samples. On a loaded machine one slow early sample
      // can throw it far off and pin its error at the top for a while,
      // until the samples that follow pull it back.
      const MemberInfo self = cluster.node(o).Self();
      if (!self.coordinate || self.coordinate->error >= 1.5) return false;
    }
    return true;
  };
  ASSERT_TRUE(WaitUntil(all_known, absl::Seconds(60)));
  for (int o = 0; o < 3; ++o) {
    const MemberInfo self = cluster.node(o).Self();
    ASSERT_TRUE(self.coordinate.has_value());
    for (int t = 0; t < 3; ++t) {
      auto rtt = cluster.node(o).EstimateRtt(self.name, absl::StrCat("n", t));
      ASSERT_TRUE(rtt.ok()) << rtt.status();
      // Finite and within what a sample may be: on a loaded machine a
      // loopback round trip is whatever the scheduler makes it, so no
      // tighter bound holds (it failed once at 100 ms under a CI run).
      EXPECT_GE(*rtt, absl::ZeroDuration());
      EXPECT_LT(*rtt, absl::Seconds(10)) << o << " to n" << t;
    }
  }
  auto estimate = cluster.node(0).EstimateRtt("n1", "n2");
  ASSERT_TRUE(estimate.ok()) << estimate.status();
  std::printf("loopback: n1 to n2 estimated by n0 at %s\n",
              absl::FormatDuration(*estimate).c_str());
  auto unknown = cluster.node(0).EstimateRtt("n0", "nobody");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
}

TEST(ObserveNetTest, NoCoordinatesWhenTheyAreOff) {
  Cluster cluster(2, [](NodeConfig& c) { c.swim.coordinates = false; });
  ASSERT_TRUE(cluster.JoinAll().ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto a = cluster.node(0).Lookup("n1");
        return a && a->rtt > absl::ZeroDuration();
      },
      absl::Seconds(10)));
  EXPECT_FALSE(cluster.node(0).Self().coordinate.has_value());
  EXPECT_FALSE(cluster.node(0).Lookup("n1")->coordinate.has_value());
  auto rtt = cluster.node(0).EstimateRtt("n0", "n1");
  EXPECT_EQ(rtt.status().code(), absl::StatusCode::kNotFound);
}

TEST(ObserveNetTest, KeyringChangesAreLogged) {
  std::mutex mu;
  std::vector<std::string> lines;
  NodeConfig c = TestConfig("n0");
  c.on_log = [&](LogLevel level, std::string_view line) {
    std::lock_guard<std::mutex> lock(mu);
    if (level == LogLevel::kInfo) lines.emplace_back(line);
  };
  auto node = Node::Start(std::move(c));
  ASSERT_TRUE(node.ok()) << node.status();
  auto logged = [&](std::string_view what) {
    return WaitUntil(
        [&] {
          std::lock_guard<std::mutex> lock(mu);
          for (const std::string& line : lines)
            if (line.find(what) != std::string::npos) return true;
          return false;
        },
        absl::Seconds(5));
  };
  ASSERT_TRUE((*node)->SetKeyring(Ring({Key('a'), Key('b')})).ok());
  EXPECT_TRUE(
      logged("keyring set: datagrams and streams are sealed from "
             "now on (2 keys)"));
  ASSERT_TRUE((*node)->SetKeyring(nullptr).ok());
  EXPECT_TRUE(logged("keyring removed"));
}

}  // namespace
}  // namespace roster
