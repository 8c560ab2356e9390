#include "sim/runner.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "sim/rng.h"
#include "sim/simulation.h"

namespace roster::sim {
namespace {

using scenario::Fault;
using scenario::Scenario;

absl::Status Bad(const std::string& where, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", why));
}

bool InRange(double v, double lo, double hi) {
  return std::isfinite(v) && v >= lo && v <= hi;
}

absl::Status CheckMembers(const scenario::Members& members, uint32_t nodes,
                          const std::string& where) {
  if (members.index_size() == 0 && members.count() == 0)
    return Bad(where, "names no members (give index or count)");
  if (members.count() > nodes)
    return Bad(where, absl::StrCat("count ", members.count(),
                                   " is more than the ", nodes, " members"));
  for (uint32_t i : members.index()) {
    if (i >= nodes)
      return Bad(where, absl::StrCat("index ", i, " is not below nodes (",
                                     nodes, ")"));
  }
  return absl::OkStatus();
}

// User events and queries: how many, when, from whom.
template <typename Traffic>
absl::Status CheckTraffic(const Traffic& t, const Scenario& s, double at_s,
                          const std::string& where) {
  if (t.count() < 1 || t.count() > 1000000)
    return Bad(where + ".count", "must be in [1, 1000000]");
  if (t.until_s() != 0 && !InRange(t.until_s(), at_s, s.duration_s()))
    return Bad(where + ".until_s", "is outside [at_s, duration_s]");
  if (t.payload_bytes() > 65536)
    return Bad(where + ".payload_bytes", "must be at most 65536");
  for (uint32_t i : t.from()) {
    if (i >= s.nodes())
      return Bad(where + ".from",
                 absl::StrCat("index ", i, " is not below nodes"));
  }
  return absl::OkStatus();
}

absl::Status CheckFault(const Fault& f, const Scenario& s, int i) {
  const std::string at = absl::StrCat("faults[", i, "]");
  const double end = s.duration_s();
  if (!InRange(f.at_s(), 0, end))
    return Bad(at + ".at_s",
               absl::StrCat(f.at_s(), " is outside [0, ", end, "]"));
  switch (f.kind_case()) {
    case Fault::kCrash:
      if (f.crash().until_s() != 0 &&
          !InRange(f.crash().until_s(), f.at_s(), end))
        return Bad(
            at + ".crash.until_s",
            absl::StrCat(f.crash().until_s(), " is outside [at_s, ", end, "]"));
      return CheckMembers(f.crash().members(), s.nodes(), at + ".crash");
    case Fault::kRestart:
      return CheckMembers(f.restart().members(), s.nodes(), at + ".restart");
    case Fault::kLeave:
      return CheckMembers(f.leave().members(), s.nodes(), at + ".leave");
    case Fault::kPause:
      if (!InRange(f.pause().for_s(), 1e-3, 1e6))
        return Bad(at + ".pause.for_s", "must be in [0.001, 1e6]");
      return CheckMembers(f.pause().members(), s.nodes(), at + ".pause");
    case Fault::kSlow:
      if (!InRange(f.slow().delay_ms(), 1e-3, 6e5))
        return Bad(at + ".slow.delay_ms", "must be in [0.001, 600000]");
      if (!InRange(f.slow().for_s(), 0, 1e6))
        return Bad(at + ".slow.for_s", "must be in [0, 1e6]");
      return CheckMembers(f.slow().members(), s.nodes(), at + ".slow");
    case Fault::kPartition:
      if (!InRange(f.partition().heal_at_s(), f.at_s(), 1e9))
        return Bad(at + ".partition.heal_at_s", "must not be before at_s");
      return absl::OkStatus();
    case Fault::kSetLoss:
      if (!InRange(f.set_loss().fraction(), 0, 1))
        return Bad(at + ".set_loss.fraction", "must be in [0, 1]");
      return absl::OkStatus();
    case Fault::kOneWayLoss:
      if (!InRange(f.one_way_loss().fraction(), 0, 1))
        return Bad(at + ".one_way_loss.fraction", "must be in [0, 1]");
      if (!InRange(f.one_way_loss().for_s(), 0, 1e6))
        return Bad(at + ".one_way_loss.for_s", "must be in [0, 1e6]");
      return CheckMembers(f.one_way_loss().members(), s.nodes(),
                          at + ".one_way_loss");
    case Fault::kUserEvents:
      return CheckTraffic(f.user_events(), s, f.at_s(), at + ".user_events");
    case Fault::kQueries:
      if (!InRange(f.queries().timeout_s(), 0, 600))
        return Bad(at + ".queries.timeout_s", "must be in [0, 600]");
      if (f.queries().relay_factor() > 5)
        return Bad(at + ".queries.relay_factor", "must be in [0, 5]");
      for (uint32_t i : f.queries().to()) {
        if (i >= s.nodes())
          return Bad(at + ".queries.to",
                     absl::StrCat("index ", i, " is not below nodes"));
      }
      return CheckTraffic(f.queries(), s, f.at_s(), at + ".queries");
    case Fault::KIND_NOT_SET:
      break;
  }
  return Bad(at, "has no fault kind");
}

// Collects protobuf's text-format complaints with their positions.
class ParseErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty())
      first_ = absl::StrCat("line ", line + 1, ", column ", column + 1, ": ",
                            message);
  }
  void AddWarning(int, int, const std::string&) override {}
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

