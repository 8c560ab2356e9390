// A Lamport clock, as Serf keeps one for user events and one for queries:
// a member stamps what it sends with the next time, and moves past every
// time it sees, so that what follows a seen event is stamped after it.
#ifndef ROSTER_CORE_LAMPORT_CLOCK_H_
#define ROSTER_CORE_LAMPORT_CLOCK_H_

#include <cstdint>

namespace roster::core {

class LamportClock {
 public:
  // A time from the network past this is refused (kMalformed) rather than
  // witnessed: one hostile or corrupt stamp near 2^64 would otherwise
  // leave the clock nowhere to go.
  static constexpr uint64_t kMaxTime = uint64_t{1} << 62;

  uint64_t time() const { return time_; }
  // Stamps with the current time and moves past it, as Serf's clock does:
  // time() is then after everything this member stamped, as it is after
  // everything it witnessed, which a joiner relies on when it takes a
  // seed's time as the line between events sent before it joined and
  // after.
  uint64_t Increment() { return time_++; }
  // False, and no change, for a time past kMaxTime.
  bool Witness(uint64_t seen) {
    if (seen > kMaxTime) return false;
    if (seen >= time_) time_ = seen + 1;
    return true;
  }

 private:
  uint64_t time_ = 0;
};

}  // namespace roster::core

#endif  // ROSTER_CORE_LAMPORT_CLOCK_H_
