// The application's callbacks never delay the protocol, and reads answer
// from a snapshot: three members on loopback (127.0.0.1, port 0, the Local
// profile's timing), one of them with a handler that blocks, takes a lock
// the application also holds around its calls, overflows its queue,
// destroys its own node, or makes blocking calls. Waits are on conditions
// with a deadline, never fixed sleeps.
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "roster/node.h"
#include "test/common/wait_until.h"
#include "test/net/callback_members.h"

namespace roster {
namespace {

// The longest a read may take while a handler blocks: microseconds in
// fact; a sanitizer's instrumentation and scheduling make it milliseconds.
// Either way far from the seconds a read waiting on a blocked loop takes.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr absl::Duration kReadBound = absl::Milliseconds(50);
#else
constexpr absl::Duration kReadBound = absl::Milliseconds(1);
#endif

// (a) and (b): a member whose on_event blocks keeps answering probes, and
// its reads keep answering at once.
TEST(CallbacksTest, ABlockedHandlerCostsItsMemberNoSuspicionAndReadsAnswer) {
  Gate gate;
  Events events[3];
  auto nodes = StartThree([&](int i, NodeConfig& c) {
    c.on_event = [&, i](const Event& e) {
      if (i == 2) gate.MaybeBlock();
      events[i].Add(e);
    };
  });
  ASSERT_EQ(nodes.size(), 3u);
  ASSERT_TRUE(Form(nodes));
  const Counters before0 = nodes[0]->counters().protocol;
  const Counters before1 = nodes[1]->counters().protocol;

  // n0's new metadata reaches n2 as an event, whose handler blocks.
  gate.Arm();
  ASSERT_TRUE(nodes[0]->SetMeta("poke").ok());
  ASSERT_TRUE(WaitUntil([&] { return gate.blocking(); }, absl::Seconds(5)));
  const absl::Time blocked_at = absl::Now();

  // 30 s, over six times as long as, with the handler on the loop thread,
  // the others took to declare n2 failed (4.5 s): n2's reads, from
  // another thread, answer at once and show everyone alive throughout.
  constexpr absl::Duration kWatch = absl::Seconds(30);
  std::atomic<bool> stop{false};
  std::atomic<bool> always_all_alive{true};
  std::vector<absl::Duration> latencies;
  std::thread reader([&] {
    while (!stop) {
      const absl::Time start = absl::Now();
      std::vector<MemberInfo> members = nodes[2]->Members();
      latencies.push_back(absl::Now() - start);
      if (members.size() != 3 ||
          std::any_of(members.begin(), members.end(), [](const MemberInfo& m) {
            return m.state != MemberState::kAlive;
          }))
        always_all_alive = false;
      // Pacing the samples, not waiting for anything.
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  bool others_saw_alive = true;
  while (absl::Now() - blocked_at < kWatch) {
    for (int i = 0; i < 2; ++i) {
      auto m = nodes[i]->Lookup("n2");
      if (!m || m->state != MemberState::kAlive) others_saw_alive = false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop = true;
  reader.join();
  EXPECT_TRUE(gate.blocking()) << "the handler stopped blocking early";

  EXPECT_TRUE(others_saw_alive);
  EXPECT_TRUE(always_all_alive) << "n2's own view lost a member";
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(events[i].Count(EventType::kSuspected, "n2"), 0) << i;
    EXPECT_EQ(events[i].Count(EventType::kFailed, "n2"), 0) << i;
  }
  EXPECT_EQ(nodes[0]->counters().protocol.suspicions, before0.suspicions);
  EXPECT_EQ(nodes[1]->counters().protocol.suspicions, before1.suspicions);
  EXPECT_EQ(nodes[0]->counters().protocol.deaths, before0.deaths);
  EXPECT_EQ(nodes[1]->counters().protocol.deaths, before1.deaths);

  ASSERT_GT(latencies.size(), 100u);
  std::sort(latencies.begin(), latencies.end());
  const absl::Duration max = latencies.back();
  const absl::Duration p99 = latencies[latencies.size() * 99 / 100];
  std::printf(
      "with n2's on_event blocked for %s: no suspicion of n2; %zu calls of "
      "n2's Members() took at most %s (p99 %s, median %s)\n",
      absl::FormatDuration(kWatch).c_str(), latencies.size(),
      absl::FormatDuration(max).c_str(), absl::FormatDuration(p99).c_str(),
      absl::FormatDuration(latencies[latencies.size() / 2]).c_str());
  // The 99th percentile: on a loaded machine the slowest few calls are the
  // reader thread waiting for a core, not for the node.
  EXPECT_LT(p99, kReadBound);

  gate.Release();
  // The event the handler held, and those queued behind it, arrive.
  EXPECT_TRUE(WaitUntil(
      [&] { return events[2].Has(EventType::kUpdated, "n0", "poke"); },
      absl::Seconds(5)));
}

// (c): the application's own lock, held around Node calls while a callback
// waits for it, cannot deadlock: the calls never wait for a callback.
TEST(CallbacksTest, AnApplicationLockAroundCallsAndInCallbacksCannotDeadlock) {
  std::mutex app_mu;
  std::atomic<int> handled{0};
  auto nodes = StartThree([&](int i, NodeConfig& c) {
    if (i != 0) return;
    c.on_event = [&](const Event&) {
      std::lock_guard<std::mutex> lock(app_mu);
      ++handled;
    };
    c.on_broadcast = [&](std::string_view, std::string_view) {
      std::lock_guard<std::mutex> lock(app_mu);
      ++handled;
    };
  });
  ASSERT_EQ(nodes.size(), 3u);
  ASSERT_TRUE(Form(nodes));

  // n1 and n2 keep n0's callbacks busy while n0's caller holds the lock
  // around its calls.
  std::atomic<bool> done{false};
  std::thread news([&] {
    for (int i = 0; !done; ++i) {
      nodes[1]->SetMeta(absl::StrCat("m", i)).IgnoreError();
      nodes[2]->Broadcast(absl::StrCat("b", i)).IgnoreError();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // pacing
    }
  });
  std::atomic<int> rounds{0};
  std::thread caller([&] {
    for (int i = 0; i < 300; ++i) {
      std::lock_guard<std::mutex> lock(app_mu);
      EXPECT_FALSE(nodes[0]->Members().empty());
      EXPECT_TRUE(nodes[0]->SetMeta(absl::StrCat("c", i)).ok());
      EXPECT_TRUE(nodes[0]->Broadcast(absl::StrCat("x", i)).ok());
      EXPECT_TRUE(nodes[0]->Lookup("n1").has_value());
      ++rounds;
    }
  });
  const bool finished =
      WaitUntil([&] { return rounds == 300; }, absl::Seconds(30));
  if (!finished) {
    // The threads are stuck for good: nothing to join, so stop here.
    std::fprintf(stderr, "deadlock: %d of 300 rounds\n", rounds.load());
    std::abort();
  }
  caller.join();
  done = true;
  news.join();
  EXPECT_TRUE(WaitUntil([&] { return handled > 0; }, absl::Seconds(5)));
}

// (d): past max_pending_callbacks, calls are dropped and counted; once the
// handler returns, later events arrive.
TEST(CallbacksTest, OverflowIsDroppedAndCountedAndLaterEventsArrive) {
  Gate gate;
  Events events;
  auto nodes = StartThree([&](int i, NodeConfig& c) {
    if (i != 2) return;
    c.max_pending_callbacks = 2;
    c.on_event = [&](const Event& e) {
      gate.MaybeBlock();
      events.Add(e);
    };
  });
  ASSERT_EQ(nodes.size(), 3u);
  ASSERT_TRUE(Form(nodes));

  gate.Arm();
  ASSERT_TRUE(nodes[0]->SetMeta("block").ok());
  ASSERT_TRUE(WaitUntil([&] { return gate.blocking(); }, absl::Seconds(5)));
  // Each new metadata of n1 is one more event at n2: two may wait.
  int next = 0;
  ASSERT_TRUE(WaitUntil(
      [&] {
        EXPECT_TRUE(nodes[1]->SetMeta(absl::StrCat("flood", next++)).ok());
        return nodes[2]->counters().net.callbacks_dropped >= 3;
      },
      absl::Seconds(10)));
  // Still answering probes meanwhile, and its reads show the news.
  EXPECT_TRUE(AllAlive(*nodes[0], 3));
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto m = nodes[2]->Lookup("n1");
        return m && m->meta == absl::StrCat("flood", next - 1);
      },
      absl::Seconds(5)));

  const NetCounters held = nodes[2]->counters().net;
  gate.Release();
  ASSERT_TRUE(nodes[1]->SetMeta("after").ok());
  EXPECT_TRUE(
      WaitUntil([&] { return events.Has(EventType::kUpdated, "n1", "after"); },
                absl::Seconds(5)));
  const NetCounters after = nodes[2]->counters().net;
  EXPECT_GE(after.callbacks_dropped, held.callbacks_dropped);
  EXPECT_GE(after.callbacks_delivered, held.callbacks_delivered + 3)
      << "the held call, the two queued, and the one after";
  EXPECT_GE(after.total_drops(), after.callbacks_dropped);
  std::printf(
      "max_pending_callbacks 2: %llu callbacks dropped, %llu "
      "delivered\n",
      static_cast<unsigned long long>(after.callbacks_dropped),
      static_cast<unsigned long long>(after.callbacks_delivered));
}

// (e): a node destroyed from inside its own on_event.
TEST(CallbacksTest, ANodeDestroyedInsideItsOwnCallback) {
  std::mutex mu;
  std::condition_variable cv;
  std::unique_ptr<Node> doomed;
  bool destroyed = false;
  auto nodes = StartThree([&](int i, NodeConfig& c) {
    if (i != 2) return;
    c.on_event = [&](const Event& e) {
      if (e.member.meta != "die") return;
      std::unique_ptr<Node> node;
      {
        std::lock_guard<std::mutex> lock(mu);
        node = std::move(doomed);
      }
      node.reset();  // on the delivery thread, inside the callback
      std::lock_guard<std::mutex> lock(mu);
      destroyed = true;
      cv.notify_all();
    };
  });
  ASSERT_EQ(nodes.size(), 3u);
  ASSERT_TRUE(Form(nodes));
  {
    std::lock_guard<std::mutex> lock(mu);
    doomed = std::move(nodes[2]);
  }
  ASSERT_TRUE(nodes[0]->SetMeta("die").ok());
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(
        cv.wait_for(lock, std::chrono::seconds(10), [&] { return destroyed; }));
  }
  // Gone without a leave: the others declare it failed, and carry on.
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto m = nodes[1]->Lookup("n2");
        return m && m->state == MemberState::kDead;
      },
      absl::Seconds(15)));
  EXPECT_EQ(nodes[1]->Members().size(), 2u) << "live members only";
  EXPECT_EQ(nodes[1]->Members(MemberFilter::kAll).size(), 3u);
}

