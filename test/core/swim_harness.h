// The harness of the unit tests of one roster::Swim: a scripted Runtime
// and a recording Delegate, and the SwimTest fixture over them.
//
// The runtime records every datagram, stream exchange and timer the member
// asks for; time moves only when a test sets the clock or fires a recorded
// timer. Datagrams the member sends are opened and decoded with the wire
// codec (SwimTest::SentSince), and datagrams it receives are crafted with it
// (SwimTest::Deliver, with the builders of test/common/messages.h), so every
// test checks the protocol at the level of bytes on the wire.
//
// Any test of lib/core may include it; the fixture and its helpers live in
// roster::test (not an anonymous namespace) so that one SwimTest serves the
// tests of every file of a binary.
#ifndef ROSTER_TEST_CORE_SWIM_HARNESS_H_
#define ROSTER_TEST_CORE_SWIM_HARNESS_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/timers.h"
#include "core/wire/codec.h"
#include "core/wire/frame.h"
#include "core/wire/streams.h"
#include "gtest/gtest.h"
#include "proto/roster.pb.h"
#include "roster/config.h"
#include "roster/events.h"
#include "roster/runtime.h"
#include "roster/swim.h"
#include "test/common/messages.h"
#include "test/common/split_mix.h"

namespace roster::test {

using core::TimerKind;

inline constexpr char kSelf[] = "self";
inline constexpr char kSelfAddr[] = "10.0.0.1:7946";
// An address no member lives at: news delivered from here does not come
// from any member the test set up.
inline constexpr char kStranger[] = "10.9.9.9:7946";

inline std::string NameOf(int i) { return absl::StrCat("m", i); }
inline std::string AddrOf(int i) { return absl::StrCat("10.0.1.", i, ":7946"); }

// Whether a stream reply is a refusal (or unreadable without a label).
inline bool IsRefusal(std::string_view reply) {
  std::string opened;
  auto frame = core::OpenStream(reply, "", 1 << 20, nullptr, &opened);
  return !frame.ok() || frame.value.kind == wire::STREAM_KIND_ERROR;
}

// Predicates over decoded messages.
inline bool IsAliveAbout(const wire::Message& m, std::string_view name) {
  return m.has_alive() && m.alive().name() == name;
}
inline bool IsSuspectAbout(const wire::Message& m, std::string_view name) {
  return m.has_suspect() && m.suspect().name() == name;
}
inline bool IsDeadAbout(const wire::Message& m, std::string_view name) {
  return m.has_dead() && m.dead().name() == name;
}

// ---------------------------------------------------------------- runtime

class ScriptedRuntime : public Runtime {
 public:
  struct Sent {
    absl::Time at;
    std::string to;
    std::string bytes;
  };
  struct Sync {
    std::string to;
    std::string request;
  };
  struct Scheduled {
    absl::Time due;
    absl::Duration delay;
    Timer timer;
    bool fired = false;
  };

  absl::Time Now() override { return now; }
  uint64_t Random() override { return test::SplitMix64(rng); }
  void SendPacket(const std::string& to, std::string bytes) override {
    sent.push_back(Sent{now, to, std::move(bytes)});
  }
  void StartSync(const std::string& to, std::string request) override {
    syncs.push_back(Sync{to, std::move(request)});
  }
  void After(absl::Duration delay, Timer timer) override {
    timers.push_back(Scheduled{now + delay, delay, std::move(timer)});
  }
  // Seeds in `names` are names to look up; the test answers them with
  // Swim::HandleSeedResolved.
  bool ResolveSeed(const std::string& seed) override {
    if (names.count(seed) == 0) return false;
    resolving.push_back(seed);
    return true;
  }

  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  uint64_t rng = 12345;
  std::vector<Sent> sent;
  std::vector<Sync> syncs;
  std::vector<Scheduled> timers;
  std::set<std::string> names;
  std::vector<std::string> resolving;
};

class RecordingDelegate : public Delegate {
 public:
  struct Seen {
    absl::Time at;
    Event event;
  };
  explicit RecordingDelegate(ScriptedRuntime* rt) : rt_(rt) {}

