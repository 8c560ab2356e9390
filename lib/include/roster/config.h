// Configuration of one roster member: timing profile, identity and limits.
//
// Build one with Config::ForProfile() and adjust fields; Swim::Create()
// validates it. Every field may be read from any thread; a Config is a value.
#ifndef ROSTER_CONFIG_H_
#define ROSTER_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "roster/types.h"  // the API's string, status and time types

namespace roster {

class Keyring;  // roster/keyring.h

// The three timing profiles of DESIGN.md: LAN (data centre), WAN (across
// regions) and Local (one host or a very fast network).
enum class Profile { kLan, kWan, kLocal };

absl::StatusOr<Profile> ParseProfile(std::string_view name);
std::string_view ProfileName(Profile profile);

// Bounds on everything that arrives from the network or the application.
// A message that breaks one is dropped and counted, never trusted.
struct Limits {
  size_t max_packet_bytes = 65507;           // largest datagram accepted
  size_t max_stream_bytes = 32 << 20;        // largest push-pull exchange
  size_t max_members = 100000;               // members one table may hold
  size_t max_name_bytes = 128;               // a member's name
  size_t max_addr_bytes = 64;                // "host:port" or "[v6]:port"
  size_t max_meta_bytes = 512;               // a member's metadata
  size_t max_user_state_bytes = 8 << 20;     // application state in push-pull
  size_t max_messages_per_packet = 1024;     // messages in one datagram
  size_t max_queued_user_broadcasts = 1024;  // oldest are dropped past this
  // The application's payload on an ack (Delegate::AckPayload); at most
  // half the packet budget, so that the ack always fits.
  size_t max_ack_payload_bytes = 256;
  // User events and queries (roster/events.h), as Serf bounds them: an
  // event's name and payload together; a query's name, payload and
  // filter; one answer's payload. Each must also fit one datagram.
  size_t max_user_event_bytes = 512;
  size_t max_query_bytes = 1024;
  size_t max_query_response_bytes = 1024;
  // This member's own queries waiting for their deadline, and others'
  // queries waiting for this member's handler to answer.
  size_t max_pending_queries = 64;
  size_t max_answering_queries = 1024;
};

struct Config {
  // Identity. The name is unique in the cluster and survives restarts and
  // address changes; the address is where peers reach this member.
  std::string name;
  std::string advertise_addr;
  std::string meta;
  // Datagrams and streams carrying another label are dropped, so two
  // clusters sharing addresses never merge.
  std::string label;
  // With a keyring, datagrams and push-pull streams are sealed with its
  // primary key and must open with one of its keys (see roster/keyring.h
  // for rotation and for turning encryption on in a running cluster). The
  // keyring is shared, not copied: rotating it reaches every holder.
  std::shared_ptr<Keyring> keyring;
  // Admission: when not empty, only members whose address lies in one of
  // these networks ("10.0.0.0/8", "fd00::/8", "192.168.1.7") are taken
  // into the table, and datagrams and push-pull requests from other
  // addresses are dropped. Delegate::AllowMember can veto members too.
  std::vector<std::string> allowed_networks;
  // The incarnation this member starts with. A restarted member that knows
  // its old incarnation may start above it; otherwise it refutes its way up.
  uint64_t initial_incarnation = 0;
  // The life of this member's process before this one, when it is known
  // (a restart from the snapshot file, NodeConfig::snapshot_path): the new
  // life names it as its predecessor, so peers still holding that life
  // alive take the new one at once, at any address, instead of waiting to
  // find it failed. 0: none known. Give only a life this member's name
  // really had: it ends that life in every peer's table.
  uint32_t previous_life = 0;
  // The newest protocol version this member speaks (advertised with the
  // oldest this build speaks): a peer sends it a kind of message only if
  // the version that introduced the kind is in that range. The default is
  // this build's version; a lower one makes the member behave as an older
  // build would, which is how a mixed cluster is simulated. In [1, 255].
  uint32_t protocol_max = 2;
  // Joining: by default Swim::Join (and Node::Join) report Ok as soon as
  // one seed has answered a push-pull, and the other seeds' exchanges go
  // on in the background (their failures logged), so one hung seed does
  // not hold a join that another answered. True waits for every seed to
  // answer or fail, as builds before this did.
  bool join_waits_for_all_seeds = false;
  // A member that joins does not deliver the user events sent before it
  // joined (Serf's default). True asks the seeds for their recent events
  // and delivers those it has not seen.
  bool join_replays_user_events = false;
  // User events sent with coalescing are held this long from the first of
  // a name; only the latest of each name is then delivered.
  absl::Duration user_event_coalesce_window = absl::Seconds(1);

  // Failure detection.
  absl::Duration probe_interval = absl::Seconds(1);
  absl::Duration probe_timeout = absl::Milliseconds(500);
  int indirect_checks = 3;
  // When the direct and indirect UDP probes of a member go unanswered, also
  // probe it over TCP (as memberlist does): a member whose inbound UDP is
  // blocked then stays alive, shown as Reachability::kTcpOnly.
  bool tcp_probes = true;
  int suspicion_mult = 4;
  int suspicion_max_timeout_mult = 6;
  int awareness_max_multiplier = 8;
  // Off: plain SWIM, for measuring Lifeguard's effect. Fixed probe timing
  // (no health multiplier), no nacks, a fixed suspicion timeout at the
  // floor, no buddy system.
  bool lifeguard = true;
  // Network coordinates (roster/coordinate.h, Serf's Vivaldi): this
  // member's acks carry its coordinate (46 bytes), and the acks of its
  // direct probes move it. Off: neither, as Serf's DisableCoordinates.
  bool coordinates = true;

  // Dissemination.
  int retransmit_mult = 4;
  absl::Duration gossip_interval = absl::Milliseconds(200);
  int gossip_nodes = 3;
  absl::Duration gossip_to_the_dead = absl::Seconds(30);
  size_t packet_budget = 1400;

  // Anti-entropy and healing. The push-pull interval grows with cluster
  // size past 32 members. Every reconnect interval a member may retry one
  // failed member (with probability failed/alive, so the cluster-wide rate
  // stays low), and a member that is alone retries its seeds.
  absl::Duration push_pull_interval = absl::Seconds(30);
  absl::Duration reconnect_interval = absl::Seconds(10);
  // Dead and left members are forgotten this long after their last change.
  absl::Duration dead_retention = absl::Hours(24);
  // How long a dead or left member's name stays bound to its address; an
  // alive at a new address is accepted once this has passed.
  absl::Duration dead_reclaim_time = absl::ZeroDuration();

  Limits limits;

  static Config ForProfile(Profile profile, std::string name,
                           std::string advertise_addr);

  // Ok, or InvalidArgument naming the first field that is out of range.
  absl::Status Validate() const;
};

}  // namespace roster

#endif  // ROSTER_CONFIG_H_
