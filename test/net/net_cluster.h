// A cluster of roster::Node on loopback for the socket tests: fast timing,
// a recorder of each member's callbacks, and views of the whole.
#ifndef ROSTER_TEST_NET_NET_CLUSTER_H_
#define ROSTER_TEST_NET_NET_CLUSTER_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "roster/node.h"

namespace roster {

// Fast timing for a cluster on one busy host.
inline NodeConfig TestConfig(const std::string& name) {
  NodeConfig c = NodeConfig::ForProfile(Profile::kLocal, name, "127.0.0.1:0");
  c.swim.probe_interval = absl::Milliseconds(250);
  c.swim.probe_timeout = absl::Milliseconds(120);
  c.swim.gossip_interval = absl::Milliseconds(50);
  c.swim.push_pull_interval = absl::Seconds(5);
  c.swim.reconnect_interval = absl::Seconds(1);
  c.connect_timeout = absl::Seconds(1);
  c.idle_timeout = absl::Seconds(1);
  c.stream_timeout = absl::Seconds(2);
  return c;
}

// Events each member saw, by member, safe to read from the test thread.
struct Recorder {
  std::mutex mu;
  std::vector<Event> events;
  std::vector<std::string> broadcasts;
  std::vector<std::pair<std::string, std::string>> messages;

  void Attach(NodeConfig& c) {
    c.on_event = [this](const Event& e) {
      std::lock_guard<std::mutex> lock(mu);
      events.push_back(e);
    };
    c.on_broadcast = [this](std::string_view, std::string_view p) {
      std::lock_guard<std::mutex> lock(mu);
      broadcasts.emplace_back(p);
    };
    c.on_message = [this](std::string_view from, std::string_view p) {
      std::lock_guard<std::mutex> lock(mu);
      messages.emplace_back(std::string(from), std::string(p));
    };
  }
  bool HasBroadcast(const std::string& p) {
    std::lock_guard<std::mutex> lock(mu);
    return std::find(broadcasts.begin(), broadcasts.end(), p) !=
           broadcasts.end();
  }
};

class Cluster {
 public:
  explicit Cluster(int n, std::function<void(NodeConfig&)> tune = nullptr)
      : recorders_(n) {
    for (int i = 0; i < n; ++i) {
      NodeConfig c = TestConfig(absl::StrCat("n", i));
      recorders_[i] = std::make_unique<Recorder>();
      recorders_[i]->Attach(c);
      if (tune) tune(c);
      auto node = Node::Start(std::move(c));
      EXPECT_TRUE(node.ok()) << node.status();
      nodes_.push_back(std::move(*node));
    }
  }

  absl::Status JoinAll() {
    for (size_t i = 1; i < nodes_.size(); ++i) {
      absl::Status s = nodes_[i]->Join({nodes_[0]->addr()});
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  Node& node(int i) { return *nodes_[i]; }
  Recorder& recorder(int i) { return *recorders_[i]; }
  int size() const { return static_cast<int>(nodes_.size()); }
  bool running(int i) const { return running_.count(i) == 0; }
  void Kill(int i) {
    nodes_[i]->Shutdown();
    running_.insert(i);
  }

  // Every running member sees every running member alive.
  bool Converged() {
    for (int o = 0; o < size(); ++o) {
      if (!running(o)) continue;
      for (int s = 0; s < size(); ++s) {
        if (!running(s)) continue;
        auto m = nodes_[o]->Lookup(nodes_[s]->name());
        if (!m || m->state != MemberState::kAlive) return false;
      }
    }
    return true;
  }

  // Every running member other than `subject` sees it in `state`.
  bool AllSee(int subject, MemberState state) {
    for (int o = 0; o < size(); ++o) {
      if (!running(o) || o == subject) continue;
      auto m = nodes_[o]->Lookup(nodes_[subject]->name());
      if (!m || m->state != state) return false;
    }
    return true;
  }

 private:
  std::vector<std::unique_ptr<Recorder>> recorders_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::set<int> running_;  // the ones shut down, in fact
};

// One datagram to a loopback "IP:PORT", from a fresh socket.
inline void SendDatagram(const std::string& addr, const std::string& bytes) {
  size_t colon = addr.rfind(':');
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, addr.substr(0, colon).c_str(), &a.sin_addr);
  a.sin_port = htons(static_cast<uint16_t>(std::stoi(addr.substr(colon + 1))));
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a),
         sizeof(a));
  close(fd);
}

}  // namespace roster

#endif  // ROSTER_TEST_NET_NET_CLUSTER_H_
