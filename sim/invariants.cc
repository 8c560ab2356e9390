#include "sim/invariants.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace roster::sim {
namespace {

std::string At(Simulation& sim) {
  return absl::StrCat("at ", absl::ToDoubleSeconds(sim.now() - sim.epoch()),
                      " s: ");
}

}  // namespace

absl::Status InvariantChecker::Check(Simulation& sim) {
  views_.resize(sim.size());
  for (size_t o = 0; o < sim.size(); ++o) {
    if (!sim.running(o)) continue;
    Swim& swim = sim.swim(o);
    const MemberState self = swim.Self().state;
    if (self != MemberState::kAlive && self != MemberState::kLeft)
      return absl::InternalError(
          absl::StrCat(At(sim), sim.name(o), " believes itself ",
                       std::string(MemberStateName(self))));
    View& view = views_[o];
    if (view.life != sim.life(o)) {
      view.life = sim.life(o);  // a restarted process starts a new history
      view.incarnation.clear();
    }
    for (const MemberInfo& m : swim.Members()) {
      uint64_t& last = view.incarnation[m.name];
      if (m.incarnation < last)
        return absl::InternalError(absl::StrCat(
            At(sim), sim.name(o), "'s view of ", m.name,
            " fell from incarnation ", last, " to ", m.incarnation));
      last = m.incarnation;
    }
  }
  return absl::OkStatus();
}

absl::Status InvariantChecker::CheckConverged(Simulation& sim) const {
  for (size_t o = 0; o < sim.size(); ++o) {
    if (!sim.running(o) || sim.swim(o).Self().state == MemberState::kLeft)
      continue;
    for (size_t s = 0; s < sim.size(); ++s) {
      if (s == o || !sim.running(s) ||
          sim.swim(s).Self().state == MemberState::kLeft)
        continue;
      auto v = sim.swim(o).Lookup(sim.name(s));
      if (!v || v->state != MemberState::kAlive)
        return absl::InternalError(absl::StrCat(
            At(sim), "after faults stopped, ", sim.name(o), " sees ",
            sim.name(s), " as ",
            v ? std::string(MemberStateName(v->state)) : "unknown"));
    }
  }
  return absl::OkStatus();
}

}  // namespace roster::sim
