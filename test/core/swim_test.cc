// Unit tests of one roster::Swim driven by a scripted Runtime.
//
// The runtime below records every datagram, stream exchange and timer the
// member asks for; time moves only when a test sets the clock or fires a
// recorded timer. Datagrams the member sends are opened and decoded with the
// wire codec, and datagrams it receives are crafted with it, so every test
// checks the protocol at the level of bytes on the wire.
#include "roster/swim.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/streams.h"
#include "core/timers.h"
#include "core/wire.h"
#include "gtest/gtest.h"
#include "proto/roster.pb.h"

namespace roster {
namespace {

using core::TimerKind;

// Push-pull as it travels: a stream frame around the encoded state.
std::string PushPullRequest(const wire::PushPull& state,
                            std::string_view label = "") {
  return core::SealStream(wire::STREAM_KIND_PUSH_PULL,
                          core::EncodePushPull(state), label, nullptr);
}
std::string PushPullReply(const wire::PushPull& state) {
  return core::SealStream(wire::STREAM_KIND_OK, core::EncodePushPull(state), "",
                          nullptr);
}
// Whether a stream reply is a refusal (or unreadable without a label).
bool IsRefusal(std::string_view reply) {
  std::string opened;
  auto frame = core::OpenStream(reply, "", 1 << 20, nullptr, &opened);
  return !frame.ok() || frame.value.kind == wire::STREAM_KIND_ERROR;
}

constexpr char kSelf[] = "self";
constexpr char kSelfAddr[] = "10.0.0.1:7946";
// An address no member lives at: news delivered from here does not come
// from any member the test set up.
constexpr char kStranger[] = "10.9.9.9:7946";

std::string NameOf(int i) { return absl::StrCat("m", i); }
std::string AddrOf(int i) { return absl::StrCat("10.0.1.", i, ":7946"); }

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
  // SplitMix64: deterministic and well spread.
  uint64_t Random() override {
    uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  void SendPacket(const std::string& to, std::string bytes) override {
    sent.push_back(Sent{now, to, std::move(bytes)});
  }
  void StartSync(const std::string& to, std::string request) override {
    syncs.push_back(Sync{to, std::move(request)});
  }
  void After(absl::Duration delay, Timer timer) override {
    timers.push_back(Scheduled{now + delay, delay, std::move(timer)});
  }

  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  uint64_t rng = 12345;
  std::vector<Sent> sent;
  std::vector<Sync> syncs;
  std::vector<Scheduled> timers;
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
  void OnBroadcast(std::string_view payload) override {
    broadcasts.emplace_back(payload);
  }
  std::string LocalState(bool join) override {
    local_state_calls.push_back(join);
    return local_state;
  }
  void MergeRemoteState(std::string_view state, bool join) override {
    merged.emplace_back(std::string(state), join);
  }

  std::vector<Seen> events;
  std::vector<std::string> broadcasts;
  std::string local_state = "local-app-state";
  std::vector<bool> local_state_calls;
  std::vector<std::pair<std::string, bool>> merged;

 private:
  ScriptedRuntime* rt_;
};

// ---------------------------------------------------------------- messages

wire::Message MakeAlive(const std::string& name, const std::string& addr,
                        uint64_t incarnation, const std::string& meta = "") {
  wire::Message m;
  wire::Alive* a = m.mutable_alive();
  a->set_name(name);
  a->set_addr(addr);
  a->set_incarnation(incarnation);
  a->set_meta(meta);
  return m;
}

wire::Message MakeSuspect(const std::string& name, uint64_t incarnation,
                          const std::string& from) {
  wire::Message m;
  wire::Suspect* s = m.mutable_suspect();
  s->set_name(name);
  s->set_incarnation(incarnation);
  s->set_from(from);
  return m;
}

wire::Message MakeDead(const std::string& name, uint64_t incarnation,
                       const std::string& from) {
  wire::Message m;
  wire::Dead* d = m.mutable_dead();
  d->set_name(name);
  d->set_incarnation(incarnation);
  d->set_from(from);
  return m;
}

wire::Message MakePing(uint32_t seq, const std::string& target,
                       const std::string& source,
                       const std::string& source_addr) {
  wire::Message m;
  wire::Ping* p = m.mutable_ping();
  p->set_seq(seq);
  p->set_target(target);
  p->set_source(source);
  p->set_source_addr(source_addr);
  return m;
}

wire::Message MakeIndirectPing(uint32_t seq, const std::string& target,
                               const std::string& target_addr,
                               const std::string& source,
                               const std::string& source_addr, bool want_nack) {
  wire::Message m;
  wire::IndirectPing* p = m.mutable_indirect_ping();
  p->set_seq(seq);
  p->set_target(target);
  p->set_target_addr(target_addr);
  p->set_source(source);
  p->set_source_addr(source_addr);
  p->set_want_nack(want_nack);
  return m;
}

wire::Message MakeAck(uint32_t seq) {
  wire::Message m;
  m.mutable_ack()->set_seq(seq);
  return m;
}

wire::Message MakeNack(uint32_t seq) {
  wire::Message m;
  m.mutable_nack()->set_seq(seq);
  return m;
}

wire::Message MakeUser(const std::string& payload, const std::string& origin,
                       uint64_t id) {
  wire::Message m;
  wire::UserBroadcast* u = m.mutable_user();
  u->set_payload(payload);
  u->set_origin(origin);
  u->set_id(id);
  return m;
}

std::string Datagram(const std::vector<wire::Message>& messages,
                     std::string_view label = "") {
  std::string payload;
  for (const wire::Message& m : messages)
    payload += core::EncodeMessageEntry(m);
  return core::SealFrame(payload, label);
}

wire::MemberRecord Record(const std::string& name, const std::string& addr,
                          uint64_t incarnation, wire::MemberState state,
                          const std::string& meta = "") {
  wire::MemberRecord r;
  r.set_name(name);
  r.set_addr(addr);
  r.set_incarnation(incarnation);
  r.set_state(state);
  r.set_meta(meta);
  return r;
}

// Predicates over decoded messages.
bool IsAliveAbout(const wire::Message& m, std::string_view name) {
  return m.has_alive() && m.alive().name() == name;
}
bool IsSuspectAbout(const wire::Message& m, std::string_view name) {
  return m.has_suspect() && m.suspect().name() == name;
}
bool IsDeadAbout(const wire::Message& m, std::string_view name) {
  return m.has_dead() && m.dead().name() == name;
}

// What DESIGN.md says the suspicion timeout is, computed independently.
absl::Duration DesignFloor(int mult, size_t n, absl::Duration interval) {
  const double scale = std::max(1.0, std::log10(static_cast<double>(n)));
  return absl::Milliseconds(
      std::floor(mult * scale * absl::ToDoubleMilliseconds(interval)));
}
// Lifeguard: from max with no confirmations down to min at `expected`.
absl::Duration DesignTimeout(int confirmations, int expected,
                             absl::Duration min, absl::Duration max) {
  const double frac = std::log(confirmations + 1.0) / std::log(expected + 1.0);
  const double ms = absl::ToDoubleMilliseconds(max) -
                    frac * absl::ToDoubleMilliseconds(max - min);
  return std::max(min, absl::Milliseconds(std::floor(ms)));
}

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

// ---------------------------------------------------------------- lifecycle

TEST_F(SwimTest, CreateRejectsInvalidConfigs) {
  auto expect_invalid = [&](Config c, const char* what) {
    auto swim = Swim::Create(std::move(c), &rt_, &app_);
    EXPECT_FALSE(swim.ok()) << what;
    if (!swim.ok()) {
      EXPECT_EQ(swim.status().code(), absl::StatusCode::kInvalidArgument)
          << what;
    }
  };
  Config c = BaseConfig();
  c.probe_timeout = c.probe_interval + absl::Milliseconds(1);
  expect_invalid(c, "probe_timeout > probe_interval");
  c = BaseConfig();
  c.name = "";
  expect_invalid(c, "empty name");
  c = BaseConfig();
  c.advertise_addr = "";
  expect_invalid(c, "empty address");
  c = BaseConfig();
  c.packet_budget = 100;
  expect_invalid(c, "tiny packet budget");
  c = BaseConfig();
  c.meta = std::string(c.limits.max_meta_bytes + 1, 'm');
  expect_invalid(c, "oversize meta");
  c = BaseConfig();
  c.label = std::string(256, 'l');
  expect_invalid(c, "oversize label");

  auto no_runtime = Swim::Create(BaseConfig(), nullptr, &app_);
  EXPECT_FALSE(no_runtime.ok());

  // A valid one does nothing until Start().
  auto ok = Swim::Create(BaseConfig(), &rt_, nullptr);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(rt_.sent.empty());
  EXPECT_TRUE(rt_.timers.empty());
  EXPECT_EQ((*ok)->Self().name, kSelf);
  EXPECT_EQ((*ok)->Self().state, MemberState::kAlive);
  EXPECT_EQ((*ok)->Members().size(), 1u);
}

TEST_F(SwimTest, StartSchedulesProtocolTimersOnce) {
  Create();
  // Timers before Start() are ignored.
  swim_->HandleTimer(core::MakeTimer(TimerKind::kProbe));
  EXPECT_TRUE(rt_.timers.empty());

  swim_->Start();
  const auto* probe = LastTimer(TimerKind::kProbe);
  const auto* gossip = LastTimer(TimerKind::kGossip);
  const auto* push_pull = LastTimer(TimerKind::kPushPull);
  ASSERT_NE(probe, nullptr);
  ASSERT_NE(gossip, nullptr);
  ASSERT_NE(push_pull, nullptr);
  EXPECT_GE(probe->delay, absl::ZeroDuration());
  EXPECT_LT(probe->delay, swim_->config().probe_interval);
  EXPECT_GE(gossip->delay, absl::ZeroDuration());
  EXPECT_LT(gossip->delay, swim_->config().gossip_interval);
  EXPECT_GE(push_pull->delay, swim_->config().push_pull_interval);
  EXPECT_EQ(CountTimers(TimerKind::kProbe), 1);
  EXPECT_EQ(CountTimers(TimerKind::kGossip), 1);

  const size_t timers = rt_.timers.size();
  swim_->Start();
  EXPECT_EQ(rt_.timers.size(), timers) << "a second Start() re-armed timers";

  // The timers re-arm themselves.
  ASSERT_TRUE(Fire(TimerKind::kProbe));
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  EXPECT_EQ(CountTimers(TimerKind::kProbe), 2);
  EXPECT_EQ(CountTimers(TimerKind::kGossip), 2);
  EXPECT_EQ(LastTimer(TimerKind::kProbe)->delay,
            swim_->config().probe_interval);
  EXPECT_EQ(LastTimer(TimerKind::kGossip)->delay,
            swim_->config().gossip_interval);
  // Alone: nobody to probe or gossip to.
  EXPECT_TRUE(rt_.sent.empty());
  EXPECT_EQ(swim_->counters().probes, 0u);
}

// ---------------------------------------------------------------- pings

TEST_F(SwimTest, PingForUsIsAckedWithTheSameSeq) {
  CreateAndStart();
  const size_t mark = Mark();
  Deliver(AddrOf(1), {MakePing(4242, kSelf, NameOf(1), AddrOf(1))});
  auto sent = SentSince(mark);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, AddrOf(1));
  const int ack = sent[0].IndexOf([](const auto& m) { return m.has_ack(); });
  ASSERT_GE(ack, 0);
  EXPECT_EQ(sent[0].messages[ack].ack().seq(), 4242u);
  EXPECT_EQ(swim_->counters().packets_received, 1u);
  EXPECT_EQ(swim_->counters().packets_sent, 1u);
  EXPECT_EQ(swim_->counters().bytes_sent, rt_.sent[0].bytes.size());
  EXPECT_EQ(swim_->counters().total_drops(), 0u);
}

TEST_F(SwimTest, PingForAnotherNameIsDroppedAndCounted) {
  CreateAndStart();
  const size_t mark = Mark();
  Deliver(AddrOf(1), {MakePing(7, "somebody-else", NameOf(1), AddrOf(1))});
  EXPECT_EQ(Mark(), mark) << "answered a ping meant for another member";
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kWrongTarget), 1u);
}

