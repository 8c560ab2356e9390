// The private half of roster::Swim: the state one member keeps and the
// steps of the protocol, grouped by idea (each group's file is named in
// its heading below; swim.cc lists them all).
#ifndef ROSTER_CORE_SWIM_IMPL_H_
#define ROSTER_CORE_SWIM_IMPL_H_

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "core/awareness.h"
#include "core/broadcast_queue.h"
#include "core/coordinate.h"
#include "core/lamport_clock.h"
#include "core/member_table.h"
#include "core/networks.h"
#include "core/query_filter.h"
#include "core/seen_set.h"
#include "core/suspicion.h"
#include "core/timers.h"
#include "core/user_event_log.h"
#include "core/wire/decode.h"
#include "core/wire/frame.h"
#include "core/wire/streams.h"
#include "core/wire/versions.h"
#include "core/wire/views.h"
#include "roster/swim.h"

namespace roster {

using core::Member;
using core::Verdict;

class Swim::Impl {
 public:
  // `config` checked, and its allowed networks parsed, by Swim::Create.
  Impl(Config config, core::NetworkList networks, Runtime* runtime,
       Delegate* delegate)
      : cfg_(std::move(config)),
        rt_(*runtime),
        app_(delegate != nullptr ? delegate : &no_delegate_),
        awareness_(cfg_.awareness_max_multiplier),
        networks_(std::move(networks)) {
    MemberInfo info;
    info.name = cfg_.name;
    info.addr = cfg_.advertise_addr;
    info.meta = cfg_.meta;
    info.incarnation = cfg_.initial_incarnation;
    info.life = NewLife(cfg_.previous_life);
    info.protocol_min = core::kMinProtocolVersion;
    info.protocol_max = cfg_.protocol_max;
    info.state = MemberState::kAlive;
    info.state_changed = rt_.Now();
    self_ = table_.Add(info, random_);
    // Announced with every alive of ours (AliveEntry's previous_life).
    table_.EndLife(*self_, cfg_.previous_life);
    if (cfg_.coordinates) NoteOwnCoordinate();
    // A random start, so acks captured in an earlier life of this member
    // cannot complete the probes of this one.
    next_seq_ = static_cast<uint32_t>(rt_.Random());
  }

  void Start();
  void HandlePacket(std::string_view from, std::string_view bytes);
  std::string HandleStream(std::string_view from, std::string_view frame);
  void HandleStream(std::string_view from, std::string_view frame,
                    Swim::StreamReply reply);
  std::string MessageRequest(std::string_view payload);
  absl::Status ReadReply(std::string_view frame);
  std::string RequestFrame(std::string_view payload);
  absl::StatusOr<std::string> ReadResponse(std::string_view frame);
  std::vector<MemberInfo> Members() const;
  void HandleSyncResponse(std::string_view from, std::string_view response);
  void HandleSyncFailed(std::string_view to, const absl::Status& why);
  void HandleTimer(const Timer& timer);
  void HandleSeedResolved(
      std::string_view seed,
      const absl::StatusOr<std::vector<std::string>>& addrs);
  void Join(const std::vector<std::string>& seeds, uint64_t token);
  void Preload(const std::vector<MemberInfo>& members);
  void Leave();
  bool LeaveComplete() const;
  absl::Status ForceLeave(std::string_view name, bool prune);
  absl::Status Broadcast(std::string payload);
  absl::Status UserEvent(std::string_view name, std::string payload,
                         bool coalesce);
  absl::Status Query(const QueryParams& params, uint64_t token);
  LamportClocks Clocks() const {
    return {event_clock_.time(), query_clock_.time()};
  }
  void RestoreClocks(const LamportClocks& clocks);
  absl::Status SetMeta(std::string meta);
  void SetKeyring(std::shared_ptr<Keyring> keyring) {
    cfg_.keyring = std::move(keyring);
  }

  const core::MemberTable& table() const { return table_; }
  const Member& self() const { return *self_; }
  int health() const { return awareness_.score(); }
  const Counters& counters() const { return counters_; }
  QueueDepths queue_depths() const {
    QueueDepths depths;
    depths.membership_news = news_.size();
    depths.broadcasts = user_.size();
    depths.events_and_queries = serf_.size();
    return depths;
  }
  const Config& config() const { return cfg_; }
  bool joined() const { return joined_; }
  const core::NetworkList& networks() const { return networks_; }

