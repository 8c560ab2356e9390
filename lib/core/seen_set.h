// A bounded set of keys seen lately: the oldest are forgotten first once
// it holds `capacity`. For telling news from a copy that gossip brought
// again, where an unbounded set would grow with every message ever sent.
#ifndef ROSTER_CORE_SEEN_SET_H_
#define ROSTER_CORE_SEEN_SET_H_

#include <cstddef>
#include <deque>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"

namespace roster::core {

class SeenSet {
 public:
  explicit SeenSet(size_t capacity) : capacity_(capacity) {}

  // Records `key`; false if it was already there.
  bool Insert(std::string key) {
    if (!keys_.insert(key).second) return false;
    order_.push_back(std::move(key));
    while (order_.size() > capacity_) {
      keys_.erase(order_.front());
      order_.pop_front();
    }
    return true;
  }

 private:
  size_t capacity_;
  absl::flat_hash_set<std::string> keys_;
  std::deque<std::string> order_;
};

}  // namespace roster::core

#endif  // ROSTER_CORE_SEEN_SET_H_
