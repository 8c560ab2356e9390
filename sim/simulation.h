// The deterministic runtime: many roster::Swim instances on one thread, one
// virtual clock and one seed, over a modelled Network, with processes that
// crash, restart, pause and run slow on purpose.
//
// Nothing here reads the wall clock or the OS's randomness: the same seed
// and the same calls give the same run, event for event. Tests and the
// roster-sim tool drive it; it is not thread-safe.
#ifndef ROSTER_SIM_SIMULATION_H_
#define ROSTER_SIM_SIMULATION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "roster/config.h"
#include "roster/swim.h"
#include "sim/network.h"
#include "sim/rng.h"

namespace roster::sim {

struct SimOptions {
  uint64_t seed = 1;
  Profile profile = Profile::kLan;
  bool lifeguard = true;
  NetworkOptions network;
  // Applied to every member's config (by index, at every boot) after the
  // profile, before Create.
  std::function<void(int node, Config&)> tune;

  static SimOptions WithSeed(uint64_t seed) {
    SimOptions options;
    options.seed = seed;
    return options;
  }
};

class Simulation {
 public:
  explicit Simulation(SimOptions options);
  ~Simulation();

  // Adds a member named "node-<index>" at a 10.x.y.z address. It does
  // nothing until Start(index).
  int AddNode();
  void Start(int node);
  // Joins through the seeds' addresses; on_join_done gets the outcome with
  // `token`.
  void Join(int node, const std::vector<int>& seeds, uint64_t token = 0);
  // Starts `count` members; each joins through `seed` (or, for the first
  // when seed < 0, through no one). Returns the first new index.
  int AddCluster(int count, int seed);
  // Starts `count` members that already know each other (and every member
  // added before), as if the cluster had long converged. Returns the first
  // new index.
  int AddConverged(int count);

  // Faults.
  void Crash(int node);
  // A fresh process under the same name (a new incarnation history); at a
  // new address if `new_address`.
  void Restart(int node, bool new_address = false);
  // Stops the process and starts another build of it at the same address:
  // `build` changes its config (after SimOptions::tune) at this boot and
  // every later one. It then needs a Join, as after Restart.
  void Upgrade(int node, std::function<void(Config&)> build);
  void Leave(int node);
  // Handles nothing until `duration` from now, then everything at once.
  void Pause(int node, absl::Duration duration);
  // Handles every inbound datagram and stream `delay` late; timers on time.
  void SetSlow(int node, absl::Duration delay);
  Network& network() { return network_; }
  // Delivers `bytes` to `node` now as a datagram from `from`, bypassing the
  // network: for tests of hostile input.
  void Inject(int node, const std::string& from, std::string bytes);

  // Running.
  void RunFor(absl::Duration duration);
  // Runs until `done` holds (checked every `step`) or `limit` passes.
  // Returns whether `done` held.
  bool RunUntil(const std::function<bool()>& done, absl::Duration limit,
                absl::Duration step = absl::Seconds(1));

  // Inspection.
  absl::Time now() const { return now_; }
  absl::Time epoch() const { return start_; }
  size_t size() const { return nodes_.size(); }
  bool running(int node) const;
  // Bumped by every crash and restart of the node's process.
  uint32_t life(int node) const;
  Swim& swim(int node);
  const std::string& name(int node) const;
  const std::string& addr(int node) const;
  uint64_t seed() const { return options_.seed; }
  uint64_t events_processed() const { return events_processed_; }

  // Called for every event any running member reports: (observer, event).
  std::function<void(int, const Event&)> on_event;
  // Called for every application broadcast a member delivers.
  // (the member that delivered it, the origin's name, the payload)
  std::function<void(int, std::string_view, std::string_view)> on_broadcast;
  // Called for every datagram a member sends, before the network routes it
  // (from, to; to is -1 for an address nobody holds): for capturing
  // traffic to replay or tamper with.
  std::function<void(int, int, const std::string&)> on_packet;
  // The outcome of each Join (Delegate::OnJoinDone): (node, result).
  std::function<void(int, const JoinResult&)> on_join_done;
  // Admission (Delegate::AllowMember) as seen by `observer`; unset admits
  // everyone.
  std::function<bool(int observer, const MemberInfo&)> allow_member;
  // Delegate::AckPayload of `node`; unset sends none.
  std::function<std::string(int node)> ack_payload;
  // Delegate::OnAckPayload: (prober, target's name, payload, rtt).
  std::function<void(int, std::string_view, std::string_view, absl::Duration)>
      on_ack_payload;
  // User events and queries (roster/events.h): Delegate::OnUserEvent of
  // each member (node, event); Delegate::OnQuery, whose answer is given at
  // once (unset: no response); and what a querier hears of its queries:
  // (querier, token, from[, payload]) and (querier, result).
  std::function<void(int, const UserEvent&)> on_user_event;
  std::function<std::optional<std::string>(int, const QueryRequest&)> on_query;
  std::function<void(int, uint64_t, std::string_view)> on_query_ack;
  std::function<void(int, uint64_t, std::string_view, std::string_view)>
      on_query_response;
  std::function<void(int, const QueryResult&)> on_query_done;
  // Delegate::OnLog of every member: (node, level, message). Unset, the
  // lines are only counted (log_lines).
  std::function<void(int, LogLevel, std::string_view)> on_log;
  uint64_t log_lines() const { return log_lines_; }

 private:
  class NodeRuntime;
  struct Node;
  enum class Kind : uint8_t {
    kTimer,
    kPacket,
    kSyncRequest,
    kSyncResponse,
    kSyncFailed
  };
  struct Pending {
    Kind kind;
    int node;                // who handles it
    int peer;                // who sent it (packets, syncs)
    uint32_t life = 0;       // void unless the node is in this life (0: any)
    uint32_t peer_life = 0;  // the requester's life, for sync requests
    bool slowed = false;     // already delayed by SetSlow
    Timer timer;
    std::string from;
    std::string bytes;
    std::string to;  // the address a sync request was sent to
  };
  struct Slot {
    int64_t at_ns;
    uint64_t seq;
    uint32_t index;
    bool operator>(const Slot& o) const {
      return at_ns != o.at_ns ? at_ns > o.at_ns : seq > o.seq;
    }
  };

  void Schedule(absl::Duration delay, Pending p);
  void Dispatch(Pending& p);
  void Boot(int node);
  void SendPacket(int from, const std::string& to, std::string bytes);
  void StartSync(int from, const std::string& to, std::string request);
  int NodeAt(const std::string& addr) const;

  SimOptions options_;
  Network network_;
  absl::Time start_;
  absl::Time now_;
  std::vector<std::unique_ptr<Node>> nodes_;
  absl::flat_hash_map<std::string, int> by_addr_;
  std::priority_queue<Slot, std::vector<Slot>, std::greater<Slot>> queue_;
  std::vector<Pending> slots_;
  std::vector<uint32_t> free_slots_;
  uint64_t next_seq_ = 0;
  uint64_t events_processed_ = 0;
  uint64_t log_lines_ = 0;
  int next_address_ = 0;
};

}  // namespace roster::sim

#endif  // ROSTER_SIM_SIMULATION_H_