TEST_F(SwimTest, GarbageIsCountedAndDroppedWithoutEffect) {
  CreateAndStart();
  AddMembers(1, 2);
  const auto before = swim_->Members();
  const uint64_t drops_before = swim_->counters().total_drops();
  const size_t mark = Mark();

  std::string good = Datagram({MakeAlive("intruder", "10.6.6.6:1", 9)});
  std::string bad_crc = good;
  bad_crc.back() ^= 0x40;
  std::string bad_version = good;
  bad_version[0] = 7;
  std::string truncated = good.substr(0, 4);
  // A sound frame around bytes that are not a Packet.
  std::string bad_payload = core::SealFrame("\xff\xff\xff\xff\x0f", "");
  // A sound packet whose Alive has no name.
  std::string no_name = Datagram({MakeAlive("", "10.6.6.6:1", 9)});
  const std::vector<std::string> junk = {
      "",          "x",       "garbage bytes, not a frame",
      bad_crc,     truncated, bad_version,
      bad_payload, no_name,   std::string(70000, '\x01')};
  for (const std::string& bytes : junk) swim_->HandlePacket(AddrOf(1), bytes);

  const Counters& c = swim_->counters();
  EXPECT_EQ(c.total_drops() - drops_before, junk.size());
  EXPECT_EQ(c.drops_of(DropReason::kBadChecksum), 1u);
  EXPECT_EQ(c.drops_of(DropReason::kBadVersion), 2u);  // "garbage", 7
  EXPECT_EQ(c.drops_of(DropReason::kTooLarge), 1u);
  EXPECT_EQ(Mark(), mark) << "answered garbage";
  const auto after = swim_->Members();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].name, before[i].name);
    EXPECT_EQ(after[i].state, before[i].state);
    EXPECT_EQ(after[i].incarnation, before[i].incarnation);
  }
  EXPECT_FALSE(swim_->Lookup("intruder").has_value());
}

