// Application messages and requests through one roster::Swim's streams:
// the frames a sender writes, the answers a receiver's delegate gives now
// or later, the statuses that travel back, and what a build from before
// requests sends and reads.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "core/wire/streams.h"
#include "gtest/gtest.h"
#include "proto/roster.pb.h"
#include "roster/runtime.h"
#include "roster/swim.h"
#include "test/core/swim_harness.h"

namespace roster::test {
namespace {

// Keeps each message's answer for the test to give.
class AnsweringLater : public Delegate {
 public:
  struct Call {
    std::string from;
    std::string payload;
    AppMessageKind kind;
    AppAnswer answer;
  };
  void OnAppMessage(std::string_view from, std::string_view payload,
                    AppMessageKind kind, AppAnswer answer) override {
    calls.push_back(
        Call{std::string(from), std::string(payload), kind, std::move(answer)});
  }
  std::vector<Call> calls;
};

class SwimMessagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sender = Swim::Create(
        Config::ForProfile(Profile::kLan, "sender", "10.0.0.2:7946"), &rt_,
        nullptr);
    auto receiver = Swim::Create(
        Config::ForProfile(Profile::kLan, "receiver", "10.0.0.3:7946"), &rt_,
        &app_);
    ASSERT_TRUE(sender.ok() && receiver.ok());
    sender_ = std::move(*sender);
    receiver_ = std::move(*receiver);
  }

  // Serves `frame` at the receiver; the reply, once given, and whether
  // the connection may carry another request.
  struct Reply {
    std::optional<std::string> frame;
    bool keep_open = false;
  };
  std::shared_ptr<Reply> Serve(const std::string& frame) {
    auto reply = std::make_shared<Reply>();
    receiver_->HandleStream("10.0.0.2:7946", frame,
                            [reply](std::string f, bool keep_open) {
                              reply->frame = std::move(f);
                              reply->keep_open = keep_open;
                            });
    return reply;
  }

  ScriptedRuntime rt_;
  AnsweringLater app_;
  std::unique_ptr<Swim> sender_;
  std::unique_ptr<Swim> receiver_;
};

TEST_F(SwimMessagesTest, ARequestIsAnsweredWhenTheDelegateSays) {
  auto reply = Serve(sender_->RequestFrame("question"));
  ASSERT_EQ(app_.calls.size(), 1u);
  EXPECT_EQ(app_.calls[0].from, "sender");
  EXPECT_EQ(app_.calls[0].payload, "question");
  EXPECT_EQ(app_.calls[0].kind, AppMessageKind::kRequest);
  EXPECT_FALSE(reply->frame.has_value());

  app_.calls[0].answer(std::string("answer"));
  ASSERT_TRUE(reply->frame.has_value());
  EXPECT_TRUE(reply->keep_open);
  auto response = sender_->ReadResponse(*reply->frame);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(*response, "answer");

  // A second answer changes nothing.
  reply->frame.reset();
  app_.calls[0].answer(std::string("again"));
  EXPECT_FALSE(reply->frame.has_value());
}

TEST_F(SwimMessagesTest, RefusalsTravelWithTheirCode) {
  for (absl::Status refusal : {absl::ResourceExhaustedError("queue full"),
                               absl::FailedPreconditionError("no handler"),
                               absl::InvalidArgumentError("too large"),
                               absl::NotFoundError("no such key")}) {
    app_.calls.clear();
    auto reply = Serve(sender_->MessageRequest("m"));
    ASSERT_EQ(app_.calls.size(), 1u);
    EXPECT_EQ(app_.calls[0].kind, AppMessageKind::kMessage);
    app_.calls[0].answer(refusal);
    ASSERT_TRUE(reply->frame.has_value());
    absl::Status status = sender_->ReadReply(*reply->frame);
    EXPECT_EQ(status.code(), refusal.code()) << status;
    EXPECT_NE(status.message().find(refusal.message()), std::string::npos)
        << status;
  }
  EXPECT_EQ(receiver_->counters().streams_refused, 4u);
}

