// What a Node's readers see. The member table and the counters live on the
// loop thread; a reader on any other thread must never wait for that
// thread, which may be busy. So the loop thread publishes a Snapshot at
// the end of every turn that changed something, and Members(), Lookup(),
// Self(), NumAlive(), HealthScore() and counters() answer from the latest
// one, behind a mutex held only to copy a pointer.
//
// The cost stays flat for large tables. Copying every member is what costs
// (about 1 ms per thousand members, and a sort on top from the Swim), so
// the loop keeps its own sorted copy, one shared record per member, and a
// snapshot shares those records: an event replaces one record (the event
// carries the member as it now is), this member's is compared every turn,
// and publishing copies pointers only. The table is read whole from the
// Swim only when the count differs (a member reaped, or added without an
// event). What changes without an event (another member's incarnation) is
// caught by re-reading a few members each turn: the whole table every
// second, or every n/1000 seconds for n members beyond a thousand (at most
// about a thousand lookups a second). The small parts (this member,
// counters, health) are copied each time; a turn that changed nothing
// publishes nothing.
#ifndef ROSTER_NET_SNAPSHOT_H_
#define ROSTER_NET_SNAPSHOT_H_

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "roster/counters.h"
#include "roster/member.h"
#include "roster/swim.h"

namespace roster::net {

// Every member in every state, this one included, sorted by name.
using MemberList = std::vector<std::shared_ptr<const MemberInfo>>;

// One published view of a member; immutable once published.
struct Snapshot {
  std::shared_ptr<const MemberList> members;
  MemberInfo self;
  size_t num_alive = 0;  // alive or suspect, this member included
  int health = 0;
  LamportClocks clocks;  // of user events and queries
  // Without the callback counts and the Node's queues (see Node::counters).
  NodeCounters counters;

  // The member named `name`, in any state.
  std::optional<MemberInfo> Find(std::string_view name) const;
  // Copies of the members: every one, or those alive or suspect.
  std::vector<MemberInfo> All() const;
  std::vector<MemberInfo> Live() const;
};

class Snapshots {
 public:
  // The table is re-read whole within this, per thousand members (and at
  // least this often).
  static constexpr absl::Duration kSweepPerThousand = absl::Seconds(1);

  // Loop thread: `member` as it now is (as an event reports it), for the
  // next Publish.
  void Note(const MemberInfo& member);

  // Loop thread: publishes what `swim` and `net` hold now, if anything
  // changed since the last one. `now` is the loop's clock. Nothing after
  // Close().
  void Publish(const Swim& swim, const NetCounters& net, absl::Time now);

  // Any thread: the latest snapshot; nullptr before the first Publish and
  // after Close().
  std::shared_ptr<const Snapshot> Latest() const;

  // Any thread: drops the latest snapshot and publishes no more (the node
  // shut down). Idempotent.
  void Close();

 private:
  using Table =
      std::map<std::string, std::shared_ptr<const MemberInfo>, std::less<>>;
  // Loop thread only.
  void ReadWhole(const Swim& swim, absl::Time now);
  void Sweep(const Swim& swim, absl::Time now);

  // Loop thread only: the loop's copy of the table, whether it changed
  // since the last snapshot, where the sweep is, and the last snapshot.
  Table table_;
  bool changed_ = false;
  std::string swept_to_;
  absl::Time swept_at_ = absl::InfinitePast();
  std::shared_ptr<const Snapshot> last_;

  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> latest_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace roster::net

#endif  // ROSTER_NET_SNAPSHOT_H_
