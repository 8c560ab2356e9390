// roster/metrics.h: what the families say of three Nodes on loopback as
// they join and one crashes, the observers fed by hand, and the endpoint:
// served over HTTP, and refusing bad and busy addresses with a status.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"
#include "roster/metrics.h"
#include "roster/node.h"
#include "test/common/wait_until.h"
#include "test/net/net_cluster.h"

namespace roster {
namespace {

constexpr absl::Duration kWait = absl::Seconds(15);

std::string Exposition(const prometheus::Collectable& c) {
  return prometheus::TextSerializer().Serialize(c.Collect());
}

// The value of the sample written exactly `series` ("name" or
// "name{label=\"value\"}") in an exposition; nullopt when there is none.
std::optional<double> Sample(const std::string& text,
                             const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, series + " ")) continue;
    const std::string value(line.substr(series.size() + 1));
    return std::strtod(value.c_str(), nullptr);
  }
  return std::nullopt;
}

double Value(const Metrics& m, const std::string& series) {
  return Sample(Exposition(m), series).value_or(-1);
}

Event EventAt(EventType type, const std::string& name, absl::Time at) {
  Event e;
  e.type = type;
  e.member.name = name;
  e.member.state_changed = at;
  return e;
}

// An HTTP/1.0 GET of `path` from 127.0.0.1:port: the whole response, or
// empty when the connection fails.
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
    const std::string request =
        absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    if (write(fd, request.data(), request.size()) ==
        static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
    }
  }
  close(fd);
  return out;
}

class MetricsNetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) metrics_.push_back(Metrics::Create());
    cluster_ = std::make_unique<Cluster>(3, [this](NodeConfig& c) {
      metrics_[c.swim.name.back() - '0']->Observe(c);
    });
    for (int i = 0; i < 3; ++i) metrics_[i]->Attach(&cluster_->node(i));
  }
  void TearDown() override {
    for (auto& m : metrics_) m->Attach(nullptr);
  }

  Metrics& metrics(int i) { return *metrics_[i]; }

  std::vector<std::shared_ptr<Metrics>> metrics_;
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(MetricsNetTest, FollowJoinProbesAndACrash) {
  // Alone, n0 is its one alive member and nobody is anything else.
  const std::string alone = Exposition(metrics(0));
  EXPECT_EQ(Sample(alone, "roster_members{state=\"alive\"}"), 1) << alone;
  EXPECT_EQ(Sample(alone, "roster_members{state=\"dead\"}"), 0);
  EXPECT_EQ(Sample(alone, "roster_health_score"), 0);
  EXPECT_EQ(Sample(alone, "roster_queue_depth{queue=\"callbacks\"}"), 0);
  EXPECT_EQ(Sample(alone, "roster_drops_total{reason=\"malformed\"}"), 0);
  // With nobody to gossip to, what it sends waits in the queues.
  ASSERT_TRUE(cluster_->node(0).Broadcast("b").ok());
  ASSERT_TRUE(cluster_->node(0).UserEvent("e", "p").ok());
  const std::string queued = Exposition(metrics(0));
  EXPECT_EQ(Sample(queued, "roster_queue_depth{queue=\"broadcasts\"}"), 1)
      << queued;
  EXPECT_EQ(Sample(queued, "roster_queue_depth{queue=\"events_and_queries\"}"),
            1);
  EXPECT_EQ(Sample(queued, "roster_user_events_sent_total"), 1);

  ASSERT_TRUE(cluster_->JoinAll().ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(WaitUntil(
        [&] {
          return Value(metrics(i), "roster_members{state=\"alive\"}") == 3;
        },
        kWait))
        << "n" << i << ":\n"
        << Exposition(metrics(i));
  }
  const double pulled = Value(metrics(0), "roster_push_pulls_served_total");
  EXPECT_GE(pulled, 2) << "n1 and n2 joined through n0";

  // Probes go on, and the direct ones are answered and timed.
  const double probes = Value(metrics(0), "roster_probes_total");
  EXPECT_TRUE(WaitUntil(
      [&] { return Value(metrics(0), "roster_probes_total") >= probes + 3; },
      kWait));
  EXPECT_TRUE(WaitUntil(
      [&] { return Value(metrics(0), "roster_probe_rtt_seconds_count") > 0; },
      kWait));
  const std::string probed = Exposition(metrics(0));
  // Loopback answers well under a second, and in the +Inf bucket too.
  EXPECT_LT(*Sample(probed, "roster_probe_rtt_seconds_sum") /
                *Sample(probed, "roster_probe_rtt_seconds_count"),
            1.0);
  EXPECT_EQ(Sample(probed, "roster_probe_rtt_seconds_bucket{le=\"+Inf\"}"),
            Sample(probed, "roster_probe_rtt_seconds_count"));
  EXPECT_EQ(Sample(probed, "roster_suspicion_to_failure_seconds_count"), 0);

  // n2 crashes: the others suspect it, then declare it dead, and time the
  // suspicion.
  cluster_->Kill(2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(WaitUntil(
        [&] {
          const std::string text = Exposition(metrics(i));
          return Sample(text, "roster_members{state=\"dead\"}") == 1 &&
                 Sample(text, "roster_members{state=\"alive\"}") == 2 &&
                 Sample(text, "roster_members{state=\"suspect\"}") == 0;
        },
        kWait))
        << "n" << i << ":\n"
        << Exposition(metrics(i));
  }
  double timed = 0;
  for (int i = 0; i < 2; ++i) {
    // Events reach the observer on the delivery thread, after the reads.
    EXPECT_TRUE(WaitUntil(
        [&] {
          return Value(metrics(i),
                       "roster_membership_events_total{type=\"failed\"}") == 1;
        },
        kWait));
    const std::string text = Exposition(metrics(i));
    EXPECT_EQ(Sample(text, "roster_membership_events_total{type=\"joined\"}"),
              2)
        << text;
    EXPECT_GE(
        Sample(text, "roster_membership_events_total{type=\"suspected\"}"), 1);
    const double count =
        *Sample(text, "roster_suspicion_to_failure_seconds_count");
    EXPECT_LE(count, 1) << text;
    if (count == 1) {
      // The test profile suspects for about a second; ten is far too long.
      const double seconds =
          *Sample(text, "roster_suspicion_to_failure_seconds_sum");
      EXPECT_GT(seconds, 0) << text;
      EXPECT_LT(seconds, 10) << text;
    }
    timed += count;
  }
  // A survivor may learn the death before the suspicion; not both can.
  EXPECT_GE(timed, 1);
  EXPECT_GE(Value(metrics(0), "roster_probe_failures_total") +
                Value(metrics(1), "roster_probe_failures_total"),
            1);
}

