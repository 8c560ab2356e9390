// Runs one scenario (a cluster, its bootstrap and its faults) on the
// simulator and gathers everything roster-sim reports about it.
#ifndef ROSTER_SIM_RUNNER_H_
#define ROSTER_SIM_RUNNER_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/scenario.pb.h"
#include "sim/coordinates.h"
#include "sim/event_observer.h"
#include "sim/observer.h"

namespace roster::sim {

// Fills in defaults and checks every field and fault, naming what is wrong.
absl::Status NormalizeScenario(scenario::Scenario& scenario);
// Parses a scenario in protobuf text format; errors carry line and column.
absl::StatusOr<scenario::Scenario> ParseScenario(const std::string& text);

// One simulated second of the cluster, as every running member sees it
// (averaged over those members), and the traffic of that second.
struct SeriesPoint {
  double t = 0;
  double alive = 0, suspect = 0, dead = 0;
  uint64_t packets = 0, bytes = 0;
  // User events delivered and query responses received that second, over
  // every member.
  uint64_t user_events_delivered = 0, query_responses = 0;
};

struct RunResult {
  scenario::Scenario scenario;  // normalized
  std::optional<double> join_converged_s;
  Distribution suspect_first_s, detect_first_s, detect_all_s;
  Distribution suspect_to_dead_s;
  size_t crashes = 0, detected_by_all = 0;
  uint64_t false_suspicions = 0, false_deaths = 0, false_deaths_of_slow = 0;
  std::optional<double> healed_s;
  double packets_per_node_s = 0, bytes_per_node_s = 0;
  uint64_t events = 0;
  uint64_t restarted_events = 0;
  uint64_t self_suspected_events = 0;  // members told others suspect them
  uint64_t self_failed_events = 0;     // ... declared them dead
  std::vector<SeriesPoint> series;
  std::vector<double> crash_times, detection_times;
  EventResults user_events_and_queries;
  // At the end of the run; none with coordinates off.
  std::optional<CoordinateAccuracy> coordinates;
};

// Called about once a simulated second with (simulated now, duration).
using Progress = std::function<void(double, double)>;

// Where a run stands when `check` is called.
struct CheckPoint {
  bool faults_over = false;  // every planned fault has happened
  bool last = false;         // the final simulated second
};
using Check = std::function<absl::Status(Simulation&, const CheckPoint&)>;

// `check`, if set, is called after every simulated second (test mode:
// invariant checks); a non-ok status stops the run and is returned.
absl::StatusOr<RunResult> RunScenario(scenario::Scenario scenario,
                                      const Progress& progress = nullptr,
                                      const Check& check = nullptr);

}  // namespace roster::sim

#endif  // ROSTER_SIM_RUNNER_H_
