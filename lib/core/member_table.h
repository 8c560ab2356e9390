// The member table: every member this one knows of, the precedence rules
// that decide whether news about a member replaces what we believe, and the
// shuffled round-robin order in which members are probed.
#ifndef ROSTER_CORE_MEMBER_TABLE_H_
#define ROSTER_CORE_MEMBER_TABLE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "core/string_view.h"
#include "core/suspicion.h"
#include "roster/member.h"

namespace roster::core {

using RandomFn = absl::FunctionRef<uint64_t()>;

// Uniform in [0, n); n > 0.
size_t RandomBelow(RandomFn random, size_t n);

struct Member {
  MemberInfo info;
  std::unique_ptr<Suspicion> suspicion;  // set while suspect
  uint64_t suspicion_generation = 0;     // tags the suspicion's timers
  absl::Time told_suspect = absl::InfinitePast();  // last direct notice
};

// What to do with a piece of news about a known member, given its current
// state and incarnation. Alive beats suspect or dead only at a higher
// incarnation; suspect beats alive at an equal or higher one and confirms
// an existing suspicion; dead beats alive and suspect at an equal or higher
// one; nothing beats dead or left except a higher-incarnation alive.
enum class Verdict { kIgnore, kApply, kConfirm };
Verdict AliveVerdict(const MemberInfo& current, uint64_t incarnation);
Verdict SuspectVerdict(const MemberInfo& current, uint64_t incarnation);
Verdict DeadVerdict(const MemberInfo& current, uint64_t incarnation);

class MemberTable {
 public:
  Member* Find(std::string_view name);
  const Member* Find(std::string_view name) const;
  // The member most recently known at `addr`, if any.
  Member* FindByAddr(std::string_view addr);

  // Adds a member at a random place in the probe order.
  Member* Add(MemberInfo info, RandomFn random);
  void SetState(Member& member, MemberState state, absl::Time now);
  void SetAddr(Member& member, std::string addr);

  size_t size() const { return members_.size(); }
  size_t count(MemberState state) const {
    return counts_[static_cast<size_t>(state)];
  }
  size_t NumAlive() const {
    return count(MemberState::kAlive) + count(MemberState::kSuspect);
  }
  // Every member, in probe order: deterministic for a given history.
  const std::vector<Member*>& members() const { return order_; }

  // The next alive or suspect member other than `self` to probe, walking
  // the order; at the end of each pass the order is reshuffled and members
  // dead or left for longer than `retention` are forgotten. Null when there
  // is no one to probe.
  Member* NextProbeTarget(std::string_view self, RandomFn random,
                          absl::Time now, absl::Duration retention);

  // Up to `k` distinct members for which `accept` holds, chosen at random
  // (bounded effort: 3 * size() draws).
  std::vector<Member*> Sample(size_t k, RandomFn random,
                              absl::FunctionRef<bool(const Member&)> accept);

 private:
  void Reshuffle(std::string_view self, RandomFn random, absl::Time now,
                 absl::Duration retention);

  absl::flat_hash_map<std::string, std::unique_ptr<Member>> members_;
  absl::flat_hash_map<std::string, Member*> by_addr_;
  std::vector<Member*> order_;
  size_t next_ = 0;
  std::array<size_t, 4> counts_{};
};

}  // namespace roster::core

#endif  // ROSTER_CORE_MEMBER_TABLE_H_