enum class Act {
  kCrash,
  kRestart,
  kLeave,
  kPause,
  kSlow,
  kPartition,
  kHeal,
  kSetLoss,
  kOneWayLoss,
  kUserEvent,
  kQuery
};

struct Action {
  double at;
  uint64_t order;
  Act act;
  int node = -1;
  double value = 0;
  bool flag = false;
  int fault = -1;  // the fault it comes from, for what it sends
};

// Turns faults into a time-ordered list of actions on single members,
// choosing random members with the run's seed.
class Planner {
 public:
  explicit Planner(const Scenario& s)
      : s_(s), rng_(DeriveSeed(s.seed(), 0x5ce7a410)), chosen_(s.nodes()) {}

  absl::StatusOr<std::vector<Action>> Plan() {
    for (int i = 0; i < s_.faults_size(); ++i) {
      absl::Status st = Add(s_.faults(i), i);
      if (!st.ok()) return st;
    }
    std::sort(actions_.begin(), actions_.end(),
              [](const Action& a, const Action& b) {
                return a.at != b.at ? a.at < b.at : a.order < b.order;
              });
    return actions_;
  }

 private:
  absl::StatusOr<std::vector<int>> Pick(const scenario::Members& m, int i) {
    std::vector<int> out(m.index().begin(), m.index().end());
    for (int v : out) chosen_[v] = true;
    uint32_t free = 0;
    for (bool c : chosen_) free += c ? 0 : 1;
    if (m.count() > free)
      return Bad(absl::StrCat("faults[", i, "]"),
                 absl::StrCat("needs ", m.count(), " members, only ", free,
                              " are not chosen by other faults"));
    for (uint32_t k = 0; k < m.count();) {
      int v = static_cast<int>(rng_.Below(s_.nodes()));
      if (chosen_[v]) continue;
      chosen_[v] = true;
      out.push_back(v);
      ++k;
    }
    return out;
  }

  void Push(double at, Act act, int node, double value = 0, bool flag = false,
            int fault = -1) {
    actions_.push_back(Action{at, order_++, act, node, value, flag, fault});
  }

  // User events or queries: `count` senders at times spread over
  // [at, until], each chosen from `from` or among every member (one that
  // is down when its time comes hands over to the next running one).
  template <typename Traffic>
  void Spread(double at, const Traffic& t, Act act, int fault) {
    const double until = std::max(at, t.until_s());
    for (uint32_t k = 0; k < t.count(); ++k) {
      const double when = at + rng_.Unit() * (until - at);
      const int node =
          t.from_size() > 0
              ? static_cast<int>(t.from(static_cast<int>(
                    rng_.Below(static_cast<uint64_t>(t.from_size())))))
              : static_cast<int>(rng_.Below(s_.nodes()));
      Push(when, act, node, 0, false, fault);
    }
  }