TEST_F(SwimTest, LabelledMemberDropsOtherClustersTraffic) {
  Config c = BaseConfig();
  c.label = "alpha";
  CreateAndStart(c);
  const size_t mark = Mark();
  const auto ping = MakePing(11, kSelf, NameOf(1), AddrOf(1));
  swim_->HandlePacket(AddrOf(1), Datagram({ping}, "beta"));
  swim_->HandlePacket(AddrOf(1), Datagram({ping}, ""));
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kWrongLabel), 2u);
  EXPECT_EQ(Mark(), mark);

  swim_->HandlePacket(AddrOf(1), Datagram({ping}, "alpha"));
  ASSERT_EQ(Mark(), mark + 1);
  // Our answer carries our label.
  auto opened = core::OpenFrame(rt_.sent.back().bytes, "alpha", 65507);
  EXPECT_TRUE(opened.ok()) << opened.error.message;
  auto unlabelled = core::OpenFrame(rt_.sent.back().bytes, "", 65507);
  EXPECT_FALSE(unlabelled.ok());
  EXPECT_EQ(unlabelled.error.reason, DropReason::kWrongLabel);

  // Streams too.
  wire::PushPull pp;
  pp.set_source(NameOf(1));
  *pp.add_members() = Record(NameOf(1), AddrOf(1), 0, wire::MEMBER_STATE_ALIVE);
  std::string answer =
      swim_->HandleStream(AddrOf(1), PushPullRequest(pp, "beta"));
  EXPECT_TRUE(IsRefusal(answer));
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kWrongLabel), 3u);
  EXPECT_FALSE(swim_->Lookup(NameOf(1)).has_value());
}

// ---------------------------------------------------------------- news

TEST_F(SwimTest, MembershipNewsFollowsPrecedenceAndRaisesEvents) {
  CreateAndStart();
  const std::string m = NameOf(1);
  auto expect_events = [&](std::vector<EventType> want, const char* step) {
    EXPECT_EQ(EventTypes(), want) << step;
  };
  using ET = EventType;

  Deliver(kStranger, {MakeAlive(m, AddrOf(1), 1, "meta-a")});
  expect_events({ET::kJoined}, "new member");
  ASSERT_TRUE(swim_->Lookup(m).has_value());
  EXPECT_EQ(swim_->Lookup(m)->state, MemberState::kAlive);
  EXPECT_EQ(swim_->Lookup(m)->incarnation, 1u);
  EXPECT_EQ(swim_->Lookup(m)->meta, "meta-a");
  EXPECT_EQ(swim_->Lookup(m)->addr, AddrOf(1));
  EXPECT_EQ(swim_->NumAlive(), 2u);
  EXPECT_EQ(app_.events[0].event.member.name, m);

  Deliver(kStranger, {MakeSuspect(m, 0, NameOf(2))});
  expect_events({ET::kJoined}, "suspect at a lower incarnation");
  EXPECT_EQ(StateOf(m), MemberState::kAlive);

  Deliver(kStranger, {MakeSuspect(m, 1, NameOf(2))});
  expect_events({ET::kJoined, ET::kSuspected}, "suspect at equal incarnation");
  EXPECT_EQ(StateOf(m), MemberState::kSuspect);
  EXPECT_EQ(swim_->NumAlive(), 2u) << "a suspect still counts as alive";

  Deliver(kStranger, {MakeAlive(m, AddrOf(1), 1, "meta-a")});
  expect_events({ET::kJoined, ET::kSuspected},
                "alive at equal incarnation does not clear a suspicion");
  EXPECT_EQ(StateOf(m), MemberState::kSuspect);

  Deliver(kStranger, {MakeAlive(m, AddrOf(1), 2, "meta-a")});
  expect_events({ET::kJoined, ET::kSuspected, ET::kRecovered},
                "alive at higher incarnation");
  EXPECT_EQ(StateOf(m), MemberState::kAlive);
  EXPECT_EQ(swim_->Lookup(m)->incarnation, 2u);

  Deliver(kStranger, {MakeAlive(m, AddrOf(1), 1, "stale-meta")});
  expect_events({ET::kJoined, ET::kSuspected, ET::kRecovered}, "old alive");
  EXPECT_EQ(swim_->Lookup(m)->meta, "meta-a");
  EXPECT_EQ(swim_->Lookup(m)->incarnation, 2u);

  Deliver(kStranger, {MakeAlive(m, AddrOf(1), 3, "meta-b")});
  expect_events({ET::kJoined, ET::kSuspected, ET::kRecovered, ET::kUpdated},
                "new meta");
  EXPECT_EQ(swim_->Lookup(m)->meta, "meta-b");
  EXPECT_EQ(app_.events.back().event.member.meta, "meta-b");

  Deliver(kStranger, {MakeDead(m, 2, NameOf(2))});
  expect_events({ET::kJoined, ET::kSuspected, ET::kRecovered, ET::kUpdated},
                "old dead");
  EXPECT_EQ(StateOf(m), MemberState::kAlive);

  Deliver(kStranger, {MakeDead(m, 3, NameOf(2))});
  expect_events(
      {ET::kJoined, ET::kSuspected, ET::kRecovered, ET::kUpdated, ET::kFailed},
      "dead");
  EXPECT_EQ(StateOf(m), MemberState::kDead);
  EXPECT_EQ(swim_->NumAlive(), 1u);

  Deliver(kStranger,
          {MakeAlive(m, AddrOf(1), 3, "meta-b"), MakeSuspect(m, 3, NameOf(2))});
  EXPECT_EQ(app_.events.size(), 5u) << "news at the dead incarnation applied";
  EXPECT_EQ(StateOf(m), MemberState::kDead);

  Deliver(kStranger, {MakeAlive(m, AddrOf(1), 4, "meta-b")});
  EXPECT_EQ(app_.events.back().event.type, ET::kJoined) << "back from dead";
  EXPECT_EQ(StateOf(m), MemberState::kAlive);

  Deliver(kStranger, {MakeDead(m, 4, m)});
  EXPECT_EQ(app_.events.back().event.type, ET::kLeft);
  EXPECT_EQ(StateOf(m), MemberState::kLeft);
  EXPECT_EQ(app_.events.size(), 7u);

  // News about someone we never heard of, other than alive, is ignored.
  Deliver(kStranger, {MakeSuspect("ghost", 5, NameOf(2)),
                      MakeDead("ghost", 5, NameOf(2))});
  EXPECT_FALSE(swim_->Lookup("ghost").has_value());
  EXPECT_EQ(app_.events.size(), 7u);
}

TEST_F(SwimTest, NewsIsGossipedOn) {
  CreateAndStart();
  AddMembers(1, 3);
  Deliver(kStranger, {MakeSuspect(NameOf(2), 0, NameOf(3))});
  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  for (const auto& d : sent) {
    EXPECT_TRUE(d.Has([](const auto& m) { return IsAliveAbout(m, "m1"); }));
    EXPECT_TRUE(d.Has([](const auto& m) { return IsSuspectAbout(m, "m2"); }));
    EXPECT_TRUE(d.Has([](const auto& m) { return IsAliveAbout(m, kSelf); }));
    // Newer news about a member replaces older: no Alive m2 any more.
    EXPECT_FALSE(d.Has([](const auto& m) { return IsAliveAbout(m, "m2"); }));
  }
}

TEST_F(SwimTest, AliveFromAnotherAddressForALiveMemberIsAConflict) {
  CreateAndStart();
  AddMembers(1, 1);
  Deliver(kStranger, {MakeAlive(NameOf(1), "10.7.7.7:7946", 5)});
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kAddressConflict), 1u);
  EXPECT_EQ(swim_->Lookup(NameOf(1))->addr, AddrOf(1));
  EXPECT_EQ(swim_->Lookup(NameOf(1))->incarnation, 0u);
}

