// roster::Node over real sockets, on loopback only (127.0.0.1 and ::1),
// every member on an ephemeral port. Waits are on conditions with a
// deadline, never fixed sleeps.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/wire/decoded.h"
#include "core/wire/streams.h"
#include "gtest/gtest.h"
#include "net/stream.h"
#include "roster/node.h"
#include "test/common/messages.h"
#include "test/common/wait_until.h"
#include "test/net/net_cluster.h"

namespace roster {
namespace {

TEST(NetTest, ThirtyTwoMembersConvergeDetectAFailureAndSeeALeave) {
  Cluster cluster(32);
  ASSERT_TRUE(cluster.JoinAll().ok());
  ASSERT_TRUE(WaitUntil([&] { return cluster.Converged(); }, absl::Seconds(15)))
      << "32 members did not converge";

  // Killed without a leave: declared failed by every other member.
  cluster.Kill(5);
  ASSERT_TRUE(WaitUntil([&] { return cluster.AllSee(5, MemberState::kDead); },
                        absl::Seconds(20)))
      << "the killed member was not declared failed by all";

  // A graceful leave: left, not failed.
  ASSERT_TRUE(cluster.node(7).Leave(absl::Seconds(5)).ok());
  cluster.Kill(7);
  ASSERT_TRUE(WaitUntil([&] { return cluster.AllSee(7, MemberState::kLeft); },
                        absl::Seconds(10)))
      << "the leave did not show as left everywhere";
  for (int i = 0; i < cluster.size(); ++i) {
    if (!cluster.running(i)) continue;
    std::lock_guard<std::mutex> lock(cluster.recorder(i).mu);
    for (const Event& e : cluster.recorder(i).events) {
      if (e.member.name == "n7") {
        EXPECT_NE(e.type, EventType::kFailed);
      }
    }
  }
}

TEST(NetTest, MetadataBroadcastsAndMessagesArrive) {
  // Each member passes a broadcast on retransmit_mult * ceil(log10(n+1))
  // times to random peers; at 8 the chance that one of 6 members misses
  // it is below 1 in 1000.
  Cluster cluster(6, [](NodeConfig& c) { c.swim.retransmit_mult = 8; });
  ASSERT_TRUE(cluster.JoinAll().ok());
  ASSERT_TRUE(
      WaitUntil([&] { return cluster.Converged(); }, absl::Seconds(10)));

  ASSERT_TRUE(cluster.node(2).SetMeta("role=cache\nzone=b").ok());
  EXPECT_TRUE(WaitUntil(
      [&] {
        for (int i = 0; i < cluster.size(); ++i) {
          auto m = cluster.node(i).Lookup("n2");
          if (!m || m->meta != "role=cache\nzone=b") return false;
        }
        return true;
      },
      absl::Seconds(10)))
      << "the metadata update did not reach everyone";
  auto tags = DecodeTags(cluster.node(0).Lookup("n2")->meta);
  ASSERT_TRUE(tags.has_value());
  EXPECT_EQ((*tags)["zone"], "b");

  ASSERT_TRUE(cluster.node(3).Broadcast("hello, cluster").ok());
  EXPECT_TRUE(WaitUntil(
      [&] {
        for (int i = 0; i < cluster.size(); ++i) {
          if (i != 3 && !cluster.recorder(i).HasBroadcast("hello, cluster"))
            return false;
        }
        return true;
      },
      absl::Seconds(10)))
      << "the broadcast did not reach every member";

  ASSERT_TRUE(cluster.node(1).SendTo("n4", "direct").ok());
  {
    std::lock_guard<std::mutex> lock(cluster.recorder(4).mu);
    ASSERT_EQ(cluster.recorder(4).messages.size(), 1u);
    EXPECT_EQ(cluster.recorder(4).messages[0].first, "n1");
    EXPECT_EQ(cluster.recorder(4).messages[0].second, "direct");
  }
  // Counters come from the snapshot published at the end of the turn.
  EXPECT_TRUE(WaitUntil(
      [&] { return cluster.node(1).counters().net.messages_sent == 1; },
      absl::Seconds(2)));
  EXPECT_TRUE(absl::IsNotFound(cluster.node(1).SendTo("nobody", "x")));
}

TEST(NetTest, ApplicationStateTravelsInPushPull) {
  struct Seen {
    std::mutex mu;
    std::vector<std::string> states;
  };
  Seen seen_a, seen_b;
  auto hooks = [](const std::string& mine, Seen* seen) {
    return [mine, seen](NodeConfig& c) {
      c.local_state = [mine](bool join) {
        return absl::StrCat(mine, join ? "/join" : "/periodic");
      };
      c.merge_remote_state = [seen](std::string_view state, bool join) {
        std::lock_guard<std::mutex> lock(seen->mu);
        seen->states.push_back(
            absl::StrCat(std::string(state), join ? " (join)" : ""));
      };
    };
  };
  NodeConfig ca = TestConfig("a");
  hooks("state-of-a", &seen_a)(ca);
  NodeConfig cb = TestConfig("b");
  hooks("state-of-b", &seen_b)(cb);
  auto a = Node::Start(ca);
  auto b = Node::Start(cb);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*b)->Join({(*a)->addr()}).ok());
  // Merged on each side's delivery thread, soon after the exchange.
  auto merged = [](Seen& seen) {
    std::lock_guard<std::mutex> lock(seen.mu);
    return !seen.states.empty();
  };
  ASSERT_TRUE(WaitUntil([&] { return merged(seen_a) && merged(seen_b); },
                        absl::Seconds(2)));
  {
    std::lock_guard<std::mutex> lock(seen_b.mu);
    EXPECT_EQ(seen_b.states[0], "state-of-a/join (join)");
  }
  std::lock_guard<std::mutex> lock(seen_a.mu);
  EXPECT_EQ(seen_a.states[0], "state-of-b/join (join)");
}

