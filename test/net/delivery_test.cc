// net::Delivery: order, the bound, and stopping from inside a call.
#include "net/delivery.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <vector>

#include "net/loop_thread.h"

namespace roster::net {
namespace {

TEST(DeliveryTest, RunsCallsInOrderOnItsOwnThread) {
  Delivery delivery(100);
  std::vector<int> seen;
  std::promise<void> done;
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> other_thread{true};
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(delivery.Post([&, i] {
      if (std::this_thread::get_id() == caller) other_thread = false;
      seen.push_back(i);
      if (i == 49) done.set_value();
    }));
  }
  done.get_future().wait();
  EXPECT_TRUE(other_thread);
  ASSERT_EQ(seen.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(seen[i], i);
}

TEST(DeliveryTest, DropsAndCountsPastTheBound) {
  Delivery delivery(3);
  Waiter release;
  std::promise<void> started;
  ASSERT_TRUE(delivery.Post([&] {
    started.set_value();
    release.Wait().IgnoreError();
  }));
  started.get_future().wait();  // the blocking call no longer waits
  int ran = 0;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(delivery.Post([&] { ++ran; }));
  EXPECT_FALSE(delivery.Post([&] { ++ran; }));
  EXPECT_FALSE(delivery.Post([&] { ++ran; }));
  EXPECT_EQ(delivery.dropped(), 2u);
  EXPECT_EQ(delivery.pending(), 3u);
  std::promise<void> last;
  release.Set(absl::OkStatus());
  // The queue drains; then there is room again.
  while (delivery.pending() != 0) std::this_thread::yield();
  ASSERT_TRUE(delivery.Post([&] { last.set_value(); }));
  last.get_future().wait();
  EXPECT_EQ(ran, 3);
}

TEST(DeliveryTest, StopFromInsideACallDoesNotWaitForItself) {
  auto delivery = std::make_unique<Delivery>(10);
  std::promise<void> stopped;
  ASSERT_TRUE(delivery->Post([&] {
    delivery->Stop();
    stopped.set_value();
  }));
  stopped.get_future().wait();
  EXPECT_FALSE(delivery->Post([] {}));
  delivery.reset();  // the thread was let go; nothing waits for it
}

// A callback that stops its Delivery while another thread is stopping it
// (a node shut down from a callback and from outside at once).
TEST(DeliveryTest, StopFromInsideACallWhileAnotherThreadStops) {
  Delivery delivery(10);
  std::promise<void> started;
  std::atomic<bool> stopped_inside{false};
  ASSERT_TRUE(delivery.Post([&] {
    started.set_value();
    // Once the other Stop has cancelled the queue (emptied, refusing),
    // it is about to join this thread.
    while (delivery.pending() != 0 || delivery.Post([] {})) {
    }
    delivery.Stop();
    stopped_inside = true;
  }));
  started.get_future().wait();
  auto outside = std::async(std::launch::async, [&] { delivery.Stop(); });
  if (outside.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    // Stuck for good: the future's destructor would wait forever too.
    std::fprintf(stderr, "the two Stop() calls wait for each other\n");
    std::abort();
  }
  EXPECT_TRUE(stopped_inside);
}

TEST(DeliveryTest, StopDiscardsWhatWaits) {
  Delivery delivery(10);
  Waiter release;
  std::promise<void> started;
  int ran = 0;
  ASSERT_TRUE(delivery.Post([&] {
    started.set_value();
    release.Wait().IgnoreError();
  }));
  started.get_future().wait();
  ASSERT_TRUE(delivery.Post([&] { ++ran; }));
  std::thread stopper([&] { delivery.Stop(); });
  // The running call blocks, so only Stop empties the queue.
  while (delivery.pending() != 0) std::this_thread::yield();
  EXPECT_FALSE(delivery.Post([] {}));
  release.Set(absl::OkStatus());
  stopper.join();
  EXPECT_EQ(ran, 0);
}

TEST(DeliveryTest, CancelDiscardsWhatWaitsWithoutWaitingForTheCallUnderWay) {
  Delivery delivery(10);
  Waiter release;
  std::promise<void> started;
  std::atomic<bool> finished{false};
  int ran = 0;
  ASSERT_TRUE(delivery.Post([&] {
    started.set_value();
    release.Wait().IgnoreError();
    finished = true;
  }));
  started.get_future().wait();
  ASSERT_TRUE(delivery.Post([&] { ++ran; }));
  delivery.Cancel();  // returns while the first call still blocks
  EXPECT_FALSE(finished);
  EXPECT_EQ(delivery.pending(), 0u);
  EXPECT_FALSE(delivery.Post([] {}));
  release.Set(absl::OkStatus());
  delivery.Stop();  // now waits for the call under way
  EXPECT_TRUE(finished);
  EXPECT_EQ(ran, 0);
}

TEST(DeliveryTest, DestroyingDoesNotWaitForTheCallUnderWay) {
  auto release = std::make_shared<Waiter>();
  std::promise<void> started;
  std::promise<void> finished;
  auto delivery = std::make_unique<Delivery>(10);
  ASSERT_TRUE(delivery->Post([&, release] {
    started.set_value();
    release->Wait().IgnoreError();
    finished.set_value();
  }));
  started.get_future().wait();
  delivery.reset();  // returns while the call still blocks
  release->Set(absl::OkStatus());
  finished.get_future().wait();
}

}  // namespace
}  // namespace roster::net