TEST_F(SwimTest, TableFullDropsNewMembers) {
  Config c = BaseConfig();
  c.limits.max_members = 3;
  CreateAndStart(c);
  AddMembers(1, 4);
  EXPECT_EQ(swim_->Members().size(), 3u);
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kTableFull), 2u);
}

// ---------------------------------------------------------------- refuting

TEST_F(SwimTest, SuspicionOfSelfIsRefuted) {
  CreateAndStart();
  AddMembers(1, 3);
  ASSERT_EQ(swim_->HealthScore(), 0);
  Deliver(AddrOf(1), {MakeSuspect(kSelf, 0, NameOf(1))});
  EXPECT_EQ(swim_->Self().incarnation, 1u);
  EXPECT_EQ(swim_->Self().state, MemberState::kAlive);
  EXPECT_EQ(swim_->counters().refutations, 1u);
  EXPECT_EQ(swim_->HealthScore(), 1);
  EXPECT_EQ(app_.events.size(), 3u) << "an event about ourselves";

  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  for (const auto& d : sent) {
    const int i =
        d.IndexOf([](const auto& m) { return IsAliveAbout(m, kSelf); });
    ASSERT_GE(i, 0) << "refutation not gossiped to " << d.to;
    EXPECT_EQ(d.messages[i].alive().incarnation(), 1u);
    EXPECT_EQ(d.messages[i].alive().addr(), kSelfAddr);
  }

  // A suspicion far above our incarnation: we jump over it.
  Deliver(AddrOf(2), {MakeSuspect(kSelf, 7, NameOf(2))});
  EXPECT_EQ(swim_->Self().incarnation, 8u);
  EXPECT_EQ(swim_->counters().refutations, 2u);
  EXPECT_EQ(swim_->HealthScore(), 2);
}

TEST_F(SwimTest, DeathOfSelfIsRefuted) {
  CreateAndStart();
  AddMembers(1, 3);
  Deliver(AddrOf(1), {MakeDead(kSelf, 0, NameOf(1))});
  EXPECT_EQ(swim_->Self().state, MemberState::kAlive);
  EXPECT_EQ(swim_->Self().incarnation, 1u);
  EXPECT_EQ(swim_->counters().refutations, 1u);

  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  const int i =
      sent[0].IndexOf([](const auto& m) { return IsAliveAbout(m, kSelf); });
  ASSERT_GE(i, 0);
  EXPECT_EQ(sent[0].messages[i].alive().incarnation(), 1u);

  // Lifeguard: having to refute is a sign of ill health, whether the
  // accusation was a suspicion or a death (memberlist's refute() raises
  // the awareness score in both cases).
  EXPECT_EQ(swim_->HealthScore(), 1)
      << "refuting a Dead about ourselves did not raise the health score";
}

TEST_F(SwimTest, WithoutLifeguardRefutingLeavesHealthAlone) {
  Config c = BaseConfig();
  c.lifeguard = false;
  CreateAndStart(c);
  AddMembers(1, 2);
  Deliver(AddrOf(1), {MakeSuspect(kSelf, 0, NameOf(1))});
  EXPECT_EQ(swim_->Self().incarnation, 1u);
  EXPECT_EQ(swim_->counters().refutations, 1u);
  EXPECT_EQ(swim_->HealthScore(), 0);
}

TEST_F(SwimTest, StaleSuspicionOfSelfGetsTheRefutationBackAtOnce) {
  CreateAndStart();
  AddMembers(1, 3);
  Deliver(AddrOf(1), {MakeSuspect(kSelf, 0, NameOf(1))});
  ASSERT_EQ(swim_->Self().incarnation, 1u);

  // m2 still holds the old suspicion: tell it directly.
  size_t mark = Mark();
  Deliver(AddrOf(2), {MakeSuspect(kSelf, 0, NameOf(2))});
  auto sent = SentSince(mark);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, AddrOf(2));
  EXPECT_TRUE(sent[0].Has([](const auto& m) {
    return IsAliveAbout(m, kSelf) && m.alive().incarnation() == 1;
  }));
  EXPECT_EQ(swim_->Self().incarnation, 1u) << "refuted an old suspicion again";
  EXPECT_EQ(swim_->counters().refutations, 1u);

  // With a ping: the refutation rides in the ack's datagram, before the ack.
  mark = Mark();
  Deliver(AddrOf(3), {MakeSuspect(kSelf, 0, NameOf(3)),
                      MakePing(99, kSelf, NameOf(3), AddrOf(3))});
  sent = SentSince(mark);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, AddrOf(3));
  const int alive = sent[0].IndexOf([](const auto& m) {
    return IsAliveAbout(m, kSelf) && m.alive().incarnation() == 1;
  });
  const int ack = sent[0].IndexOf(
      [](const auto& m) { return m.has_ack() && m.ack().seq() == 99; });
  ASSERT_GE(alive, 0);
  ASSERT_GE(ack, 0);
  EXPECT_LT(alive, ack);
}

// ---------------------------------------------------------------- probing

TEST_F(SwimTest, ProbeTimerPingsAMember) {
  CreateAndStart();
  AddMembers(1, 4);
  Datagrams d = ProbeOnce();
  const int i = d.IndexOf([](const auto& m) { return m.has_ping(); });
  ASSERT_GE(i, 0);
  const wire::Ping& ping = d.messages[i].ping();
  EXPECT_EQ(d.to, swim_->Lookup(ping.target())->addr);
  EXPECT_NE(ping.target(), kSelf);
  EXPECT_EQ(ping.source(), kSelf);
  EXPECT_EQ(ping.source_addr(), "") << "answered at the datagram's source";
  EXPECT_EQ(swim_->counters().probes, 1u);

  const auto* timeout = LastTimer(TimerKind::kProbeTimeout);
  const auto* deadline = LastTimer(TimerKind::kProbeDeadline);
  ASSERT_NE(timeout, nullptr);
  ASSERT_NE(deadline, nullptr);
  EXPECT_EQ(timeout->delay, swim_->config().probe_timeout);
  EXPECT_EQ(timeout->timer.token, ping.seq());
  EXPECT_EQ(deadline->delay, swim_->config().probe_interval);
  EXPECT_EQ(deadline->timer.token, ping.seq());
}

TEST_F(SwimTest, ProbesWalkEveryMemberOncePerPass) {
  CreateAndStart();
  const int others = 9;
  AddMembers(1, others);
  std::vector<std::string> order;
  for (int i = 0; i < 3 * others; ++i) {
    Datagrams d = ProbeOnce();
    order.push_back(PingTarget(d));
    Deliver(d.to, {MakeAck(PingSeq(d))});
  }
  std::vector<std::string> everyone;
  for (int i = 1; i <= others; ++i) everyone.push_back(NameOf(i));
  for (int pass = 0; pass < 3; ++pass) {
    std::vector<std::string> seen(order.begin() + pass * others,
                                  order.begin() + (pass + 1) * others);
    std::sort(seen.begin(), seen.end());
    std::vector<std::string> want = everyone;
    std::sort(want.begin(), want.end());
    EXPECT_EQ(seen, want) << "pass " << pass;
  }
  // Reshuffled between passes.
  EXPECT_NE(std::vector<std::string>(order.begin(), order.begin() + others),
            std::vector<std::string>(order.begin() + others,
                                     order.begin() + 2 * others));
  EXPECT_EQ(swim_->HealthScore(), 0);
  EXPECT_EQ(swim_->counters().probe_failures, 0u);
}