 private:
  // A probe in flight: one per protocol period.
  struct Probe {
    uint32_t seq = 0;
    std::string target;
    bool active = false;
    bool acked = false;
    int nacks = 0;
    int expected_nacks = 0;
    bool over_tcp = false;  // a TCP probe went out
    absl::Time sent;        // the direct ping, for the target's RTT
  };
  // An indirect ping we relay for another member.
  struct Relay {
    uint32_t requester_seq;
    std::string requester_addr;
    bool want_nack;
  };
  // A seed given to Join and where it was last found.
  struct Seed {
    std::string name;       // as given: an address, or a name to resolve
    bool resolved = false;  // by the runtime (Runtime::ResolveSeed)
    std::vector<std::string> addrs;
  };
  // One Join call, until every seed has answered or failed.
  struct JoinWait {
    uint64_t token = 0;
    size_t pending = 0;  // resolutions and exchanges not yet settled
    int successes = 0;
    // OnJoinDone was called at the first answer; the rest only log.
    bool reported = false;
    std::string conflict;  // why a seed showed our name taken
    std::vector<std::string> failed;
  };
  // An exchange or resolution a JoinWait waits for.
  struct JoinUnit {
    uint64_t join = 0;  // key of joins_
    std::string label;  // the seed, and its address if it was resolved
  };
  // A check, before taking over our name from the live member that holds
  // it at another address, that the holder is really gone: a ping, then
  // indirect pings through members the seed named.
  struct Takeover {
    std::string seed_addr;  // whose answer showed the holder
    std::string holder_addr;
    uint32_t holder_life = 0;
    std::vector<std::string> relays;
    bool indirect = false;        // the indirect pings went out
    std::vector<JoinUnit> units;  // the Joins it holds
  };
  static constexpr size_t kMaxSeeds = 64;
  static constexpr size_t kMaxSeedAddrs = 64;
  static constexpr size_t kMaxRelays = 4096;
  // The runtime bounds what it reads (NodeConfig's frame limit); each
  // body is then held to its own limit.
  static constexpr size_t kMaxStreamFrameBytes = SIZE_MAX;
  static constexpr size_t kSeenBroadcasts = 8192;
  // The recent user events a push-pull carries, at most.
  static constexpr size_t kMaxReplayBytes = 16 << 10;

  // One of this member's queries, until its deadline.
  struct OwnQuery {
    uint64_t token = 0;
    bool want_ack = false;
    std::vector<std::string> expected;  // sorted
    absl::flat_hash_set<std::string> acked;
    absl::flat_hash_set<std::string> answered;
    QueryResult result;
    std::string retry_entry;  // the query, marked as a retry
  };
  // Another member's query (or this member's own) waiting for this
  // member's handler to answer.
  struct Answering {
    std::string origin;
    std::string origin_addr;  // empty for this member's own query
    uint32_t life = 0;
    uint32_t id = 0;
    uint32_t relay_factor = 0;
    absl::Time deadline;
    std::string query_key;  // QueryKey: how a retry finds it
    bool answered = false;  // the handler has given its answer
    // What went to the querier (acknowledgement, response), to send again
    // when it asks again.
    std::vector<std::string> sent;
  };

  // What handling one datagram carries from message to message.
  struct Inbound {
    std::string_view from;        // the datagram's source address
    int relays = 0;               // indirect pings it asked of us
    bool owe_refutation = false;  // it holds news of us we refuted
  };

