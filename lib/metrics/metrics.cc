#include "roster/metrics.h"

#include <string>
#include <utility>

#include "metrics/node_families.h"
#include "prometheus/client_metric.h"
#include "prometheus/metric_type.h"

namespace roster {
namespace {

// Past this many members under suspicion at once the table stops growing:
// a cluster-wide partition must not make the observer unbounded.
constexpr size_t kMaxSuspected = 65536;

prometheus::MetricFamily HistogramFamily(std::string name, std::string help,
                                         const prometheus::Histogram& h) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = prometheus::MetricType::Histogram;
  family.metric.push_back(h.Collect());
  return family;
}

}  // namespace

const std::vector<double>& Metrics::ProbeRttBuckets() {
  static const std::vector<double> buckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5};
  return buckets;
}

const std::vector<double>& Metrics::SuspicionBuckets() {
  static const std::vector<double> buckets = {
      0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120, 300};
  return buckets;
}

std::shared_ptr<Metrics> Metrics::Create() {
  return std::shared_ptr<Metrics>(new Metrics());
}

Metrics::Metrics()
    : probe_rtt_(ProbeRttBuckets()),
      suspicion_to_failure_(SuspicionBuckets()) {}

void Metrics::Observe(NodeConfig& config) {
  std::shared_ptr<Metrics> self = shared_from_this();
  config.on_event = [self, next = std::move(config.on_event)](const Event& e) {
    self->OnEvent(e);
    if (next) next(e);
  };
  config.on_ack_payload = [self, next = std::move(config.on_ack_payload)](
                              std::string_view from, std::string_view payload,
                              absl::Duration rtt) {
    self->OnProbeRtt(rtt);
    if (next) next(from, payload, rtt);
  };
}

void Metrics::Attach(const Node* node) {
  std::lock_guard<std::mutex> lock(node_mu_);
  node_ = node;
}

void Metrics::OnEvent(const Event& event) {
  std::lock_guard<std::mutex> lock(events_mu_);
  const size_t type = static_cast<size_t>(event.type);
  if (type < events_.size()) ++events_[type];
  const std::string& name = event.member.name;
  switch (event.type) {
    case EventType::kSuspected:
      if (suspected_.size() < kMaxSuspected || suspected_.contains(name))
        suspected_.insert_or_assign(name, event.member.state_changed);
      return;
    case EventType::kFailed: {
      auto it = suspected_.find(name);
      if (it == suspected_.end()) return;  // dead by news, never suspected
      const absl::Duration d = event.member.state_changed - it->second;
      suspected_.erase(it);
      if (d >= absl::ZeroDuration())
        suspicion_to_failure_.Observe(absl::ToDoubleSeconds(d));
      return;
    }
    case EventType::kUpdated:
    case EventType::kSelfSuspected:
    case EventType::kSelfFailed:
      return;  // no end of another member's suspicion
    default:
      suspected_.erase(name);
      return;
  }
}

void Metrics::OnProbeRtt(absl::Duration rtt) {
  probe_rtt_.Observe(absl::ToDoubleSeconds(rtt));
}

std::vector<prometheus::MetricFamily> Metrics::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  {
    std::lock_guard<std::mutex> lock(node_mu_);
    if (node_ != nullptr) {
      metrics::AppendNodeFamilies(node_->counters(),
                                  node_->Members(MemberFilter::kAll),
                                  node_->HealthScore(), out);
    }
  }
  out.push_back(HistogramFamily(
      "roster_probe_rtt_seconds",
      "Round trips of direct probes answered (its count: the direct acks).",
      probe_rtt_));
  out.push_back(HistogramFamily(
      "roster_suspicion_to_failure_seconds",
      "Time from a member's suspicion to its failure, as this member saw "
      "them.",
      suspicion_to_failure_));

  prometheus::MetricFamily events;
  events.name = "roster_membership_events_total";
  events.help = "Membership events raised, by type.";
  events.type = prometheus::MetricType::Counter;
  {
    std::lock_guard<std::mutex> lock(events_mu_);
    for (size_t t = 0; t < events_.size(); ++t) {
      prometheus::ClientMetric sample;
      sample.label.push_back(
          {"type", std::string(EventTypeName(static_cast<EventType>(t)))});
      sample.counter.value = static_cast<double>(events_[t]);
      events.metric.push_back(std::move(sample));
    }
  }
  out.push_back(std::move(events));
  return out;
}

}  // namespace roster
