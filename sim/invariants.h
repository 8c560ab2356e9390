// Invariants every simulated run must keep, checked in test mode:
//  - within one life of a member, its incarnation never falls, in any
//    member's view; a new life may start anywhere;
//  - a view that moved on from a life of a member never goes back to it;
//  - no running member believes itself dead;
//  - once faults stop, the running members converge: each sees every other
//    running member (that has not left) alive, in its current life.
// Tests run many random seeds through it and print the failing seed.
#ifndef ROSTER_SIM_INVARIANTS_H_
#define ROSTER_SIM_INVARIANTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "sim/simulation.h"

namespace roster::sim {

class InvariantChecker {
 public:
  // The per-second invariants.
  absl::Status Check(Simulation& sim);
  // The convergence invariant; call once faults are over and had time to
  // settle.
  absl::Status CheckConverged(Simulation& sim) const;

 private:
  struct View {
    uint32_t life = 0;  // the observer's process life this view belongs to
    struct Seen {
      uint32_t life = 0;
      uint64_t incarnation = 0;
      std::vector<uint32_t> earlier_lives;  // the lives it moved on from
    };
    absl::flat_hash_map<std::string, Seen> members;
  };
  std::vector<View> views_;
};

}  // namespace roster::sim

#endif  // ROSTER_SIM_INVARIANTS_H_
