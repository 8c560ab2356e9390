// A Node is called from any thread, but what it owns lives on one libuv
// loop and may be touched from that loop's thread only. This is where the
// two meet: the loop (its own, run on a thread started and joined here, or
// a caller's, which the caller runs), a queue of tasks for the loop thread
// with an async handle to wake it, answers waited for across threads, and
// the shutdown that drains the queue, closes every handle and ends the
// thread.
#ifndef ROSTER_NET_LOOP_THREAD_H_
#define ROSTER_NET_LOOP_THREAD_H_

#include <uv.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "net/close_group.h"

namespace roster::net {

// A status one thread waits for and another sets; the first one set is
// the answer.
class Waiter {
 public:
  void Set(absl::Status status);
  absl::Status Wait();
  // nullopt when `timeout` passed first.
  std::optional<absl::Status> WaitFor(absl::Duration timeout);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<absl::Status> status_ ABSL_GUARDED_BY(mu_);
};

class LoopThread {
 public:
  // Closes the owner's handles as the loop shuts down, on the loop thread
  // once every task has run; `closed` is to run when they all have.
  using CloseHandles = std::function<void(std::function<void()> closed)>;

  LoopThread() = default;
  // Joins the thread, if a Shutdown() on it left it running (on the thread
  // itself: lets it go).
  ~LoopThread();
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  // Takes `loop`, a caller's, or with nullptr creates one of its own. The
  // calling thread is the loop's from now on: with a caller's loop for
  // good, with its own until StartThread().
  absl::Status Open(uv_loop_t* loop, CloseHandles close_handles);
  uv_loop_t* loop() const { return loop_; }

  // Its own loop: runs it on a new thread, the loop's from then on.
  void StartThread();
  // Its own loop, shut down before StartThread(), on the thread that
  // opened it: runs the loop until every handle has closed.
  void RunUntilClosed();

  bool OnLoopThread() const {
    return std::this_thread::get_id() == loop_thread_.load();
  }
  // Runs `fn` on the loop thread; false if the loop has shut down.
  bool Post(std::function<void()> fn);
  // Runs `fn` on the loop thread and returns its result; nullopt if the
  // loop has shut down.
  template <typename F>
  auto Call(F fn) -> std::optional<decltype(fn())>;
  // On the loop thread: the close has begun. A task that still runs then
  // (queued behind one that shut down) must start nothing.
  bool closing() const { return closer_.closing(); }

  // Stops taking tasks and, on the loop thread, runs those queued, then
  // closes the owner's handles and its own. Idempotent, from any thread.
  // With its own loop, called from another thread, it returns once the
  // thread has ended. On a caller's loop the handles close after it
  // returns, perhaps after the owner's last reference is gone: `owner` is
  // held until they have.
  void Shutdown(std::shared_ptr<void> owner);

 private:
  void RunTasks();
  void BeginClose();

  uv_loop_t* loop_ = nullptr;
  std::unique_ptr<uv_loop_t> own_loop_;
  std::atomic<std::thread::id> loop_thread_;
  uv_async_t async_;
  CloseHandles close_handles_;
  // The async handle and the owner's handles; loop thread only.
  CloseGroup closer_;

  std::mutex join_mu_;
  std::thread thread_ ABSL_GUARDED_BY(join_mu_);

  std::mutex mu_;
  std::vector<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;
  std::shared_ptr<void> keep_alive_ ABSL_GUARDED_BY(mu_);
};

template <typename F>
auto LoopThread::Call(F fn) -> std::optional<decltype(fn())> {
  using R = decltype(fn());
  if (OnLoopThread()) {
    if (closing()) return std::nullopt;
    return fn();
  }
  std::mutex mu;
  std::condition_variable cv;
  std::optional<R> result;
  bool done = false;
  bool posted = Post([&] {
    std::optional<R> r;
    if (!closing()) r = fn();
    std::lock_guard<std::mutex> lock(mu);
    result = std::move(r);
    done = true;
    cv.notify_all();
  });
  if (!posted) return std::nullopt;
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  return result;
}

}  // namespace roster::net

#endif  // ROSTER_NET_LOOP_THREAD_H_
