// SendTo and Request over loopback: per-call deadlines, connections kept
// and reused per member, request and response, handlers off the loop
// thread, and hostile frames on a reused connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/wire/streams.h"
#include "gtest/gtest.h"
#include "net/stream.h"
#include "roster/node.h"
#include "test/common/wait_until.h"
#include "test/net/net_cluster.h"

namespace roster {
namespace {

// Holds handlers until the test opens it, and says how many came in.
class Gate {
 public:
  void Pass() {
    std::unique_lock<std::mutex> lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool WaitEntered(int n, absl::Duration limit) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoMilliseconds(limit),
                        [&] { return entered_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool open_ = false;
};

// Opens the gate when the test ends, however it ends, before the cluster
// (declared after it) waits for its handlers.
struct OpenOnExit {
  Gate& gate;
  ~OpenOnExit() { gate.Open(); }
};

// Outcomes of async calls, for the test thread.
struct Outcomes {
  std::mutex mu;
  std::vector<absl::Status> statuses;
  void Add(absl::Status s) {
    std::lock_guard<std::mutex> lock(mu);
    statuses.push_back(std::move(s));
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return statuses.size();
  }
  int Count(absl::StatusCode code) {
    std::lock_guard<std::mutex> lock(mu);
    int n = 0;
    for (const auto& s : statuses) n += s.code() == code;
    return n;
  }
};

void Echo(NodeConfig& c) {
  c.on_request = [](std::string_view from,
                    std::string_view payload) -> absl::StatusOr<std::string> {
    return absl::StrCat(std::string(from), ":", std::string(payload));
  };
}

TEST(MessagesTest, RequestRoundTripsWithinTheSizeLimit) {
  constexpr size_t kMax = 64 << 10;
  Cluster cluster(2, [](NodeConfig& c) {
    Echo(c);
    c.max_message_bytes = kMax;
  });
  ASSERT_TRUE(cluster.JoinAll().ok());
  Node& a = cluster.node(0);

  auto r = a.Request("n1", "ping", absl::Seconds(2));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "n0:ping");
  r = a.Request("n1", "", absl::Seconds(2));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "n0:");

  // The largest payload goes; its echo, 3 bytes longer, is over the
  // receiver's limit for a response.
  r = a.Request("n1", std::string(kMax, 'x'), absl::Seconds(2));
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("response"), std::string::npos)
      << r.status();
  r = a.Request("n1", std::string(kMax - 3, 'x'), absl::Seconds(2));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), kMax);

  r = a.Request("n1", std::string(kMax + 1, 'x'), absl::Seconds(2));
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_TRUE(absl::IsNotFound(a.Request("nobody", "x").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      a.Request("n1", "x", absl::ZeroDuration()).status()));

  const NodeCounters sender = a.counters();
  EXPECT_EQ(sender.net.requests_sent, 3u);
  // Its snapshot is published at the end of its loop's turn.
  EXPECT_TRUE(WaitUntil(
      [&] { return cluster.node(1).counters().net.requests_received == 4u; },
      absl::Seconds(2)));
}

TEST(MessagesTest, TheHandlersErrorTravelsWithItsCode) {
  Cluster cluster(2, [](NodeConfig& c) {
    c.on_request = [](std::string_view,
                      std::string_view key) -> absl::StatusOr<std::string> {
      return absl::NotFoundError(absl::StrCat("no key ", std::string(key)));
    };
  });
  ASSERT_TRUE(cluster.JoinAll().ok());
  auto r = cluster.node(0).Request("n1", "k7", absl::Seconds(2));
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("no key k7"), std::string::npos)
      << r.status();
}

TEST(MessagesTest, NoHandlerIsAFailedPrecondition) {
  Cluster cluster(2, [](NodeConfig& c) { c.on_message = nullptr; });
  ASSERT_TRUE(cluster.JoinAll().ok());
  auto r = cluster.node(0).Request("n1", "x", absl::Seconds(2));
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  EXPECT_NE(r.status().message().find("no request handler"), std::string::npos)
      << r.status();
  absl::Status s = cluster.node(0).SendTo("n1", "x", absl::Seconds(2));
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("no message handler"), std::string::npos) << s;
}

