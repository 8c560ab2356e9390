// The keyring, the label and admission in the simulator, from fixed seeds:
// who can join, live key rotation, turning encryption on in a running
// cluster, tampered and replayed datagrams.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "roster/keyring.h"
#include "sim/simulation.h"
#include "test/common/test_keys.h"
#include "test/sim/sim_helpers.h"

namespace roster::sim {
namespace {

// Counts the events some member raised about others.
struct EventLog {
  std::map<EventType, int> counts;
  std::set<std::string> joined;  // names any member reported joining
  void Attach(Simulation& sim) {
    sim.on_event = [this](int, const Event& e) {
      ++counts[e.type];
      if (e.type == EventType::kJoined) joined.insert(e.member.name);
    };
  }
  int operator[](EventType type) const {
    auto it = counts.find(type);
    return it == counts.end() ? 0 : it->second;
  }
};

uint64_t Drops(Simulation& sim, int node, DropReason reason) {
  return sim.swim(node).counters().drops_of(reason);
}

uint64_t DropsEverywhere(Simulation& sim, DropReason reason) {
  uint64_t total = 0;
  for (size_t i = 0; i < sim.size(); ++i) total += Drops(sim, i, reason);
  return total;
}

// Starts `count` members joining through member 0; true once all see all.
bool Formed(Simulation& sim, int count, absl::Duration limit) {
  sim.AddCluster(count, 0);
  return sim.RunUntil([&] { return AllSeeAlive(sim, Range(0, count)); }, limit);
}

// Nobody but `node` itself knows it, and it knows nobody.
void ExpectShutOut(Simulation& sim, int node) {
  for (size_t o = 0; o < sim.size(); ++o) {
    if (static_cast<int>(o) == node) continue;
    EXPECT_FALSE(View(sim, o, node).has_value())
        << sim.name(o) << " knows " << sim.name(node);
  }
  EXPECT_EQ(sim.swim(node).Members().size(), 1u) << sim.name(node);
}

TEST(SecuritySimTest, WrongKeyNoKeyOrWrongLabelCannotJoin) {
  SimOptions options = SimOptions::WithSeed(41);
  // 0-7 share key A and label "prod"; 8 holds key B; 9 has no keyring;
  // 10 has key A under the label "test".
  options.tune = [](int node, Config& c) {
    c.label = node == 10 ? "test" : "prod";
    if (node == 8) {
      c.keyring = Ring({Key('B')});
    } else if (node != 9) {
      c.keyring = Ring({Key('A')});
    }
  };
  Simulation sim(options);
  EventLog log;
  log.Attach(sim);
  ASSERT_TRUE(Formed(sim, 8, absl::Seconds(30)));
  for (int i = 0; i < 3; ++i) {
    int n = sim.AddNode();
    sim.Start(n);
    sim.Join(n, {0});
  }
  sim.RunFor(absl::Seconds(120));
  for (int n = 8; n <= 10; ++n) {
    ExpectShutOut(sim, n);
    EXPECT_FALSE(sim.swim(n).Joined()) << sim.name(n);
    EXPECT_EQ(log.joined.count(sim.name(n)), 0u) << sim.name(n);
  }
  EXPECT_GT(Drops(sim, 0, DropReason::kUndecryptable), 0u) << "key B";
  EXPECT_GT(Drops(sim, 0, DropReason::kPlaintext), 0u) << "no keyring";
  EXPECT_GT(Drops(sim, 0, DropReason::kWrongLabel), 0u) << "label test";
  EXPECT_EQ(log[EventType::kFailed], 0);
  EXPECT_TRUE(AllSeeAlive(sim, Range(0, 8), Range(0, 8)));
}

// A push-pull is sealed once and opened once in each direction: the
// stream frame is the core's, and nothing seals or opens it again.
TEST(SecuritySimTest, APushPullIsOneAeadPassEachWay) {
  SimOptions o;
  o.seed = 11;
  o.tune = [](int, Config& c) {
    c.keyring = Ring({Key('A')});
    c.push_pull_interval = absl::ZeroDuration();
    c.reconnect_interval = absl::ZeroDuration();
  };
  Simulation sim(o);
  sim.AddCluster(2, 0);
  sim.RunFor(absl::Seconds(5));
  ASSERT_TRUE(sim.swim(1).Joined());
  for (int i : {0, 1}) {
    EXPECT_EQ(sim.swim(i).counters().stream_frames_sealed, 1u) << i;
    EXPECT_EQ(sim.swim(i).counters().stream_frames_opened, 1u) << i;
  }
}

TEST(SecuritySimTest, VetoedMemberIsNeverReportedJoined) {
  Simulation sim(SimOptions::WithSeed(42));
  EventLog log;
  log.Attach(sim);
  sim.allow_member = [&](int, const MemberInfo& m) {
    return m.name != "node-5";
  };
  sim.AddCluster(10, 0);
  sim.RunFor(absl::Seconds(90));
  EXPECT_EQ(log.joined.count("node-5"), 0u);
  ExpectShutOut(sim, 5);
  EXPECT_GT(Drops(sim, 0, DropReason::kNotAdmitted), 0u);
  std::vector<int> admitted = Range(0, 10);
  admitted.erase(admitted.begin() + 5);
  EXPECT_TRUE(AllSeeAlive(sim, admitted, admitted));
  EXPECT_EQ(log[EventType::kFailed], 0);
}

TEST(SecuritySimTest, MembersOutsideTheAllowedNetworksStayOut) {
  SimOptions options = SimOptions::WithSeed(43);
  // Members get 10.0.0.0, 10.0.0.1, ...: the first eight are inside.
  options.tune = [](int node, Config& c) {
    if (node < 8) c.allowed_networks = {"10.0.0.0/29"};
  };
  Simulation sim(options);
  EventLog log;
  log.Attach(sim);
  sim.AddCluster(10, 0);
  sim.RunFor(absl::Seconds(90));
  EXPECT_TRUE(AllSeeAlive(sim, Range(0, 8), Range(0, 8)));
  for (int n : {8, 9}) {
    for (int o = 0; o < 8; ++o) {
      EXPECT_FALSE(View(sim, o, n).has_value()) << o << " knows " << n;
    }
  }
  EXPECT_EQ(log.joined.count("node-8") + log.joined.count("node-9"), 0u);
  EXPECT_GT(Drops(sim, 0, DropReason::kNotAdmitted), 0u);
}

// Per-member keyrings, so each member's rotation step is its own.
struct KeyedCluster {
  std::vector<std::shared_ptr<Keyring>> rings;
  SimOptions Options(uint64_t seed, std::vector<std::string> keys) {
    SimOptions options = SimOptions::WithSeed(seed);
    options.tune = [this, keys](int node, Config& c) {
      while (rings.size() <= static_cast<size_t>(node)) {
        rings.push_back(Ring(keys));
      }
      c.keyring = rings[node];
    };
    return options;
  }
};

// One member at a time, a probe interval apart, as an operator rolls a
// change through a cluster.
void Rolling(Simulation& sim, const std::function<void(int)>& step) {
  for (size_t i = 0; i < sim.size(); ++i) {
    step(static_cast<int>(i));
    sim.RunFor(absl::Seconds(1));
  }
}

TEST(SecuritySimTest, LiveKeyRotationMarksNoMemberFailed) {
  KeyedCluster keyed;
  Simulation sim(keyed.Options(44, {Key('A')}));
  EventLog log;
  log.Attach(sim);
  ASSERT_TRUE(Formed(sim, 20, absl::Seconds(60)));
  Rolling(sim,
          [&](int n) { ASSERT_TRUE(keyed.rings[n]->Install(Key('B')).ok()); });
  Rolling(sim, [&](int n) {
    ASSERT_TRUE(keyed.rings[n]->UsePrimary(Key('B')).ok());
  });
  Rolling(sim,
          [&](int n) { ASSERT_TRUE(keyed.rings[n]->Remove(Key('A')).ok()); });
  sim.RunFor(absl::Seconds(60));
  EXPECT_EQ(log[EventType::kSuspected], 0);
  EXPECT_EQ(log[EventType::kFailed], 0);
  EXPECT_EQ(DropsEverywhere(sim, DropReason::kUndecryptable), 0u)
      << "no datagram was lost to the rotation";
  EXPECT_TRUE(AllSeeAlive(sim, Range(0, 20)));

  // The old key no longer opens anything: a member holding only it is out.
  keyed.rings.push_back(Ring({Key('A')}));
  int late = sim.AddNode();
  sim.Start(late);
  sim.Join(late, {0});
  sim.RunFor(absl::Seconds(60));
  ExpectShutOut(sim, late);
}

TEST(SecuritySimTest, PrimaryBeforeEveryoneHasTheKeyLosesDatagrams) {
  // The control for the rotation test: skipping the install step shows up.
  KeyedCluster keyed;
  Simulation sim(keyed.Options(45, {Key('A')}));
  ASSERT_TRUE(Formed(sim, 20, absl::Seconds(60)));
  ASSERT_TRUE(keyed.rings[3]->Install(Key('B')).ok());
  ASSERT_TRUE(keyed.rings[3]->UsePrimary(Key('B')).ok());
  sim.RunFor(absl::Seconds(10));
  EXPECT_GT(DropsEverywhere(sim, DropReason::kUndecryptable), 0u);
}

TEST(SecuritySimTest, PlaintextClusterTurnsEncryptionOnWithoutFailures) {
  Simulation sim(SimOptions::WithSeed(46));
  EventLog log;
  log.Attach(sim);
  ASSERT_TRUE(Formed(sim, 20, absl::Seconds(60)));
  std::vector<std::shared_ptr<Keyring>> rings;
  // 1: every member holds the key but still sends plaintext.
  Rolling(sim, [&](int n) {
    rings.push_back(Ring({Key('K')}));
    rings.back()->set_plaintext(Keyring::Plaintext::kSend);
    sim.swim(n).SetKeyring(rings.back());
  });
  // 2: every member sends sealed, still accepting plaintext.
  Rolling(sim,
          [&](int n) { rings[n]->set_plaintext(Keyring::Plaintext::kAccept); });
  // 3: plaintext is refused.
  Rolling(sim,
          [&](int n) { rings[n]->set_plaintext(Keyring::Plaintext::kRefuse); });
  sim.RunFor(absl::Seconds(60));
  EXPECT_EQ(log[EventType::kSuspected], 0);
  EXPECT_EQ(log[EventType::kFailed], 0);
  EXPECT_EQ(DropsEverywhere(sim, DropReason::kUndecryptable), 0u);
  EXPECT_EQ(DropsEverywhere(sim, DropReason::kPlaintext), 0u);
  EXPECT_TRUE(AllSeeAlive(sim, Range(0, 20)));

  // Encryption is now required: a plaintext member cannot join.
  int late = sim.AddNode();
  sim.Start(late);
  sim.Join(late, {0});
  sim.RunFor(absl::Seconds(60));
  ExpectShutOut(sim, late);
  EXPECT_GT(Drops(sim, 0, DropReason::kPlaintext), 0u);
}

TEST(SecuritySimTest, SealingBeforeEveryoneHasTheKeyLosesDatagrams) {
  // The control for the migration test: skipping step 1 shows up.
  Simulation sim(SimOptions::WithSeed(47));
  ASSERT_TRUE(Formed(sim, 20, absl::Seconds(60)));
  auto ring = Ring({Key('K')});
  ring->set_plaintext(Keyring::Plaintext::kAccept);
  sim.swim(3).SetKeyring(ring);
  sim.RunFor(absl::Seconds(10));
  EXPECT_GT(DropsEverywhere(sim, DropReason::kUndecryptable), 0u);
}

TEST(SecuritySimTest, TamperedDatagramsAreRejectedAndCounted) {
  KeyedCluster keyed;
  SimOptions options = keyed.Options(48, {Key('A')});
  auto tune = options.tune;
  options.tune = [tune](int node, Config& c) {
    tune(node, c);
    c.label = "prod";
  };
  Simulation sim(options);
  ASSERT_TRUE(Formed(sim, 5, absl::Seconds(30)));
  std::string captured;
  sim.on_packet = [&](int from, int to, const std::string& bytes) {
    if (from == 1 && to == 0 && captured.empty()) captured = bytes;
  };
  sim.RunFor(absl::Seconds(5));
  sim.on_packet = nullptr;
  ASSERT_FALSE(captured.empty());
  const auto before = sim.swim(0).Members();
  const Counters start = sim.swim(0).counters();
  size_t undecryptable = 0;
  for (size_t bit = 0; bit < captured.size() * 8; ++bit) {
    std::string changed = captured;
    changed[bit / 8] = static_cast<char>(changed[bit / 8] ^ (1 << (bit % 8)));
    const uint64_t drops = sim.swim(0).counters().total_drops();
    sim.Inject(0, sim.addr(1), changed);
    sim.RunFor(absl::Microseconds(1));  // delivers it
    EXPECT_EQ(sim.swim(0).counters().total_drops(), drops + 1) << "bit " << bit;
  }
  undecryptable = sim.swim(0).counters().drops_of(DropReason::kUndecryptable) -
                  start.drops_of(DropReason::kUndecryptable);
  // Every bit after the 7-byte header (version, flags, label) fails to open.
  EXPECT_GE(undecryptable, (captured.size() - 7) * 8);
  const auto after = sim.swim(0).Members();
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(before[i].state, after[i].state) << before[i].name;
    EXPECT_EQ(before[i].incarnation, after[i].incarnation) << before[i].name;
  }
}

TEST(SecuritySimTest, ReplayedDatagramsChangeNothing) {
  KeyedCluster keyed;
  Simulation sim(keyed.Options(49, {Key('A')}));
  EventLog log;
  log.Attach(sim);
  ASSERT_TRUE(Formed(sim, 10, absl::Seconds(30)));
  // Everything member 3 sends member 0 for 60 s: acks to 0's probes, pings,
  // news of itself and others.
  std::vector<std::string> captured;
  sim.on_packet = [&](int from, int to, const std::string& bytes) {
    if (from == 3 && to == 0) captured.push_back(bytes);
  };
  sim.RunFor(absl::Seconds(60));
  sim.on_packet = nullptr;
  ASSERT_GE(captured.size(), 10u);

  // Member 3 crashes; an attacker replays its old datagrams to member 0,
  // ten a second, from 3's address.
  sim.Crash(3);
  const absl::Time crashed = sim.now();
  const uint64_t unknown_acks = Drops(sim, 0, DropReason::kUnknownAck);
  size_t next = 0;
  auto replay_for = [&](absl::Duration d) {
    for (absl::Duration t; t < d; t += absl::Milliseconds(100)) {
      sim.Inject(0, sim.addr(3), captured[next++ % captured.size()]);
      sim.RunFor(absl::Milliseconds(100));
    }
  };
  absl::Time declared = absl::InfiniteFuture();
  for (int i = 0; i < 60 && declared == absl::InfiniteFuture(); ++i) {
    replay_for(absl::Seconds(1));
    auto v = View(sim, 0, 3);
    if (v && v->state == MemberState::kDead) declared = sim.now();
  }
  ASSERT_NE(declared, absl::InfiniteFuture())
      << "replayed acks kept member 3 alive at member 0";
  EXPECT_LE(declared - crashed, absl::Seconds(30));
  EXPECT_GT(Drops(sim, 0, DropReason::kUnknownAck), unknown_acks)
      << "the replayed acks were seen and refused";
  // Old news of member 3 never revives it.
  replay_for(absl::Seconds(30));
  EXPECT_EQ(View(sim, 0, 3)->state, MemberState::kDead);
  EXPECT_TRUE(AllSee(sim, 3, MemberState::kDead));
}

}  // namespace
}  // namespace roster::sim