  absl::Duration Scaled(absl::Duration d) const {
    return cfg_.lifeguard ? awareness_.Scale(d) : d;
  }
  // A life id for a new start of this member: random, nonzero, and not
  // `current`.
  uint32_t NewLife(uint32_t current) {
    uint32_t life = 0;
    while (life == 0 || life == current)
      life = static_cast<uint32_t>(rt_.Random());
    return life;
  }
  // The protocol's periodic timers (probe, push-pull, reconnect) for this
  // life of the member; a Join after a Leave starts them again.
  void StartPeriodicTimers();
  absl::Duration Phase(absl::Duration interval);
  void Emit(EventType type, Member& m, std::string_view accuser = {}) {
    m.set_last_change(type, rt_.Now());
    app_->OnEvent(Event{type, table_.Info(m), std::string(accuser)});
  }
  // News that others suspect or declared this member dead, which it has
  // just refuted (kSelfSuspected, kSelfFailed; see member.h). Not through
  // Emit: it is no change of this member, and not its last_change.
  void EmitAboutSelf(EventType type, std::string_view accuser) {
    app_->OnEvent(Event{type, table_.Info(*self_), std::string(accuser)});
  }

  // Logging (swim_log.cc).
  void Log(LogLevel level, std::string_view message) {
    app_->OnLog(level, message);
  }
  // Counts a drop, and tells the operator at a bounded rate.
  void Drop(DropReason reason);
  // Framing with our label and keyring.
  size_t FrameOverhead() const {
    return core::FrameOverhead(cfg_.label, cfg_.keyring.get());
  }
  std::string Seal(std::string_view payload) {
    return core::SealFrame(payload, cfg_.label, cfg_.keyring.get());
  }

  // Dispatch (swim.cc). The payload of a datagram's frame (in `opened` if
  // it was encrypted); counts the drop if it does not open.
  core::Decoded<std::string_view> Open(std::string_view frame, size_t max_bytes,
                                       std::string* opened);
  void HandleMessages(Inbound& in,
                      const std::vector<core::MessageView>& messages);
  void PrefetchMembers(const std::vector<core::MessageView>& messages);

  // Probing (swim_probe.cc).
  void OnProbeTimer();
  void OnProbeTimeout(uint32_t seq);
  void ConcludeProbe();
  void OnPing(Inbound& in, const core::PingView& ping);
  void OnIndirectPing(Inbound& in, const core::IndirectPingView& req);
  void OnAck(const Inbound& in, const core::AckView& ack);
  // A direct ack of the probe in flight: the target's RTT, and the
  // application's payload.
  void OnDirectAck(Member& target, const core::AckView& ack);
  // The application's payload for an ack, or empty if it breaks the
  // limit (counted).
  std::string AckPayload();
  void OnNack(uint32_t seq);
  void OnRelayNack(uint32_t seq);
  // TCP probes: the fallback when UDP probes failed, served and answered.
  void StartTcpProbe(Member& target);
  std::string ServeTcpProbe(std::string_view body);
  // The one message of `kind` a TCP probe's body (or its answer's) holds;
  // null, with the drop counted and `why` said, for anything else.
  const core::MessageView* ReadTcpProbeMessage(core::PacketReader& reader,
                                               std::string_view body,
                                               wire::Message::BodyCase kind,
                                               std::string* why);
  void OnTcpProbeAck(std::string_view body);
  // A TCP probe to `addr` ended; false if none was in flight.
  bool EndTcpProbe(std::string_view addr) {
    return EndInFlight(tcp_probes_in_flight_, addr) >= 0;
  }
  // Whether a failed exchange with `addr` was a TCP probe's (see
  // tcp_probes_in_flight_), which it then ends.
  bool IsTcpProbeFailure(std::string_view addr);
  // Records how `m` answered its last probe, telling the application of a
  // change.
  void SetReachability(Member& m, Reachability reachability);

  // Network coordinates (swim_coordinates.cc).
  // A direct ack's coordinate, with the RTT sample of its probe.
  void LearnCoordinate(const Member& target, std::string_view bytes,
                       absl::Duration rtt);
  // Shows and encodes (for our acks) our own coordinate as it is now.
  void NoteOwnCoordinate();
  // Lets go of the latency filters of members the table forgot.
  void ForgetCoordinatePeers();

  // Gossip (swim_gossip.cc).
  // Sends `entries`, filled up with queued news unless `piggyback` is off
  // (for datagrams to addresses that may be nobody's).
  void Send(const std::string& to, std::string entries, bool piggyback = true);
  // `events`: the receiver speaks user events and queries.
  void FillBroadcasts(size_t budget, bool events, std::string* out);
  std::string AliveEntry(const Member& m);
  std::string SuspectEntry(const Member& m, std::string_view from);
  void QueueAlive(const Member& m);
  void QueueSuspect(const Member& m, std::string_view from);
  void QueueDead(const Member& m, std::string_view from, bool prune = false);
  void OnGossipTimer();
  static std::string BroadcastKey(std::string_view origin, uint32_t life,
                                  uint64_t id);
  void OnUser(const core::UserView& user);

