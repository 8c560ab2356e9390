#include "core/broadcast_queue.h"

#include <algorithm>
#include <cmath>

namespace roster::core {

int BroadcastQueue::TransmitLimit(int retransmit_mult, size_t cluster_size) {
  int scale = static_cast<int>(
      std::ceil(std::log10(static_cast<double>(cluster_size) + 1.0)));
  return std::max(1, retransmit_mult * scale);
}

uint32_t BroadcastQueue::NewSlot() {
  if (!free_.empty()) {
    uint32_t slot = free_.back();
    free_.pop_back();
    return slot;
  }
  items_.emplace_back();
  return static_cast<uint32_t>(items_.size() - 1);
}

BroadcastQueue::Ref BroadcastQueue::RefOf(uint32_t slot) const {
  const Item& item = items_[slot];
  return Ref{item.newness, slot, static_cast<uint32_t>(item.entry.size())};
}

namespace {

// Levels list entries newest first: where an entry of `newness` goes.
template <typename Level>
auto NewestFirstPosition(Level& level, uint64_t newness) {
  return std::lower_bound(
      level.begin(), level.end(), newness,
      [](const auto& ref, uint64_t n) { return ref.newness > n; });
}

}  // namespace

void BroadcastQueue::Insert(uint32_t slot) {
  const Item& item = items_[slot];
  if (levels_.size() <= static_cast<size_t>(item.transmits))
    levels_.resize(item.transmits + 1);
  Level& level = levels_[item.transmits];
  level.insert(NewestFirstPosition(level, item.newness), RefOf(slot));
}

void BroadcastQueue::RemoveFromLevel(uint32_t slot) {
  const Item& item = items_[slot];
  Level& level = levels_[item.transmits];
  auto at = NewestFirstPosition(level, item.newness);
  if (at != level.end() && at->slot == slot) level.erase(at);
  Trim(level);
}

void BroadcastQueue::Free(uint32_t slot) {
  Item& item = items_[slot];
  if (!item.key.empty()) by_key_.erase(item.key);
  item.key.clear();
  item.entry.clear();
  item.entry.shrink_to_fit();
  free_.push_back(slot);
  --count_;
}

void BroadcastQueue::Push(std::string_view key, std::string entry) {
  if (!key.empty()) {
    auto it = by_key_.find(util::ToAbsl(key));
    if (it != by_key_.end()) {
      uint32_t old = it->second;
      RemoveFromLevel(old);
      Free(old);
    }
  }
  uint32_t slot = NewSlot();
  Item& item = items_[slot];
  item.key = std::string(key);
  item.entry = std::move(entry);
  item.newness = ++next_newness_;
  item.transmits = 0;
  ++count_;
  if (!key.empty()) by_key_.emplace(item.key, slot);
  Insert(slot);
}

size_t BroadcastQueue::NextSize() const {
  for (const Level& level : levels_) {
    if (!level.empty()) return level.front().size;
  }
  return 0;
}

size_t BroadcastQueue::Fill(size_t budget, int transmit_limit,
                            std::string* out) {
  // The smallest entry roster encodes is a few bytes; stop scanning once
  // nothing can fit rather than walking a long queue for nothing.
  // Likewise, after a run of entries too big for what is left, give up:
  // the rest of a long queue would mostly not fit either.
  constexpr size_t kSmallestEntry = 4;
  constexpr int kMaxMisses = 16;
  picked_.clear();
  runs_.clear();
  size_t used = 0;
  int misses = 0;
  bool done = false;
  for (size_t t = 0; t < levels_.size() && !done; ++t) {
    // Picked entries leave the level as it is walked: the ones skipped
    // slide down over them, and only the walked part moves.
    Level& level = levels_[t];
    size_t kept = 0;
    size_t i = 0;
    for (; i < level.size(); ++i) {
      if (budget - used < kSmallestEntry || misses >= kMaxMisses) {
        done = true;
        break;
      }
      const Ref ref = level[i];
      if (ref.size > budget - used) {
        ++misses;
        level[kept++] = ref;
        continue;
      }
      misses = 0;
      used += ref.size;
      picked_.push_back(ref);
      __builtin_prefetch(&items_[ref.slot]);
    }
    if (kept == i) continue;
    level.erase(level.begin() + kept, level.begin() + i);
    Trim(level);
    runs_.push_back(Run{static_cast<int>(t), picked_.size()});
  }
  // The picked entries are copied out once all are chosen, so that their
  // scattered bytes are fetched from memory together.
  for (const Ref& ref : picked_)
    __builtin_prefetch(items_[ref.slot].entry.data());
  out->reserve(out->size() + used);
  for (const Ref& ref : picked_) out->append(items_[ref.slot].entry);
  Promote(transmit_limit);
  return used;
}

void BroadcastQueue::Promote(int transmit_limit) {
  // A level's picks are newest first, the order the next level keeps, so
  // each run merges into the next level from the back in one pass.
  size_t begin = 0;
  for (const Run& run : runs_) {
    const size_t end = run.end;
    const int to = run.level + 1;
    for (size_t p = begin; p < end; ++p) items_[picked_[p].slot].transmits = to;
    if (to >= transmit_limit) {
      for (size_t p = begin; p < end; ++p) Free(picked_[p].slot);
    } else {
      if (levels_.size() <= static_cast<size_t>(to)) levels_.resize(to + 1);
      Level& level = levels_[to];
      size_t i = level.size();
      size_t j = end;
      level.resize(level.size() + (end - begin));
      for (size_t w = level.size(); j > begin;) {
        if (i > 0 && level[i - 1].newness < picked_[j - 1].newness) {
          level[--w] = level[--i];
        } else {
          level[--w] = picked_[--j];
        }
      }
    }
    begin = end;
  }
}

void BroadcastQueue::Trim(Level& level) {
  constexpr size_t kSmallLevel = 64;
  if (level.capacity() > kSmallLevel && level.size() < level.capacity() / 4)
    level.shrink_to_fit();
}

size_t BroadcastQueue::Prune(size_t max_entries) {
  size_t dropped = 0;
  for (size_t t = levels_.size(); t-- > 0 && count_ > max_entries;) {
    Level& level = levels_[t];
    while (!level.empty() && count_ > max_entries) {
      uint32_t slot = level.back().slot;  // the oldest at the most-sent level
      level.pop_back();
      Free(slot);
      ++dropped;
    }
    Trim(level);
  }
  return dropped;
}

}  // namespace roster::core
