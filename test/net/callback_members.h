// What the callback tests share: three members on loopback (127.0.0.1,
// port 0, the Local profile's timing), a gate a handler blocks on, and a
// record of one member's events.
#ifndef ROSTER_TEST_NET_CALLBACK_MEMBERS_H_
#define ROSTER_TEST_NET_CALLBACK_MEMBERS_H_

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "roster/node.h"
#include "test/common/wait_until.h"

namespace roster {

// A handler's way to block, released by the test at its end (or after 30
// s, so that a failing test never hangs).
class Gate {
 public:
  void Arm() {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = true;
  }
  // In a callback: blocks if armed (once), until Release() or 60 s.
  void MaybeBlock() {
    std::unique_lock<std::mutex> lock(mu_);
    if (!armed_) return;
    armed_ = false;
    blocking_ = true;
    cv_.wait_for(lock, std::chrono::seconds(60), [&] { return released_; });
    blocking_ = false;
  }
  bool blocking() {
    std::lock_guard<std::mutex> lock(mu_);
    return blocking_;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false;
  bool blocking_ = false;
  bool released_ = false;
};

// What one member's on_event saw.
struct Events {
  std::mutex mu;
  std::vector<Event> seen;

  void Add(const Event& e) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(e);
  }
  int Count(EventType type, const std::string& member) {
    std::lock_guard<std::mutex> lock(mu);
    return static_cast<int>(
        std::count_if(seen.begin(), seen.end(), [&](const Event& e) {
          return e.type == type && e.member.name == member;
        }));
  }
  bool Has(EventType type, const std::string& member, const std::string& meta) {
    std::lock_guard<std::mutex> lock(mu);
    return std::any_of(seen.begin(), seen.end(), [&](const Event& e) {
      return e.type == type && e.member.name == member && e.member.meta == meta;
    });
  }
};

inline NodeConfig LocalConfig(int i) {
  return NodeConfig::ForProfile(Profile::kLocal, absl::StrCat("n", i),
                                "127.0.0.1:0");
}

// Three started members; `tune(i, config)` sets each one's callbacks.
inline std::vector<std::unique_ptr<Node>> StartThree(
    const std::function<void(int, NodeConfig&)>& tune) {
  std::vector<std::unique_ptr<Node>> nodes;
  for (int i = 0; i < 3; ++i) {
    NodeConfig c = LocalConfig(i);
    tune(i, c);
    auto node = Node::Start(std::move(c));
    EXPECT_TRUE(node.ok()) << node.status();
    if (!node.ok()) return {};
    nodes.push_back(std::move(*node));
  }
  return nodes;
}

inline bool AllAlive(const Node& node, size_t n) {
  std::vector<MemberInfo> members = node.Members();
  return members.size() == n &&
         std::all_of(members.begin(), members.end(), [](const MemberInfo& m) {
           return m.state == MemberState::kAlive;
         });
}

// Joins n1 and n2 through n0 and waits until everyone sees everyone alive.
inline bool Form(const std::vector<std::unique_ptr<Node>>& nodes) {
  for (size_t i = 1; i < nodes.size(); ++i) {
    if (!nodes[i]->Join({nodes[0]->addr()}).ok()) return false;
  }
  return WaitUntil(
      [&] {
        for (const auto& n : nodes)
          if (!AllAlive(*n, nodes.size())) return false;
        return true;
      },
      absl::Seconds(10));
}

}  // namespace roster

#endif  // ROSTER_TEST_NET_CALLBACK_MEMBERS_H_