  absl::Status Add(const Fault& f, int i) {
    switch (f.kind_case()) {
      case Fault::kCrash: {
        auto nodes = Pick(f.crash().members(), i);
        if (!nodes.ok()) return nodes.status();
        const double until = std::max(f.at_s(), f.crash().until_s());
        for (int n : *nodes) {
          double at = f.at_s() + rng_.Unit() * (until - f.at_s());
          Push(at, Act::kCrash, n);
          crashed_.push_back(n);
        }
        return absl::OkStatus();
      }
      case Fault::kRestart: {
        // A count restarts members crashed by earlier faults, in order.
        std::vector<int> nodes(f.restart().members().index().begin(),
                               f.restart().members().index().end());
        for (uint32_t k = 0; k < f.restart().members().count(); ++k) {
          if (restarted_ >= crashed_.size())
            return Bad(absl::StrCat("faults[", i, "].restart"),
                       "restarts more members than earlier faults crashed");
          nodes.push_back(crashed_[restarted_++]);
        }
        for (int n : nodes)
          Push(f.at_s(), Act::kRestart, n, 0, f.restart().new_address());
        return absl::OkStatus();
      }
      case Fault::kLeave: {
        auto nodes = Pick(f.leave().members(), i);
        if (!nodes.ok()) return nodes.status();
        for (int n : *nodes) Push(f.at_s(), Act::kLeave, n);
        return absl::OkStatus();
      }
      case Fault::kPause: {
        auto nodes = Pick(f.pause().members(), i);
        if (!nodes.ok()) return nodes.status();
        for (int n : *nodes) Push(f.at_s(), Act::kPause, n, f.pause().for_s());
        return absl::OkStatus();
      }
      case Fault::kSlow: {
        auto nodes = Pick(f.slow().members(), i);
        if (!nodes.ok()) return nodes.status();
        for (int n : *nodes) {
          Push(f.at_s(), Act::kSlow, n, f.slow().delay_ms());
          if (f.slow().for_s() > 0)
            Push(f.at_s() + f.slow().for_s(), Act::kSlow, n, 0);
        }
        return absl::OkStatus();
      }
      case Fault::kPartition:
        Push(f.at_s(), Act::kPartition, -1);
        Push(f.partition().heal_at_s(), Act::kHeal, -1);
        return absl::OkStatus();
      case Fault::kSetLoss:
        Push(f.at_s(), Act::kSetLoss, -1, f.set_loss().fraction());
        return absl::OkStatus();
      case Fault::kOneWayLoss: {
        auto nodes = Pick(f.one_way_loss().members(), i);
        if (!nodes.ok()) return nodes.status();
        for (int n : *nodes) {
          Push(f.at_s(), Act::kOneWayLoss, n, f.one_way_loss().fraction());
          if (f.one_way_loss().for_s() > 0)
            Push(f.at_s() + f.one_way_loss().for_s(), Act::kOneWayLoss, n, 0);
        }
        return absl::OkStatus();
      }
      case Fault::kUserEvents:
        Spread(f.at_s(), f.user_events(), Act::kUserEvent, i);
        return absl::OkStatus();
      case Fault::kQueries:
        Spread(f.at_s(), f.queries(), Act::kQuery, i);
        return absl::OkStatus();
      case Fault::KIND_NOT_SET:
        break;
    }
    return Bad(absl::StrCat("faults[", i, "]"), "has no fault kind");
  }

  const Scenario& s_;
  Rng rng_;
  std::vector<bool> chosen_;
  std::vector<int> crashed_;
  size_t restarted_ = 0;
  std::vector<Action> actions_;
  uint64_t order_ = 0;
};

// The running member `node`, or the next running one after it.
int RunningFrom(const Simulation& sim, int node) {
  const int n = static_cast<int>(sim.size());
  for (int k = 0; k < n; ++k) {
    const int candidate = (node + k) % n;
    if (sim.running(candidate)) return candidate;
  }
  return -1;
}

void Apply(const Action& a, const Scenario& s, Simulation& sim,
           Observer& observer, EventObserver& events) {
  switch (a.act) {
    case Act::kUserEvent:
      if (int node = RunningFrom(sim, a.node); node >= 0)
        events.SendUserEvent(node, s.faults(a.fault).user_events());
      break;
    case Act::kQuery:
      if (int node = RunningFrom(sim, a.node); node >= 0)
        events.SendQuery(node, s.faults(a.fault).queries());
      break;
    case Act::kCrash:
      if (sim.running(a.node)) observer.Crash(a.node);
      break;
    case Act::kRestart: {
      if (sim.running(a.node)) break;
      sim.Restart(a.node, a.flag);
      observer.Restarted(a.node);
      for (size_t j = 0; j < sim.size(); ++j) {
        if (static_cast<int>(j) != a.node && sim.running(j)) {
          sim.Join(a.node, {static_cast<int>(j)});
          break;
        }
      }
      break;
    }
    case Act::kLeave:
      if (!sim.running(a.node)) break;
      sim.Leave(a.node);
      observer.MarkLeft(a.node);
      break;
    case Act::kPause:
      observer.MarkImpaired(a.node);
      sim.Pause(a.node, absl::Seconds(a.value));
      break;
    case Act::kSlow:
      if (a.value > 0) observer.MarkImpaired(a.node);
      sim.SetSlow(a.node, absl::Milliseconds(a.value));
      break;
    case Act::kPartition: {
      std::vector<int> side(sim.size());
      for (size_t i = 0; i < side.size(); ++i) side[i] = i % 2;
      sim.network().Partition(std::move(side));
      break;
    }
    case Act::kHeal:
      sim.network().Heal();
      observer.Healed();
      break;
    case Act::kSetLoss:
      sim.network().SetLoss(a.value);
      break;
    case Act::kOneWayLoss:
      sim.network().SetInboundLoss(a.node, a.value);
      break;
  }
}

}  // namespace

