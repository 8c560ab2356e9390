// The keys one cache instance holds, each with the version of its last
// write. A write replaces what is held only if its version is newer, so
// copies pushed in any order, any number of times, end up the same.
#ifndef ROSTER_CACHE_STORE_H_
#define ROSTER_CACHE_STORE_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace cache {

// Last writer wins: the later clock reading, then the writer's name.
struct Version {
  uint64_t clock = 0;
  std::string writer;
  friend bool operator<(const Version& a, const Version& b) {
    return std::tie(a.clock, a.writer) < std::tie(b.clock, b.writer);
  }
  friend bool operator==(const Version& a, const Version& b) {
    return a.clock == b.clock && a.writer == b.writer;
  }
};

struct Entry {
  std::string value;
  Version version;
};

// One owner that is known to hold a key's current version: a member's
// name and the life (process start) it was confirmed in. A restarted
// owner has a new life, and its memory is gone.
using Holder = std::pair<std::string, uint32_t>;

class Store {
 public:
  // Keeps `entry` unless a newer version of `key` is held; returns the
  // version held afterwards.
  Version Apply(const std::string& key, Entry entry);
  std::optional<Entry> Get(const std::string& key) const;
  // Every key with its version, for a replication pass.
  std::vector<std::pair<std::string, Version>> Versions() const;
  std::vector<std::string> Keys() const;
  size_t size() const;

  // What replication knows of a key's copies elsewhere (for its current
  // version only: a newer write forgets them).
  bool Confirmed(const std::string& key, const Version& version,
                 const Holder& holder) const;
  void Confirm(const std::string& key, const Version& version, Holder holder);
  // Forgets the holders of `key` that are not in `owners`: a member that
  // stopped owning a key may have dropped it, and must be sent it again
  // if it owns it once more.
  void KeepOnly(const std::string& key, const std::set<Holder>& owners);
  // Drops `key` if it is still at `version` (a newer write keeps it).
  void Drop(const std::string& key, const Version& version);

 private:
  struct Slot {
    Entry entry;
    std::set<Holder> holders;  // of entry.version
  };
  mutable std::mutex mu_;
  std::map<std::string, Slot> slots_;  // guarded by mu_
};

}  // namespace cache

#endif  // ROSTER_CACHE_STORE_H_
