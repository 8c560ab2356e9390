// The loop thread's queue, start and shutdown (see loop_thread.h). The
// order of a shutdown is what matters here: tasks queued before it still
// run, none after, and every handle closes before the owner may go.
#include "net/loop_thread.h"

#include "absl/strings/str_cat.h"

namespace roster::net {
namespace {

// A deep copy: absl::Status shares its message between copies through a
// reference count that lives in (uninstrumented) libabsl, so handing a
// copy to another thread confuses ThreadSanitizer.
absl::Status Detached(const absl::Status& s) {
  return absl::Status(s.code(), s.message());
}

}  // namespace

void Waiter::Set(absl::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (status_.has_value()) return;
  status_ = Detached(status);
  cv_.notify_all();
}

absl::Status Waiter::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return status_.has_value(); });
  return Detached(*status_);
}

std::optional<absl::Status> Waiter::WaitFor(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                    [&] { return status_.has_value(); }))
    return std::nullopt;
  return Detached(*status_);
}

LoopThread::~LoopThread() {
  if (thread_.joinable()) {
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();
    } else {
      thread_.join();
    }
  }
}

absl::Status LoopThread::Open(uv_loop_t* loop, CloseHandles close_handles) {
  if (loop != nullptr) {
    loop_ = loop;
  } else {
    own_loop_ = std::make_unique<uv_loop_t>();
    if (int r = uv_loop_init(own_loop_.get()); r != 0) {
      own_loop_.reset();
      return absl::InternalError(
          absl::StrCat("cannot create an event loop: ", uv_strerror(r)));
    }
    loop_ = own_loop_.get();
  }
  // Until the loop runs (on our thread or the caller's), this thread is
  // the loop's.
  loop_thread_ = std::this_thread::get_id();
  close_handles_ = std::move(close_handles);
  uv_async_init(loop_, &async_, [](uv_async_t* a) {
    static_cast<LoopThread*>(a->data)->RunTasks();
  });
  async_.data = this;
  closer_.Add(2);  // the async handle, and the owner's handles as one
  return absl::OkStatus();
}

void LoopThread::StartThread() {
  loop_thread_ = std::thread::id();  // nobody's until the thread says so
  std::lock_guard<std::mutex> lock(join_mu_);
  thread_ = std::thread([this] {
    loop_thread_ = std::this_thread::get_id();
    uv_run(loop_, UV_RUN_DEFAULT);
  });
}

void LoopThread::RunUntilClosed() {
  uv_run(loop_, UV_RUN_DEFAULT);
  uv_loop_close(loop_);
}

bool LoopThread::Post(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!accepting_) return false;
  tasks_.push_back(std::move(fn));
  // Under the lock: the loop closes the async handle only after it has
  // seen accepting_ turn false, which cannot happen while we hold it.
  uv_async_send(&async_);
  return true;
}

void LoopThread::RunTasks() {
  std::vector<std::function<void()>> tasks;
  bool close;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks.swap(tasks_);
    close = !accepting_;
  }
  for (auto& task : tasks) task();
  if (close) BeginClose();
}

void LoopThread::Shutdown(std::shared_ptr<void> owner) {
  bool first;
  {
    std::lock_guard<std::mutex> lock(mu_);
    first = accepting_;
    accepting_ = false;
    if (first && own_loop_ == nullptr) keep_alive_ = std::move(owner);
    if (first && !OnLoopThread()) uv_async_send(&async_);
  }
  if (first && OnLoopThread()) RunTasks();  // what was queued, then close
  if (own_loop_ != nullptr && !OnLoopThread()) {
    std::lock_guard<std::mutex> lock(join_mu_);
    if (thread_.joinable()) {
      thread_.join();
      uv_loop_close(own_loop_.get());
    }
  }
}

void LoopThread::BeginClose() {
  if (closer_.closing()) return;
  closer_.Close(
      [this] {
        close_handles_([this] { closer_.Done(); });
        // Post() refuses new tasks by now, and every queued one has run.
        std::lock_guard<std::mutex> lock(mu_);
        CloseHandle<&LoopThread::closer_>(&async_);
      },
      [this] {
        // Everything is closed: on our own loop uv_run returns; on a
        // caller's, the owner may go.
        std::shared_ptr<void> owner;
        {
          std::lock_guard<std::mutex> lock(mu_);
          owner.swap(keep_alive_);
        }
        // `owner` may be the last reference: nothing touches `this` after.
      });
}

}  // namespace roster::net
