// Watches a Simulation and measures what users of the simulator care
// about: how fast a cluster converges, how long each crash takes to be
// suspected and declared dead (first member, every live member), and how
// often healthy members are wrongly suspected or declared dead.
#ifndef ROSTER_SIM_OBSERVER_H_
#define ROSTER_SIM_OBSERVER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "sim/simulation.h"

namespace roster::sim {

struct Distribution {
  size_t count = 0;
  double p50 = 0, p99 = 0, max = 0, mean = 0;
  static Distribution Of(std::vector<double> samples);
};

class Observer {
 public:
  // Installs itself as `sim`'s event callback; `sim` must outlive it.
  explicit Observer(Simulation& sim);

  // Crashes `node` now and starts timing its detection.
  void Crash(int node);
  // Marks `node` as impaired (slow or paused): deaths declared about it
  // are counted apart as well.
  void MarkImpaired(int node);
  // `node` left gracefully: it no longer has to witness crashes.
  void MarkLeft(int node);
  // `node` was restarted: news about its name is no longer about the crash.
  void Restarted(int node);
  // The network healed now: time how long until every running member sees
  // every running member alive.
  void Healed();
  // Checks convergence; call between runs (e.g. once a simulated second).
  void Sample();

  // Simulated seconds from construction until every running member first
  // saw every running member alive.
  std::optional<double> join_converged_s() const { return join_converged_s_; }
  Distribution suspect_first_s() const;
  Distribution detect_first_s() const;
  Distribution detect_all_s() const;
  // From the first suspicion of a crashed member to its first death.
  Distribution suspect_to_dead_s() const;
  size_t crashes() const { return crashes_.size(); }
  size_t detected_by_all() const;
  uint64_t false_suspicions() const { return false_suspicions_; }
  uint64_t false_deaths() const { return false_deaths_; }
  uint64_t false_deaths_of_impaired() const {
    return false_deaths_of_impaired_;
  }
  std::optional<double> healed_s() const { return healed_s_; }
  // Crash and first-death moments, in simulated seconds from the start.
  std::vector<double> crash_times() const;
  std::vector<double> detection_times() const;
  uint64_t events() const { return events_; }
  // `restarted` events: a member seeing a new life of another.
  uint64_t restarted_events() const { return restarted_events_; }
  // A member hearing that others suspect it or declared it dead (and
  // refuting): kSelfSuspected and kSelfFailed. Not false suspicions of
  // others, which the suspected members' peers count.
  uint64_t self_suspected_events() const { return self_suspected_events_; }
  uint64_t self_failed_events() const { return self_failed_events_; }

 private:
  struct Crashed {
    int node;
    absl::Time at;
    std::optional<absl::Time> first_suspect, first_dead, all_dead;
    std::vector<bool> declared;  // by observer index
    size_t declared_count = 0;
    bool open = true;  // until the member is restarted
  };
  void OnEvent(int observer, const Event& event);
  Crashed* FindCrashed(const std::string& name);
  size_t RunningCount() const;
  bool AllSeeAllAlive() const;

  Simulation& sim_;
  absl::Time start_;
  std::vector<Crashed> crashes_;
  std::optional<double> join_converged_s_;
  std::optional<absl::Time> heal_started_;
  std::optional<double> healed_s_;
  absl::flat_hash_map<std::string, int> impaired_;  // name to index
  std::vector<bool> left_;
  uint64_t false_suspicions_ = 0;
  uint64_t false_deaths_ = 0;
  uint64_t false_deaths_of_impaired_ = 0;
  uint64_t events_ = 0;
  uint64_t restarted_events_ = 0;
  uint64_t self_suspected_events_ = 0;
  uint64_t self_failed_events_ = 0;
};

}  // namespace roster::sim

#endif  // ROSTER_SIM_OBSERVER_H_
