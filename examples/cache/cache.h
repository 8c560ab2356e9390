// A replicated key-value cache over roster: instances find each other
// through roster's membership, place each key on `replicas` owners by
// rendezvous hashing over the live members, and copy keys to new owners
// whenever a member fails, joins or restarts (a restarted process has lost
// what it held). Reads go to the nearest owner by round-trip time.
#ifndef ROSTER_CACHE_CACHE_H_
#define ROSTER_CACHE_CACHE_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "roster/node.h"
#include "store.h"

namespace cache {

struct Options {
  std::string name;
  std::string bind = "127.0.0.1:7946";
  roster::Profile profile = roster::Profile::kLan;
  std::vector<std::string> seeds;
  size_t replicas = 2;
  // Each request to another instance (a write, a read, a copy).
  absl::Duration request_timeout = absl::Milliseconds(500);
  // A replication pass runs at least this often, and at once on news.
  absl::Duration pass_interval = absl::Seconds(1);
};

class Cache {
 public:
  // Starts the member and joins `seeds` (an instance without seeds starts
  // a cluster). Errors are roster::Node::Start's and Join's.
  static absl::StatusOr<std::unique_ptr<Cache>> Start(Options options);
  // Stops replication and the member (without a leave).
  ~Cache();

  // Writes to every owner; the number written, or Unavailable when none
  // could be.
  absl::StatusOr<int> Put(std::string_view key, std::string_view value);
  // From the nearest owner that has it (then any copy held here);
  // NotFound when none has it.
  absl::StatusOr<std::string> Get(std::string_view key);
  // Leaves the cluster gracefully (the others copy this one's keys away).
  absl::Status Leave();

  std::vector<std::string> LocalKeys() const { return store_.Keys(); }
  std::vector<roster::MemberInfo> LiveMembers() const;
  const std::string& addr() const { return node_->addr(); }
  const std::string& name() const { return node_->name(); }
  uint64_t passes() const;

 private:
  explicit Cache(Options options) : options_(std::move(options)) {}
  std::string OnRequest(std::string_view from, std::string_view payload);
  void Wake();
  void ReplicationLoop();
  void ReplicateOnce();
  Version NextVersion();
  // Sends `entry` of `key` to `owner`; the version it holds afterwards.
  absl::StatusOr<Version> Push(const std::string& owner, const std::string& key,
                               const Entry& entry, bool sender_holds);

  const Options options_;
  Store store_;
  std::unique_ptr<roster::Node> node_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool news_ = false;        // guarded by mu_
  bool stopping_ = false;    // guarded by mu_
  uint64_t last_clock_ = 0;  // guarded by mu_
  uint64_t passes_ = 0;      // guarded by mu_
  std::thread replicator_;
};

}  // namespace cache

#endif  // ROSTER_CACHE_CACHE_H_
