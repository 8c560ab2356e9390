// The user events a member has seen lately: what tells a new event from a
// copy gossip brought again, and what a joiner that asks to replay them
// is sent.
//
// As Serf's event buffer, it keeps events by Lamport time over a window
// of the latest `window` times on the event clock; an event older than
// that cannot be told from a copy and is refused as too old. Each time
// holds a few events (different origins or names that stamped the same
// time); past that, the rest are refused rather than grow the buffer.
#ifndef ROSTER_CORE_USER_EVENT_LOG_H_
#define ROSTER_CORE_USER_EVENT_LOG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace roster::core {

class UserEventLog {
 public:
  static constexpr size_t kWindow = 512;
  static constexpr size_t kEventsPerTime = 16;

  enum class Verdict { kNew, kSeen, kTooOld, kFull };

  // Records the event stamped `ltime` and told apart by `key` (its
  // origin, life and name), with `entry` (its encoded Packet entry, for
  // replay), judged against the member's event clock `clock`.
  Verdict Record(uint64_t clock, uint64_t ltime, std::string key,
                 std::string entry);

  // The entries of the recorded events, oldest first, as many of the
  // newest as fit in `max_bytes`.
  std::string Recent(size_t max_bytes) const;

 private:
  struct Seen {
    std::string key;
    std::string entry;
  };
  struct Slot {
    uint64_t ltime = 0;
    std::vector<Seen> events;
  };
  std::vector<Slot> slots_ = std::vector<Slot>(kWindow);
};

}  // namespace roster::core

#endif  // ROSTER_CORE_USER_EVENT_LOG_H_
