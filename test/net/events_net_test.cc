// User events and queries (roster/events.h) between three Nodes on
// loopback: delivery to every node, queries answered by every node a
// filter selects, QueryAsync's order of calls, and the statuses Node gives.
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "roster/events.h"
#include "roster/node.h"
#include "roster/tags.h"
#include "test/common/wait_until.h"
#include "test/net/net_cluster.h"

namespace roster {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr absl::Duration kWait = absl::Seconds(20);

// The user events one node saw, safe to read from the test thread.
struct Seen {
  std::mutex mu;
  std::vector<UserEvent> events;
  size_t Count(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu);
    size_t n = 0;
    for (const UserEvent& e : events) n += e.name == name;
    return n;
  }
};

// n0 is a web server, n1 and n2 databases; n2 answers no query.
class EventsNetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) seen_[i] = std::make_unique<Seen>();
    cluster_ = std::make_unique<Cluster>(3, [this](NodeConfig& c) {
      const int i = c.swim.name.back() - '0';
      auto meta = EncodeTags(
          {{"role", i == 0 ? "web" : "db"}, {"rack", absl::StrCat("r", i)}});
      ASSERT_TRUE(meta.ok()) << meta.status();
      c.swim.meta = *meta;
      Seen* seen = seen_[i].get();
      c.on_user_event = [seen](const UserEvent& e) {
        std::lock_guard<std::mutex> lock(seen->mu);
        seen->events.push_back(e);
      };
      if (i != 2) {
        const std::string name = c.swim.name;
        c.on_query = [name](const QueryRequest& q) {
          return std::optional<std::string>(
              absl::StrCat(name, ":", q.name, ":", q.payload));
        };
      }
    });
    ASSERT_TRUE(cluster_->JoinAll().ok());
    ASSERT_TRUE(WaitUntil([&] { return cluster_->Converged(); }, kWait));
  }

  static QueryParams Params(std::string name) {
    QueryParams p;
    p.name = std::move(name);
    p.payload = "p";
    p.timeout = absl::Seconds(2);
    return p;
  }

  std::unique_ptr<Seen> seen_[3];
  std::unique_ptr<Cluster> cluster_;
};

TEST_F(EventsNetTest, AUserEventReachesEveryNodeOnce) {
  ASSERT_TRUE(cluster_->node(1).UserEvent("deploy", "v7").ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (auto& seen : seen_)
          if (seen->Count("deploy") == 0) return false;
        return true;
      },
      kWait));
  for (int i = 0; i < 3; ++i) {
    std::lock_guard<std::mutex> lock(seen_[i]->mu);
    ASSERT_EQ(seen_[i]->events.size(), 1u) << i;
    EXPECT_EQ(seen_[i]->events[0].payload, "v7");
    EXPECT_EQ(seen_[i]->events[0].origin, "n1");
  }
  // A second event comes after the first on every node's clock.
  ASSERT_TRUE(cluster_->node(2).UserEvent("deploy", "v8").ok());
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (auto& seen : seen_)
          if (seen->Count("deploy") < 2) return false;
        return true;
      },
      kWait));
  for (int i = 0; i < 3; ++i) {
    std::lock_guard<std::mutex> lock(seen_[i]->mu);
    ASSERT_EQ(seen_[i]->events.size(), 2u) << i;
    EXPECT_GT(seen_[i]->events[1].ltime, seen_[i]->events[0].ltime);
  }
}

TEST_F(EventsNetTest,
       AQueryHearsEveryNodeThatAnswersAndMissesTheOneThatDoesNot) {
  QueryParams p = Params("who");
  p.request_ack = true;
  auto result = cluster_->node(0).Query(p);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->expected, ElementsAre("n0", "n1", "n2"));
  EXPECT_THAT(result->acks, UnorderedElementsAre("n0", "n1", "n2"));
  EXPECT_TRUE(result->missing_acks.empty());
  EXPECT_THAT(result->responses, UnorderedElementsAre(Pair("n0", "n0:who:p"),
                                                      Pair("n1", "n1:who:p")));
  // n2 has no on_query: it acknowledges, and gives no response.
  EXPECT_THAT(result->missing_responses, ElementsAre("n2"));
}

TEST_F(EventsNetTest, AQueryByNodeNameAsksOnlyThoseNamed) {
  QueryParams p = Params("named");
  p.nodes = {"n1"};
  p.request_ack = true;
  auto result = cluster_->node(0).Query(p);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->expected, ElementsAre("n1"));
  EXPECT_THAT(result->acks, ElementsAre("n1"));
  EXPECT_THAT(result->responses, ElementsAre(Pair("n1", "n1:named:p")));
  EXPECT_TRUE(result->missing_responses.empty());
}

TEST_F(EventsNetTest, AQueryByTagAsksOnlyTheMembersWhoseTagsMatch) {
  QueryParams p = Params("dbs");
  p.tags = {{"role", "^db$"}};
  p.request_ack = true;
  auto result = cluster_->node(0).Query(p);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->expected, ElementsAre("n1", "n2"));
  EXPECT_THAT(result->acks, UnorderedElementsAre("n1", "n2"));
  EXPECT_THAT(result->responses, ElementsAre(Pair("n1", "n1:dbs:p")));
  EXPECT_THAT(result->missing_responses, ElementsAre("n2"));
  // Anywhere in the value unless anchored: "r" is in every rack.
  p.tags = {{"rack", "1"}, {"role", "b"}};
  result = cluster_->node(2).Query(p);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->expected, ElementsAre("n1"));
  EXPECT_THAT(result->responses, ElementsAre(Pair("n1", "n1:dbs:p")));
}