TEST(NetTest, SendToWithoutAHandlerSaysSo) {
  Cluster cluster(2, [](NodeConfig& c) { c.on_message = nullptr; });
  ASSERT_TRUE(cluster.JoinAll().ok());
  absl::Status s = cluster.node(0).SendTo("n1", "x");
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("no message handler"), absl::string_view::npos)
      << s;
}

TEST(NetTest, UnreachableSeedsAreNamedAndTheNodeStaysUp) {
  auto node = Node::Start(TestConfig("alone"));
  ASSERT_TRUE(node.ok()) << node.status();
  // A port nobody listens on: bind one, note it, close it.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  const std::string dead = absl::StrCat("127.0.0.1:", ntohs(a.sin_port));

  absl::Status s = (*node)->Join({dead, "127.0.0.1:1"});
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_NE(s.message().find(dead), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("127.0.0.1:1"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("connection refused"), absl::string_view::npos)
      << s;

  // Still up: another member can join it.
  auto other = Node::Start(TestConfig("other"));
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE((*other)->Join({(*node)->addr()}).ok());
  EXPECT_TRUE(
      WaitUntil([&] { return (*node)->NumAlive() == 2; }, absl::Seconds(5)));

  // Seeds that do not parse are refused before anything is sent.
  s = (*node)->Join({"not a seed"});
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_NE(s.message().find("not a seed"), absl::string_view::npos) << s;
}

TEST(NetTest, StartErrorsSayWhatToChange) {
  auto first = Node::Start(TestConfig("first"));
  ASSERT_TRUE(first.ok());
  NodeConfig c = TestConfig("second");
  c.bind_addr = (*first)->addr();
  auto second = Node::Start(c);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(absl::IsAlreadyExists(second.status())) << second.status();
  EXPECT_NE(second.status().message().find("already in use"),
            absl::string_view::npos);

  c = TestConfig("x");
  c.bind_addr = "localhost:7946";
  EXPECT_TRUE(absl::IsInvalidArgument(Node::Start(c).status()));
  c = TestConfig("x");
  c.swim.advertise_addr = "0.0.0.0:1";
  EXPECT_TRUE(absl::IsInvalidArgument(Node::Start(c).status()));
  c = TestConfig("");
  EXPECT_TRUE(absl::IsInvalidArgument(Node::Start(c).status()));
}

// Two live processes claiming one name: the claimant's Join says who holds
// it, and its retries (every reconnect interval, 1 s here) move neither
// incarnation, whether it asks the holder or another member.
TEST(NetTest, ATakenNameIsRefusedAndNoIncarnationMoves) {
  auto a = Node::Start(TestConfig("same"));
  auto c = Node::Start(TestConfig("other"));
  std::mutex mu;
  std::vector<std::string> logs;
  NodeConfig cb = TestConfig("same");
  cb.on_log = [&](LogLevel, std::string_view line) {
    std::lock_guard<std::mutex> lock(mu);
    logs.emplace_back(line);
  };
  auto b = Node::Start(cb);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_TRUE((*c)->Join({(*a)->addr()}).ok());
  const std::string taken =
      absl::StrCat("taken by a live member at ", (*a)->addr());
  for (const std::string& seed : {(*a)->addr(), (*c)->addr()}) {
    absl::Status s = (*b)->Join({seed});
    EXPECT_TRUE(absl::IsAlreadyExists(s)) << s;
    EXPECT_NE(s.message().find(taken), absl::string_view::npos) << s;
  }
  // Logged on the delivery thread, soon after the Join's answer.
  EXPECT_TRUE(WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return std::any_of(logs.begin(), logs.end(), [&](const auto& line) {
          return line.find(taken) != std::string::npos;
        });
      },
      absl::Seconds(2)))
      << "no log line names the holder's address";
  EXPECT_TRUE(
      WaitUntil([&] { return (*b)->counters().protocol.name_conflicts >= 6; },
                absl::Seconds(15)))
      << "the claimant did not keep retrying";
  EXPECT_EQ((*a)->Self().incarnation, 0u);
  EXPECT_EQ((*b)->Self().incarnation, 0u);
  EXPECT_EQ((*a)->counters().protocol.refutations, 0u);
  EXPECT_EQ((*b)->counters().protocol.refutations, 0u);
  EXPECT_GE((*a)->counters().protocol.name_conflicts, 1u);
  auto seen = (*c)->Lookup("same");
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->addr, (*a)->addr());
  EXPECT_EQ(seen->state, MemberState::kAlive);
  EXPECT_EQ((*c)->Members().size(), 2u);
  EXPECT_EQ((*b)->NumAlive(), 1u);
}

