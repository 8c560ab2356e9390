// Unit tests of lib/net/connection_pool: calls to a net::Streams listener
// on 127.0.0.1 over one libuv loop run by the test, against a peer that
// keeps its connections, one that serves a request per connection (as
// builds from before requests do), and one that never answers.
#include "net/connection_pool.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "net/address.h"
#include "net/stream.h"
#include "net/streams.h"

namespace roster::net {
namespace {

class ConnectionPoolTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    if (pool_) pool_->CloseAll(nullptr);
    if (server_ && !server_closed_) server_->CloseAll(nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    pool_.reset();
    server_.reset();
    EXPECT_EQ(uv_loop_close(&loop_), 0);
  }

  // A listener whose handler is `serve`, and the pool that calls it.
  void Start(Streams::Handler serve, PoolOptions options = {}) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    auto any = ParseIpPort("127.0.0.1:0");
    ASSERT_TRUE(any.ok());
    ASSERT_EQ(
        bind(fd, reinterpret_cast<const sockaddr*>(&*any), sizeof(sockaddr_in)),
        0);
    socklen_t len = sizeof(addr_);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr_), &len);
    server_ = std::make_unique<Streams>(&loop_, StreamOptions{}, &server_net_);
    ASSERT_TRUE(server_->Listen(fd, std::move(serve)).ok());
    pool_ = std::make_unique<ConnectionPool>(&loop_, options, &net_);
  }

  // Makes `n` calls one after another, each sent from the previous one's
  // outcome, and runs the loop until the last has one.
  std::vector<absl::StatusOr<std::string>> CallInTurn(
      int n, absl::Duration timeout = absl::Seconds(2)) {
    std::vector<absl::StatusOr<std::string>> out;
    std::function<void()> next = [&] {
      pool_->Call(addr_, "peer", LengthPrefixed("ask"), timeout,
                  [&](absl::StatusOr<std::string> reply) {
                    out.push_back(std::move(reply));
                    if (static_cast<int>(out.size()) < n) next();
                  });
    };
    next();
    while (static_cast<int>(out.size()) < n) uv_run(&loop_, UV_RUN_ONCE);
    return out;
  }

  uv_loop_t loop_;
  sockaddr_storage addr_{};
  NetCounters net_;
  NetCounters server_net_;
  std::unique_ptr<Streams> server_;
  std::unique_ptr<ConnectionPool> pool_;
  bool server_closed_ = false;
};

Streams::Handler Answering(bool keep_open) {
  return [keep_open](const std::string&, std::string_view frame,
                     Streams::Respond respond) {
    respond(LengthPrefixed(std::string("re:") + std::string(frame)), keep_open);
  };
}

TEST_F(ConnectionPoolTest, CallsInTurnShareOneConnection) {
  Start(Answering(/*keep_open=*/true));
  for (const auto& reply : CallInTurn(5)) {
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(*reply, "re:ask");
  }
  EXPECT_EQ(net_.message_connections_opened, 1u);
  EXPECT_EQ(net_.message_connections_reused, 4u);
  EXPECT_EQ(server_net_.streams_accepted, 1u);
  EXPECT_EQ(server_net_.streams_reused, 4u);
}

TEST_F(ConnectionPoolTest, APeerServingOneRequestPerConnectionStillAnswers) {
  Start(Answering(/*keep_open=*/false));
  for (const auto& reply : CallInTurn(5)) {
    ASSERT_TRUE(reply.ok()) << reply.status();
  }
  // Each call found its connection closed, before or after sending on it.
  EXPECT_EQ(net_.message_connections_opened, 5u);
  EXPECT_EQ(server_net_.streams_accepted, 5u);
  EXPECT_EQ(server_net_.streams_reused, 0u);
}

TEST_F(ConnectionPoolTest, ADeadlineFailsTheCallAndClosesItsConnection) {
  std::vector<Streams::Respond> held;
  Start([&](const std::string&, std::string_view, Streams::Respond respond) {
    held.push_back(std::move(respond));
  });
  auto replies = CallInTurn(1, absl::Milliseconds(100));
  ASSERT_TRUE(absl::IsDeadlineExceeded(replies[0].status()))
      << replies[0].status();
  EXPECT_EQ(net_.message_timeouts, 1u);
  EXPECT_EQ(net_.message_connections_closed, 1u);
  // The answer that comes late goes nowhere.
  ASSERT_EQ(held.size(), 1u);
  held[0](LengthPrefixed("late"), true);
  uv_run(&loop_, UV_RUN_NOWAIT);
}

TEST_F(ConnectionPoolTest, CallsPastTheWaitingBoundAreRefused) {
  PoolOptions options;
  options.max_per_peer = 1;
  options.max_waiting_per_peer = 2;
  std::vector<Streams::Respond> held;
  Start([&](const std::string&, std::string_view,
            Streams::Respond respond) { held.push_back(std::move(respond)); },
        options);
  std::vector<absl::Status> outcomes;
  for (int i = 0; i < 3; ++i) {
    // All three arrive before the pool dispatches: two wait (one then goes
    // on the one connection, the other waits for it), the third is past
    // the bound.
    pool_->Call(addr_, "peer", LengthPrefixed("ask"), absl::Milliseconds(200),
                [&](absl::StatusOr<std::string> reply) {
                  outcomes.push_back(reply.status());
                });
  }
  while (outcomes.size() < 3) uv_run(&loop_, UV_RUN_ONCE);
  EXPECT_TRUE(absl::IsResourceExhausted(outcomes[0])) << outcomes[0];
  EXPECT_TRUE(absl::IsDeadlineExceeded(outcomes[1])) << outcomes[1];
  EXPECT_TRUE(absl::IsDeadlineExceeded(outcomes[2])) << outcomes[2];
  EXPECT_EQ(net_.message_connections_opened, 1u);
}

TEST_F(ConnectionPoolTest, NobodyListeningIsUnavailable) {
  Start(Answering(true));
  server_->CloseAll(nullptr);
  server_closed_ = true;
  uv_run(&loop_, UV_RUN_NOWAIT);
  auto replies = CallInTurn(1);
  EXPECT_TRUE(absl::IsUnavailable(replies[0].status())) << replies[0].status();
}

}  // namespace
}  // namespace roster::net