absl::Status NormalizeScenario(Scenario& s) {
  if (s.nodes() == 0) s.set_nodes(50);
  if (s.nodes() > 100000) return Bad("nodes", "must be at most 100000");
  if (s.profile().empty()) s.set_profile("lan");
  if (auto p = ParseProfile(s.profile()); !p.ok())
    return Bad("profile", std::string(p.status().message()));
  if (s.duration_s() == 0) s.set_duration_s(120);
  if (!InRange(s.duration_s(), 1e-3, 1e6))
    return Bad("duration_s", "must be in (0, 1e6]");
  if (!scenario::Bootstrap_IsValid(s.bootstrap()))
    return Bad("bootstrap", "must be cold or converged");
  scenario::Network& n = *s.mutable_network();
  if (!InRange(n.loss(), 0, 1)) return Bad("network.loss", "must be in [0, 1]");
  if (!InRange(n.duplicate(), 0, 1))
    return Bad("network.duplicate", "must be in [0, 1]");
  if (n.latency_min_ms() == 0 && n.latency_max_ms() == 0) {
    n.set_latency_min_ms(1);
    n.set_latency_max_ms(3);
  }
  if (n.regions() > 1000) return Bad("network.regions", "must be at most 1000");
  if (!InRange(n.latency_min_ms(), 0, 60000) ||
      !InRange(n.latency_max_ms(), n.latency_min_ms(), 60000))
    return Bad("network.latency",
               "needs 0 <= latency_min_ms <= latency_max_ms <= 60000");
  uint64_t crashes = 0;
  for (int i = 0; i < s.faults_size(); ++i) {
    if (absl::Status st = CheckFault(s.faults(i), s, i); !st.ok()) return st;
    if (s.faults(i).has_crash()) {
      crashes += s.faults(i).crash().members().count() +
                 s.faults(i).crash().members().index_size();
    }
  }
  if (crashes >= s.nodes())
    return Bad("faults", absl::StrCat("crash ", crashes, " of ", s.nodes(),
                                      " members: at least one must live"));
  return absl::OkStatus();
}

absl::StatusOr<Scenario> ParseScenario(const std::string& text) {
  Scenario s;
  google::protobuf::TextFormat::Parser parser;
  ParseErrors errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &s))
    return absl::InvalidArgumentError(
        errors.first().empty() ? "not a valid scenario" : errors.first());
  return s;
}

