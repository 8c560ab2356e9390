// One roster::Swim's push-pull: serving a sync request, refusing a bad one,
// joining through seeds and retrying them, and the periodic push-pull (the
// harness is test/core/swim_harness.h).
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/timers.h"
#include "core/wire/streams.h"
#include "gtest/gtest.h"
#include "proto/roster.pb.h"
#include "roster/swim.h"
#include "test/common/messages.h"
#include "test/core/swim_harness.h"

namespace roster::test {
namespace {

// ---------------------------------------------------------------- push-pull

TEST_F(SwimTest, SyncRequestMergesAndAnswersWithOurState) {
  CreateAndStart();
  AddMembers(1, 3);
  app_.events.clear();

  wire::PushPull request;
  request.set_join(true);
  request.set_source("peer");
  request.set_user_state("remote-app-state");
  *request.add_members() =
      Record("peer", "10.0.2.1:7946", 0, wire::MEMBER_STATE_ALIVE);
  *request.add_members() =
      Record("newbie", "10.0.2.2:7946", 2, wire::MEMBER_STATE_ALIVE, "tag");
  *request.add_members() =
      Record(NameOf(2), AddrOf(2), 0, wire::MEMBER_STATE_DEAD);
  *request.add_members() =
      Record(NameOf(3), AddrOf(3), 0, wire::MEMBER_STATE_LEFT);

  std::string answer =
      swim_->HandleStream("10.0.2.1:7946", PushPullRequest(request));
  ASSERT_FALSE(IsRefusal(answer));
  EXPECT_EQ(swim_->counters().syncs_served, 1u);

  // Merged.
  ASSERT_TRUE(swim_->Lookup("newbie").has_value());
  EXPECT_EQ(swim_->Lookup("newbie")->incarnation, 2u);
  EXPECT_EQ(swim_->Lookup("newbie")->meta, "tag");
  EXPECT_EQ(StateOf("peer"), MemberState::kAlive);
  EXPECT_EQ(StateOf(NameOf(2)), MemberState::kSuspect)
      << "a peer's dead must only make us suspect";
  EXPECT_EQ(StateOf(NameOf(3)), MemberState::kLeft);
  for (const auto& e : app_.events) {
    EXPECT_NE(e.event.type, EventType::kFailed) << e.event.member.name;
  }
  ASSERT_EQ(app_.merged.size(), 1u);
  EXPECT_EQ(app_.merged[0].first, "remote-app-state");
  EXPECT_TRUE(app_.merged[0].second);
  ASSERT_FALSE(app_.local_state_calls.empty());
  EXPECT_TRUE(app_.local_state_calls.back());

  // Answered with our table and application state, less what the peer
  // told us exactly as we now see it (peer, newbie, and m3's leave).
  std::string opened;
  auto frame = core::OpenStream(answer, "", 1 << 20, nullptr, &opened);
  ASSERT_TRUE(frame.ok()) << frame.error.message;
  EXPECT_EQ(frame.value.kind, wire::STREAM_KIND_OK);
  auto state = core::DecodePushPull(frame.value.body, Limits{});
  ASSERT_TRUE(state.ok()) << state.error.message;
  EXPECT_EQ(state.value.source(), kSelf);
  EXPECT_TRUE(state.value.join());
  EXPECT_EQ(state.value.user_state(), "local-app-state");
  std::set<std::string> names;
  for (const auto& r : state.value.members()) {
    names.insert(r.name());
    if (r.name() == kSelf) {
      EXPECT_EQ(r.addr(), kSelfAddr);
      EXPECT_EQ(r.state(), wire::MEMBER_STATE_ALIVE);
    }
    if (r.name() == NameOf(2)) {
      EXPECT_EQ(r.state(), wire::MEMBER_STATE_SUSPECT);
    }
  }
  EXPECT_EQ(names, (std::set<std::string>{kSelf, NameOf(1), NameOf(2)}));
}

TEST_F(SwimTest, MalformedSyncRequestIsRefusedAndCounted) {
  CreateAndStart();
  const auto before = swim_->counters().total_drops();
  EXPECT_TRUE(IsRefusal(swim_->HandleStream(AddrOf(1), "not a frame")));
  EXPECT_TRUE(IsRefusal(swim_->HandleStream(
      AddrOf(1),
      core::SealStream(wire::STREAM_KIND_PUSH_PULL, "\xff\xff", "", nullptr))));
  wire::PushPull no_source;  // source is required
  *no_source.add_members() =
      Record(NameOf(1), AddrOf(1), 0, wire::MEMBER_STATE_ALIVE);
  EXPECT_TRUE(
      IsRefusal(swim_->HandleStream(AddrOf(1), PushPullRequest(no_source))));
  EXPECT_EQ(swim_->counters().total_drops() - before, 3u);
  EXPECT_EQ(swim_->counters().streams_refused, 3u);
  EXPECT_EQ(swim_->counters().syncs_served, 0u);
  EXPECT_FALSE(swim_->Lookup(NameOf(1)).has_value());
  EXPECT_TRUE(app_.merged.empty());
}

// Seeds are remembered up to 64: given 70, the oldest 6 are forgotten and
// only the newest 64 are retried while alone.
// Two exchanges with one seed in flight (two Joins, or a Join beside a
// retry): the first failing does not fail the Join while the other may
// still answer.
TEST_F(SwimTest, AJoinWaitsForTheLastExchangeWithItsSeed) {
  CreateAndStart();
  const std::string seed = "10.0.5.5:7946";
  swim_->Join({seed}, 1);
  swim_->Join({seed}, 2);
  ASSERT_EQ(rt_.syncs.size(), 2u);
  swim_->HandleSyncFailed(seed, absl::UnavailableError("connect timeout"));
  EXPECT_TRUE(app_.joins.empty()) << "settled while an exchange was in flight";
  wire::PushPull answer;
  answer.set_join(true);
  answer.set_source("seed");
  *answer.add_members() = Record("seed", seed, 0, wire::MEMBER_STATE_ALIVE);
  swim_->HandleSyncResponse(seed, PushPullReply(answer));
  ASSERT_EQ(app_.joins.size(), 2u);
  for (const JoinResult& r : app_.joins) EXPECT_TRUE(r.status.ok()) << r.status;
}

// A seed name that resolves only to this member names the first member of
// a cluster: the Join is Ok, not a failure.
TEST_F(SwimTest, ASeedNameResolvingOnlyToThisMemberIsOk) {
  CreateAndStart();
  rt_.names = {"dns:cache.internal:7946"};
  swim_->Join({"dns:cache.internal:7946"}, 3);
  ASSERT_EQ(rt_.resolving.size(), 1u);
  EXPECT_TRUE(app_.joins.empty());
  swim_->HandleSeedResolved("dns:cache.internal:7946",
                            std::vector<std::string>{kSelfAddr});
  ASSERT_EQ(app_.joins.size(), 1u);
  EXPECT_EQ(app_.joins[0].token, 3u);
  EXPECT_TRUE(app_.joins[0].status.ok()) << app_.joins[0].status;
  EXPECT_TRUE(rt_.syncs.empty());
}

// A request claiming our own name learns only that the name is held: our
// record alone, no other member, no application state, nothing merged.
TEST_F(SwimTest, AClaimOfOurNameIsAnsweredWithOurRecordAlone) {
  CreateAndStart();
  AddMembers(1, 3);
  wire::PushPull claim;
  claim.set_join(true);
  claim.set_source(kSelf);
  claim.set_user_state("theirs");
  *claim.add_members() =
      Record(kSelf, "10.0.9.9:7946", 0, wire::MEMBER_STATE_ALIVE);
  std::string answer =
      swim_->HandleStream("10.0.9.9:7946", PushPullRequest(claim));
  std::string opened;
  auto frame = core::OpenStream(answer, "", 1 << 20, nullptr, &opened);
  ASSERT_TRUE(frame.ok()) << frame.error.message;
  ASSERT_EQ(frame.value.kind, wire::STREAM_KIND_OK);
  wire::PushPull state;
  ASSERT_TRUE(state.ParseFromArray(frame.value.body.data(),
                                   static_cast<int>(frame.value.body.size())));
  ASSERT_EQ(state.members_size(), 1);
  EXPECT_EQ(state.members(0).name(), kSelf);
  EXPECT_EQ(state.members(0).addr(), kSelfAddr);
  EXPECT_TRUE(state.user_state().empty());
  EXPECT_TRUE(app_.merged.empty());
  EXPECT_EQ(swim_->counters().name_conflicts, 1u);
  EXPECT_EQ(swim_->Self().incarnation, 0u);
}

TEST_F(SwimTest, TheNewest64SeedsAreRetried) {
  CreateAndStart();
  std::vector<std::string> seeds;
  for (int i = 0; i < 70; ++i)
    seeds.push_back(absl::StrCat("10.9.0.", i, ":1"));
  swim_->Join(seeds, 1);
  ASSERT_EQ(rt_.syncs.size(), 70u) << "every seed is tried at once";
  // Each exchange fails (a seed with one in flight is not tried again).
  for (const std::string& seed : seeds) swim_->HandleSyncFailed(seed);
  std::set<std::string> retried;
  for (int round = 0; round < 500; ++round) {
    const size_t before = rt_.syncs.size();
    ASSERT_TRUE(Fire(TimerKind::kReconnect));
    for (size_t i = before; i < rt_.syncs.size(); ++i) {
      retried.insert(rt_.syncs[i].to);
      swim_->HandleSyncFailed(rt_.syncs[i].to);
    }
  }
  for (int i = 0; i < 6; ++i) EXPECT_FALSE(retried.contains(seeds[i])) << i;
  EXPECT_GE(retried.size(), 60u);
  EXPECT_LE(retried.size(), 64u);
}

TEST_F(SwimTest, ASeedWithAnExchangeInFlightIsNotTriedAgain) {
  CreateAndStart();
  swim_->Join({"10.9.1.1:1"}, 1);
  ASSERT_EQ(rt_.syncs.size(), 1u);
  // A hung seed: the retries wait for its exchange to end.
  for (int round = 0; round < 5; ++round)
    ASSERT_TRUE(Fire(TimerKind::kReconnect));
  EXPECT_EQ(rt_.syncs.size(), 1u);
  swim_->HandleSyncFailed("10.9.1.1:1");
  ASSERT_TRUE(Fire(TimerKind::kReconnect));
  EXPECT_EQ(rt_.syncs.size(), 2u);
}

TEST_F(SwimTest, JoinSyncsWithSeedsAndMergesTheAnswer) {
  CreateAndStart();
  swim_->Join({"10.0.5.5:7946", kSelfAddr});
  ASSERT_EQ(rt_.syncs.size(), 1u) << "synced with ourselves";
  EXPECT_EQ(rt_.syncs[0].to, "10.0.5.5:7946");
  EXPECT_EQ(swim_->counters().syncs_started, 1u);
  std::string opened;
  auto frame =
      core::OpenStream(rt_.syncs[0].request, "", 1 << 20, nullptr, &opened);
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ(frame.value.kind, wire::STREAM_KIND_PUSH_PULL);
  auto request = core::DecodePushPull(frame.value.body, Limits{});
  ASSERT_TRUE(request.ok());
  EXPECT_TRUE(request.value.join());
  EXPECT_EQ(request.value.source(), kSelf);
  ASSERT_EQ(request.value.members_size(), 1);
  EXPECT_EQ(request.value.members(0).name(), kSelf);
  EXPECT_FALSE(swim_->Joined());

  wire::PushPull response;
  response.set_join(true);
  response.set_source("seed");
  *response.add_members() =
      Record("seed", "10.0.5.5:7946", 3, wire::MEMBER_STATE_ALIVE);
  *response.add_members() =
      Record(NameOf(1), AddrOf(1), 0, wire::MEMBER_STATE_ALIVE);
  swim_->HandleSyncResponse("10.0.5.5:7946", PushPullReply(response));
  EXPECT_TRUE(swim_->Joined());
  EXPECT_EQ(swim_->NumAlive(), 3u);

  swim_->HandleSyncFailed("10.0.5.5:7946");
  EXPECT_EQ(swim_->counters().syncs_failed, 1u);
}

TEST_F(SwimTest, AloneMemberRetriesItsSeeds) {
  CreateAndStart();
  swim_->Join({"10.0.5.5:7946"});
  swim_->HandleSyncFailed("10.0.5.5:7946");
  const size_t syncs = rt_.syncs.size();
  ASSERT_TRUE(Fire(TimerKind::kReconnect));
  ASSERT_EQ(rt_.syncs.size(), syncs + 1);
  EXPECT_EQ(rt_.syncs.back().to, "10.0.5.5:7946");
}

TEST_F(SwimTest, PushPullTimerSyncsWithAPeerAtAnIntervalGrowingWithSize) {
  CreateAndStart();
  AddMembers(1, 9);
  ASSERT_TRUE(Fire(TimerKind::kPushPull));
  ASSERT_EQ(rt_.syncs.size(), 1u);
  auto known_addr = [&](const std::string& addr) {
    for (const auto& m : swim_->Members())
      if (m.addr == addr) return true;
    return false;
  };
  EXPECT_TRUE(known_addr(rt_.syncs[0].to));
  EXPECT_NE(rt_.syncs[0].to, kSelfAddr);
  EXPECT_EQ(LastTimer(TimerKind::kPushPull)->delay,
            swim_->config().push_pull_interval);

  AddMembers(10, 90);
  ASSERT_TRUE(Fire(TimerKind::kPushPull));
  EXPECT_GT(LastTimer(TimerKind::kPushPull)->delay,
            swim_->config().push_pull_interval);
}

}  // namespace
}  // namespace roster::test