  // User events (swim_events.cc).
  void OnUserEvent(const core::UserEventView& event);
  // Records an event, delivers it if new (or holds it to coalesce), and
  // gossips it on; false if it was not new.
  bool AcceptUserEvent(const roster::UserEvent& event, uint32_t life,
                       std::string entry, bool gossip);
  void OnCoalesceTimer();
  // Gossip of version 2's kinds, to members that speak them.
  void QueueEvents(std::string entry);
  bool SpeaksEvents(std::string_view addr);
  // The clocks and the recent events of a push-pull; `answer_to_our_join`:
  // the answer to this member's first join, whose events are history
  // unless Config::join_replays_user_events.
  void MergeEvents(const core::PushPullView& remote, bool answer_to_our_join);

  // Queries (swim_queries.cc).
  void OnQuery(const core::QueryView& query);
  void OnQueryResponse(const core::QueryResponseView& response);
  // A selected member's acknowledgement or response reached this member's
  // query `id`.
  void OnAnswerToOwnQuery(uint32_t id, std::string_view from, bool ack,
                          std::string_view payload);
  // Hands a query to this member's handler; its answer is sent by
  // SendAnswer.
  // 0 when too many wait already (counted).
  uint64_t AskHandler(const QueryRequest& request, Answering answering);
  // A retry of a query this member saw: its answers again.
  void SendAnswersAgain(const std::string& query_key);
  void OnQueryRetry(uint32_t id);
  void SendAnswer(uint64_t answering, std::optional<std::string> response);
  void OnQueryDeadline(uint32_t id);
  void OnAnsweringDeadline(uint64_t answering);
  absl::Duration DefaultQueryTimeout() const;

  // Membership (swim_membership.cc). `in` is the datagram the news came
  // in, or null (push-pull, our own timers).
  // Admission (Config::allowed_networks, Delegate::AllowMember).
  bool Admits(std::string_view name, std::string_view addr,
              uint64_t incarnation, std::string_view meta);
  // News names the life it is about (0: a sender that did not say), and
  // an alive the versions that life speaks.
  void OnAlive(std::string_view name, std::string_view addr,
               uint64_t incarnation, std::string_view meta, uint32_t life,
               uint32_t previous_life, core::Protocols protocols = {});
  // An alive of a life other than the one we hold of `m`.
  void OnNewLife(Member& m, std::string_view addr, uint64_t incarnation,
                 std::string_view meta, uint32_t life, uint32_t previous_life,
                 core::Protocols protocols);
  // A life's versions do not change while it runs, so news that does not
  // say them (relayed by an older build) keeps what we know.
  static void LearnProtocols(Member& m, core::Protocols protocols) {
    if (protocols.said()) m.set_protocols(protocols.min, protocols.max);
  }
  // An alive of our own name.
  void OnAliveOfSelf(std::string_view addr, uint64_t incarnation,
                     std::string_view meta, uint32_t life,
                     uint32_t previous_life);
  // News of another life under our name that shows it ended or was ours
  // (the process before this one): remembered, and told on with our alive
  // so that members still holding it take this life over.
  void NotePredecessor(uint32_t life);
  void OnSuspect(std::string_view name, uint32_t life, uint64_t incarnation,
                 std::string_view from, Inbound* in,
                 bool from_peer_table = false);
  // `prune`: a forced leave whose member is forgotten at once.
  void OnDead(std::string_view name, uint32_t life, uint64_t incarnation,
              std::string_view from, Inbound* in, bool prune = false);
  // Whether news of `life` is about the life we hold of `m` (either side
  // not saying counts as yes).
  static bool SameLife(const Member& m, uint32_t life) {
    return life == 0 || m.life() == 0 || life == m.life();
  }
  // Whether this member and the life we hold of `m` both speak `version`:
  // a kind is sent to a member only if both know it.
  bool BothSpeak(const Member& m, uint32_t version) const {
    return version <= cfg_.protocol_max &&
           core::Speaks(m.protocol_min(), m.protocol_max(), version);
  }
  void ScheduleSuspicion(Member& m);
  void OnSuspicionTimer(const Timer& timer);
  void OnSuspicionNotice(const Timer& timer);
  void Refute(uint64_t incarnation);
  void ResendRefutation(Inbound* in);
  void TellSuspect(Member* sender);
  void Merge(const core::PushPullView& remote);

