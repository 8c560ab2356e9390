#include "core/member_table.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/rtt.h"

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

Verdict AliveVerdict(MemberState, uint64_t current, uint64_t incoming) {
  return incoming > current ? Verdict::kApply : Verdict::kIgnore;
}

Verdict SuspectVerdict(MemberState state, uint64_t current, uint64_t incoming) {
  if (incoming < current || DeadOrLeft(state)) return Verdict::kIgnore;
  if (state == MemberState::kSuspect) {
    // News of a newer suspicion restarts it; an equal one confirms it.
    return incoming > current ? Verdict::kApply : Verdict::kConfirm;
  }
  return Verdict::kApply;
}

Verdict DeadVerdict(MemberState state, uint64_t current, uint64_t incoming) {
  if (incoming < current || DeadOrLeft(state)) return Verdict::kIgnore;
  return Verdict::kApply;
}

MemberInfo Member::Info() const {
  MemberInfo info;
  info.name = std::string(name());
  info.addr = std::string(addr());
  info.meta = std::string(meta());
  info.state = state_;
  info.incarnation = incarnation_;
  info.life = life_;
  info.reachability = reachability();
  info.last_change = last_change();
  info.protocol_min = protocol_min_;
  info.protocol_max = protocol_max_;
  info.state_changed = state_changed();
  return info;
}

void Member::SetText(std::string_view name, std::string_view addr,
                     std::string_view meta) {
  // Lengths are bounded by Limits (and Config::Validate); clamp anyway so
  // a caller bug truncates rather than corrupts.
  name = name.substr(0, 255);
  addr = addr.substr(0, 255);
  meta = meta.substr(0, UINT32_MAX);
  const size_t size = name.size() + addr.size() + meta.size();
  // Written to fresh memory first: the views may point into the old text.
  char scratch[kInlineText];
  std::unique_ptr<char[]> heap;
  char* p = scratch;
  if (size > kInlineText) {
    heap = std::make_unique<char[]>(size);
    p = heap.get();
  }
  if (!name.empty()) std::memcpy(p, name.data(), name.size());
  if (!addr.empty()) std::memcpy(p + name.size(), addr.data(), addr.size());
  if (!meta.empty())
    std::memcpy(p + name.size() + addr.size(), meta.data(), meta.size());
  FreeText();
  if (heap != nullptr) {
    heap_text_ = heap.release();
    on_heap_ = true;
  } else {
    std::memcpy(inline_text_, scratch, size);
  }
  name_len_ = static_cast<uint8_t>(name.size());
  addr_len_ = static_cast<uint8_t>(addr.size());
  meta_len_ = static_cast<uint32_t>(meta.size());
}

void Member::FreeText() {
  if (on_heap_) delete[] heap_text_;
  on_heap_ = false;
  name_len_ = addr_len_ = 0;
  meta_len_ = 0;
}

Member* MemberTable::Find(std::string_view name) {
  auto it = FindName(name);
  return it == by_name_.end() ? nullptr : &slots_[it->slot];
}

const Member* MemberTable::Find(std::string_view name) const {
  auto it = FindName(name);
  return it == by_name_.end() ? nullptr : &slots_[it->slot];
}

Member* MemberTable::FindByAddr(std::string_view addr) {
  auto it = by_addr_.find(addr);
  return it == by_addr_.end() ? nullptr : *it;
}

Member* MemberTable::Add(const MemberInfo& info, RandomFn random) {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.Grow());
  }
  Member* m = &slots_[slot];
  if (slot < rtt_us_.size()) rtt_us_[slot] = 0;  // a reused slot's
  m->SetText(info.name, info.addr, info.meta);
  m->state_ = info.state;
  m->incarnation_ = info.incarnation;
  m->life_ = info.life;
  m->reachability_ = 0;
  m->tcp_probed_ = 0;
  m->last_change_ = static_cast<uint8_t>(EventType::kJoined);
  m->set_protocols(info.protocol_min, info.protocol_max);
  m->changed_ns_ = absl::ToUnixNanos(info.state_changed);
  ++counts_[static_cast<size_t>(m->state_)];
  by_name_.insert(NameRef{NameHash::Of(m->name()), slot});
  // The newest member at an address is the one found there.
  by_addr_.erase(m->addr());
  by_addr_.insert(m);
  order_.push_back(m);
  const size_t at = RandomBelow(random, order_.size());
  std::swap(order_[at], order_.back());
  return m;
}

void MemberTable::Remove(Member* member) {
  auto it = std::find(order_.begin(), order_.end(), member);
  if (it == order_.end()) return;
  // The walk of the probe order goes on where it was.
  if (static_cast<size_t>(it - order_.begin()) < next_) --next_;
  order_.erase(it);
  Forget(member);
}

