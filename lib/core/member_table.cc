#include "core/member_table.h"

#include <algorithm>
#include <utility>

namespace roster::core {

size_t RandomBelow(RandomFn random, size_t n) {
  // Lemire's multiply-shift: unbiased enough for n far below 2^64.
  return static_cast<size_t>((static_cast<unsigned __int128>(random()) * n) >>
                             64);
}

namespace {

bool DeadOrLeft(MemberState s) {
  return s == MemberState::kDead || s == MemberState::kLeft;
}

}  // namespace

Verdict AliveVerdict(const MemberInfo& current, uint64_t incarnation) {
  return incarnation > current.incarnation ? Verdict::kApply : Verdict::kIgnore;
}

Verdict SuspectVerdict(const MemberInfo& current, uint64_t incarnation) {
  if (incarnation < current.incarnation || DeadOrLeft(current.state))
    return Verdict::kIgnore;
  if (current.state == MemberState::kSuspect) {
    // News of a newer suspicion restarts it; an equal one confirms it.
    return incarnation > current.incarnation ? Verdict::kApply
                                             : Verdict::kConfirm;
  }
  return Verdict::kApply;
}

Verdict DeadVerdict(const MemberInfo& current, uint64_t incarnation) {
  if (incarnation < current.incarnation || DeadOrLeft(current.state))
    return Verdict::kIgnore;
  return Verdict::kApply;
}

Member* MemberTable::Find(std::string_view name) {
  auto it = members_.find(ToAbsl(name));
  return it == members_.end() ? nullptr : it->second.get();
}

const Member* MemberTable::Find(std::string_view name) const {
  auto it = members_.find(ToAbsl(name));
  return it == members_.end() ? nullptr : it->second.get();
}

Member* MemberTable::FindByAddr(std::string_view addr) {
  auto it = by_addr_.find(ToAbsl(addr));
  return it == by_addr_.end() ? nullptr : it->second;
}

void MemberTable::SetAddr(Member& member, std::string addr) {
  if (addr == member.info.addr) return;
  auto it = by_addr_.find(member.info.addr);
  if (it != by_addr_.end() && it->second == &member) by_addr_.erase(it);
  member.info.addr = std::move(addr);
  by_addr_[member.info.addr] = &member;
}

Member* MemberTable::Add(MemberInfo info, RandomFn random) {
  auto member = std::make_unique<Member>();
  member->info = std::move(info);
  Member* raw = member.get();
  ++counts_[static_cast<size_t>(raw->info.state)];
  by_addr_[raw->info.addr] = raw;
  members_.emplace(raw->info.name, std::move(member));
  order_.push_back(raw);
  size_t slot = RandomBelow(random, order_.size());
  std::swap(order_[slot], order_.back());
  return raw;
}

void MemberTable::SetState(Member& member, MemberState state, absl::Time now) {
  if (member.info.state == state) return;
  --counts_[static_cast<size_t>(member.info.state)];
  ++counts_[static_cast<size_t>(state)];
  member.info.state = state;
  member.info.state_changed = now;
}

Member* MemberTable::NextProbeTarget(std::string_view self, RandomFn random,
                                     absl::Time now, absl::Duration retention) {
  // Two passes at most: the rest of this one, then a fresh shuffled one.
  for (size_t checked = 0; checked < 2 * order_.size() + 1; ++checked) {
    if (next_ >= order_.size()) {
      Reshuffle(self, random, now, retention);
      next_ = 0;
      if (order_.empty()) return nullptr;
    }
    Member* m = order_[next_++];
    if (m->info.name == self || DeadOrLeft(m->info.state)) continue;
    return m;
  }
  return nullptr;
}

void MemberTable::Reshuffle(std::string_view self, RandomFn random,
                            absl::Time now, absl::Duration retention) {
  auto expired = [&](const Member* m) {
    return m->info.name != self && DeadOrLeft(m->info.state) &&
           now - m->info.state_changed > retention;
  };
  std::vector<Member*> kept;
  kept.reserve(order_.size());
  for (Member* m : order_) {
    if (expired(m)) {
      --counts_[static_cast<size_t>(m->info.state)];
      auto at = by_addr_.find(m->info.addr);
      if (at != by_addr_.end() && at->second == m) by_addr_.erase(at);
      members_.erase(m->info.name);
    } else {
      kept.push_back(m);
    }
  }
  order_ = std::move(kept);
  for (size_t i = order_.size(); i > 1; --i) {
    std::swap(order_[i - 1], order_[RandomBelow(random, i)]);
  }
}

std::vector<Member*> MemberTable::Sample(
    size_t k, RandomFn random, absl::FunctionRef<bool(const Member&)> accept) {
  std::vector<Member*> picked;
  const size_t n = order_.size();
  for (size_t draw = 0; draw < 3 * n && picked.size() < k; ++draw) {
    Member* m = order_[RandomBelow(random, n)];
    if (!accept(*m)) continue;
    if (std::find(picked.begin(), picked.end(), m) != picked.end()) continue;
    picked.push_back(m);
  }
  return picked;
}

}  // namespace roster::core
