// The application's callbacks, off the loop thread. A Node's loop answers
// probes; an application's handler may take as long as it likes. Between
// them sits a Delivery: a bounded queue of calls and one thread that runs
// them in the order they were queued. A call past the bound is dropped and
// counted, never waited for, so nothing the application does can delay
// the protocol.
#ifndef ROSTER_NET_DELIVERY_H_
#define ROSTER_NET_DELIVERY_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"

namespace roster::net {

class Delivery {
 public:
  // At most `max_pending` calls wait; the thread starts with the first.
  explicit Delivery(size_t max_pending);
  // Cancel(), and lets the thread go without waiting for it: a call still
  // under way (one a Cancel() left running) finishes on its own, holding
  // what it captured. The destructor may run on a thread that must never
  // wait on the application, such as a caller's loop thread; whoever needs
  // the call under way to have returned calls Stop() first.
  ~Delivery();
  Delivery(const Delivery&) = delete;
  Delivery& operator=(const Delivery&) = delete;

  // Queues `fn` to run on the delivery thread after every call queued
  // before it. False, and counted in dropped(), when max_pending calls
  // already wait or after Stop().
  bool Post(std::function<void()> fn);

  // Discards the calls still waiting and ends the thread: from another
  // thread, returns once the call under way (if any) has returned; from
  // the delivery thread itself (a callback that shuts its node down),
  // returns at once and the thread ends when that callback returns.
  // Idempotent.
  void Stop();
  // Discards the calls still waiting and refuses new ones, as Stop() does,
  // but returns at once: the call under way, if any, goes on, and Stop()
  // (or the destructor) ends the thread. For a thread that must not wait
  // on the application (a loop thread whose turn a blocked call awaits).
  void Cancel();

  bool OnDeliveryThread() const;
  uint64_t dropped() const;
  uint64_t delivered() const;
  size_t pending() const;

 private:
  // Shared with the thread, which may outlive the Delivery when Stop() ran
  // on it.
  struct State {
    mutable std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> calls ABSL_GUARDED_BY(mu);
    bool stopped ABSL_GUARDED_BY(mu) = false;
    bool started ABSL_GUARDED_BY(mu) = false;  // the thread, by Post
    uint64_t dropped ABSL_GUARDED_BY(mu) = 0;
    uint64_t delivered ABSL_GUARDED_BY(mu) = 0;
    std::thread::id thread_id ABSL_GUARDED_BY(mu);
  };
  static void Run(std::shared_ptr<State> state);

  const size_t max_pending_;
  std::shared_ptr<State> state_;
  std::mutex thread_mu_;
  std::thread thread_ ABSL_GUARDED_BY(thread_mu_);
};

}  // namespace roster::net

#endif  // ROSTER_NET_DELIVERY_H_