absl::StatusOr<RunResult> RunScenario(Scenario s, const Progress& progress,
                                      const Check& check) {
  if (absl::Status st = NormalizeScenario(s); !st.ok()) return st;
  Planner planner(s);
  auto planned = planner.Plan();
  if (!planned.ok()) return planned.status();
  const std::vector<Action>& actions = *planned;

  SimOptions options = SimOptions::WithSeed(s.seed());
  options.profile = *ParseProfile(s.profile());
  options.lifeguard = !s.no_lifeguard();
  options.network.loss = s.network().loss();
  options.network.duplicate = s.network().duplicate();
  options.network.latency_min =
      absl::Microseconds(std::llround(s.network().latency_min_ms() * 1000));
  options.network.latency_max =
      absl::Microseconds(std::llround(s.network().latency_max_ms() * 1000));
  options.network.regions = static_cast<int>(s.network().regions());
  if (s.no_coordinates())
    options.tune = [](int, Config& config) { config.coordinates = false; };
  Simulation sim(std::move(options));
  Observer observer(sim);
  EventObserver events(sim);
  const int n = static_cast<int>(s.nodes());
  if (s.bootstrap() == scenario::BOOTSTRAP_CONVERGED) {
    sim.AddConverged(n);
  } else {
    sim.AddCluster(n, 0);
  }

  // Times are kept as durations (whole nanoseconds) so that comparing
  // "now" with a fault's time never suffers from rounding.
  RunResult result;
  const absl::Time start = sim.now();
  const double duration_s = s.duration_s();
  const absl::Duration duration = absl::Seconds(duration_s);
  auto when = [](double seconds) {
    return absl::Nanoseconds(std::llround(seconds * 1e9));
  };
  const absl::Duration faults_end =
      actions.empty() ? absl::ZeroDuration() : when(actions.back().at);
  size_t next_action = 0;
  absl::Duration next_sample = absl::Seconds(1);
  uint64_t last_packets = 0, last_bytes = 0;
  uint64_t last_delivered = 0, last_responses = 0;
  auto elapsed = [&] { return sim.now() - start; };
  while (true) {
    while (next_action < actions.size() &&
           when(actions[next_action].at) <= elapsed()) {
      Apply(actions[next_action++], s, sim, observer, events);
    }
    if (elapsed() >= duration) break;
    absl::Duration target = std::min(next_sample, duration);
    if (next_action < actions.size())
      target = std::min(target, when(actions[next_action].at));
    sim.RunFor(target - elapsed());
    // A sample every whole second, and one at the end of a run whose
    // duration is not a whole number of seconds.
    if (elapsed() < next_sample && elapsed() < duration) continue;
    next_sample += absl::Seconds(1);
    observer.Sample();
    SeriesPoint point;
    point.t = absl::ToDoubleSeconds(elapsed());
    uint64_t packets = 0, bytes = 0, delivered = 0, responses = 0;
    size_t running = 0;
    for (size_t i = 0; i < sim.size(); ++i) {
      packets += sim.swim(i).counters().packets_sent;
      bytes += sim.swim(i).counters().bytes_sent;
      delivered += sim.swim(i).counters().user_events_delivered;
      responses += sim.swim(i).counters().query_responses_received;
      if (!sim.running(i)) continue;
      ++running;
      point.alive += sim.swim(i).Count(MemberState::kAlive);
      point.suspect += sim.swim(i).Count(MemberState::kSuspect);
      point.dead += sim.swim(i).Count(MemberState::kDead) +
                    sim.swim(i).Count(MemberState::kLeft);
    }
    if (running > 0) {
      point.alive /= running;
      point.suspect /= running;
      point.dead /= running;
    }
    point.packets = packets - last_packets;
    point.bytes = bytes - last_bytes;
    last_packets = packets;
    last_bytes = bytes;
    // A restarted member's counters start again from 0.
    point.user_events_delivered =
        delivered >= last_delivered ? delivered - last_delivered : 0;
    point.query_responses =
        responses >= last_responses ? responses - last_responses : 0;
    last_delivered = delivered;
    last_responses = responses;
    result.series.push_back(point);
    if (progress) progress(absl::ToDoubleSeconds(elapsed()), duration_s);
    if (check) {
      CheckPoint point;
      point.faults_over = elapsed() > faults_end;
      point.last = elapsed() >= duration;
      absl::Status st = check(sim, point);
      if (!st.ok()) return st;
    }
  }

  uint64_t packets = 0, bytes = 0;
  for (size_t i = 0; i < sim.size(); ++i) {
    packets += sim.swim(i).counters().packets_sent;
    bytes += sim.swim(i).counters().bytes_sent;
  }
  const double member_seconds = n * duration_s;
  result.scenario = s;
  result.join_converged_s = observer.join_converged_s();
  result.suspect_first_s = observer.suspect_first_s();
  result.detect_first_s = observer.detect_first_s();
  result.detect_all_s = observer.detect_all_s();
  result.suspect_to_dead_s = observer.suspect_to_dead_s();
  result.crashes = observer.crashes();
  result.detected_by_all = observer.detected_by_all();
  result.false_suspicions = observer.false_suspicions();
  result.false_deaths = observer.false_deaths();
  result.false_deaths_of_slow = observer.false_deaths_of_impaired();
  result.healed_s = observer.healed_s();
  result.packets_per_node_s = packets / member_seconds;
  result.bytes_per_node_s = bytes / member_seconds;
  result.events = observer.events();
  result.restarted_events = observer.restarted_events();
  result.self_suspected_events = observer.self_suspected_events();
  result.self_failed_events = observer.self_failed_events();
  result.crash_times = observer.crash_times();
  result.detection_times = observer.detection_times();
  result.user_events_and_queries = events.Results();
  if (!s.no_coordinates())
    result.coordinates = MeasureCoordinates(sim, s.seed());
  return result;
}

}  // namespace roster::sim
