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

// Levels list slots newest first, so a slot goes before the first one
// older than itself.
void BroadcastQueue::Insert(uint32_t slot) {
  const Item& item = items_[slot];
  if (levels_.size() <= static_cast<size_t>(item.transmits))
    levels_.resize(item.transmits + 1);
  std::vector<uint32_t>& level = levels_[item.transmits];
  auto at = std::lower_bound(level.begin(), level.end(), item.newness,
                             [&](uint32_t s, uint64_t newness) {
                               return items_[s].newness > newness;
                             });
  level.insert(at, slot);
}

void BroadcastQueue::RemoveFromLevel(uint32_t slot) {
  const Item& item = items_[slot];
  std::vector<uint32_t>& level = levels_[item.transmits];
  auto at = std::lower_bound(level.begin(), level.end(), item.newness,
                             [&](uint32_t s, uint64_t newness) {
                               return items_[s].newness > newness;
                             });
  if (at != level.end() && *at == slot) level.erase(at);
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
    auto it = by_key_.find(ToAbsl(key));
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
  for (const auto& level : levels_) {
    if (!level.empty()) return items_[level.front()].entry.size();
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
  std::vector<uint32_t> picked;
  size_t used = 0;
  int misses = 0;
  bool done = false;
  for (size_t t = 0; t < levels_.size() && !done; ++t) {
    for (uint32_t slot : levels_[t]) {
      if (budget - used < kSmallestEntry || misses >= kMaxMisses) {
        done = true;
        break;
      }
      const std::string& entry = items_[slot].entry;
      if (entry.size() > budget - used) {
        ++misses;
        continue;
      }
      misses = 0;
      out->append(entry);
      used += entry.size();
      picked.push_back(slot);
    }
  }
  // Picked slots leave their levels in one pass per level, then move up.
  for (uint32_t slot : picked)
    items_[slot].transmits = -1 - items_[slot].transmits;
  for (auto& level : levels_) {
    level.erase(
        std::remove_if(level.begin(), level.end(),
                       [&](uint32_t s) { return items_[s].transmits < 0; }),
        level.end());
  }
  for (uint32_t slot : picked) {
    Item& item = items_[slot];
    item.transmits = -item.transmits;  // the old count plus one
    if (item.transmits >= transmit_limit) {
      Free(slot);
    } else {
      Insert(slot);
    }
  }
  return used;
}

size_t BroadcastQueue::Prune(size_t max_entries) {
  size_t dropped = 0;
  for (size_t t = levels_.size(); t-- > 0 && count_ > max_entries;) {
    std::vector<uint32_t>& level = levels_[t];
    while (!level.empty() && count_ > max_entries) {
      uint32_t slot = level.back();  // the oldest at the most-sent level
      level.pop_back();
      Free(slot);
      ++dropped;
    }
  }
  return dropped;
}

}  // namespace roster::core