// Shut down from inside its own on_event, destroyed later elsewhere: from
// then on every call fails or returns nothing.
TEST(CallbacksTest, ANodeShutDownInsideItsOwnCallback) {
  std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;
  std::atomic<Node*> self{nullptr};
  auto nodes = StartThree([&](int i, NodeConfig& c) {
    if (i != 2) return;
    c.on_event = [&](const Event& e) {
      if (e.member.meta != "stop" || self == nullptr) return;
      self.load()->Shutdown();
      std::lock_guard<std::mutex> lock(mu);
      stopped = true;
      cv.notify_all();
    };
  });
  ASSERT_EQ(nodes.size(), 3u);
  self = nodes[2].get();
  ASSERT_TRUE(Form(nodes));
  ASSERT_TRUE(nodes[0]->SetMeta("stop").ok());
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(
        cv.wait_for(lock, std::chrono::seconds(10), [&] { return stopped; }));
  }
  EXPECT_TRUE(nodes[2]->Members().empty());
  EXPECT_FALSE(nodes[2]->Lookup("n0").has_value());
  EXPECT_EQ(nodes[2]->NumAlive(), 0u);
  EXPECT_TRUE(absl::IsCancelled(nodes[2]->SetMeta("x")));
  EXPECT_TRUE(absl::IsCancelled(nodes[2]->Join({nodes[0]->addr()})));
  nodes[2].reset();  // on this thread, after the callback's Shutdown
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto m = nodes[0]->Lookup("n2");
        return m && m->state == MemberState::kDead;
      },
      absl::Seconds(15)));
}

