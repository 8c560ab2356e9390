// Sends the user events and queries a scenario asks for and measures how
// they spread: the time from an event's sending to its delivery at each
// live member, and each query's time to its last live member's answer and
// the answers it lacked at its deadline.
#ifndef ROSTER_SIM_EVENT_OBSERVER_H_
#define ROSTER_SIM_EVENT_OBSERVER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "proto/scenario.pb.h"
#include "sim/observer.h"
#include "sim/simulation.h"

namespace roster::sim {

struct EventResults {
  size_t user_events = 0;  // sent
  // Each live member's delivery of each event, in seconds after it was
  // sent; and deliveries that never came.
  Distribution dissemination_s;
  uint64_t deliveries_missing = 0;
  size_t queries = 0;           // sent
  size_t queries_finished = 0;  // their deadline passed within the run
  // Queries whose every live member's answer came: the time to the last.
  Distribution completion_s;
  uint64_t answers_missing = 0;  // live members' answers that never came
  size_t queries_complete = 0;
};

class EventObserver {
 public:
  // Installs itself as `sim`'s user event and query callbacks; `sim` must
  // outlive it. Every member answers a query with its name.
  explicit EventObserver(Simulation& sim);

  void SendUserEvent(int node, const scenario::UserEvents& spec);
  void SendQuery(int node, const scenario::Queries& spec);
  // What was measured; members are live if they ran, in the same life,
  // from an event's sending (a query's) to the end of the run (its
  // deadline).
  EventResults Results() const;

 private:
  struct SentEvent {
    absl::Time at;
    std::vector<uint32_t> lives;      // of every member, when it was sent
    std::vector<double> delivered_s;  // -1: not yet
  };
  struct SentQuery {
    absl::Time at;
    std::vector<uint32_t> lives;
    std::vector<bool> asked;  // the members it selects
    absl::Time last_answer;
    bool done = false;
    bool complete = false;
    uint64_t missing = 0;
  };
  // The life `node` runs now, 0 if it is down.
  uint32_t LifeNow(int node) const;
  std::vector<uint32_t> Lives() const;
  void OnUserEvent(int node, const UserEvent& event);
  void OnQueryDone(int node, const QueryResult& result);

  Simulation& sim_;
  std::vector<SentEvent> events_;
  absl::flat_hash_map<std::string, size_t> event_by_name_;
  std::vector<SentQuery> queries_;
};

}  // namespace roster::sim

#endif  // ROSTER_SIM_EVENT_OBSERVER_H_