TEST_F(EventsNetTest, QueryAsyncCallsAcksAndResponsesBeforeDone) {
  struct Calls {
    std::mutex mu;
    std::vector<std::string> order;
    bool done = false;
    std::optional<absl::StatusOr<QueryResult>> result;
  };
  auto calls = std::make_shared<Calls>();
  QueryParams p = Params("async");
  p.request_ack = true;
  cluster_->node(1).QueryAsync(
      p, {.on_ack =
              [calls](std::string_view from) {
                std::lock_guard<std::mutex> lock(calls->mu);
                calls->order.push_back("ack " + std::string(from));
              },
          .on_response =
              [calls](std::string_view from, std::string_view payload) {
                std::lock_guard<std::mutex> lock(calls->mu);
                calls->order.push_back("response " + std::string(from));
                EXPECT_EQ(payload, std::string(from) + ":async:p");
              },
          .on_done =
              [calls](absl::StatusOr<QueryResult> r) {
                std::lock_guard<std::mutex> lock(calls->mu);
                calls->order.push_back("done");
                calls->result = std::move(r);
                calls->done = true;
              }});
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(calls->mu);
        return calls->done;
      },
      kWait));
  std::lock_guard<std::mutex> lock(calls->mu);
  ASSERT_TRUE(calls->result->ok()) << calls->result->status();
  const QueryResult& r = **calls->result;
  // Each ack and response heard once, as the summary lists them, and done
  // last.
  ASSERT_EQ(calls->order.size(), r.acks.size() + r.responses.size() + 1);
  EXPECT_EQ(calls->order.back(), "done");
  std::vector<std::string> acks, responses;
  for (size_t i = 0; i + 1 < calls->order.size(); ++i) {
    const std::string& call = calls->order[i];
    if (call.rfind("ack ", 0) == 0) acks.push_back(call.substr(4));
    if (call.rfind("response ", 0) == 0) responses.push_back(call.substr(9));
  }
  EXPECT_EQ(acks, r.acks);
  std::vector<std::string> from_result;
  for (const auto& [from, payload] : r.responses) from_result.push_back(from);
  EXPECT_EQ(responses, from_result);
  EXPECT_THAT(r.acks, UnorderedElementsAre("n0", "n1", "n2"));
  EXPECT_THAT(from_result, UnorderedElementsAre("n0", "n1"));
  // A member's ack comes before its response.
  for (const std::string& from : {std::string("n0"), std::string("n1")}) {
    auto ack = std::find(calls->order.begin(), calls->order.end(),
                         absl::StrCat("ack ", from));
    auto response = std::find(calls->order.begin(), calls->order.end(),
                              absl::StrCat("response ", from));
    EXPECT_LT(ack, response) << from;
  }
}

TEST_F(EventsNetTest, BadParamsAreInvalidArgumentThroughTheNode) {
  EXPECT_EQ(cluster_->node(0).UserEvent("", "x").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cluster_->node(0).UserEvent("e", std::string(4096, 'x')).code(),
            absl::StatusCode::kInvalidArgument);
  QueryParams bad_regex = Params("q");
  bad_regex.tags = {{"role", "("}};
  EXPECT_EQ(cluster_->node(0).Query(bad_regex).status().code(),
            absl::StatusCode::kInvalidArgument);
  QueryParams relays = Params("q");
  relays.relay_factor = 9;
  EXPECT_EQ(cluster_->node(0).Query(relays).status().code(),
            absl::StatusCode::kInvalidArgument);
  // QueryAsync says so at once, on the calling thread.
  std::optional<absl::Status> status;
  cluster_->node(0).QueryAsync(
      bad_regex,
      {.on_ack = nullptr,
       .on_response = nullptr,
       .on_done = [&](absl::StatusOr<QueryResult> r) { status = r.status(); }});
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(EventsNetTest, AfterShutdownQueriesAndEventsAreCancelled) {
  cluster_->Kill(2);
  EXPECT_EQ(cluster_->node(2).Query(Params("q")).status().code(),
            absl::StatusCode::kCancelled);
  EXPECT_EQ(cluster_->node(2).UserEvent("e", "").code(),
            absl::StatusCode::kCancelled);
}

TEST_F(EventsNetTest, AShutdownCancelsAQueryWaitingForItsDeadline) {
  std::optional<absl::StatusOr<QueryResult>> result;
  std::mutex mu;
  QueryParams p = Params("long");
  p.timeout = absl::Minutes(5);
  cluster_->node(0).QueryAsync(p,
                               {.on_ack = nullptr,
                                .on_response = nullptr,
                                .on_done = [&](absl::StatusOr<QueryResult> r) {
                                  std::lock_guard<std::mutex> lock(mu);
                                  result = std::move(r);
                                }});
  cluster_->Kill(0);
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return result.has_value();
      },
      kWait));
  EXPECT_EQ(result->status().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace roster
