// A transmit-limited queue of news waiting to ride on outgoing datagrams.
//
// Each entry is sent at most `transmit_limit` times, fewest-sent first (the
// newest first among equals), so fresh news spreads before old news is
// repeated. Keyed entries (news about one member) replace any older entry
// with the same key. Entries are pre-encoded packet entries (see wire.h), so
// filling a datagram is concatenation.
#ifndef ROSTER_CORE_BROADCAST_QUEUE_H_
#define ROSTER_CORE_BROADCAST_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "core/string_view.h"

namespace roster::core {

class BroadcastQueue {
 public:
  // RetransmitMult * ceil(log10(n + 1)), at least 1.
  static int TransmitLimit(int retransmit_mult, size_t cluster_size);

  // An empty key never replaces nor is replaced.
  void Push(std::string_view key, std::string entry);

  // Appends to `out` as many entries as fit in `budget` bytes, fewest-sent
  // first; each one appended counts as one transmission and is dropped
  // once it reaches `transmit_limit`. Returns the bytes appended. The scan
  // ends early, after 16 consecutive entries too big for the space left,
  // so that filling a datagram never walks a long queue.
  size_t Fill(size_t budget, int transmit_limit, std::string* out);

  // Drops the most-transmitted entries until at most `max_entries` remain;
  // returns how many were dropped.
  size_t Prune(size_t max_entries);

  // The size of the entry Fill() would try first; 0 when empty.
  size_t NextSize() const {
    return queue_.empty() ? 0 : queue_.begin()->second.entry.size();
  }
  bool Contains(std::string_view key) const {
    return by_key_.contains(ToAbsl(key));
  }
  size_t size() const { return queue_.size(); }
  bool empty() const { return queue_.empty(); }

 private:
  struct Order {
    int transmits;
    uint64_t newness;  // larger is older; ids count down
    bool operator<(const Order& o) const {
      if (transmits != o.transmits) return transmits < o.transmits;
      return newness < o.newness;
    }
  };
  struct Item {
    std::string key;
    std::string entry;
  };

  void Erase(std::map<Order, Item>::iterator it);

  std::map<Order, Item> queue_;
  absl::flat_hash_map<std::string, Order> by_key_;
  uint64_t next_newness_ = UINT64_MAX;
};

}  // namespace roster::core

#endif  // ROSTER_CORE_BROADCAST_QUEUE_H_