TEST(MessagesTest, AHandlerThatDoesNotAnswerCostsTheCallItsDeadlineOnly) {
  Gate gate;
  Cluster cluster(2, [&](NodeConfig& c) {
    c.on_message = [&](std::string_view, std::string_view) { gate.Pass(); };
  });
  OpenOnExit open_on_exit{gate};
  ASSERT_TRUE(cluster.JoinAll().ok());
  Node& a = cluster.node(0);

  Outcomes outcomes;
  const absl::Time start = absl::Now();
  a.SendToAsync("n1", "slow", absl::Milliseconds(300),
                [&](absl::Status s) { outcomes.Add(std::move(s)); });
  ASSERT_TRUE(
      WaitUntil([&] { return outcomes.size() == 1; }, absl::Seconds(3)));
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(290));
  EXPECT_LT(took, absl::Milliseconds(1300));
  {
    std::lock_guard<std::mutex> lock(outcomes.mu);
    const absl::Status& s = outcomes.statuses[0];
    EXPECT_TRUE(absl::IsDeadlineExceeded(s)) << s;
    EXPECT_NE(s.message().find("not known whether 'n1' handled it"),
              std::string::npos)
        << s;
  }
  EXPECT_EQ(a.counters().net.message_timeouts, 1u);

  // The handler returns after the deadline: its answer finds the call
  // settled and the connection gone, and changes nothing.
  ASSERT_TRUE(gate.WaitEntered(1, absl::Seconds(2)));
  gate.Open();
  ASSERT_TRUE(WaitUntil(
      [&] { return cluster.node(1).counters().net.messages_received == 1; },
      absl::Seconds(3)));
  EXPECT_TRUE(a.SendTo("n1", "next", absl::Seconds(2)).ok());
  EXPECT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(a.counters().net.messages_sent, 1u);
}

TEST(MessagesTest, ConnectionsAreReusedAndBoundedByThePool) {
  Cluster cluster(2, [](NodeConfig& c) {
    Echo(c);
    c.message_connections = 2;
  });
  ASSERT_TRUE(cluster.JoinAll().ok());
  Node& a = cluster.node(0);
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(a.SendTo("n1", absl::StrCat("m", i)).ok());
  std::vector<std::thread> callers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (!a.Request("n1", "r", absl::Seconds(2)).ok()) ++failures;
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(failures.load(), 0);

  const NetCounters net = a.counters().net;
  EXPECT_LE(net.message_connections_opened, 2u);
  EXPECT_GE(net.message_connections_reused, 300u - 2u);
  EXPECT_EQ(net.messages_sent, 100u);
  EXPECT_EQ(net.requests_sent, 200u);
  // Its snapshot is published at the end of its loop's turn.
  EXPECT_TRUE(WaitUntil(
      [&] {
        return cluster.node(1).counters().net.streams_reused >= 300u - 2u;
      },
      absl::Seconds(2)));
}

TEST(MessagesTest, APeerClosingIdleConnectionsCostsNoCall) {
  // The receiver keeps an answered connection 2 x 100 ms; the sender
  // would keep it far longer, and must find out it is gone.
  Cluster cluster(2, [](NodeConfig& c) {
    c.connection_idle_timeout =
        c.swim.name == "n1" ? absl::Milliseconds(100) : absl::Seconds(30);
  });
  ASSERT_TRUE(cluster.JoinAll().ok());
  Node& a = cluster.node(0);
  ASSERT_TRUE(a.SendTo("n1", "one").ok());
  ASSERT_TRUE(WaitUntil(
      [&] { return cluster.node(1).counters().net.streams_idle_closed >= 1; },
      absl::Seconds(3)));
  ASSERT_TRUE(a.SendTo("n1", "two").ok());
  EXPECT_EQ(a.counters().net.messages_sent, 2u);
}