TEST_F(MetricsNetTest, ServedOverHttp) {
  auto server =
      MetricsServer::Start("127.0.0.1:0", metrics_[0], cluster_->node(0));
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  EXPECT_EQ((*server)->addr(), absl::StrCat("127.0.0.1:", (*server)->port()));
  const std::string response = HttpGet((*server)->port(), "/metrics");
  EXPECT_TRUE(absl::StartsWith(response, "HTTP/1.1 200") ||
              absl::StartsWith(response, "HTTP/1.0 200"))
      << response;
  EXPECT_NE(response.find("\nroster_members{state=\"alive\"} 1"),
            std::string::npos)
      << response;
  EXPECT_NE(response.find("# TYPE roster_probe_rtt_seconds histogram"),
            std::string::npos);

  // Stopped, it detaches: a scrape of the Metrics no longer reads the node.
  const int port = (*server)->port();
  server->reset();
  EXPECT_EQ(HttpGet(port, "/metrics"), "");
  EXPECT_EQ(Sample(Exposition(metrics(0)), "roster_members{state=\"alive\"}"),
            std::nullopt);
}

TEST(MetricsServerTest, RefusesBadAndBusyAddresses) {
  auto metrics = Metrics::Create();
  for (const char* bad :
       {"", "127.0.0.1", "localhost:9464", "127.0.0.1:70000", "127.0.0.1:x",
        "[::1]:9464", "[zz]:9464", "1.2.3:9464"}) {
    auto server = MetricsServer::Start(bad, {metrics});
    EXPECT_TRUE(absl::IsInvalidArgument(server.status()))
        << bad << ": " << server.status();
    EXPECT_NE(server.status().message().find("expected IPV4:PORT"),
              std::string::npos);
  }

  auto first = MetricsServer::Start("127.0.0.1:0", {metrics});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = MetricsServer::Start((*first)->addr(), {metrics});
  EXPECT_TRUE(absl::IsUnavailable(second.status())) << second.status();
  EXPECT_NE(second.status().message().find((*first)->addr()), std::string::npos)
      << second.status();
  // The first still serves.
  EXPECT_NE(HttpGet((*first)->port(), "/metrics").find("roster_probe_rtt"),
            std::string::npos);
}

