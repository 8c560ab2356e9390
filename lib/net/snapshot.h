// What a Node's readers see. The member table and the counters live on the
// loop thread; a reader on any other thread must never wait for that
// thread, which may be busy. So the loop thread publishes a Snapshot after
// every turn that changed something, and Members(), Lookup(), Self(),
// NumAlive(), HealthScore() and counters() answer from the latest one,
// behind a mutex held only to copy a pointer.
//
// The cost stays flat for large clusters: the member list (every member,
// sorted) is rebuilt only when membership may have changed (an event, a
// change of this member, a member added or removed) and at most once a
// second otherwise, to pick up what changes without an event (another
// member's incarnation); the small parts (this member, counters, health)
// are copied each time, and a turn that changed nothing publishes nothing.
#ifndef ROSTER_NET_SNAPSHOT_H_
#define ROSTER_NET_SNAPSHOT_H_

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "roster/counters.h"
#include "roster/member.h"
#include "roster/swim.h"

namespace roster::net {

// One published view of a member; immutable once published.
struct Snapshot {
  // Every member in every state, this one included, sorted by name.
  std::shared_ptr<const std::vector<MemberInfo>> members;
  MemberInfo self;
  size_t num_alive = 0;  // alive or suspect, this member included
  int health = 0;
  NodeCounters counters;  // without the callback counts (see Node::counters)

  // The member named `name`, in any state.
  std::optional<MemberInfo> Find(std::string_view name) const;
  // The members alive or suspect.
  std::vector<MemberInfo> Live() const;
};

class Snapshots {
 public:
  // How stale the member list may grow when nothing signals a change.
  static constexpr absl::Duration kMembersRefresh = absl::Seconds(1);

  // Loop thread: publishes what `swim` and `net` hold now, if anything
  // changed since the last one. `membership_changed` says an event was
  // raised since then: the member list is rebuilt. `now` is the loop's
  // clock. Nothing after Close().
  void Publish(const Swim& swim, const NetCounters& net,
               bool membership_changed, absl::Time now);

  // Any thread: the latest snapshot; nullptr before the first Publish and
  // after Close().
  std::shared_ptr<const Snapshot> Latest() const;

  // Any thread: drops the latest snapshot and publishes no more (the node
  // shut down). Idempotent.
  void Close();

 private:
  // Loop thread only: what the last snapshot was built from.
  std::shared_ptr<const Snapshot> last_;
  size_t last_total_ = 0;  // members in the table, every state
  absl::Time members_built_ = absl::InfinitePast();

  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> latest_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace roster::net

#endif  // ROSTER_NET_SNAPSHOT_H_