TEST(MessagesTest, TheFailedMembersConnectionsCloseAndCallsFailFast) {
  Cluster cluster(2);
  ASSERT_TRUE(cluster.JoinAll().ok());
  Node& a = cluster.node(0);
  ASSERT_TRUE(a.SendTo("n1", "before").ok());
  EXPECT_EQ(a.counters().net.message_connections_opened, 1u);
  cluster.Kill(1);
  ASSERT_TRUE(WaitUntil(
      [&] {
        const NetCounters net = a.counters().net;
        return net.message_connections_closed == net.message_connections_opened;
      },
      absl::Seconds(5)))
      << "a connection to the member that shut down is still open";
  absl::Time start = absl::Now();
  absl::Status s = a.SendTo("n1", "after", absl::Seconds(2));
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));

  ASSERT_TRUE(WaitUntil([&] { return cluster.AllSee(1, MemberState::kDead); },
                        absl::Seconds(15)));
  start = absl::Now();
  s = a.SendTo("n1", "dead", absl::Seconds(2));
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_NE(s.message().find("dead"), std::string::npos) << s;
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(100));
}

TEST(MessagesTest, AMemberThatLeftHasItsConnectionsClosed) {
  // Both sides would keep an idle connection far longer than the test:
  // only the leave closes it.
  Cluster cluster(
      2, [](NodeConfig& c) { c.connection_idle_timeout = absl::Seconds(60); });
  ASSERT_TRUE(cluster.JoinAll().ok());
  Node& a = cluster.node(0);
  ASSERT_TRUE(a.SendTo("n1", "before").ok());
  ASSERT_TRUE(cluster.node(1).Leave(absl::Seconds(5)).ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto m = a.Lookup("n1");
        return m && m->state == MemberState::kLeft;
      },
      absl::Seconds(5)));
  ASSERT_TRUE(WaitUntil(
      [&] {
        const NetCounters net = a.counters().net;
        return net.message_connections_closed == 1;
      },
      absl::Seconds(2)));
  EXPECT_EQ(a.counters().net.message_connections_idle_closed, 0u);
  absl::Status s = a.SendTo("n1", "after", absl::Seconds(2));
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_NE(s.message().find("left"), std::string::npos) << s;
}

TEST(MessagesTest, TheBytesWaitingForTheHandlerAreBounded) {
  // 16 times max_message_bytes may wait, however many messages that is.
  constexpr size_t kMessage = 4096;
  Gate gate;
  Cluster cluster(2, [&](NodeConfig& c) {
    c.max_message_bytes = kMessage;
    c.message_connections = 32;  // each call on a connection of its own
    c.on_message = [&](std::string_view, std::string_view) { gate.Pass(); };
  });
  OpenOnExit open_on_exit{gate};
  ASSERT_TRUE(cluster.JoinAll().ok());
  Node& a = cluster.node(0);
  Outcomes outcomes;
  auto send = [&] {
    a.SendToAsync("n1", std::string(kMessage, 'm'), absl::Seconds(10),
                  [&](absl::Status s) { outcomes.Add(std::move(s)); });
  };
  send();
  ASSERT_TRUE(gate.WaitEntered(1, absl::Seconds(3)));
  for (int i = 0; i < 17; ++i) send();  // 16 fit behind the one under way
  ASSERT_TRUE(
      WaitUntil([&] { return outcomes.size() == 1; }, absl::Seconds(5)));
  EXPECT_EQ(outcomes.Count(absl::StatusCode::kResourceExhausted), 1);
  gate.Open();
  ASSERT_TRUE(
      WaitUntil([&] { return outcomes.size() == 18; }, absl::Seconds(10)));
  EXPECT_EQ(outcomes.Count(absl::StatusCode::kOk), 17);
}