TEST(MetricsTest, WithoutANodeOnlyTheObservedFamilies) {
  auto metrics = Metrics::Create();
  const std::string text = Exposition(*metrics);
  EXPECT_EQ(Sample(text, "roster_members{state=\"alive\"}"), std::nullopt);
  EXPECT_EQ(Sample(text, "roster_probe_rtt_seconds_count"), 0) << text;
  EXPECT_EQ(Sample(text, "roster_suspicion_to_failure_seconds_count"), 0);
  EXPECT_EQ(Sample(text, "roster_membership_events_total{type=\"failed\"}"), 0);
}

TEST(MetricsTest, TimesSuspicionsThatEndInFailureOnly) {
  auto metrics = Metrics::Create();
  const absl::Time t = absl::FromUnixSeconds(1000);
  // a: suspected, then failed 3 s later.
  metrics->OnEvent(EventAt(EventType::kSuspected, "a", t));
  metrics->OnEvent(EventAt(EventType::kFailed, "a", t + absl::Seconds(3)));
  // b: suspected, recovered, failed later by news: not a suspicion's end.
  metrics->OnEvent(EventAt(EventType::kSuspected, "b", t));
  metrics->OnEvent(EventAt(EventType::kRecovered, "b", t + absl::Seconds(1)));
  metrics->OnEvent(EventAt(EventType::kFailed, "b", t + absl::Seconds(60)));
  // c: failed without a suspicion; this member's own suspicion is no other
  // member's.
  metrics->OnEvent(EventAt(EventType::kFailed, "c", t));
  metrics->OnEvent(EventAt(EventType::kSelfSuspected, "me", t));
  metrics->OnEvent(EventAt(EventType::kSelfFailed, "me", t));
  // d: still suspected.
  metrics->OnEvent(EventAt(EventType::kSuspected, "d", t));

  const std::string text = Exposition(*metrics);
  EXPECT_EQ(Sample(text, "roster_suspicion_to_failure_seconds_count"), 1)
      << text;
  EXPECT_EQ(Sample(text, "roster_suspicion_to_failure_seconds_sum"), 3);
  EXPECT_EQ(
      Sample(text, "roster_suspicion_to_failure_seconds_bucket{le=\"2\"}"), 0);
  EXPECT_EQ(
      Sample(text, "roster_suspicion_to_failure_seconds_bucket{le=\"3\"}"), 1);
  EXPECT_EQ(Sample(text, "roster_membership_events_total{type=\"suspected\"}"),
            3);
  EXPECT_EQ(Sample(text, "roster_membership_events_total{type=\"failed\"}"), 3);
  EXPECT_EQ(
      Sample(text, "roster_membership_events_total{type=\"self-suspected\"}"),
      1);
}

TEST(MetricsTest, ObserveChainsTheCallbacksThatWereThere) {
  auto metrics = Metrics::Create();
  NodeConfig config = TestConfig("n0");
  int events = 0;
  absl::Duration rtt_seen;
  config.on_event = [&events](const Event&) { ++events; };
  config.on_ack_payload = [&rtt_seen](std::string_view, std::string_view,
                                      absl::Duration rtt) { rtt_seen = rtt; };
  metrics->Observe(config);
  config.on_event(EventAt(EventType::kJoined, "a", absl::Now()));
  config.on_ack_payload("a", "", absl::Milliseconds(2));
  EXPECT_EQ(events, 1);
  EXPECT_EQ(rtt_seen, absl::Milliseconds(2));
  const std::string text = Exposition(*metrics);
  EXPECT_EQ(Sample(text, "roster_membership_events_total{type=\"joined\"}"), 1);
  EXPECT_EQ(Sample(text, "roster_probe_rtt_seconds_count"), 1);
  EXPECT_EQ(Sample(text, "roster_probe_rtt_seconds_bucket{le=\"0.0025\"}"), 1);
  EXPECT_EQ(Sample(text, "roster_probe_rtt_seconds_bucket{le=\"0.001\"}"), 0);

  // Unset callbacks stay harmless.
  NodeConfig bare = TestConfig("n1");
  metrics->Observe(bare);
  bare.on_event(EventAt(EventType::kJoined, "b", absl::Now()));
  EXPECT_EQ(Value(*metrics, "roster_membership_events_total{type=\"joined\"}"),
            2);
}

}  // namespace
}  // namespace roster
