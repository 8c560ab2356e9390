// Two members in one process, on loopback: the smallest use of an
// installed roster. Exits 0 once each sees the other alive, 1 otherwise.
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "roster/node.h"

namespace {

std::unique_ptr<roster::Node> StartMember(const char* name) {
  auto config = roster::NodeConfig::ForProfile(roster::Profile::kLocal, name,
                                               "127.0.0.1:0");
  auto node = roster::Node::Start(std::move(config));
  if (!node.ok()) {
    std::fprintf(stderr, "starting %s: %s\n", name,
                 node.status().ToString().c_str());
    return nullptr;
  }
  return *std::move(node);
}

}  // namespace

int main() {
  auto first = StartMember("first");
  auto second = StartMember("second");
  if (!first || !second) return 1;
  if (absl::Status s = second->Join({first->addr()}); !s.ok()) {
    std::fprintf(stderr, "join: %s\n", s.ToString().c_str());
    return 1;
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (first->NumAlive() < 2 || second->NumAlive() < 2) {
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "the members did not see each other in 10 s\n");
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (const roster::MemberInfo& m : first->Members())
    std::printf("%s %s %s\n", m.name.c_str(), m.addr.c_str(),
                roster::MemberStateName(m.state).data());
  return 0;
}
