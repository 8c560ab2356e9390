// Delivery (delivery.h): one thread, one queue, a bound.
#include "net/delivery.h"

#include <utility>

namespace roster::net {

Delivery::Delivery(size_t max_pending)
    : max_pending_(max_pending), state_(std::make_shared<State>()) {}

Delivery::~Delivery() {
  Cancel();
  std::lock_guard<std::mutex> lock(thread_mu_);
  if (thread_.joinable()) thread_.detach();
}

bool Delivery::Post(std::function<void()> fn) {
  bool start = false;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->stopped || state_->calls.size() >= max_pending_) {
      ++state_->dropped;
      return false;
    }
    state_->calls.push_back(std::move(fn));
    state_->cv.notify_one();
    start = !state_->started;
    state_->started = true;
  }
  // Only the first call takes thread_mu_: a Stop() may hold it while it
  // joins a thread whose callback waits for whoever is posting.
  if (start) {
    std::lock_guard<std::mutex> lock(thread_mu_);
    thread_ = std::thread(Run, state_);
  }
  return true;
}

void Delivery::Run(std::shared_ptr<State> state) {
  std::unique_lock<std::mutex> lock(state->mu);
  state->thread_id = std::this_thread::get_id();
  for (;;) {
    state->cv.wait(lock,
                   [&] { return state->stopped || !state->calls.empty(); });
    if (state->stopped) return;
    std::function<void()> fn = std::move(state->calls.front());
    state->calls.pop_front();
    lock.unlock();
    fn();
    fn = nullptr;  // what it captured goes before the next call
    lock.lock();
    ++state->delivered;
  }
}

void Delivery::Cancel() {
  std::deque<std::function<void()>> discarded;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stopped = true;
    discarded.swap(state_->calls);
    state_->cv.notify_all();
  }
  discarded.clear();  // outside the lock: what they hold may call Post
}

void Delivery::Stop() {
  Cancel();
  if (OnDeliveryThread()) {
    // Never wait for the lock here: another thread may hold it to join
    // this one. If it is taken, whoever holds it joins the thread, or a
    // later Stop() does.
    std::unique_lock<std::mutex> lock(thread_mu_, std::try_to_lock);
    if (lock.owns_lock() && thread_.joinable()) thread_.detach();
    return;
  }
  std::lock_guard<std::mutex> lock(thread_mu_);
  if (thread_.joinable()) thread_.join();
}

bool Delivery::OnDeliveryThread() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->thread_id == std::this_thread::get_id();
}

uint64_t Delivery::dropped() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->dropped;
}

uint64_t Delivery::delivered() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->delivered;
}

size_t Delivery::pending() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->calls.size();
}

}  // namespace roster::net
