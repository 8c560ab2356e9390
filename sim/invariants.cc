#include "sim/invariants.h"

#include <algorithm>

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
      view.members.clear();
    }
    for (const MemberInfo& m : swim.Members()) {
      View::Seen& seen = view.members[m.name];
      if (m.life != seen.life) {
        if (std::find(seen.earlier_lives.begin(), seen.earlier_lives.end(),
                      m.life) != seen.earlier_lives.end())
          return absl::InternalError(
              absl::StrCat(At(sim), sim.name(o), "'s view of ", m.name,
                           " went back to an earlier life, ", m.life));
        if (seen.life != 0) seen.earlier_lives.push_back(seen.life);
        seen.life = m.life;
        seen.incarnation = m.incarnation;
        continue;
      }
      if (m.incarnation < seen.incarnation)
        return absl::InternalError(
            absl::StrCat(At(sim), sim.name(o), "'s view of ", m.name,
                         " fell from incarnation ", seen.incarnation, " to ",
                         m.incarnation));
      seen.incarnation = m.incarnation;
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
      if (v->life != sim.swim(s).Self().life)
        return absl::InternalError(
            absl::StrCat(At(sim), "after faults stopped, ", sim.name(o),
                         " sees ", sim.name(s), " in life ", v->life,
                         ", not its current life ", sim.swim(s).Self().life));
    }
  }
  return absl::OkStatus();
}

}  // namespace roster::sim
