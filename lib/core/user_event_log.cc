#include "core/user_event_log.h"

#include <algorithm>
#include <utility>

namespace roster::core {

UserEventLog::Verdict UserEventLog::Record(uint64_t clock, uint64_t ltime,
                                           std::string key, std::string entry) {
  if (clock > kWindow && ltime < clock - kWindow) return Verdict::kTooOld;
  Slot& slot = slots_[ltime % kWindow];
  if (slot.ltime > ltime && !slot.events.empty()) return Verdict::kTooOld;
  if (slot.ltime != ltime) {
    slot.ltime = ltime;
    slot.events.clear();
  }
  for (const Seen& seen : slot.events)
    if (seen.key == key) return Verdict::kSeen;
  if (slot.events.size() >= kEventsPerTime) return Verdict::kFull;
  slot.events.push_back(Seen{std::move(key), std::move(entry)});
  return Verdict::kNew;
}

std::string UserEventLog::Recent(size_t max_bytes) const {
  std::vector<const Slot*> by_time;
  for (const Slot& slot : slots_)
    if (!slot.events.empty()) by_time.push_back(&slot);
  std::sort(by_time.begin(), by_time.end(),
            [](const Slot* a, const Slot* b) { return a->ltime > b->ltime; });
  // Newest first until the budget runs out, then written oldest first.
  // The first that does not fit ends it: taking a smaller, older one
  // after it would replay an old event while a newer one is left out.
  std::vector<const std::string*> taken;
  size_t bytes = 0;
  bool full = false;
  for (const Slot* slot : by_time) {
    for (const Seen& seen : slot->events) {
      if (bytes + seen.entry.size() > max_bytes) {
        full = true;
        break;
      }
      bytes += seen.entry.size();
      taken.push_back(&seen.entry);
    }
    if (full) break;
  }
  std::string out;
  out.reserve(bytes);
  for (auto it = taken.rbegin(); it != taken.rend(); ++it) out += **it;
  return out;
}

}  // namespace roster::core
