#include "core/broadcast_queue.h"

#include <cmath>
#include <vector>

namespace roster::core {

int BroadcastQueue::TransmitLimit(int retransmit_mult, size_t cluster_size) {
  int scale = static_cast<int>(
      std::ceil(std::log10(static_cast<double>(cluster_size) + 1.0)));
  return std::max(1, retransmit_mult * scale);
}

void BroadcastQueue::Push(std::string_view key, std::string entry) {
  if (!key.empty()) {
    auto it = by_key_.find(ToAbsl(key));
    if (it != by_key_.end()) {
      queue_.erase(it->second);
      by_key_.erase(it);
    }
  }
  Order order{0, next_newness_--};
  queue_.emplace(order, Item{std::string(key), std::move(entry)});
  if (!key.empty()) by_key_.emplace(std::string(key), order);
}

void BroadcastQueue::Erase(std::map<Order, Item>::iterator it) {
  if (!it->second.key.empty()) by_key_.erase(it->second.key);
  queue_.erase(it);
}

size_t BroadcastQueue::Fill(size_t budget, int transmit_limit,
                            std::string* out) {
  // The smallest entry roster encodes is a few bytes; stop scanning once
  // nothing can fit rather than walking a long queue for nothing.
  // Likewise, after a run of entries too big for what is left, give up:
  // the rest of a long queue would mostly not fit either.
  constexpr size_t kSmallestEntry = 4;
  constexpr int kMaxMisses = 16;
  std::vector<std::map<Order, Item>::iterator> picked;
  size_t used = 0;
  int misses = 0;
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (budget - used < kSmallestEntry || misses >= kMaxMisses) break;
    const std::string& entry = it->second.entry;
    if (entry.size() > budget - used) {
      ++misses;
      continue;
    }
    misses = 0;
    out->append(entry);
    used += entry.size();
    picked.push_back(it);
  }
  for (auto it : picked) {
    Order next{it->first.transmits + 1, it->first.newness};
    if (next.transmits >= transmit_limit) {
      Erase(it);
      continue;
    }
    auto node = queue_.extract(it);
    node.key() = next;
    if (!node.mapped().key.empty()) by_key_[node.mapped().key] = next;
    queue_.insert(std::move(node));
  }
  return used;
}

size_t BroadcastQueue::Prune(size_t max_entries) {
  size_t dropped = 0;
  while (queue_.size() > max_entries) {
    Erase(std::prev(queue_.end()));
    ++dropped;
  }
  return dropped;
}

}  // namespace roster::core