// Join, SendTo and Leave from inside callbacks block only the delivery
// thread, and work; each callback already sees what it is told.
TEST(CallbacksTest, BlockingCallsWorkFromInsideCallbacks) {
  std::mutex mu;
  std::condition_variable cv;
  absl::Status joined = absl::UnknownError("not yet");
  absl::Status sent = absl::UnknownError("not yet");
  absl::Status left = absl::UnknownError("not yet");
  bool called_join = false, called_leave = false;
  std::atomic<bool> told_before_visible{false};
  std::atomic<bool> got_message{false};
  // Set once started; a callback may run before (this member's own join).
  std::atomic<Node*> self[3] = {};
  auto nodes = StartThree([&](int i, NodeConfig& c) {
    if (i == 0) {
      c.on_event = [&](const Event& e) {
        if (self[0] == nullptr || self[2] == nullptr) return;
        if (!self[0].load()->Lookup(e.member.name)) told_before_visible = true;
        if (e.member.name != "n1" || e.member.meta != "go") return;
        {
          std::lock_guard<std::mutex> lock(mu);
          if (called_join) return;
          called_join = true;
        }
        absl::Status j = self[0].load()->Join({self[2].load()->addr()});
        absl::Status s = self[0].load()->SendTo("n1", "from a callback");
        std::lock_guard<std::mutex> lock(mu);
        joined = j;
        sent = s;
        cv.notify_all();
      };
    }
    if (i == 1) {
      c.on_message = [&](std::string_view, std::string_view payload) {
        if (payload == "from a callback") got_message = true;
      };
    }
    if (i == 2) {
      c.on_event = [&](const Event& e) {
        if (e.type != EventType::kJoined || e.member.name == "n2") return;
        {
          std::lock_guard<std::mutex> lock(mu);
          if (called_leave) return;
          called_leave = true;
        }
        absl::Status l = self[2].load()->Leave(absl::Seconds(5));
        std::lock_guard<std::mutex> lock(mu);
        left = l;
        cv.notify_all();
      };
    }
  });
  ASSERT_EQ(nodes.size(), 3u);
  for (int i = 0; i < 3; ++i) self[i] = nodes[i].get();
  // n0 and n1 form a cluster; n2 stays alone until n0's callback joins it.
  ASSERT_TRUE(nodes[1]->Join({nodes[0]->addr()}).ok());
  ASSERT_TRUE(WaitUntil(
      [&] { return AllAlive(*nodes[0], 2) && AllAlive(*nodes[1], 2); },
      absl::Seconds(10)));
  ASSERT_TRUE(nodes[1]->SetMeta("go").ok());
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] {
      return !absl::IsUnknown(joined) && !absl::IsUnknown(left);
    }));
    EXPECT_TRUE(joined.ok()) << joined;
    EXPECT_TRUE(sent.ok()) << sent;
    EXPECT_TRUE(left.ok()) << left;
  }
  EXPECT_TRUE(got_message);
  EXPECT_FALSE(told_before_visible)
      << "an event arrived before the reads showed its member";
  // n2 left: gone from n0's live members, listed with every state.
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto m = nodes[0]->Lookup("n2");
        return m && m->state == MemberState::kLeft;
      },
      absl::Seconds(10)));
  EXPECT_EQ(nodes[0]->Members().size(), 2u);
  std::vector<MemberInfo> all = nodes[0]->Members(MemberFilter::kAll);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2].name, "n2");
  EXPECT_EQ(all[2].state, MemberState::kLeft);
  // An operator's query still lists every state.
  auto queried = QueryMembers(nodes[0]->addr());
  ASSERT_TRUE(queried.ok()) << queried.status();
  EXPECT_EQ(queried->size(), 3u);
}