  // Forced leaves (swim_force_leave.cc). Forgets `m` now, remembering its
  // life so that stale news of it does not bring it back.
  void Prune(Member* m);
  bool Pruned(std::string_view name, uint32_t life) const {
    return life != 0 && !pruned_.empty() &&
           pruned_.contains(PrunedLife{std::string(name), life});
  }

  // Push-pull and healing (swim_sync.cc).
  // Our push-pull state, as a request's frame; as the frame of an answer
  // to `peer`, without the members it described exactly as we see them.
  std::string SyncBody(bool join, const core::PushPullView* peer = nullptr);
  void StartSync(const std::string& to, bool join);
  absl::Duration PushPullInterval() const;
  void OnPushPullTimer();
  void OnReconnectTimer();
  std::string ServePushPull(std::string_view from, std::string_view body);

  // Joining (swim_join.cc).
  Seed* RememberSeed(std::string_view name);
  void SetSeedAddrs(Seed& seed, const std::vector<std::string>& addrs);
  // Starts a join exchange with `addr` on behalf of `units`.
  void JoinThrough(const std::string& addr, std::vector<JoinUnit> units);
  void SettleJoinUnit(const JoinUnit& unit, const absl::Status& outcome);
  void SettleJoinSync(std::string_view addr, const absl::Status& outcome);
  // Why a push-pull answer to a join shows our name held by another live
  // member; empty if it does not.
  std::string NameConflict(const core::PushPullView& remote) const;
  // Why a Join fails when a live member at `holder_addr` holds our name;
  // `how` (may be empty) says how we know.
  std::string NameTaken(std::string_view holder_addr,
                        std::string_view how) const;
  // The record of an answer that shows another life holding our name live
  // at another address; null if none.
  const core::MemberRecordView* HolderOfOurName(
      const core::PushPullView& remote) const;
  // Ends one exchange counted in `in_flight` for `addr`: how many remain
  // then, or -1 if none was counted.
  static int EndInFlight(absl::flat_hash_map<std::string, int>& in_flight,
                         std::string_view addr);
  // An exchange with `addr` ended; true if others with it are in flight.
  bool SyncEnded(std::string_view addr) {
    return EndInFlight(syncs_in_flight_, addr) > 0;
  }
  // Takes the Joins waiting on exchanges with `addr`.
  std::vector<JoinUnit> TakeJoinUnits(std::string_view addr);
  void StartTakeover(std::string_view seed_addr,
                     const core::MemberRecordView& holder,
                     const core::PushPullView& remote);
  void OnTakeoverTimer(uint32_t seq);
  // An ack for a takeover check: the holder lives, the name is taken.
  bool OnTakeoverAck(uint32_t seq);
  // Join after Leave: a new life under the same name.
  void Rebirth();
  // Retries the seeds: looks every name up again and knocks on one
  // address (PickSeedAddr).
  void RetrySeeds();
  // The address to knock on: while alone any; otherwise one not known as
  // a live member, or null if none.
  const std::string* PickSeedAddr(const std::vector<const std::string*>& addrs);

  // Stream frames (swim_streams.cc), counting each AEAD pass.
  std::string SealStream(wire::StreamKind kind, std::string_view body);
  core::Decoded<core::StreamView> OpenStream(std::string_view frame,
                                             std::string* opened);
  // The body of an OK reply; the error says what the peer refused or why
  // the reply could not be read.
  // `kind`, when given, may also be STREAM_KIND_ACK and says which.
  absl::StatusOr<std::string_view> OpenReply(std::string_view frame,
                                             std::string* opened,
                                             wire::StreamKind* kind = nullptr);
  // An error reply, counted.
  std::string Refuse(std::string_view why);
  // An application message or request, answered when the delegate says.
  void ServeAppMessage(std::string_view body, AppMessageKind kind,
                       Swim::StreamReply reply);

