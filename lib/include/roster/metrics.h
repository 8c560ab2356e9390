// A Node's metrics for Prometheus, through prometheus-cpp (doc/metrics.md
// lists them).
//
//   auto metrics = roster::Metrics::Create();
//   roster::NodeConfig config = ...;  // callbacks set first
//   metrics->Observe(config);
//   auto node = roster::Node::Start(std::move(config));
//   auto server = roster::MetricsServer::Start("127.0.0.1:9464", metrics,
//                                              **node);
//
// A scrape reads the node as it is then (counters, members by state,
// health, queue depths: Node's reads, which never block); the two
// histograms, probe RTT and time from suspicion to failure, and the count
// of membership events are fed by the callbacks Observe wraps.
//
// An application with an endpoint of its own serves the same metrics by
// registering the Metrics beside its prometheus::Registry:
// prometheus-cpp's Registry holds only the families it builds, so roster's
// metrics are a Collectable of their own:
//
//   exposer.RegisterCollectable(registry);
//   exposer.RegisterCollectable(metrics);  // after metrics->Attach(&node)
#ifndef ROSTER_METRICS_H_
#define ROSTER_METRICS_H_

#include <array>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "prometheus/collectable.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "roster/member.h"
#include "roster/node.h"

namespace prometheus {
class Exposer;
}  // namespace prometheus

namespace roster {

// Every method is safe to call from any thread.
class Metrics final : public prometheus::Collectable,
                      public std::enable_shared_from_this<Metrics> {
 public:
  // Probe RTT buckets, in seconds: loopback and LAN round trips (0.1 ms
  // up) to WAN ones and a probe's timeout (a few seconds).
  static const std::vector<double>& ProbeRttBuckets();
  // Suspicion-to-failure buckets, in seconds: the Local profile's
  // sub-second suspicions to Lifeguard's longest WAN timeouts (minutes).
  static const std::vector<double>& SuspicionBuckets();

  // Metrics attached to no node, their histograms empty.
  static std::shared_ptr<Metrics> Create();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Before Node::Start: chains config's on_event and on_ack_payload so
  // that each event and each direct probe's ack reaches OnEvent and
  // OnProbeRtt first, then the callback that was there (if any). The
  // callbacks keep this object alive. An event the node drops under
  // overload (NetCounters::callbacks_dropped) is not seen.
  void Observe(NodeConfig& config);

  // The node a scrape reads, or nullptr for none (a scrape then has the
  // histograms and event counts only). The node must outlive its
  // attachment: Attach(nullptr) before destroying it, which waits for a
  // scrape under way.
  void Attach(const Node* node);

  // A membership event: counted by type; a member's kSuspected starts its
  // suspicion, and its kFailed observes the time since then, by the
  // times the events carry (MemberInfo::state_changed), so that delivery
  // lag does not count. A suspicion that ends otherwise (recovered, left,
  // restarted, joined again) is forgotten. Of at most 65,536 suspicions
  // at once; past that new ones are not timed.
  void OnEvent(const Event& event);
  // The round trip of a direct probe's ack (what on_ack_payload is told).
  void OnProbeRtt(absl::Duration rtt);

  // Every family, as of now (prometheus::Collectable).
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  Metrics();

  mutable std::mutex node_mu_;
  const Node* node_ ABSL_GUARDED_BY(node_mu_) = nullptr;

  prometheus::Histogram probe_rtt_;
  prometheus::Histogram suspicion_to_failure_;

  mutable std::mutex events_mu_;
  // When each member under suspicion was suspected.
  absl::flat_hash_map<std::string, absl::Time> suspected_
      ABSL_GUARDED_BY(events_mu_);
  std::array<uint64_t, static_cast<size_t>(EventType::kSelfFailed) + 1> events_
      ABSL_GUARDED_BY(events_mu_){};
};

// An HTTP endpoint that Prometheus scrapes: GET /metrics on one address,
// prometheus-cpp's Exposer (civetweb) on two threads of its own.
class MetricsServer {
 public:
  // Serves `collectables` (a prometheus::Registry, a Metrics, ...) on
  // `addr`, "IPV4:PORT" ("127.0.0.1:9464", "0.0.0.0:9464"; Debian's
  // civetweb has no IPv6); port 0 picks a free one (see port()).
  // InvalidArgument for an address that does not parse, Unavailable when
  // it cannot be bound (in use, not local), naming it.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      std::string_view addr,
      std::vector<std::shared_ptr<prometheus::Collectable>> collectables);
  // Serves `metrics` attached to `node`, alone: attaches it now and
  // detaches it once serving has stopped, so the server must be destroyed
  // before the node.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      std::string_view addr, std::shared_ptr<Metrics> metrics,
      const Node& node);
  // Stops serving, waiting for a scrape under way: up to 2 s, civetweb's
  // polling interval.
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The port bound, the one picked for port 0.
  int port() const { return port_; }
  // Where it listens, "HOST:PORT" with the port bound.
  const std::string& addr() const { return addr_; }

 private:
  MetricsServer() = default;

  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<Metrics> attached_;  // detached after the exposer stops
  int port_ = 0;
  std::string addr_;
};

}  // namespace roster

#endif  // ROSTER_METRICS_H_