TEST(MessagesTest, AFullHandlerQueueRefusesAtOnce) {
  Gate gate;
  Cluster cluster(2, [&](NodeConfig& c) {
    c.message_connections = 4;
    c.max_pending_messages = 1;
    c.on_message = [&](std::string_view, std::string_view) { gate.Pass(); };
  });
  OpenOnExit open_on_exit{gate};
  ASSERT_TRUE(cluster.JoinAll().ok());
  Node& a = cluster.node(0);
  Outcomes outcomes;
  auto send = [&] {
    a.SendToAsync("n1", "m", absl::Seconds(10),
                  [&](absl::Status s) { outcomes.Add(std::move(s)); });
  };
  send();
  ASSERT_TRUE(gate.WaitEntered(1, absl::Seconds(3)));
  // One waits in the queue of one; the other is refused.
  send();
  send();
  ASSERT_TRUE(
      WaitUntil([&] { return outcomes.size() == 1; }, absl::Seconds(3)));
  EXPECT_EQ(outcomes.Count(absl::StatusCode::kResourceExhausted), 1);
  // Its snapshot is published at the end of its loop's turn.
  EXPECT_TRUE(WaitUntil(
      [&] { return cluster.node(1).counters().net.messages_overflowed == 1u; },
      absl::Seconds(2)));
  gate.Open();
  ASSERT_TRUE(
      WaitUntil([&] { return outcomes.size() == 3; }, absl::Seconds(3)));
  EXPECT_EQ(outcomes.Count(absl::StatusCode::kOk), 2);
}

TEST(MessagesTest, ASlowMessageHandlerCostsItsMemberNoSuspicion) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  Cluster cluster(3, [&](NodeConfig& c) {
    if (c.swim.name != "n1") return;
    c.on_message = [&](std::string_view, std::string_view) {
      // Slow on purpose: the application's own work, 10 s of it.
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, std::chrono::seconds(10), [&] { return release; });
    };
  });
  ASSERT_TRUE(cluster.JoinAll().ok());
  ASSERT_TRUE(
      WaitUntil([&] { return cluster.Converged(); }, absl::Seconds(10)));
  const absl::Time start = absl::Now();
  absl::Status s = cluster.node(0).SendTo("n1", "slow", absl::Seconds(20));
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_GE(absl::Now() - start, absl::Seconds(9));
  for (int o : {0, 2}) {
    std::lock_guard<std::mutex> lock(cluster.recorder(o).mu);
    for (const Event& e : cluster.recorder(o).events) {
      EXPECT_FALSE(e.member.name == "n1" && (e.type == EventType::kSuspected ||
                                             e.type == EventType::kFailed))
          << "n" << o << " saw n1 " << EventTypeName(e.type);
    }
  }
  EXPECT_EQ(cluster.node(1).counters().protocol.refutations, 0u);
}

