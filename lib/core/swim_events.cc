// User events (Serf's): sent stamped by the event clock, recorded in the
// log of recent events, delivered once (or coalesced), gossiped on to the
// members that speak version 2, and caught up on through push-pull.
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/swim_impl.h"
#include "core/wire/checks.h"
#include "core/wire/encode.h"
#include "util/string_view.h"

namespace roster {

namespace {

std::string EventKey(std::string_view origin, uint32_t life,
                     std::string_view name) {
  return absl::StrCat(util::ToAbsl(origin), "/", life, "/", util::ToAbsl(name));
}

}  // namespace

absl::Status Swim::Impl::UserEvent(std::string_view name, std::string payload,
                                   bool coalesce) {
  if (!started_ || leaving_)
    return absl::FailedPreconditionError(
        "a user event needs a started member that has not left");
  core::WireError error;
  if (!core::CheckMemberName(name, "user event name", cfg_.limits, &error))
    return absl::InvalidArgumentError(error.message);
  if (name.size() + payload.size() > cfg_.limits.max_user_event_bytes)
    return absl::InvalidArgumentError(absl::StrCat(
        "a user event's name and payload are ", name.size() + payload.size(),
        " bytes, over limits.max_user_event_bytes of ",
        cfg_.limits.max_user_event_bytes));
  const uint64_t ltime = event_clock_.Increment();
  std::string entry = core::UserEventEntry(name, payload, cfg_.name,
                                           self_->life(), ltime, coalesce);
  if (entry.size() + FrameOverhead() > cfg_.packet_budget)
    return absl::InvalidArgumentError(absl::StrCat(
        "a user event of ", entry.size(),
        " bytes does not fit in the packet budget of ", cfg_.packet_budget));
  ++counters_.user_events_sent;
  AcceptUserEvent(roster::UserEvent{std::string(name), std::move(payload),
                                    cfg_.name, ltime, coalesce},
                  self_->life(), std::move(entry), /*gossip=*/true);
  return absl::OkStatus();
}

void Swim::Impl::OnUserEvent(const core::UserEventView& view) {
  if (!event_clock_.Witness(view.ltime())) {
    Drop(DropReason::kMalformed);
    return;
  }
  if (view.ltime() < event_min_time_) {
    ++counters_.user_events_too_old;
    return;
  }
  std::string entry =
      core::UserEventEntry(view.name(), view.payload(), view.origin(),
                           view.life(), view.ltime(), view.coalesce());
  // Passed on only if it fits our own datagrams.
  const bool fits = entry.size() + FrameOverhead() <= cfg_.packet_budget;
  if (AcceptUserEvent(roster::UserEvent{std::string(view.name()),
                                        std::string(view.payload()),
                                        std::string(view.origin()),
                                        view.ltime(), view.coalesce()},
                      view.life(), std::move(entry), fits) &&
      !fits)
    Drop(DropReason::kTooLarge);
}

bool Swim::Impl::AcceptUserEvent(const roster::UserEvent& event, uint32_t life,
                                 std::string entry, bool gossip) {
  switch (event_log_.Record(event_clock_.time(), event.ltime,
                            EventKey(event.origin, life, event.name), entry)) {
    case core::UserEventLog::Verdict::kNew:
      break;
    case core::UserEventLog::Verdict::kSeen:
      return false;
    case core::UserEventLog::Verdict::kTooOld:
      ++counters_.user_events_too_old;
      return false;
    case core::UserEventLog::Verdict::kFull:
      Drop(DropReason::kQueueFull);
      return false;
  }
  if (gossip) QueueEvents(std::move(entry));
  if (!event.coalesce) {
    ++counters_.user_events_delivered;
    app_->OnUserEvent(event);
    return true;
  }
  if (coalescing_.empty()) {
    rt_.After(cfg_.user_event_coalesce_window,
              core::MakeTimer(core::TimerKind::kCoalesce, epoch_));
  }
  auto [it, inserted] = coalescing_.try_emplace(event.name, event);
  if (!inserted) {
    ++counters_.user_events_coalesced;
    if (event.ltime > it->second.ltime) it->second = event;
  }
  return true;
}

void Swim::Impl::OnCoalesceTimer() {
  // By name, so that the order replays from the seed.
  std::map<std::string, roster::UserEvent> due;
  due.swap(coalescing_);
  for (const auto& [name, event] : due) {
    ++counters_.user_events_delivered;
    app_->OnUserEvent(event);
  }
}

void Swim::Impl::QueueEvents(std::string entry) {
  serf_.Push({}, std::move(entry));
  size_t dropped = serf_.Prune(cfg_.limits.max_queued_user_broadcasts);
  for (size_t i = 0; i < dropped; ++i) Drop(DropReason::kQueueFull);
}

bool Swim::Impl::SpeaksEvents(std::string_view addr) {
  const Member* m = table_.FindByAddr(addr);
  return m != nullptr && BothSpeak(*m, core::kEventsVersion);
}

void Swim::Impl::RestoreClocks(const LamportClocks& clocks) {
  if (clocks.event > 0) event_clock_.Witness(clocks.event - 1);
  if (clocks.query > 0) query_clock_.Witness(clocks.query - 1);
}

void Swim::Impl::MergeEvents(const core::PushPullView& remote,
                             bool answer_to_our_join) {
  if (!event_clock_.Witness(remote.event_clock()) ||
      !query_clock_.Witness(remote.query_clock())) {
    Drop(DropReason::kMalformed);
    return;
  }
  if (answer_to_our_join && !cfg_.join_replays_user_events) {
    // Serf's rule: what was sent before we joined is history, not news.
    event_min_time_ = std::max(event_min_time_, remote.event_clock());
    return;
  }
  if (remote.recent_events().empty()) return;
  core::PacketReader reader;
  core::WireError error;
  if (!reader.Read(remote.recent_events(), cfg_.limits, &error,
                   core::KnownKinds(cfg_.protocol_max))) {
    Drop(error.reason);
    return;
  }
  for (const core::MessageView& msg : reader.messages()) {
    if (msg.body_case() == wire::Message::kUserEvent) {
      OnUserEvent(msg.user_event());
    } else {
      Drop(DropReason::kMalformed);
    }
  }
}

}  // namespace roster
