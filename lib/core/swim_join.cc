// Joining: the seeds a member was given, the outcome of each Join, the
// name conflict a seed's answer can show, and retrying while alone.
//
// Every outcome is decided here, for the simulator and for real sockets
// alike; a runtime only resolves names (Runtime::ResolveSeed) and carries
// the exchanges.
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/swim_impl.h"
#include "util/string_view.h"

namespace roster {

Swim::Impl::Seed* Swim::Impl::RememberSeed(std::string_view name) {
  for (Seed& s : seeds_) {
    if (s.name == name) return &s;
  }
  if (seeds_.size() >= kMaxSeeds) {
    // Full: forget the oldest seed no Join is waiting to resolve, so that a
    // long-lived member given new seeds keeps trying them.
    auto oldest = std::find_if(
        seeds_.begin(), seeds_.end(),
        [&](const Seed& s) { return !join_resolves_.contains(s.name); });
    if (oldest == seeds_.end()) return nullptr;
    seeds_.erase(oldest);
  }
  seeds_.push_back(Seed{std::string(name), false, {}});
  return &seeds_.back();
}

void Swim::Impl::SetSeedAddrs(Seed& seed,
                              const std::vector<std::string>& addrs) {
  seed.addrs.clear();
  for (const std::string& a : addrs) {
    if (seed.addrs.size() >= kMaxSeedAddrs) break;
    if (a == cfg_.advertise_addr) continue;
    if (std::find(seed.addrs.begin(), seed.addrs.end(), a) != seed.addrs.end())
      continue;
    seed.addrs.push_back(a);
  }
}

void Swim::Impl::Join(const std::vector<std::string>& seeds, uint64_t token) {
  // A member that left comes back as a new life: peers hold the old one
  // as left for good.
  if (leaving_) Rebirth();
  const uint64_t id = next_join_++;
  // Built here and entered once every exchange has started: starting one
  // asks the application for its state (Delegate::LocalState), which may
  // call Join again. Nothing settles before: answers come later.
  JoinWait wait;
  wait.token = token;
  wait.pending = 1;  // this call, settled last
  std::vector<std::string> addrs;
  for (const std::string& name : seeds) {
    if (name == cfg_.advertise_addr) continue;  // this member itself
    Seed* seed = RememberSeed(name);
    if (seed == nullptr) {
      wait.failed.push_back(absl::StrCat(name, " (", kMaxSeeds,
                                         " seeds are being resolved already)"));
      continue;
    }
    if (rt_.ResolveSeed(seed->name)) {
      seed->resolved = true;
      ++wait.pending;
      join_resolves_[seed->name].push_back(JoinUnit{id, seed->name});
      continue;
    }
    SetSeedAddrs(*seed, {seed->name});
    for (const std::string& addr : seed->addrs) {
      ++wait.pending;
      addrs.push_back(addr);
    }
  }
  joins_[id] = std::move(wait);
  for (const std::string& addr : addrs) JoinThrough(addr, {JoinUnit{id, addr}});
  SettleJoinUnit(JoinUnit{id, {}}, absl::OkStatus());
}

void Swim::Impl::HandleSeedResolved(
    std::string_view name,
    const absl::StatusOr<std::vector<std::string>>& addrs) {
  Seed* seed = nullptr;
  for (Seed& s : seeds_) {
    if (s.name == name) seed = &s;
  }
  std::vector<JoinUnit> waiting;
  if (auto it = join_resolves_.find(util::ToAbsl(name));
      it != join_resolves_.end()) {
    waiting = std::move(it->second);
    join_resolves_.erase(it);
  }
  if (seed == nullptr) {  // forgotten meanwhile: nothing to join through
    for (const JoinUnit& unit : waiting)
      SettleJoinUnit(unit, absl::UnavailableError("the seed was forgotten"));
    return;
  }
  absl::Status failure;
  if (!addrs.ok()) {
    failure = addrs.status();
  } else {
    SetSeedAddrs(*seed, *addrs);
    if (addrs->empty()) failure = absl::UnavailableError("no addresses");
  }
  if (!failure.ok()) {
    for (const JoinUnit& unit : waiting) SettleJoinUnit(unit, failure);
    return;
  }
  // Copied: starting an exchange may call back into the application, and
  // through it into Join, which may move the seeds.
  const std::string seed_name = seed->name;
  const std::vector<std::string> found = seed->addrs;
  if (found.empty()) {
    // Only this member's own address: nothing to join, nothing failed
    // (the first member of a cluster named by DNS).
    for (const JoinUnit& unit : waiting)
      SettleJoinUnit(JoinUnit{unit.join, {}}, absl::OkStatus());
    return;
  }
  if (waiting.empty()) {
    // A retry looked the name up again: knock on one of the doors it found.
    if (leaving_) return;
    std::vector<const std::string*> addrs;
    for (const std::string& a : found) addrs.push_back(&a);
    if (const std::string* addr = PickSeedAddr(addrs); addr != nullptr)
      StartSync(*addr, table_.NumAlive() <= 1);
    return;
  }
  // Each Join waiting on the name now waits on every address instead.
  for (const JoinUnit& unit : waiting) {
    if (auto it = joins_.find(unit.join); it != joins_.end())
      it->second.pending += found.size() - 1;
  }
  for (const std::string& addr : found) {
    std::vector<JoinUnit> units;
    for (const JoinUnit& unit : waiting) {
      units.push_back(
          JoinUnit{unit.join, addr == seed_name
                                  ? seed_name
                                  : absl::StrCat(seed_name, " at ", addr)});
    }
    JoinThrough(addr, std::move(units));
  }
}

void Swim::Impl::JoinThrough(const std::string& addr,
                             std::vector<JoinUnit> units) {
  Log(LogLevel::kInfo, absl::StrCat("join: trying seed ",
                                    units.empty() ? addr : units[0].label));
  std::vector<JoinUnit>& waiting = join_syncs_[addr];
  for (JoinUnit& unit : units) waiting.push_back(std::move(unit));
  StartSync(addr, true);
}

void Swim::Impl::SettleJoinUnit(const JoinUnit& unit,
                                const absl::Status& outcome) {
  auto it = joins_.find(unit.join);
  if (it == joins_.end()) return;
  JoinWait& wait = it->second;
  if (!unit.label.empty()) {
    if (outcome.ok()) {
      ++wait.successes;
      Log(LogLevel::kInfo,
          absl::StrCat("join: seed ", unit.label, " answered"));
    } else {
      if (absl::IsAlreadyExists(outcome))
        wait.conflict = std::string(outcome.message());
      wait.failed.push_back(
          absl::StrCat(unit.label, " (", outcome.message(), ")"));
      Log(absl::IsAlreadyExists(outcome) ? LogLevel::kError
                                         : LogLevel::kWarning,
          absl::StrCat("join: seed ", unit.label,
                       " failed: ", outcome.message(),
                       wait.reported ? " (after the join succeeded)" : ""));
    }
  }
  --wait.pending;
  if (wait.reported) {
    if (wait.pending == 0) joins_.erase(it);
    return;
  }
  // One answer is a join: a hung seed must not hold it (the rest go on,
  // and a conflict one of them shows is still handled when it comes).
  const bool early = wait.successes > 0 && !cfg_.join_waits_for_all_seeds;
  if (wait.pending > 0 && !early) return;
  JoinResult result;
  result.token = wait.token;
  result.failed = wait.failed;
  if (wait.successes > 0 || result.failed.empty()) {
    // Joined, or every seed was this member: it starts the cluster.
    result.status = absl::OkStatus();
  } else if (!wait.conflict.empty()) {
    result.status = absl::AlreadyExistsError(wait.conflict);
  } else {
    result.status = absl::UnavailableError(absl::StrCat(
        "could not join through any seed: ", absl::StrJoin(result.failed, "; "),
        cfg_.reconnect_interval > absl::ZeroDuration()
            ? absl::StrCat("; still retrying every ",
                           absl::FormatDuration(cfg_.reconnect_interval))
            : std::string()));
  }
  // Settled before the application hears: OnJoinDone may call Join, which
  // moves joins_.
  if (wait.pending > 0) {
    wait.reported = true;
  } else {
    joins_.erase(it);
  }
  app_->OnJoinDone(result);
}

std::vector<Swim::Impl::JoinUnit> Swim::Impl::TakeJoinUnits(
    std::string_view addr) {
  auto it = join_syncs_.find(util::ToAbsl(addr));
  if (it == join_syncs_.end()) return {};
  std::vector<JoinUnit> units = std::move(it->second);
  join_syncs_.erase(it);
  return units;
}

void Swim::Impl::SettleJoinSync(std::string_view addr,
                                const absl::Status& outcome) {
  // Several exchanges with one address may be in flight (a retry, a
  // periodic push-pull, another Join): a failure settles the Joins waiting
  // on it only once the last has failed; any success settles them.
  const bool others_in_flight = SyncEnded(addr);
  if (!outcome.ok() && others_in_flight) return;
  for (const JoinUnit& unit : TakeJoinUnits(addr))
    SettleJoinUnit(unit, outcome);
}

std::string Swim::Impl::NameTaken(std::string_view holder_addr,
                                  std::string_view how) const {
  return absl::StrCat("the name '", cfg_.name,
                      "' is taken by a live member at ",
                      util::ToAbsl(holder_addr), util::ToAbsl(how),
                      "; choose another name, or wait until that member has "
                      "failed or left");
}

std::string Swim::Impl::NameConflict(const core::PushPullView& remote) const {
  // A holder that says its life is checked first (HolderOfOurName); one
  // that does not cannot be told from a conflict.
  for (const core::MemberRecordView& r : remote.members()) {
    if (r.name() == cfg_.name && r.addr() != self_->addr() &&
        (r.life() == 0 || r.life() == self_->life()) &&
        (r.state() == wire::MEMBER_STATE_ALIVE ||
         r.state() == wire::MEMBER_STATE_SUSPECT)) {
      return NameTaken(r.addr(), "");
    }
  }
  return {};
}

const std::string* Swim::Impl::PickSeedAddr(
    const std::vector<const std::string*>& addrs) {
  // Alone, any seed will do. Otherwise a seed we know as a live member
  // already shares our view: only the others can lead to another group.
  const bool alone = table_.NumAlive() <= 1;
  std::vector<const std::string*> unknown;
  for (const std::string* a : addrs) {
    // One exchange at a time with a seed: a hung one is not piled up on,
    // and a Join waiting on its outcome is not put off by a retry.
    if (syncs_in_flight_.contains(util::ToAbsl(*a))) continue;
    const Member* m = table_.FindByAddr(*a);
    if (alone || m == nullptr || m->state() == MemberState::kDead ||
        m->state() == MemberState::kLeft)
      unknown.push_back(a);
  }
  if (unknown.empty()) return nullptr;
  return unknown[core::RandomBelow(random_, unknown.size())];
}

void Swim::Impl::RetrySeeds() {
  // Names may point elsewhere by now (a headless service, an autoscaling
  // group): look them up again; HandleSeedResolved knocks on what it finds.
  std::vector<const std::string*> addrs;
  for (Seed& seed : seeds_) {
    if (seed.resolved) rt_.ResolveSeed(seed.name);
    for (const std::string& a : seed.addrs) addrs.push_back(&a);
  }
  if (const std::string* addr = PickSeedAddr(addrs); addr != nullptr)
    StartSync(*addr, table_.NumAlive() <= 1);
}

}  // namespace roster
