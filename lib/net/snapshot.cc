// Snapshots (snapshot.h): keeping the loop's copy of the table, and
// deciding when to publish.
#include "net/snapshot.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace roster::net {
namespace {

bool IsLive(const MemberInfo& m) {
  return m.state == MemberState::kAlive || m.state == MemberState::kSuspect;
}

}  // namespace

std::optional<MemberInfo> Snapshot::Find(std::string_view name) const {
  auto it = std::lower_bound(members->begin(), members->end(), name,
                             [](const std::shared_ptr<const MemberInfo>& m,
                                std::string_view n) { return m->name < n; });
  if (it == members->end() || (*it)->name != name) return std::nullopt;
  return **it;
}

std::vector<MemberInfo> Snapshot::All() const {
  std::vector<MemberInfo> all;
  all.reserve(members->size());
  for (const auto& m : *members) all.push_back(*m);
  return all;
}

std::vector<MemberInfo> Snapshot::Live() const {
  std::vector<MemberInfo> live;
  live.reserve(num_alive);
  for (const auto& m : *members) {
    if (IsLive(*m)) live.push_back(*m);
  }
  return live;
}

void Snapshots::Note(const MemberInfo& member) {
  table_[member.name] = std::make_shared<const MemberInfo>(member);
  changed_ = true;
}

void Snapshots::ReadWhole(const Swim& swim, absl::Time now) {
  table_.clear();
  for (MemberInfo& m : swim.Members()) {  // sorted: each goes at the end
    std::string name = m.name;
    table_.emplace_hint(table_.end(), std::move(name),
                        std::make_shared<const MemberInfo>(std::move(m)));
  }
  changed_ = true;
  swept_at_ = now;
}

void Snapshots::Sweep(const Swim& swim, absl::Time now) {
  if (table_.empty()) return;
  const double thousands = static_cast<double>(table_.size()) / 1000;
  const absl::Duration period = kSweepPerThousand * std::max(1.0, thousands);
  const double due = static_cast<double>(table_.size()) *
                     absl::FDivDuration(now - swept_at_, period);
  const size_t count = static_cast<size_t>(
      std::min(static_cast<double>(table_.size()), std::floor(due)));
  if (count == 0) return;  // the time owed adds up until a whole one is due
  swept_at_ = now;
  auto it = table_.upper_bound(swept_to_);
  for (size_t i = 0; i < count && !table_.empty(); ++i) {
    if (it == table_.end()) it = table_.begin();
    swept_to_ = it->first;
    std::optional<MemberInfo> fresh = swim.Lookup(it->first);
    if (!fresh) {  // reaped
      it = table_.erase(it);
      changed_ = true;
      continue;
    }
    if (*fresh != *it->second) {
      it->second = std::make_shared<const MemberInfo>(*std::move(fresh));
      changed_ = true;
    }
    ++it;
  }
}

void Snapshots::Publish(const Swim& swim, const NetCounters& net,
                        absl::Time now) {
  Snapshot next;
  next.self = swim.Self();
  next.num_alive = swim.NumAlive();
  next.health = swim.HealthScore();
  next.clocks = swim.Clocks();
  next.counters = NodeCounters{swim.counters(), net, swim.queue_depths()};
  const size_t total = next.num_alive + swim.Count(MemberState::kDead) +
                       swim.Count(MemberState::kLeft);
  if (last_ == nullptr || table_.size() != total) {
    ReadWhole(swim, now);
  } else {
    Sweep(swim, now);
    auto self = table_.find(next.self.name);
    if (self == table_.end() || *self->second != next.self) Note(next.self);
  }
  if (changed_) {
    auto members = std::make_shared<MemberList>();
    members->reserve(table_.size());
    for (const auto& [name, member] : table_) members->push_back(member);
    next.members = std::move(members);
    changed_ = false;
  } else {
    if (next.num_alive == last_->num_alive && next.health == last_->health &&
        next.clocks.event == last_->clocks.event &&
        next.clocks.query == last_->clocks.query &&
        next.counters.protocol == last_->counters.protocol &&
        next.counters.net == last_->counters.net &&
        next.counters.queues == last_->counters.queues)
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