// A blocking TCP client that reads one length-prefixed frame at a time.
class FrameConn {
 public:
  explicit FrameConn(const std::string& addr) {
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
  ~FrameConn() { close(fd_); }
  bool ok() const { return ok_; }
  void Send(const std::string& bytes) {
    (void)!write(fd_, bytes.data(), bytes.size());
  }
  // The next frame's kind, or nullopt when the peer closed (or 5 s of
  // silence).
  std::optional<wire::StreamKind> ReadKind() {
    std::string prefix = ReadExactly(4);
    if (prefix.size() < 4) return std::nullopt;
    std::string frame = ReadExactly(net::ReadLengthPrefix(prefix));
    std::string opened;
    auto stream = core::OpenStream(frame, "", 1 << 20, nullptr, &opened);
    if (!stream.ok()) return std::nullopt;
    return stream.value.kind;
  }
  bool Closed() {
    char c;
    return read(fd_, &c, 1) == 0;
  }

 private:
  std::string ReadExactly(size_t n) {
    std::string out;
    char buf[4096];
    while (out.size() < n) {
      ssize_t got = read(fd_, buf, std::min(sizeof(buf), n - out.size()));
      if (got <= 0) break;
      out.append(buf, static_cast<size_t>(got));
    }
    return out;
  }
  int fd_ = -1;
  bool ok_ = false;
};

std::string MessageFrame(const std::string& payload) {
  return net::LengthPrefixed(core::SealStream(
      wire::STREAM_KIND_MESSAGE,
      core::EncodeAppMessage("raw", payload, /*reply_with_status=*/true), "",
      nullptr));
}

TEST(MessagesTest, HostileFramesOnAReusedConnectionAreCountedDrops) {
  Cluster cluster(2);
  ASSERT_TRUE(cluster.JoinAll().ok());
  Node& target = cluster.node(1);
  const std::string addr = target.addr();
  const NodeCounters before = target.counters();

  // Two messages in turn, then garbage of a valid length: an error reply,
  // and the connection closes.
  {
    FrameConn c(addr);
    ASSERT_TRUE(c.ok());
    for (int i = 0; i < 2; ++i) {
      c.Send(MessageFrame("hi"));
      EXPECT_EQ(c.ReadKind(), wire::STREAM_KIND_REPLY);
    }
    c.Send(std::string("\0\0\0\x08garbage!", 12));
    EXPECT_EQ(c.ReadKind(), wire::STREAM_KIND_ERROR);
    EXPECT_TRUE(c.Closed());
  }
  // A message, then a frame declaring 0 bytes, and one declaring too many.
  for (const std::string& bad :
       {std::string("\0\0\0\0", 4), std::string("\x7f\xff\xff\xff", 4)}) {
    FrameConn c(addr);
    ASSERT_TRUE(c.ok());
    c.Send(MessageFrame("hi"));
    EXPECT_EQ(c.ReadKind(), wire::STREAM_KIND_REPLY);
    c.Send(bad);
    EXPECT_TRUE(c.Closed());
  }
  // Two requests at once: the first is answered, then the connection
  // closes (one at a time is the rule).
  {
    FrameConn c(addr);
    ASSERT_TRUE(c.ok());
    c.Send(MessageFrame("one") + MessageFrame("two"));
    EXPECT_EQ(c.ReadKind(), wire::STREAM_KIND_REPLY);
    EXPECT_TRUE(c.Closed());
  }
  // The target's snapshot is published at the end of its loop's turn.
  EXPECT_TRUE(WaitUntil(
      [&] {
        return target.counters().net.messages_received ==
               before.net.messages_received + 5;
      },
      absl::Seconds(2)));
  const NodeCounters after = target.counters();
  EXPECT_GE(after.protocol.total_drops(), before.protocol.total_drops() + 1);
  EXPECT_GE(after.net.streams_malformed, before.net.streams_malformed + 1);
  EXPECT_GE(after.net.streams_too_large, before.net.streams_too_large + 1);
  EXPECT_GE(after.net.streams_reused, before.net.streams_reused + 2);
  EXPECT_EQ(after.net.messages_received, before.net.messages_received + 5);
  // The member still serves.
  EXPECT_TRUE(cluster.node(0).SendTo("n1", "still there").ok());
}

TEST(MessagesTest, ManyIdleConnectionsMakeRoomForNewOnes) {
  Cluster cluster(2, [](NodeConfig& c) { c.max_inbound_streams = 4; });
  ASSERT_TRUE(cluster.JoinAll().ok());
  const std::string addr = cluster.node(1).addr();
  std::vector<std::unique_ptr<FrameConn>> idle;
  for (int i = 0; i < 6; ++i) {
    idle.push_back(std::make_unique<FrameConn>(addr));
    ASSERT_TRUE(idle.back()->ok());
    idle.back()->Send(MessageFrame("hi"));
    EXPECT_EQ(idle.back()->ReadKind(), wire::STREAM_KIND_REPLY) << i;
  }
  // Its snapshot is published at the end of its loop's turn.
  EXPECT_TRUE(WaitUntil(
      [&] { return cluster.node(1).counters().net.streams_evicted >= 2u; },
      absl::Seconds(2)));
  EXPECT_TRUE(cluster.node(0).SendTo("n1", "room").ok());
}

}  // namespace
}  // namespace roster