class ProbeFailureTest : public SwimTest,
                         public ::testing::WithParamInterface<bool> {};

TEST_P(ProbeFailureTest, UnansweredProbeGoesIndirectThenSuspects) {
  const bool lifeguard = GetParam();
  Config c = BaseConfig();
  c.lifeguard = lifeguard;
  CreateAndStart(c);
  AddMembers(1, 8);
  Datagrams probe = ProbeOnce();
  const uint32_t seq = PingSeq(probe);
  const std::string target = PingTarget(probe);

  size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kProbeTimeout));
  auto sent = SentSince(mark);
  ASSERT_EQ(static_cast<int>(sent.size()), c.indirect_checks);
  std::vector<std::string> relays;
  for (const auto& d : sent) {
    const int i =
        d.IndexOf([](const auto& m) { return m.has_indirect_ping(); });
    ASSERT_GE(i, 0) << d.to;
    const wire::IndirectPing& ip = d.messages[i].indirect_ping();
    EXPECT_EQ(ip.seq(), seq);
    EXPECT_EQ(ip.target(), target);
    EXPECT_EQ(ip.target_addr(), probe.to);
    EXPECT_EQ(ip.source(), kSelf);
    EXPECT_EQ(ip.source_addr(), kSelfAddr);
    EXPECT_EQ(ip.want_nack(), lifeguard);
    EXPECT_NE(d.to, probe.to) << "asked the target to probe itself";
    EXPECT_NE(d.to, kSelfAddr);
    relays.push_back(d.to);
  }
  std::sort(relays.begin(), relays.end());
  EXPECT_EQ(std::unique(relays.begin(), relays.end()), relays.end())
      << "the same relay asked twice";
  EXPECT_EQ(swim_->counters().indirect_probes,
            static_cast<uint64_t>(c.indirect_checks));
  EXPECT_EQ(StateOf(target), MemberState::kAlive);

  ASSERT_TRUE(Fire(TimerKind::kProbeDeadline));
  EXPECT_EQ(StateOf(target), MemberState::kSuspect);
  EXPECT_EQ(swim_->counters().probe_failures, 1u);
  EXPECT_EQ(swim_->counters().suspicions, 1u);
  ASSERT_FALSE(app_.events.empty());
  EXPECT_EQ(app_.events.back().event.type, EventType::kSuspected);
  EXPECT_EQ(app_.events.back().event.member.name, target);
  // Lifeguard: every relay that did not even nack counts against us.
  EXPECT_EQ(swim_->HealthScore(), lifeguard ? c.indirect_checks : 0);

  // And the suspicion is gossiped, from us.
  mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  const int i =
      sent[0].IndexOf([&](const auto& m) { return IsSuspectAbout(m, target); });
  ASSERT_GE(i, 0);
  EXPECT_EQ(sent[0].messages[i].suspect().from(), kSelf);
}

INSTANTIATE_TEST_SUITE_P(Lifeguard, ProbeFailureTest, ::testing::Bool(),
                         [](const auto& info) {
                           return info.param ? "On" : "Off";
                         });

TEST_F(SwimTest, NacksFromRelaysSpareTheHealthScore) {
  CreateAndStart();
  AddMembers(1, 8);
  Datagrams probe = ProbeOnce();
  const uint32_t seq = PingSeq(probe);
  size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kProbeTimeout));
  auto relays = SentSince(mark);
  ASSERT_EQ(relays.size(), 3u);
  // Two of three relays nack: only the silent one counts against us.
  Deliver(relays[0].to, {MakeNack(seq)});
  Deliver(relays[1].to, {MakeNack(seq)});
  EXPECT_EQ(swim_->counters().nacks_received, 2u);
  ASSERT_TRUE(Fire(TimerKind::kProbeDeadline));
  EXPECT_EQ(StateOf(PingTarget(probe)), MemberState::kSuspect);
  EXPECT_EQ(swim_->HealthScore(), 1);

  // A nack for no probe in flight is counted as such.
  Deliver(relays[2].to, {MakeNack(seq)});
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kUnknownAck), 1u);
}

TEST_F(SwimTest, AckBeforeTimeoutKeepsMemberAliveAndLowersTheScore) {
  CreateAndStart();
  AddMembers(1, 4);
  // Two refutations make us less sure of ourselves first.
  Deliver(AddrOf(1), {MakeSuspect(kSelf, 0, NameOf(1))});
  Deliver(AddrOf(1), {MakeSuspect(kSelf, 1, NameOf(1))});
  ASSERT_EQ(swim_->HealthScore(), 2);

  Datagrams probe = ProbeOnce();
  // Lifeguard scales the probe timeout by 1 + score.
  EXPECT_EQ(LastTimer(TimerKind::kProbeTimeout)->delay,
            swim_->config().probe_timeout * 3);
  EXPECT_EQ(LastTimer(TimerKind::kProbe)->delay,
            swim_->config().probe_interval * 3);

  rt_.now += absl::Milliseconds(20);
  Deliver(probe.to, {MakeAck(PingSeq(probe))});
  EXPECT_EQ(swim_->HealthScore(), 1);
  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kProbeTimeout));
  EXPECT_EQ(Mark(), mark) << "went indirect after an ack";
  ASSERT_TRUE(Fire(TimerKind::kProbeDeadline));
  EXPECT_EQ(StateOf(PingTarget(probe)), MemberState::kAlive);
  EXPECT_EQ(swim_->counters().probe_failures, 0u);
  EXPECT_EQ(swim_->counters().suspicions, 0u);
  // A second copy of the ack does nothing more.
  Deliver(probe.to, {MakeAck(PingSeq(probe))});
  EXPECT_EQ(swim_->HealthScore(), 1);
}

TEST_F(SwimTest, ProbeOfASuspectCarriesTheSuspicion) {
  CreateAndStart();
  AddMembers(1, 1);
  Deliver(kStranger, {MakeSuspect(NameOf(1), 0, "m9")});
  ASSERT_EQ(StateOf(NameOf(1)), MemberState::kSuspect);
  Datagrams probe = ProbeOnce();
  EXPECT_EQ(probe.to, AddrOf(1));
  const int suspect =
      probe.IndexOf([](const auto& m) { return IsSuspectAbout(m, "m1"); });
  const int ping = probe.IndexOf([](const auto& m) { return m.has_ping(); });
  ASSERT_GE(suspect, 0) << "buddy system: the suspect is not told";
  ASSERT_GE(ping, 0);
  EXPECT_LT(suspect, ping);
  EXPECT_EQ(probe.messages[suspect].suspect().incarnation(), 0u);
}

TEST_F(SwimTest, WithoutLifeguardProbeOfASuspectStartsWithThePing) {
  Config c = BaseConfig();
  c.lifeguard = false;
  CreateAndStart(c);
  AddMembers(1, 1);
  Deliver(kStranger, {MakeSuspect(NameOf(1), 0, "m9")});
  Datagrams probe = ProbeOnce();
  ASSERT_FALSE(probe.messages.empty());
  EXPECT_TRUE(probe.messages[0].has_ping());
}