TEST(NetTest, AnotherClustersLabelIsRefused) {
  NodeConfig ca = TestConfig("a");
  ca.swim.label = "blue";
  NodeConfig cb = TestConfig("b");
  cb.swim.label = "green";
  auto a = Node::Start(ca);
  auto b = Node::Start(cb);
  ASSERT_TRUE(a.ok() && b.ok());
  absl::Status s = (*b)->Join({(*a)->addr()});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("label"), absl::string_view::npos) << s;
  EXPECT_EQ((*a)->NumAlive(), 1u);
}

// ---------------------------------------------------------------- hostile

// A blocking TCP client for poking at a member.
class RawConn {
 public:
  explicit RawConn(const std::string& addr) {
    size_t colon = addr.rfind(':');
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, addr.substr(0, colon).c_str(), &a.sin_addr);
    a.sin_port =
        htons(static_cast<uint16_t>(std::stoi(addr.substr(colon + 1))));
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ok_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~RawConn() { close(fd_); }
  bool ok() const { return ok_; }
  void Send(const std::string& bytes) {
    (void)!write(fd_, bytes.data(), bytes.size());
  }
  // Everything until the peer closes (or 5 s of silence).
  std::string ReadAll() {
    std::string out;
    char buf[4096];
    for (;;) {
      ssize_t n = read(fd_, buf, sizeof(buf));
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

TEST(NetTest, HostileInputIsDroppedAndCountedAndTheMemberKeepsAnswering) {
  Cluster cluster(3, [](NodeConfig& c) {
    c.idle_timeout = absl::Milliseconds(300);
    c.swim.limits.max_stream_bytes = 1 << 20;
  });
  ASSERT_TRUE(cluster.JoinAll().ok());
  ASSERT_TRUE(
      WaitUntil([&] { return cluster.Converged(); }, absl::Seconds(10)));
  Node& target = cluster.node(0);
  const std::string addr = target.addr();
  const uint64_t drops_before = target.counters().protocol.total_drops();

  // Random datagrams, and truncated copies of a well-formed one.
  std::mt19937_64 rng(42);
  for (int i = 0; i < 300; ++i) {
    std::string junk(rng() % 1500, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng());
    SendDatagram(addr, junk);
  }
  const std::string good = test::Datagram({test::MakePing(1, "n0")});
  for (size_t cut = 1; cut < good.size(); ++cut) {
    SendDatagram(addr, good.substr(0, cut));
  }
  EXPECT_TRUE(WaitUntil(
      [&] {
        return target.counters().protocol.total_drops() >= drops_before + 300;
      },
      absl::Seconds(5)))
      << "garbage datagrams were not all counted as drops";

  // A stream declaring more than the limit is closed at once. (Each count
  // shows in the snapshot published at the end of the loop's turn.)
  {
    RawConn c(addr);
    ASSERT_TRUE(c.ok());
    c.Send(std::string("\x7f\xff\xff\xff", 4));
    EXPECT_EQ(c.ReadAll(), "");
  }
  EXPECT_TRUE(
      WaitUntil([&] { return target.counters().net.streams_too_large >= 1; },
                absl::Seconds(2)));

  // A well-sized stream of garbage gets an error reply and is counted.
  {
    RawConn c(addr);
    ASSERT_TRUE(c.ok());
    c.Send(std::string("\0\0\0\x08garbage!", 12));
    std::string reply = c.ReadAll();
    ASSERT_GT(reply.size(), 4u);
    std::string opened;
    auto msg = core::OpenStream(std::string_view(reply).substr(4), "", 1 << 20,
                                nullptr, &opened);
    ASSERT_TRUE(msg.ok()) << msg.error.message;
    EXPECT_EQ(msg.value.kind, wire::STREAM_KIND_ERROR);
  }
  EXPECT_TRUE(
      WaitUntil([&] { return target.counters().protocol.streams_refused >= 1; },
                absl::Seconds(2)));

  // A peer that connects and stalls is closed at the idle timeout.
  {
    RawConn c(addr);
    ASSERT_TRUE(c.ok());
    c.Send(std::string("\0\0\0\x40", 4));  // promises 64 bytes, sends none
    const absl::Time start = absl::Now();
    EXPECT_EQ(c.ReadAll(), "");
    absl::Duration took = absl::Now() - start;
    EXPECT_GE(took, absl::Milliseconds(250));
    EXPECT_LT(took, absl::Seconds(3));
  }
  EXPECT_TRUE(
      WaitUntil([&] { return target.counters().net.streams_timed_out >= 1; },
                absl::Seconds(2)));

  // Through all of it the member kept its view and kept answering probes.
  EXPECT_EQ(target.NumAlive(), 3u);
  EXPECT_TRUE(cluster.AllSee(0, MemberState::kAlive));
  auto members = QueryMembers(addr);
  ASSERT_TRUE(members.ok()) << members.status();
  EXPECT_EQ(members->size(), 3u);
  const uint64_t acks_before = target.counters().protocol.packets_sent;
  EXPECT_TRUE(WaitUntil(
      [&] { return target.counters().protocol.packets_sent > acks_before + 5; },
      absl::Seconds(5)));
  EXPECT_TRUE(cluster.AllSee(0, MemberState::kAlive));
}

TEST(NetTest, InboundStreamsAreCappedInNumberAndBytes) {
  NodeConfig c = TestConfig("capped");
  c.idle_timeout = absl::Milliseconds(300);
  c.max_inbound_streams = 4;
  c.swim.limits.max_stream_bytes = 1 << 20;
  auto node = Node::Start(c);
  ASSERT_TRUE(node.ok()) << node.status();
  const std::string addr = (*node)->addr();
  auto net = [&] { return (*node)->counters().net; };

  // Past the cap on concurrent inbound streams, connections are closed.
  {
    std::vector<std::unique_ptr<RawConn>> stalled;
    for (int i = 0; i < 4; ++i) {
      stalled.push_back(std::make_unique<RawConn>(addr));
      ASSERT_TRUE(stalled.back()->ok());
    }
    ASSERT_TRUE(WaitUntil([&] { return net().streams_accepted == 4; },
                          absl::Seconds(2)));
    RawConn extra(addr);
    EXPECT_EQ(extra.ReadAll(), "");
    EXPECT_TRUE(WaitUntil([&] { return net().streams_refused == 1; },
                          absl::Seconds(2)));
    // The stalled ones are closed at their idle timeout.
    ASSERT_TRUE(WaitUntil([&] { return net().streams_timed_out == 4; },
                          absl::Seconds(3)));
  }

  // Requests in progress may together declare twice the largest one: of
  // three that each promise the largest, one is closed at once.
  {
    const uint32_t big = (1 << 20) + 4096;
    const std::string prefix = {
        static_cast<char>(big >> 24), static_cast<char>(big >> 16),
        static_cast<char>(big >> 8), static_cast<char>(big)};
    RawConn c1(addr), c2(addr), c3(addr);
    c1.Send(prefix);
    c2.Send(prefix);
    c3.Send(prefix);
    EXPECT_TRUE(WaitUntil([&] { return net().streams_refused == 2; },
                          absl::Seconds(2)));
  }
  // And the member still answers.
  auto members = QueryMembers(addr);
  ASSERT_TRUE(members.ok()) << members.status();
  EXPECT_EQ(members->size(), 1u);
}

// ---------------------------------------------------------------- misc

TEST(NetTest, QueryMembersListsTheTable) {
  Cluster cluster(3);
  ASSERT_TRUE(cluster.JoinAll().ok());
  ASSERT_TRUE(
      WaitUntil([&] { return cluster.Converged(); }, absl::Seconds(10)));
  auto members = QueryMembers(cluster.node(1).addr());
  ASSERT_TRUE(members.ok()) << members.status();
  ASSERT_EQ(members->size(), 3u);
  EXPECT_EQ((*members)[0].name, "n0");
  EXPECT_EQ((*members)[0].addr, cluster.node(0).addr());
  EXPECT_EQ((*members)[2].state, MemberState::kAlive);
  EXPECT_LE((*members)[0].state_changed, absl::Now());

  auto refused = QueryMembers("127.0.0.1:1", "", absl::Seconds(1));
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("127.0.0.1:1"),
            absl::string_view::npos);
  EXPECT_FALSE(QueryMembers("nonsense").ok());
}

// Calls queued behind a Shutdown that a callback makes, in the same batch
// of loop tasks, are refused rather than left waiting forever.
TEST(NetTest, CallsQueuedBehindAShutdownAreCancelled) {
  auto node = Node::Start(TestConfig("solo"));
  ASSERT_TRUE(node.ok()) << node.status();
  Node* n = node->get();
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool release = false;
  // Holds the loop thread inside a task, so that the three calls below are
  // queued together and run as one batch: the Shutdown first.
  n->JoinAsync({}, [&](absl::Status) {
    std::unique_lock<std::mutex> lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return entered; });
  }
  n->JoinAsync({}, [n](absl::Status) { n->Shutdown(); });
  std::atomic<int> settled{0};
  n->JoinAsync({n->addr()}, [&](absl::Status s) {
    EXPECT_TRUE(absl::IsCancelled(s)) << s;
    ++settled;
  });
  n->SendToAsync("solo", "x", [&](absl::Status s) {
    EXPECT_TRUE(absl::IsCancelled(s)) << s;
    ++settled;
  });
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  EXPECT_TRUE(WaitUntil([&] { return settled == 2; }, absl::Seconds(5)))
      << "a call queued behind the shutdown was never settled";
}

TEST(NetTest, MembersShareOneCallersLoop) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  std::vector<std::unique_ptr<Node>> nodes;
  std::atomic<int> joined{0};
  std::atomic<bool> ready{false};
  // The thread that runs the loop starts the members on it.
  std::thread runner([&] {
    for (int i = 0; i < 4; ++i) {
      NodeConfig c = TestConfig(absl::StrCat("shared", i));
      c.loop = &loop;
      auto node = Node::Start(c);
      EXPECT_TRUE(node.ok()) << node.status();
      if (!node.ok()) return;
      nodes.push_back(std::move(*node));
    }
    for (int i = 1; i < 4; ++i) {
      nodes[i]->JoinAsync({nodes[0]->addr()}, [&](absl::Status s) {
        EXPECT_TRUE(s.ok()) << s;
        ++joined;
      });
    }
    ready = true;
    uv_run(&loop, UV_RUN_DEFAULT);
  });
  ASSERT_TRUE(WaitUntil([&] { return ready.load(); }, absl::Seconds(5)));
  // Calls from this thread are marshalled to the loop's.
  EXPECT_TRUE(WaitUntil(
      [&] {
        for (auto& n : nodes)
          if (n->NumAlive() != 4) return false;
        return true;
      },
      absl::Seconds(10)));
  EXPECT_EQ(joined.load(), 3);
  // The members shut down on the loop's thread; then the loop runs dry.
  uv_async_t stop;
  stop.data = &nodes;
  uv_async_init(&loop, &stop, [](uv_async_t* a) {
    static_cast<std::vector<std::unique_ptr<Node>>*>(a->data)->clear();
    uv_close(reinterpret_cast<uv_handle_t*>(a), nullptr);
  });
  uv_async_send(&stop);
  runner.join();
  EXPECT_TRUE(nodes.empty());
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST(NetTest, Ipv6LoopbackWorks) {
  NodeConfig ca = TestConfig("v6a");
  ca.bind_addr = "[::1]:0";
  auto a = Node::Start(ca);
  if (!a.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << a.status();
  NodeConfig cb = TestConfig("v6b");
  cb.bind_addr = "[::1]:0";
  auto b = Node::Start(cb);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*a)->addr().substr(0, 5), "[::1]");
  ASSERT_TRUE((*b)->Join({(*a)->addr()}).ok());
  EXPECT_TRUE(
      WaitUntil([&] { return (*a)->NumAlive() == 2 && (*b)->NumAlive() == 2; },
                absl::Seconds(5)));
}

TEST(NetTest, TagsRoundTrip) {
  auto meta = EncodeTags({{"role", "cache"}, {"zone", "eu-1"}});
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(*meta, "role=cache\nzone=eu-1");
  auto tags = DecodeTags(*meta);
  ASSERT_TRUE(tags.has_value());
  EXPECT_EQ(tags->size(), 2u);
  EXPECT_FALSE(EncodeTags({{"a=b", "c"}}).ok());
  EXPECT_FALSE(DecodeTags("no equals sign").has_value());
  EXPECT_TRUE(DecodeTags("")->empty());
}

}  // namespace
}  // namespace roster