void MemberTable::SetState(Member& member, MemberState state, absl::Time now) {
  if (member.state_ == state) return;
  --counts_[static_cast<size_t>(member.state_)];
  ++counts_[static_cast<size_t>(state)];
  member.state_ = state;
  member.changed_ns_ = absl::ToUnixNanos(now);
}

// Indexes hash a member by the content of its name or address, so only the
// address index needs updating when the text block is replaced.
void MemberTable::SetAddr(Member& member, std::string_view addr) {
  if (addr == member.addr()) return;
  auto it = by_addr_.find(member.addr());
  if (it != by_addr_.end() && *it == &member) by_addr_.erase(it);
  member.SetText(member.name(), addr, member.meta());
  by_addr_.erase(member.addr());
  by_addr_.insert(&member);
}

void MemberTable::SetMeta(Member& member, std::string_view meta) {
  if (meta == member.meta()) return;
  member.SetText(member.name(), member.addr(), meta);
}

SuspicionState& MemberTable::Suspicion(const Member& member) {
  return suspicions_[&member];
}

SuspicionState* MemberTable::FindSuspicion(const Member& member) {
  auto it = suspicions_.find(&member);
  return it == suspicions_.end() ? nullptr : &it->second;
}

void MemberTable::ClearSuspicion(const Member& member) {
  suspicions_.erase(&member);
}

bool MemberTable::EndLife(const Member& member, uint32_t life) {
  if (life == 0 || Ended(member, life)) return false;
  auto& ended = ended_lives_[&member];
  std::copy_backward(ended.begin(), ended.end() - 1, ended.end());
  ended[0] = life;
  return true;
}

bool MemberTable::Ended(const Member& member, uint32_t life) const {
  // Asked for every alive sent and every record of a push-pull; in a
  // cluster where nobody restarted, the map is empty.
  if (ended_lives_.empty()) return false;
  auto it = ended_lives_.find(&member);
  return life != 0 && it != ended_lives_.end() &&
         std::find(it->second.begin(), it->second.end(), life) !=
             it->second.end();
}

uint32_t MemberTable::PreviousLife(const Member& member) const {
  if (ended_lives_.empty()) return 0;
  auto it = ended_lives_.find(&member);
  return it == ended_lives_.end() ? 0 : it->second[0];
}

absl::Duration MemberTable::Rtt(const Member& member) const {
  if (rtt_us_.empty()) return absl::ZeroDuration();
  auto named = FindName(member.name());
  if (named == by_name_.end() || named->slot >= rtt_us_.size())
    return absl::ZeroDuration();
  return RttFromMicros(rtt_us_[named->slot]);
}

void MemberTable::AddRttSample(const Member& member, absl::Duration sample) {
  auto named = FindName(member.name());
  if (named == by_name_.end()) return;
  if (named->slot >= rtt_us_.size()) rtt_us_.resize(slots_.size(), 0);
  uint32_t& srtt = rtt_us_[named->slot];
  srtt = SmoothRtt(srtt, sample);
}

const Coordinate* MemberTable::CoordinateOf(const Member& member) const {
  auto it = coordinates_.find(&member);
  return it == coordinates_.end() ? nullptr : &it->second;
}

void MemberTable::SetCoordinate(const Member& member,
                                const Coordinate& coordinate) {
  coordinates_.insert_or_assign(&member, coordinate);
}

MemberInfo MemberTable::Info(const Member& member) const {
  MemberInfo info = member.Info();
  info.rtt = Rtt(member);
  if (const Coordinate* c = CoordinateOf(member)) info.coordinate = *c;
  return info;
}

void MemberTable::Forget(Member* m) {
  --counts_[static_cast<size_t>(m->state_)];
  auto named = FindName(m->name());
  const uint32_t slot = named->slot;
  by_name_.erase(named);
  auto at = by_addr_.find(m->addr());
  if (at != by_addr_.end() && *at == m) by_addr_.erase(at);
  suspicions_.erase(m);
  ended_lives_.erase(m);
  coordinates_.erase(m);
  if (slot < rtt_us_.size()) rtt_us_[slot] = 0;
  m->FreeText();
  free_.push_back(slot);
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
    if (m->name() == self || DeadOrLeft(m->state())) continue;
    return m;
  }
  return nullptr;
}

void MemberTable::Reshuffle(std::string_view self, RandomFn random,
                            absl::Time now, absl::Duration retention) {
  auto expired = [&](const Member* m) {
    return m->name() != self && DeadOrLeft(m->state()) &&
           now - m->state_changed() > retention;
  };
  std::vector<Member*> kept;
  kept.reserve(order_.size());
  for (Member* m : order_) {
    if (expired(m)) {
      Forget(m);
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