  // Drops of one reason since the last line logged about them.
  struct DropLog {
    absl::Time logged = absl::InfinitePast();
    uint64_t unlogged = 0;
  };
  static constexpr absl::Duration kDropLogInterval = absl::Seconds(10);

  Config cfg_;
  Runtime& rt_;
  std::function<uint64_t()> random_ = [this] { return rt_.Random(); };
  Delegate no_delegate_;
  Delegate* app_;
  core::MemberTable table_;
  Member* self_ = nullptr;
  core::Awareness awareness_;
  core::PacketReader reader_;  // datagrams in, reusing its memory
  core::BroadcastQueue news_;  // membership news
  core::BroadcastQueue user_;  // application broadcasts
  Counters counters_;
  std::array<DropLog, static_cast<size_t>(DropReason::kCount)> drop_logs_;
  core::NetworkList networks_;
  Probe probe_;
  core::CoordinateClient coordinates_;
  std::string own_coordinate_;  // encoded for Ack.coordinate; empty if off
  absl::flat_hash_map<uint32_t, Relay> relays_;
  // (origin, life, id) of user broadcasts, and of queries.
  core::SeenSet seen_broadcasts_{kSeenBroadcasts};
  core::SeenSet seen_queries_{kSeenBroadcasts};
  // User events and queries (swim_events.cc, swim_queries.cc).
  core::BroadcastQueue serf_;  // their gossip, to members speaking them
  core::LamportClock event_clock_;
  core::LamportClock query_clock_;
  core::UserEventLog event_log_;
  // Events older than this member's join are not delivered (unless
  // Config::join_replays_user_events).
  uint64_t event_min_time_ = 0;
  // Coalesced events waiting for the window's end, by name.
  std::map<std::string, roster::UserEvent> coalescing_;
  absl::flat_hash_map<uint32_t, OwnQuery> own_queries_;
  uint32_t next_query_id_ = 1;
  absl::flat_hash_map<uint64_t, Answering> answering_;
  absl::flat_hash_map<std::string, uint64_t> answering_by_query_;
  uint64_t next_answering_ = 1;
  uint64_t next_broadcast_id_ = 1;
  uint32_t next_seq_ = 1;
  std::vector<Seed> seeds_;
  absl::flat_hash_map<uint64_t, JoinWait> joins_;
  uint64_t next_join_ = 1;
  // Push-pull exchanges in flight by address (the runtime answers each).
  absl::flat_hash_map<std::string, int> syncs_in_flight_;
  // TCP probes in flight by address. The runtime reports a failed exchange
  // by address alone: one is taken as a push-pull's while any is in
  // flight to that address, else as a probe's (a failed probe needs no
  // handling; its period's deadline concludes it).
  absl::flat_hash_map<std::string, int> tcp_probes_in_flight_;
  // Join exchanges in flight by address, resolutions by seed name.
  absl::flat_hash_map<std::string, std::vector<JoinUnit>> join_syncs_;
  absl::flat_hash_map<std::string, std::vector<JoinUnit>> join_resolves_;
  // The life of each member last sent a Hello (swim_probe.cc).
  absl::flat_hash_map<std::string, uint32_t> hello_sent_;
  // Takeover checks by the seq of their pings.
  absl::flat_hash_map<uint32_t, Takeover> takeovers_;
  // Lives pruned by a forced leave, the newest kPrunedLives, oldest first
  // in pruned_order_.
  using PrunedLife = std::pair<std::string, uint32_t>;
  static constexpr size_t kPrunedLives = 1024;
  absl::flat_hash_set<PrunedLife> pruned_;
  std::deque<PrunedLife> pruned_order_;
  // Tags the periodic timers of this life (Rebirth starts new ones).
  uint64_t epoch_ = 1;
  bool started_ = false;
  bool leaving_ = false;
  bool joined_ = false;
};

}  // namespace roster

#endif  // ROSTER_CORE_SWIM_IMPL_H_