  void OnEvent(const Event& event) override {
    events.push_back(Seen{rt_->now, event});
  }
  void OnBroadcast(std::string_view origin, std::string_view payload) override {
    broadcasts.emplace_back(payload);
    origins.emplace_back(origin);
  }
  std::string LocalState(bool join) override {
    local_state_calls.push_back(join);
    return local_state;
  }
  void MergeRemoteState(std::string_view state, bool join) override {
    merged.emplace_back(std::string(state), join);
  }
  void OnJoinDone(const JoinResult& result) override {
    joins.push_back(result);
  }
  std::string AckPayload() override { return ack_payload; }
  void OnAckPayload(std::string_view from, std::string_view payload,
                    absl::Duration rtt) override {
    acks.push_back(Ack{std::string(from), std::string(payload), rtt});
  }
  void OnUserEvent(const UserEvent& event) override {
    user_events.push_back(UserEventSeen{rt_->now, event});
  }
  // Answered at once with `query_response` unless `hold_queries`, which
  // keeps the answer for the test to give (Delegate::OnQuery).
  void OnQuery(const QueryRequest& query, QueryAnswer answer) override {
    queries.push_back(query);
    if (hold_queries) {
      held_answers.push_back(std::move(answer));
    } else {
      answer(query_response);
    }
  }
  void OnQueryAck(uint64_t token, std::string_view from) override {
    query_acks.emplace_back(token, std::string(from));
  }
  void OnQueryResponse(uint64_t token, std::string_view from,
                       std::string_view payload) override {
    query_responses.push_back(
        QueryResponseSeen{token, std::string(from), std::string(payload)});
  }
  void OnQueryDone(const QueryResult& result) override {
    queries_done.push_back(result);
  }
  void OnLog(LogLevel level, std::string_view message) override {
    logs.emplace_back(level, std::string(message));
  }
  // Whether a line logged at `level` holds `text`.
  bool Logged(LogLevel level, std::string_view text) const {
    for (const auto& [l, m] : logs)
      if (l == level && m.find(text) != std::string::npos) return true;
    return false;
  }

  struct Ack {
    std::string from;
    std::string payload;
    absl::Duration rtt;
  };

  std::vector<Seen> events;
  std::vector<std::string> broadcasts;
  std::vector<std::string> origins;  // of each broadcast
  std::string local_state = "local-app-state";
  std::vector<bool> local_state_calls;
  std::vector<std::pair<std::string, bool>> merged;
  std::vector<JoinResult> joins;
  std::string ack_payload;
  std::vector<Ack> acks;
  std::vector<std::pair<LogLevel, std::string>> logs;

  struct UserEventSeen {
    absl::Time at;
    UserEvent event;
  };
  struct QueryResponseSeen {
    uint64_t token;
    std::string from;
    std::string payload;
  };
  std::vector<UserEventSeen> user_events;
  std::vector<QueryRequest> queries;
  bool hold_queries = false;
  std::optional<std::string> query_response;
  std::vector<QueryAnswer> held_answers;
  std::vector<std::pair<uint64_t, std::string>> query_acks;
  std::vector<QueryResponseSeen> query_responses;
  std::vector<QueryResult> queries_done;

 private:
  ScriptedRuntime* rt_;
};

// ---------------------------------------------------------------- fixture

struct Datagrams {
  std::string to;
  size_t size = 0;
  std::vector<wire::Message> messages;

  template <typename Pred>
  int Count(Pred pred) const {
    return static_cast<int>(
        std::count_if(messages.begin(), messages.end(), pred));
  }
  template <typename Pred>
  int IndexOf(Pred pred) const {
    auto it = std::find_if(messages.begin(), messages.end(), pred);
    return it == messages.end() ? -1 : static_cast<int>(it - messages.begin());
  }
  template <typename Pred>
  bool Has(Pred pred) const {
    return IndexOf(pred) >= 0;
  }
};

class SwimTest : public ::testing::Test {
 protected:
  static Config BaseConfig() {
    return Config::ForProfile(Profile::kLan, kSelf, kSelfAddr);
  }

  void Create(Config config = BaseConfig()) {
    label_ = config.label;
    auto swim = Swim::Create(std::move(config), &rt_, &app_);
    ASSERT_TRUE(swim.ok()) << swim.status();
    swim_ = std::move(*swim);
  }
  void CreateAndStart(Config config = BaseConfig()) {
    Create(std::move(config));
    swim_->Start();
  }

  // Inbound.
  void Deliver(const std::string& from,
               const std::vector<wire::Message>& messages) {
    swim_->HandlePacket(from, Datagram(messages, label_));
  }
  // Members m<first> .. m<first+count-1>, alive at incarnation 0, learned
  // from a stranger's gossip.
  void AddMembers(int first, int count) {
    std::vector<wire::Message> batch;
    for (int i = first; i < first + count; ++i) {
      batch.push_back(MakeAlive(NameOf(i), AddrOf(i), 0));
      if (batch.size() == 100) {
        Deliver(kStranger, batch);
        batch.clear();
      }
    }
    if (!batch.empty()) Deliver(kStranger, batch);
  }