// ---------------------------------------------------------------- relaying

TEST_F(SwimTest, RelaysIndirectPingAndForwardsTheAck) {
  CreateAndStart();
  size_t mark = Mark();
  Deliver(AddrOf(1), {MakeIndirectPing(9001, NameOf(2), AddrOf(2), NameOf(1),
                                       AddrOf(1), true)});
  auto sent = SentSince(mark);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, AddrOf(2));
  const int i = sent[0].IndexOf([](const auto& m) { return m.has_ping(); });
  ASSERT_GE(i, 0);
  const wire::Ping ping = sent[0].messages[i].ping();
  EXPECT_EQ(ping.target(), NameOf(2));
  EXPECT_EQ(ping.source(), kSelf);
  EXPECT_EQ(ping.source_addr(), "");
  EXPECT_NE(ping.seq(), 9001u) << "relayed with the requester's seq";

  mark = Mark();
  Deliver(AddrOf(2), {MakeAck(ping.seq())});
  sent = SentSince(mark);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, AddrOf(1));
  EXPECT_TRUE(sent[0].Has(
      [](const auto& m) { return m.has_ack() && m.ack().seq() == 9001; }));

  // Answered: no nack later, and a second ack is unknown.
  mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kRelayNack));
  EXPECT_EQ(Mark(), mark);
  Deliver(AddrOf(2), {MakeAck(ping.seq())});
  EXPECT_EQ(Mark(), mark);
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kUnknownAck), 1u);
}

TEST_F(SwimTest, RelayNacksWhenTheTargetIsSilent) {
  CreateAndStart();
  size_t mark = Mark();
  Deliver(AddrOf(1), {MakeIndirectPing(77, NameOf(2), AddrOf(2), NameOf(1),
                                       AddrOf(1), true)});
  auto relayed = SentSince(mark);
  ASSERT_EQ(relayed.size(), 1u);
  const uint32_t relay_seq = PingSeq(relayed[0]);
  const auto* nack_timer = LastTimer(TimerKind::kRelayNack);
  ASSERT_NE(nack_timer, nullptr);
  // Early enough to reach the requester before its own probe deadline.
  EXPECT_LT(nack_timer->delay, swim_->config().probe_timeout);
  mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kRelayNack));
  auto sent = SentSince(mark);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].to, AddrOf(1));
  EXPECT_TRUE(sent[0].Has(
      [](const auto& m) { return m.has_nack() && m.nack().seq() == 77; }));
  EXPECT_FALSE(sent[0].Has([](const auto& m) { return m.has_ack(); }));

  // After the relay expires, a late ack is not forwarded.
  ASSERT_TRUE(Fire(TimerKind::kRelayExpire));
  mark = Mark();
  Deliver(AddrOf(2), {MakeAck(relay_seq)});
  EXPECT_EQ(Mark(), mark);
  EXPECT_EQ(swim_->counters().drops_of(DropReason::kUnknownAck), 1u);
}

TEST_F(SwimTest, RelayWithoutWantNackStaysQuiet) {
  CreateAndStart();
  Deliver(AddrOf(1), {MakeIndirectPing(78, NameOf(2), AddrOf(2), NameOf(1),
                                       AddrOf(1), false)});
  const size_t mark = Mark();
  while (Fire(TimerKind::kRelayNack)) {
  }
  EXPECT_EQ(Mark(), mark);
}

// ---------------------------------------------------------------- suspicion

class SuspicionTimeoutTest : public SwimTest {
 protected:
  static constexpr int kMembers = 20;  // self and m1..m19

  void SetUpCluster(bool lifeguard) {
    Config c = BaseConfig();
    c.lifeguard = lifeguard;
    CreateAndStart(c);
    AddMembers(1, kMembers - 1);
    ASSERT_EQ(swim_->NumAlive(), static_cast<size_t>(kMembers));
    floor_ = DesignFloor(c.suspicion_mult, kMembers, c.probe_interval);
    ceiling_ = floor_ * c.suspicion_max_timeout_mult;
    expected_ = c.suspicion_mult - 2;
    t0_ = rt_.now;
  }
  // Runs suspicion timers until the victim is declared dead; returns how
  // long after t0_ that happened.
  absl::Duration TimeToFailure(const std::string& victim) {
    RunUntil(t0_ + ceiling_ + absl::Seconds(10), {TimerKind::kSuspicion});
    for (const auto& e : app_.events) {
      if (e.event.type == EventType::kFailed && e.event.member.name == victim)
        return e.at - t0_;
    }
    ADD_FAILURE() << victim << " never failed";
    return absl::InfiniteDuration();
  }

  absl::Duration floor_, ceiling_;
  int expected_ = 0;
  absl::Time t0_;
};

TEST_F(SuspicionTimeoutTest, LifeguardWithoutConfirmationsWaitsTheMaximum) {
  SetUpCluster(true);
  ASSERT_EQ(floor_, absl::Milliseconds(5204));  // 4 * log10(20) s
  Deliver(AddrOf(2), {MakeSuspect(NameOf(1), 0, NameOf(2))});
  ASSERT_EQ(StateOf(NameOf(1)), MemberState::kSuspect);
  // The suspicion's own originator repeating itself does not confirm it.
  rt_.now += absl::Seconds(1);
  Deliver(AddrOf(2), {MakeSuspect(NameOf(1), 0, NameOf(2))});

  RunUntil(t0_ + ceiling_ - absl::Milliseconds(1), {TimerKind::kSuspicion});
  EXPECT_EQ(StateOf(NameOf(1)), MemberState::kSuspect)
      << "declared dead before the maximum timeout";
  EXPECT_EQ(TimeToFailure(NameOf(1)), ceiling_);
  EXPECT_EQ(StateOf(NameOf(1)), MemberState::kDead);
  EXPECT_EQ(swim_->counters().deaths, 1u);
}

TEST_F(SuspicionTimeoutTest, LifeguardOneConfirmationShortensTheTimeout) {
  SetUpCluster(true);
  Deliver(AddrOf(2), {MakeSuspect(NameOf(1), 0, NameOf(2))});
  rt_.now += absl::Seconds(1);
  Deliver(AddrOf(3), {MakeSuspect(NameOf(1), 0, NameOf(3))});
  // The same confirmer twice counts once.
  rt_.now += absl::Seconds(1);
  Deliver(AddrOf(3), {MakeSuspect(NameOf(1), 0, NameOf(3))});

  const absl::Duration want = DesignTimeout(1, expected_, floor_, ceiling_);
  ASSERT_LT(want, ceiling_);
  ASSERT_GT(want, floor_);
  EXPECT_EQ(TimeToFailure(NameOf(1)), want);
  EXPECT_EQ(swim_->counters().deaths, 1u);
  int failed = 0;
  for (const auto& e : app_.events)
    failed += e.event.type == EventType::kFailed;
  EXPECT_EQ(failed, 1);
}

