// Views of a simulated cluster that the simulation tests share.
#ifndef ROSTER_TEST_SIM_SIM_HELPERS_H_
#define ROSTER_TEST_SIM_SIM_HELPERS_H_

#include <algorithm>
#include <optional>
#include <vector>

#include "roster/member.h"
#include "sim/simulation.h"

namespace roster::sim {

// How `observer` sees `subject`, or nullopt if it does not know it.
inline std::optional<MemberInfo> View(Simulation& sim, int observer,
                                      int subject) {
  return sim.swim(observer).Lookup(sim.name(subject));
}

// Every running member of `observers` (all when empty) sees every member
// of `expected_alive` as alive.
inline bool AllSeeAlive(Simulation& sim, const std::vector<int>& expected_alive,
                        const std::vector<int>& observers = {}) {
  for (size_t o = 0; o < sim.size(); ++o) {
    if (!sim.running(o)) continue;
    if (!observers.empty() && std::find(observers.begin(), observers.end(),
                                        static_cast<int>(o)) == observers.end())
      continue;
    for (int s : expected_alive) {
      auto v = View(sim, o, s);
      if (!v || v->state != MemberState::kAlive) return false;
    }
  }
  return true;
}

// Every running member sees `subject` in `state`.
inline bool AllSee(Simulation& sim, int subject, MemberState state) {
  for (size_t o = 0; o < sim.size(); ++o) {
    if (!sim.running(o) || static_cast<int>(o) == subject) continue;
    auto v = View(sim, o, subject);
    if (!v || v->state != state) return false;
  }
  return true;
}

inline std::vector<int> Range(int from, int to) {
  std::vector<int> v;
  for (int i = from; i < to; ++i) v.push_back(i);
  return v;
}

}  // namespace roster::sim

#endif  // ROSTER_TEST_SIM_SIM_HELPERS_H_
