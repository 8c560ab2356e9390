// Snapshots (snapshot.h): deciding when to publish, and what to rebuild.
#include "net/snapshot.h"

#include <algorithm>
#include <utility>

namespace roster::net {
namespace {

// Whether two views of this member differ in anything Members() shows.
bool SameMember(const MemberInfo& a, const MemberInfo& b) {
  return a.name == b.name && a.addr == b.addr && a.state == b.state &&
         a.incarnation == b.incarnation && a.meta == b.meta &&
         a.state_changed == b.state_changed && a.life == b.life &&
         a.reachability == b.reachability && a.last_change == b.last_change &&
         a.protocol_min == b.protocol_min && a.protocol_max == b.protocol_max;
}

bool ByName(const MemberInfo& m, std::string_view name) {
  return m.name < name;
}

}  // namespace

std::optional<MemberInfo> Snapshot::Find(std::string_view name) const {
  auto it = std::lower_bound(members->begin(), members->end(), name, ByName);
  if (it == members->end() || it->name != name) return std::nullopt;
  return *it;
}

std::vector<MemberInfo> Snapshot::Live() const {
  std::vector<MemberInfo> live;
  live.reserve(num_alive);
  for (const MemberInfo& m : *members) {
    if (m.state == MemberState::kAlive || m.state == MemberState::kSuspect)
      live.push_back(m);
  }
  return live;
}

void Snapshots::Publish(const Swim& swim, const NetCounters& net,
                        bool membership_changed, absl::Time now) {
  Snapshot next;
  next.self = swim.Self();
  next.num_alive = swim.NumAlive();
  next.health = swim.HealthScore();
  next.counters = NodeCounters{swim.counters(), net};
  const size_t total = next.num_alive + swim.Count(MemberState::kDead) +
                       swim.Count(MemberState::kLeft);
  const bool rebuild = last_ == nullptr || membership_changed ||
                       total != last_total_ ||
                       !SameMember(next.self, last_->self) ||
                       now - members_built_ >= kMembersRefresh;
  if (rebuild) {
    next.members =
        std::make_shared<const std::vector<MemberInfo>>(swim.Members());
    last_total_ = total;
    members_built_ = now;
  } else {
    if (next.num_alive == last_->num_alive && next.health == last_->health &&
        next.counters.protocol == last_->counters.protocol &&
        next.counters.net == last_->counters.net)
      return;  // nothing a reader could tell apart
    next.members = last_->members;
  }
  auto published = std::make_shared<const Snapshot>(std::move(next));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    latest_ = published;
  }
  last_ = std::move(published);
}

std::shared_ptr<const Snapshot> Snapshots::Latest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latest_;
}

void Snapshots::Close() {
  std::shared_ptr<const Snapshot> dropped;
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  dropped.swap(latest_);
}

}  // namespace roster::net