TEST_F(SuspicionTimeoutTest, LifeguardEnoughConfirmationsReachTheFloor) {
  SetUpCluster(true);
  ASSERT_EQ(expected_, 2);
  Deliver(AddrOf(2), {MakeSuspect(NameOf(1), 0, NameOf(2))});
  rt_.now += absl::Seconds(1);
  Deliver(AddrOf(3), {MakeSuspect(NameOf(1), 0, NameOf(3))});

  // Each new confirmation is gossiped on.
  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  const int i =
      sent[0].IndexOf([](const auto& m) { return IsSuspectAbout(m, "m1"); });
  ASSERT_GE(i, 0);
  EXPECT_EQ(sent[0].messages[i].suspect().from(), NameOf(3));

  rt_.now = t0_ + absl::Seconds(2);
  Deliver(AddrOf(4), {MakeSuspect(NameOf(1), 0, NameOf(4))});
  // Past the expected count, more confirmations change nothing.
  Deliver(AddrOf(5), {MakeSuspect(NameOf(1), 0, NameOf(5))});
  EXPECT_EQ(TimeToFailure(NameOf(1)), floor_);
}

TEST_F(SuspicionTimeoutTest, WithoutLifeguardTheTimeoutIsTheFloor) {
  SetUpCluster(false);
  Deliver(AddrOf(2), {MakeSuspect(NameOf(1), 0, NameOf(2))});
  rt_.now += absl::Seconds(1);
  Deliver(AddrOf(3), {MakeSuspect(NameOf(1), 0, NameOf(3))});
  RunUntil(t0_ + floor_ - absl::Milliseconds(1), {TimerKind::kSuspicion});
  EXPECT_EQ(StateOf(NameOf(1)), MemberState::kSuspect);
  EXPECT_EQ(TimeToFailure(NameOf(1)), floor_);
}

TEST_F(SuspicionTimeoutTest, RefutedSuspicionNeverFires) {
  SetUpCluster(true);
  Deliver(AddrOf(2), {MakeSuspect(NameOf(1), 0, NameOf(2))});
  rt_.now += absl::Seconds(1);
  Deliver(AddrOf(1), {MakeAlive(NameOf(1), AddrOf(1), 1)});
  ASSERT_EQ(StateOf(NameOf(1)), MemberState::kAlive);
  RunUntil(t0_ + ceiling_ + absl::Seconds(10), {TimerKind::kSuspicion});
  EXPECT_EQ(StateOf(NameOf(1)), MemberState::kAlive);
  EXPECT_EQ(swim_->counters().deaths, 0u);
}

// ---------------------------------------------------------------- budget

struct BudgetCase {
  std::string label;
  size_t budget;
};
void PrintTo(const BudgetCase& c, std::ostream* os) {
  *os << "label of " << c.label.size() << " bytes, budget " << c.budget;
}

class PacketBudgetTest : public SwimTest,
                         public ::testing::WithParamInterface<BudgetCase> {};

TEST_P(PacketBudgetTest, EveryDatagramFitsAndPingsStillGoOut) {
  Config c = BaseConfig();
  c.label = GetParam().label;
  c.packet_budget = GetParam().budget;
  CreateAndStart(c);
  AddMembers(1, 300);
  // The biggest piece of news queued.
  const size_t largest_entry =
      core::EncodeMessageEntry(MakeAlive(NameOf(300), AddrOf(300), 0)).size();

  const size_t mark = Mark();
  Datagrams probe = ProbeOnce();
  EXPECT_TRUE(probe.Has([](const auto& m) { return m.has_ping(); }));
  Deliver(AddrOf(5), {MakePing(31337, kSelf, NameOf(5), AddrOf(5))});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Fire(TimerKind::kGossip));

  auto sent = SentSince(mark);
  ASSERT_GE(sent.size(), 10u);
  bool acked = false;
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_LE(sent[i].size, c.packet_budget) << "datagram " << i;
    // Filled: no room was left for another piece of news.
    EXPECT_GT(sent[i].size + largest_entry, c.packet_budget)
        << "datagram " << i;
    EXPECT_GT(sent[i].messages.size(), 5u);
    acked |= sent[i].Has(
        [](const auto& m) { return m.has_ack() && m.ack().seq() == 31337; });
  }
  EXPECT_TRUE(acked) << "the ack was crowded out";
}

INSTANTIATE_TEST_SUITE_P(
    Budgets, PacketBudgetTest,
    ::testing::Values(BudgetCase{"", 1400}, BudgetCase{"", 512},
                      BudgetCase{std::string(200, 'L'), 1400},
                      BudgetCase{"prod-eu-west", 600}),
    [](const auto& info) {
      return absl::StrCat(info.param.label.empty() ? "NoLabel" : "Label",
                          info.param.label.size(), "Budget", info.param.budget);
    });

// ---------------------------------------------------------------- broadcasts

TEST_F(SwimTest, BroadcastTooLargeForTheBudgetIsRefused) {
  CreateAndStart();
  AddMembers(1, 1);
  EXPECT_EQ(swim_->Broadcast(std::string(1400, 'b')).code(),
            absl::StatusCode::kInvalidArgument);
  // The largest accepted payload still fits in one datagram.
  size_t largest = 1400;
  while (largest > 0 && !swim_->Broadcast(std::string(largest, 'b')).ok())
    --largest;
  ASSERT_GT(largest, 1300u);
  // It goes out whole, within the budget (once the small membership news
  // queued here has been sent: see LargeBroadcastIsNotStarved...).
  const size_t mark = Mark();
  for (int tick = 0; tick < 10; ++tick) ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  bool carried = false;
  for (const auto& d : sent) {
    EXPECT_LE(d.size, swim_->config().packet_budget);
    carried |= d.Has([&](const auto& m) {
      return m.has_user() && m.user().payload().size() == largest;
    });
  }
  EXPECT_TRUE(carried);
}

TEST_F(SwimTest, BroadcastIsNotCrowdedOutByMembershipNews) {
  CreateAndStart();
  AddMembers(1, 300);
  ASSERT_TRUE(swim_->Broadcast("hello-app").ok());
  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  const int i = sent[0].IndexOf([](const auto& m) { return m.has_user(); });
  ASSERT_GE(i, 0) << "the broadcast waited behind membership news";
  EXPECT_EQ(sent[0].messages[i].user().payload(), "hello-app");
  EXPECT_EQ(sent[0].messages[i].user().origin(), kSelf);
  // And the news still got most of the room.
  EXPECT_GT(sent[0].Count([](const auto& m) { return m.has_alive(); }), 10);
}

TEST_F(SwimTest, LargeBroadcastIsNotStarvedByMembershipNews) {
  CreateAndStart();
  AddMembers(1, 300);
  // Accepted, so it fits in a datagram; but it is over half the budget.
  ASSERT_TRUE(swim_->Broadcast(std::string(900, 'L')).ok());
  const size_t mark = Mark();
  for (int tick = 0; tick < 3; ++tick) ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_GE(sent.size(), 9u);
  int carried = 0;
  for (const auto& d : sent)
    carried += d.Count([](const auto& m) { return m.has_user(); });
  EXPECT_GT(carried, 0) << "a broadcast over half the packet budget waits "
                           "until all membership news has drained ("
                        << sent.size() << " datagrams without it)";
}

