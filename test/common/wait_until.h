// Waiting on a condition with a deadline, for the tests that run real
// sockets and processes (the simulator's tests never wait on the clock).
#ifndef ROSTER_TEST_COMMON_WAIT_UNTIL_H_
#define ROSTER_TEST_COMMON_WAIT_UNTIL_H_

#include <chrono>
#include <functional>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace roster {

// Polls `done` until it holds or `limit` passes; false on timeout.
inline bool WaitUntil(const std::function<bool()>& done, absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace roster

#endif  // ROSTER_TEST_COMMON_WAIT_UNTIL_H_