  // Outbound.
  size_t Mark() const { return rt_.sent.size(); }
  // News goes out RetransmitMult * ceil(log10(n + 1)) times with n other
  // members alive, but never fewer than 2 * (gossip_nodes + 1).
  int TransmitLimit(int others) const {
    const Config& c = swim_->config();
    return std::max(c.retransmit_mult *
                        static_cast<int>(std::ceil(std::log10(others + 1.0))),
                    2 * (c.gossip_nodes + 1));
  }
  std::vector<wire::Message> Decode(const std::string& bytes) {
    auto frame = core::OpenFrame(bytes, label_, 65507);
    EXPECT_TRUE(frame.ok()) << frame.error.message;
    if (!frame.ok()) return {};
    auto packet = core::DecodePacket(frame.value, Limits{});
    EXPECT_TRUE(packet.ok()) << packet.error.message;
    if (!packet.ok()) return {};
    return {packet.value.messages().begin(), packet.value.messages().end()};
  }
  std::vector<Datagrams> SentSince(size_t mark) {
    std::vector<Datagrams> out;
    for (size_t i = mark; i < rt_.sent.size(); ++i) {
      out.push_back(Datagrams{rt_.sent[i].to, rt_.sent[i].bytes.size(),
                              Decode(rt_.sent[i].bytes)});
    }
    return out;
  }

  // Timers. Fires the earliest pending timer of `kind`, moving the clock
  // forward to when it is due. False if none is pending.
  bool Fire(TimerKind kind) {
    int best = -1;
    for (size_t i = 0; i < rt_.timers.size(); ++i) {
      const auto& t = rt_.timers[i];
      if (t.fired || core::KindOf(t.timer) != kind) continue;
      if (best < 0 || t.due < rt_.timers[best].due) best = static_cast<int>(i);
    }
    if (best < 0) return false;
    FireAt(best);
    return true;
  }
  // Fires, in due order, every timer of `kinds` due by `until`, then sets
  // the clock to `until`.
  void RunUntil(absl::Time until, std::initializer_list<TimerKind> kinds) {
    for (;;) {
      int best = -1;
      for (size_t i = 0; i < rt_.timers.size(); ++i) {
        const auto& t = rt_.timers[i];
        if (t.fired || t.due > until ||
            std::find(kinds.begin(), kinds.end(), core::KindOf(t.timer)) ==
                kinds.end())
          continue;
        if (best < 0 || t.due < rt_.timers[best].due)
          best = static_cast<int>(i);
      }
      if (best < 0) break;
      FireAt(best);
    }
    rt_.now = std::max(rt_.now, until);
  }
  void FireAt(int index) {
    rt_.timers[index].fired = true;
    rt_.now = std::max(rt_.now, rt_.timers[index].due);
    const Timer timer = rt_.timers[index].timer;  // the vector may grow
    swim_->HandleTimer(timer);
  }
  // The most recently scheduled timer of `kind`, or null.
  const ScriptedRuntime::Scheduled* LastTimer(TimerKind kind) const {
    for (auto it = rt_.timers.rbegin(); it != rt_.timers.rend(); ++it) {
      if (core::KindOf(it->timer) == kind) return &*it;
    }
    return nullptr;
  }
  int CountTimers(TimerKind kind) const {
    return static_cast<int>(std::count_if(
        rt_.timers.begin(), rt_.timers.end(),
        [&](const auto& t) { return core::KindOf(t.timer) == kind; }));
  }

  // Fires the probe timer and returns the datagram carrying the ping.
  Datagrams ProbeOnce() {
    const size_t mark = Mark();
    EXPECT_TRUE(Fire(TimerKind::kProbe));
    auto sent = SentSince(mark);
    EXPECT_EQ(sent.size(), 1u);
    if (sent.empty()) return {};
    return sent[0];
  }
  static uint32_t PingSeq(const Datagrams& d) {
    for (const auto& m : d.messages)
      if (m.has_ping()) return m.ping().seq();
    ADD_FAILURE() << "no ping in datagram";
    return 0;
  }
  static std::string PingTarget(const Datagrams& d) {
    for (const auto& m : d.messages)
      if (m.has_ping()) return m.ping().target();
    ADD_FAILURE() << "no ping in datagram";
    return {};
  }

  std::vector<EventType> EventTypes() const {
    std::vector<EventType> out;
    for (const auto& e : app_.events) out.push_back(e.event.type);
    return out;
  }
  MemberState StateOf(const std::string& name) const {
    auto info = swim_->Lookup(name);
    EXPECT_TRUE(info.has_value()) << name;
    return info ? info->state : MemberState::kAlive;
  }

  ScriptedRuntime rt_;
  RecordingDelegate app_{&rt_};
  std::unique_ptr<Swim> swim_;
  std::string label_;
};

}  // namespace roster::test

#endif  // ROSTER_TEST_CORE_SWIM_HARNESS_H_
