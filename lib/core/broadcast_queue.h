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
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "util/string_view.h"

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
  size_t NextSize() const;
  bool Contains(std::string_view key) const {
    return by_key_.contains(util::ToAbsl(key));
  }
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }

 private:
  // Entries live in a slab; each transmit count has a level listing its
  // entries newest first (by a counter that only grows), kept in plain
  // vectors because Fill walks them far more often than anything moves. A
  // level holds each entry's newness and size beside its slot, so walking
  // and searching a level never touches the slab.
  struct Item {
    std::string key;
    std::string entry;
    uint64_t newness = 0;  // larger is newer
    int transmits = 0;
  };
  struct Ref {
    uint64_t newness;
    uint32_t slot;
    uint32_t size;
  };
  using Level = std::vector<Ref>;

  uint32_t NewSlot();
  Ref RefOf(uint32_t slot) const;
  void Insert(uint32_t slot);  // into the level of its transmit count
  void RemoveFromLevel(uint32_t slot);
  void Free(uint32_t slot);
  // Moves the entries Fill picked up a level, or frees them at the
  // transmit limit.
  void Promote(int transmit_limit);
  // Gives back most of a level's memory once it holds far less than it
  // did (news of a thousand joins passes through every level once).
  static void Trim(Level& level);

  std::vector<Item> items_;
  std::vector<uint32_t> free_;
  std::vector<Level> levels_;
  // Fill's picks, kept to avoid reallocating: picked_[runs_[i - 1].end,
  // runs_[i].end) came from level runs_[i].level, newest first.
  struct Run {
    int level;
    size_t end;
  };
  std::vector<Ref> picked_;
  std::vector<Run> runs_;
  absl::flat_hash_map<std::string, uint32_t> by_key_;
  uint64_t next_newness_ = 0;
  size_t count_ = 0;
};

}  // namespace roster::core

#endif  // ROSTER_CORE_BROADCAST_QUEUE_H_
