// Forced leaves (Serf's force-leave): an operator removes a failed member
// now rather than waiting for dead_retention, and the news travels as a
// leave does (a Dead whose `from` is the member's own name), so that builds
// without it understand it too.
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/swim_impl.h"
#include "util/string_view.h"

namespace roster {

// Serf forces any member into left and lets a live one refute it. Refused
// here instead: a live member's refutation would undo it within a gossip
// round, and an operator should hear that the member is not failed rather
// than see a call succeed and then not stick.
absl::Status Swim::Impl::ForceLeave(std::string_view name, bool prune) {
  if (name == cfg_.name)
    return absl::FailedPreconditionError(
        "cannot force this member itself to leave: use Leave");
  Member* m = table_.Find(name);
  if (m == nullptr)
    return absl::NotFoundError(
        absl::StrCat("no member named '", util::ToAbsl(name), "' is known"));
  if (m->state() == MemberState::kAlive || m->state() == MemberState::kSuspect)
    return absl::FailedPreconditionError(absl::StrCat(
        "member '", util::ToAbsl(name), "' is ",
        util::ToAbsl(MemberStateName(m->state())),
        ": only a failed member can be forced to leave (a live one would "
        "refute it)"));
  Log(LogLevel::kInfo,
      absl::StrCat("forcing member ", util::ToAbsl(name), " at ",
                   util::ToAbsl(m->addr()), " to leave",
                   prune ? ", and pruning it from every table" : ""));
  if (m->state() == MemberState::kLeft) {
    // Told again: some members may have missed it the first time.
    QueueDead(*m, m->name(), prune);
    if (prune) Prune(m);
    return absl::OkStatus();
  }
  const std::string held(m->name());  // OnDead may forget `m`
  OnDead(held, m->life(), m->incarnation(), held, nullptr, prune);
  return absl::OkStatus();
}

void Swim::Impl::Prune(Member* m) {
  if (m == self_) return;
  if (m->life() != 0) {
    // A life of 0 (an old build) cannot be told from its restarts, so it
    // is not remembered: stale news of it may bring it back as left.
    PrunedLife key{std::string(m->name()), m->life()};
    if (pruned_.insert(key).second) {
      pruned_order_.push_back(std::move(key));
      if (pruned_order_.size() > kPrunedLives) {
        pruned_.erase(pruned_order_.front());
        pruned_order_.pop_front();
      }
    }
  }
  table_.Remove(m);
}

}  // namespace roster