TEST_F(SwimMessagesTest, AMessageFromAnOlderBuildGetsOkOrError) {
  // Before requests, a message did not ask for a status reply.
  const std::string old_message =
      core::SealStream(wire::STREAM_KIND_MESSAGE,
                       core::EncodeAppMessage("old", "m"), "", nullptr);
  auto reply = Serve(old_message);
  ASSERT_EQ(app_.calls.size(), 1u);
  app_.calls[0].answer(std::string());
  std::string opened;
  auto ok = core::OpenStream(*reply->frame, "", 1 << 20, nullptr, &opened);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value.kind, wire::STREAM_KIND_OK);

  reply = Serve(old_message);
  app_.calls[1].answer(absl::FailedPreconditionError("no handler"));
  auto error = core::OpenStream(*reply->frame, "", 1 << 20, nullptr, &opened);
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error.value.kind, wire::STREAM_KIND_ERROR);
  EXPECT_EQ(error.value.body, "no handler");
}

TEST_F(SwimMessagesTest, AnOlderBuildsAnswersReadAsBefore) {
  // It acknowledges a message with OK, and refuses a request it does not
  // know as an unknown request kind.
  EXPECT_TRUE(
      sender_
          ->ReadReply(core::SealStream(wire::STREAM_KIND_OK, "", "", nullptr))
          .ok());
  absl::Status refused =
      sender_
          ->ReadResponse(core::SealStream(wire::STREAM_KIND_ERROR,
                                          "unknown request kind", "", nullptr))
          .status();
  EXPECT_TRUE(absl::IsFailedPrecondition(refused)) << refused;
  EXPECT_NE(refused.message().find("unknown request kind"), std::string::npos);
}

TEST_F(SwimMessagesTest, TheDefaultDelegateRefusesRequestsAndHandlesMessages) {
  Delegate plain;
  auto swim =
      Swim::Create(Config::ForProfile(Profile::kLan, "plain", "10.0.0.4:7946"),
                   &rt_, &plain);
  ASSERT_TRUE(swim.ok());
  // The synchronous form: the default answers at once.
  absl::Status refused = sender_
                             ->ReadResponse((*swim)->HandleStream(
                                 "10.0.0.2:7946", sender_->RequestFrame("q")))
                             .status();
  EXPECT_TRUE(absl::IsFailedPrecondition(refused)) << refused;
  absl::Status message = sender_->ReadReply(
      (*swim)->HandleStream("10.0.0.2:7946", sender_->MessageRequest("m")));
  EXPECT_TRUE(absl::IsFailedPrecondition(message)) << message;
  EXPECT_NE(message.message().find("no message handler"), std::string::npos);
}

TEST_F(SwimMessagesTest, TheSynchronousFormRefusesAnAnswerThatComesLater) {
  const std::string reply =
      receiver_->HandleStream("10.0.0.2:7946", sender_->RequestFrame("q"));
  EXPECT_TRUE(IsRefusal(reply));
  ASSERT_EQ(app_.calls.size(), 1u);
  app_.calls[0].answer(std::string("late"));  // ignored, and harmless
}

TEST_F(SwimMessagesTest, MalformedRepliesAreDataLoss) {
  const std::string not_a_reply =
      core::SealStream(wire::STREAM_KIND_REPLY, "\xff\xff", "", nullptr);
  EXPECT_TRUE(absl::IsDataLoss(sender_->ReadResponse(not_a_reply).status()));
  EXPECT_TRUE(absl::IsDataLoss(sender_->ReadReply("garbage")));
  wire::AppReply odd;
  odd.set_code(999);
  odd.set_message("from the future");
  absl::Status status = sender_->ReadReply(core::SealStream(
      wire::STREAM_KIND_REPLY, odd.SerializeAsString(), "", nullptr));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnknown) << status;
}

}  // namespace
}  // namespace roster::test