TEST_F(SwimTest, ADatagramNeverCarriesTheSameBroadcastTwice) {
  CreateAndStart();
  AddMembers(1, 2);
  ASSERT_TRUE(swim_->Broadcast("once").ok());
  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  for (const auto& d : sent) {
    EXPECT_EQ(d.Count([](const auto& m) { return m.has_user(); }), 1)
        << "to " << d.to;
  }
  // Each copy counts as a transmission: the broadcast must reach as many
  // datagrams as its transmit limit.
  for (int tick = 0; tick < 20; ++tick) ASSERT_TRUE(Fire(TimerKind::kGossip));
  int datagrams = 0;
  for (const auto& d : SentSince(mark))
    datagrams += d.Has([](const auto& m) { return m.has_user(); });
  const int limit = TransmitLimit(3);
  EXPECT_EQ(datagrams, limit) << "the broadcast went out in " << datagrams
                              << " datagrams, not its transmit limit";
}

TEST_F(SwimTest, ReceivedBroadcastIsDeliveredOnceAndPassedOn) {
  CreateAndStart();
  AddMembers(1, 3);
  const auto user = MakeUser("payload-1", NameOf(1), 7);
  Deliver(AddrOf(1), {user});
  Deliver(AddrOf(2), {user});
  ASSERT_EQ(app_.broadcasts.size(), 1u);
  EXPECT_EQ(app_.broadcasts[0], "payload-1");
  EXPECT_EQ(swim_->counters().broadcasts_delivered, 1u);
  // Another id from the same origin is another broadcast.
  Deliver(AddrOf(1), {MakeUser("payload-2", NameOf(1), 8)});
  EXPECT_EQ(app_.broadcasts.size(), 2u);

  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  EXPECT_TRUE(sent[0].Has([](const auto& m) {
    return m.has_user() && m.user().payload() == "payload-1" &&
           m.user().origin() == "m1" && m.user().id() == 7;
  }));
}

TEST_F(SwimTest, OwnBroadcastEchoedBackIsNotDelivered) {
  CreateAndStart();
  AddMembers(1, 1);
  ASSERT_TRUE(swim_->Broadcast("mine").ok());
  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  const int i = sent[0].IndexOf([](const auto& m) { return m.has_user(); });
  ASSERT_GE(i, 0);
  Deliver(AddrOf(1), {sent[0].messages[i]});
  EXPECT_TRUE(app_.broadcasts.empty());
}

// ---------------------------------------------------------------- metadata

TEST_F(SwimTest, SetMetaRaisesIncarnationAndGossipsIt) {
  Config c = BaseConfig();
  c.meta = "v1";
  CreateAndStart(c);
  AddMembers(1, 2);
  ASSERT_TRUE(swim_->SetMeta("v2").ok());
  EXPECT_EQ(swim_->Self().meta, "v2");
  EXPECT_EQ(swim_->Self().incarnation, 1u);

  const size_t mark = Mark();
  ASSERT_TRUE(Fire(TimerKind::kGossip));
  auto sent = SentSince(mark);
  ASSERT_FALSE(sent.empty());
  for (const auto& d : sent) {
    const int i =
        d.IndexOf([](const auto& m) { return IsAliveAbout(m, kSelf); });
    ASSERT_GE(i, 0);
    EXPECT_EQ(d.messages[i].alive().meta(), "v2");
    EXPECT_EQ(d.messages[i].alive().incarnation(), 1u);
  }

  const auto status =
      swim_->SetMeta(std::string(c.limits.max_meta_bytes + 1, 'x'));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(swim_->Self().meta, "v2");
  EXPECT_EQ(swim_->Self().incarnation, 1u);
  EXPECT_TRUE(swim_->SetMeta(std::string(c.limits.max_meta_bytes, 'x')).ok());
}

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

// ---------------------------------------------------------------- leaving

TEST_F(SwimTest, LeaveCompletesAfterTheTransmitLimitAndStopsProbing) {
  CreateAndStart();
  AddMembers(1, 3);
  EXPECT_FALSE(swim_->LeaveComplete()) << "complete before leaving";
  swim_->Leave();
  EXPECT_EQ(swim_->Self().state, MemberState::kLeft);
  EXPECT_FALSE(swim_->LeaveComplete());
  const int limit = TransmitLimit(3);
  ASSERT_EQ(limit, 8) << "the floor of 2 * (gossip_nodes + 1)";

  const size_t mark = Mark();
  // The probe timer armed at Start() fires, and neither probes nor re-arms.
  const int probe_timers = CountTimers(TimerKind::kProbe);
  ASSERT_TRUE(Fire(TimerKind::kProbe));
  EXPECT_EQ(CountTimers(TimerKind::kProbe), probe_timers);
  int sent_dead = 0;
  for (int tick = 0; tick < 20 && !swim_->LeaveComplete(); ++tick) {
    const size_t before = Mark();
    ASSERT_TRUE(Fire(TimerKind::kGossip));
    for (const auto& d : SentSince(before)) {
      sent_dead += d.Count([](const auto& m) {
        return IsDeadAbout(m, kSelf) && m.dead().from() == kSelf;
      });
    }
    EXPECT_LE(sent_dead, limit);
    EXPECT_EQ(swim_->LeaveComplete(), sent_dead >= limit)
        << "after " << sent_dead << " transmissions";
  }
  EXPECT_TRUE(swim_->LeaveComplete());
  EXPECT_EQ(sent_dead, limit);
  for (const auto& d : SentSince(mark)) {
    EXPECT_FALSE(d.Has([](const auto& m) { return m.has_ping(); }))
        << "probed after leaving";
  }
  EXPECT_EQ(swim_->counters().probes, 0u);

  // Our own leave echoing back is not refuted.
  Deliver(AddrOf(1), {MakeDead(kSelf, 0, kSelf)});
  EXPECT_EQ(swim_->Self().state, MemberState::kLeft);
  EXPECT_EQ(swim_->counters().refutations, 0u);
}

TEST_F(SwimTest, LeaveOfALoneMemberIsCompleteAtOnce) {
  CreateAndStart();
  swim_->Leave();
  EXPECT_TRUE(swim_->LeaveComplete());
}

// ---------------------------------------------------------------- the dead

TEST_F(SwimTest, RecentlyDeadMembersStillHearGossipButNotForever) {
  CreateAndStart();
  AddMembers(1, 2);
  const absl::Time t0 = rt_.now;
  Deliver(kStranger,
          {MakeDead(NameOf(1), 0, "x"), MakeDead(NameOf(2), 0, NameOf(2))});
  ASSERT_EQ(StateOf(NameOf(1)), MemberState::kDead);
  ASSERT_EQ(StateOf(NameOf(2)), MemberState::kLeft);

  RunUntil(t0 + absl::Seconds(10), {TimerKind::kGossip});
  size_t mark = Mark();
  ASSERT_TRUE(swim_->Broadcast("news-1").ok());
  RunUntil(t0 + absl::Seconds(11), {TimerKind::kGossip});
  auto sent = SentSince(mark);
  EXPECT_FALSE(sent.empty()) << "the recently dead got no gossip";
  for (const auto& d : sent) EXPECT_EQ(d.to, AddrOf(1)) << "gossip to the left";

  RunUntil(t0 + swim_->config().gossip_to_the_dead + absl::Seconds(1),
           {TimerKind::kGossip});
  mark = Mark();
  ASSERT_TRUE(swim_->Broadcast("news-2").ok());
  RunUntil(t0 + swim_->config().gossip_to_the_dead + absl::Seconds(3),
           {TimerKind::kGossip});
  EXPECT_EQ(Mark(), mark) << "gossiped to a member dead for too long";
}

}  // namespace
}  // namespace roster
