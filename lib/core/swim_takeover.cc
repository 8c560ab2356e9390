// Taking over a name: a new life whose join finds its name held by a live
// member at another address checks that the holder is gone before it
// replaces it (a crash, then a restart elsewhere), and refuses the name if
// the holder answers (two processes given one name).
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/swim_impl.h"
#include "core/wire/encode.h"
#include "util/string_view.h"

namespace roster {

const core::MemberRecordView* Swim::Impl::HolderOfOurName(
    const core::PushPullView& remote) const {
  for (const core::MemberRecordView& r : remote.members()) {
    if (r.name() == cfg_.name && r.life() != 0 && r.life() != self_->life() &&
        !table_.Ended(*self_, r.life()) && r.addr() != self_->addr() &&
        (r.state() == wire::MEMBER_STATE_ALIVE ||
         r.state() == wire::MEMBER_STATE_SUSPECT))
      return &r;
  }
  return nullptr;
}

// Lifeguard's probe, aimed at the holder of our name: a process that
// crashed and restarted elsewhere should not wait out the detection of its
// own predecessor, and a live holder must keep its name.
void Swim::Impl::StartTakeover(std::string_view seed_addr,
                               const core::MemberRecordView& holder,
                               const core::PushPullView& remote) {
  std::vector<JoinUnit> units = TakeJoinUnits(seed_addr);
  for (auto& [seq, check] : takeovers_) {
    if (check.holder_life == holder.life()) {  // being checked already
      for (JoinUnit& unit : units) check.units.push_back(std::move(unit));
      return;
    }
  }
  Takeover check;
  check.seed_addr = std::string(seed_addr);
  check.holder_addr = std::string(holder.addr());
  check.holder_life = holder.life();
  check.units = std::move(units);
  for (const core::MemberRecordView& r : remote.members()) {
    if (check.relays.size() >= static_cast<size_t>(cfg_.indirect_checks)) break;
    if (r.state() == wire::MEMBER_STATE_ALIVE && r.name() != cfg_.name &&
        r.addr() != holder.addr() && networks_.Admits(r.addr()))
      check.relays.emplace_back(r.addr());
  }
  Log(LogLevel::kWarning,
      absl::StrCat("join: seed ", util::ToAbsl(seed_addr),
                   " shows this member's name held by another process (life ",
                   holder.life(), ") at ", util::ToAbsl(holder.addr()),
                   "; checking that it is gone before taking the name over"));
  const uint32_t seq = next_seq_++;
  Send(check.holder_addr, core::PingEntry(seq, cfg_.name, cfg_.name, {}),
       /*piggyback=*/false);
  takeovers_[seq] = std::move(check);
  rt_.After(cfg_.probe_timeout,
            core::MakeTimer(core::TimerKind::kTakeover, seq));
}

void Swim::Impl::OnTakeoverTimer(uint32_t seq) {
  auto it = takeovers_.find(seq);
  if (it == takeovers_.end()) return;
  Takeover& check = it->second;
  if (!check.indirect && !check.relays.empty()) {
    check.indirect = true;
    for (const std::string& relay : check.relays) {
      Send(relay,
           core::IndirectPingEntry(seq, cfg_.name, check.holder_addr, cfg_.name,
                                   cfg_.advertise_addr, false),
           /*piggyback=*/false);
    }
    // As long as an ordinary probe gives its relays.
    rt_.After(
        std::max(cfg_.probe_interval - cfg_.probe_timeout, cfg_.probe_timeout),
        core::MakeTimer(core::TimerKind::kTakeover, seq));
    return;
  }
  // Silent directly and through every relay: the holder is gone, and this
  // life replaces it. Naming it as our predecessor lets members that still
  // hold it alive take us over at once; the seed is asked again.
  Takeover taken = std::move(check);
  takeovers_.erase(it);
  ++counters_.takeovers;
  Log(LogLevel::kWarning,
      absl::StrCat("took over this member's name from the process at ",
                   taken.holder_addr, " (life ", taken.holder_life,
                   "), which answered neither directly nor through ",
                   taken.relays.size(), " relays"));
  NotePredecessor(taken.holder_life);
  JoinThrough(taken.seed_addr, std::move(taken.units));
}

bool Swim::Impl::OnTakeoverAck(uint32_t seq) {
  auto it = takeovers_.find(seq);
  if (it == takeovers_.end()) return false;
  Takeover check = std::move(it->second);
  takeovers_.erase(it);
  ++counters_.name_conflicts;
  const absl::Status conflict =
      absl::AlreadyExistsError(NameTaken(check.holder_addr, " (it answers)"));
  Log(LogLevel::kError, std::string(conflict.message()));
  for (const JoinUnit& unit : check.units) SettleJoinUnit(unit, conflict);
  return true;
}

}  // namespace roster