// On a caller's loop, the callbacks still run off it: a blocking call works
// there, and only the loop's own thread is refused one.
TEST(CallbacksTest, OnACallersLoopCallbacksRunOffTheLoop) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  std::unique_ptr<Node> node;
  std::atomic<std::thread::id> loop_thread;
  std::atomic<bool> ready{false};
  std::mutex mu;
  std::condition_variable cv;
  bool handled = false;
  bool off_the_loop = false;
  absl::Status set_meta = absl::UnknownError("not yet");
  absl::Status join_on_loop = absl::UnknownError("not yet");
  std::thread runner([&] {
    loop_thread = std::this_thread::get_id();
    NodeConfig c = LocalConfig(0);
    c.loop = &loop;
    c.on_event = [&](const Event& e) {
      if (e.member.name != "n1") return;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (handled) return;
      }
      // Waits for the loop's turn, which is free to come.
      absl::Status s = node->SetMeta("from a callback");
      std::lock_guard<std::mutex> lock(mu);
      handled = true;
      off_the_loop = std::this_thread::get_id() != loop_thread.load();
      set_meta = s;
      cv.notify_all();
    };
    auto started = Node::Start(std::move(c));
    EXPECT_TRUE(started.ok()) << started.status();
    if (!started.ok()) return;
    node = std::move(*started);
    join_on_loop = node->Join({"127.0.0.1:1"});
    ready = true;
    uv_run(&loop, UV_RUN_DEFAULT);
  });
  ASSERT_TRUE(WaitUntil([&] { return ready.load(); }, absl::Seconds(5)));
  EXPECT_TRUE(absl::IsFailedPrecondition(join_on_loop)) << join_on_loop;
  auto other = Node::Start(LocalConfig(1));
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE((*other)->Join({node->addr()}).ok());
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(
        cv.wait_for(lock, std::chrono::seconds(10), [&] { return handled; }));
    EXPECT_TRUE(off_the_loop);
    EXPECT_TRUE(set_meta.ok()) << set_meta;
  }
  EXPECT_EQ(node->Self().meta, "from a callback");
  // Shut down on the loop's thread; then the loop runs dry.
  uv_async_t stop;
  stop.data = &node;
  uv_async_init(&loop, &stop, [](uv_async_t* a) {
    static_cast<std::unique_ptr<Node>*>(a->data)->reset();
    uv_close(reinterpret_cast<uv_handle_t*>(a), nullptr);
  });
  uv_async_send(&stop);
  runner.join();
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
}  // namespace roster
