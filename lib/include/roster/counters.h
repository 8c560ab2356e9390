// Counters a member keeps about its own traffic and protocol activity. The
// application reads them through Swim::counters() to log or export them; a
// roster::Node adds what its network layer counts (NetCounters), and
// Node::counters() returns the two together.
#ifndef ROSTER_COUNTERS_H_
#define ROSTER_COUNTERS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace roster {

// Why an inbound datagram, stream or message was not acted upon.
enum class DropReason : uint8_t {
  kMalformed,        // not decodable, or a field out of range
  kTooLarge,         // over a size limit
  kBadVersion,       // a frame version this build does not speak
  kBadChecksum,      // the frame checksum does not match
  kWrongLabel,       // another cluster's label, or a missing one
  kWrongTarget,      // a ping meant for another member name
  kUnknownAck,       // an ack or nack for no probe in flight
  kAddressConflict,  // an alive for a live member at another address
  kTableFull,        // a new member past Limits::max_members
  kQueueFull,        // an application broadcast past the queue limit
  kOverloaded,       // too many indirect probes in flight to relay another
  kUndecryptable,    // encrypted with no key we hold, or changed in transit
  kPlaintext,        // unencrypted while our keyring requires encryption
  kNotAdmitted,      // outside Config::allowed_networks, or vetoed
  kCount,
};
std::string_view DropReasonName(DropReason reason);

struct Counters {
  uint64_t packets_sent = 0;
  uint64_t packets_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t probes = 0;
  uint64_t indirect_probes = 0;
  uint64_t probe_failures = 0;
  uint64_t nacks_received = 0;
  uint64_t suspicions = 0;   // members this member started suspecting
  uint64_t refutations = 0;  // times this member refuted news about itself
  uint64_t deaths = 0;       // members this member declared dead
  uint64_t syncs_started = 0;
  uint64_t syncs_failed = 0;
  uint64_t syncs_served = 0;
  // Times another live process claimed a name held by a live member: as
  // the joiner refused, as the holder asked, or as a member that heard
  // both.
  uint64_t name_conflicts = 0;
  // Probes over TCP after UDP probes failed, and those answered: a member
  // answering only these is reachable only over TCP.
  uint64_t tcp_probes = 0;
  uint64_t tcp_probe_acks = 0;
  // New lives of known members taken over (a restart or a move seen).
  uint64_t restarts_seen = 0;
  // Joins that found this member's name held by a live member elsewhere,
  // checked that it no longer answered, and took the name over.
  uint64_t takeovers = 0;
  // TCP requests answered with a refusal (unreadable, malformed, outside
  // the allowed networks, not admitted, refused by the application).
  uint64_t streams_refused = 0;
  uint64_t member_queries = 0;  // member list requests served
  // AEAD passes over stream frames: one to seal each sealed request or
  // reply this member writes, one to open each it reads.
  uint64_t stream_frames_sealed = 0;
  uint64_t stream_frames_opened = 0;
  uint64_t broadcasts_delivered = 0;
  // Messages of a kind this member does not know (a newer build's),
  // skipped while the rest of their datagram was handled.
  uint64_t unknown_kinds_skipped = 0;
  // Hello messages (version 2's kind) received: members that speak it
  // send one with their first ping to each life that does too.
  uint64_t hellos_received = 0;
  // Ack payloads the application gave over Limits::max_ack_payload_bytes:
  // those acks went without one.
  uint64_t ack_payloads_refused = 0;
  // User events (roster/events.h): sent by this member, delivered to its
  // application (its own included), replaced by a later one of the same
  // name while coalescing, and ignored as older than the buffer of recent
  // events or than this member's join.
  uint64_t user_events_sent = 0;
  uint64_t user_events_delivered = 0;
  uint64_t user_events_coalesced = 0;
  uint64_t user_events_too_old = 0;
  // Queries: sent by this member; handed to its handler; its
  // acknowledgements and responses sent, and answers it gave after the
  // deadline (not sent); answers it passed on for others (relays); and
  // the acknowledgements and responses its own queries received, once per
  // member.
  uint64_t queries_sent = 0;
  uint64_t queries_handled = 0;
  uint64_t query_acks_sent = 0;
  uint64_t query_responses_sent = 0;
  uint64_t query_answers_late = 0;
  uint64_t query_responses_relayed = 0;
  uint64_t query_acks_received = 0;
  uint64_t query_responses_received = 0;
  // Network coordinates in direct acks that were not used: unreadable,
  // implausible (not finite, out of range), or with an RTT over 10 s.
  uint64_t coordinates_refused = 0;
  // Times this member's own coordinate went invalid and started afresh.
  uint64_t coordinate_resets = 0;
  std::array<uint64_t, static_cast<size_t>(DropReason::kCount)> drops{};

  void Drop(DropReason reason) { ++drops[static_cast<size_t>(reason)]; }
  uint64_t drops_of(DropReason reason) const {
    return drops[static_cast<size_t>(reason)];
  }
  uint64_t total_drops() const;
  bool operator==(const Counters&) const = default;
};

// What the network layer counts, beside the protocol's roster::Counters.
struct NetCounters {
  uint64_t datagrams_truncated = 0;   // larger than the receive buffer
  uint64_t datagram_send_errors = 0;  // the kernel refused a datagram
  uint64_t streams_opened = 0;        // outbound TCP exchanges started
  uint64_t streams_failed = 0;        // ... that failed (refused, timeout)
  uint64_t streams_accepted = 0;      // inbound TCP connections served
  uint64_t streams_refused = 0;       // over max_inbound_streams: closed
  uint64_t streams_timed_out = 0;     // either side, any timeout
  uint64_t streams_too_large = 0;     // a declared length over the limit
  uint64_t streams_malformed = 0;     // cut short, or declaring 0 bytes
  uint64_t streams_not_admitted = 0;  // from outside swim.allowed_networks
  uint64_t stream_bytes_sent = 0;
  uint64_t stream_bytes_received = 0;
  // Inbound: requests served on a connection after its first, and
  // connections closed while idle between requests (after keep-alive, or
  // to make room under max_inbound_streams).
  uint64_t streams_reused = 0;
  uint64_t streams_idle_closed = 0;
  uint64_t streams_evicted = 0;
  uint64_t messages_sent = 0;      // SendTo calls delivered
  uint64_t messages_received = 0;  // SendTo messages handed to on_message
  uint64_t requests_sent = 0;      // Request calls answered with a response
  uint64_t requests_received = 0;  // requests handed to on_request
  // The outbound connections SendTo and Request keep per member: opened,
  // calls sent on one that had carried an earlier call, closed (for any
  // reason: opened less closed are open now), closed after
  // NodeConfig::connection_idle_timeout unused, and calls sent again on a
  // new connection because the peer had closed the reused one.
  uint64_t message_connections_opened = 0;
  uint64_t message_connections_reused = 0;
  uint64_t message_connections_closed = 0;
  uint64_t message_connections_idle_closed = 0;
  uint64_t message_retries = 0;
  // SendTo and Request calls whose deadline passed before an answer.
  uint64_t message_timeouts = 0;
  // Messages and requests refused because NodeConfig::max_pending_messages
  // already waited for the handlers' thread (the sender gets
  // ResourceExhausted).
  uint64_t messages_overflowed = 0;
  uint64_t dns_lookups = 0;
  uint64_t dns_failures = 0;
  // Calls of on_event, on_broadcast, merge_remote_state and on_log run on
  // the node's delivery thread, and those dropped because
  // NodeConfig::max_pending_callbacks calls were already waiting.
  uint64_t callbacks_delivered = 0;
  uint64_t callbacks_dropped = 0;

  uint64_t total_drops() const {
    return datagrams_truncated + streams_refused + streams_timed_out +
           streams_too_large + streams_malformed + streams_not_admitted +
           callbacks_dropped + messages_overflowed;
  }
  bool operator==(const NetCounters&) const = default;
};

// What waits, now: gauges beside the counters. The gossip queues hold
// news until it has been sent its retransmit count; the last two are a
// Node's queues for its callbacks and handlers (zero for a bare Swim).
struct QueueDepths {
  size_t membership_news = 0;     // alive, suspect and dead news to gossip
  size_t broadcasts = 0;          // application broadcasts to gossip
  size_t events_and_queries = 0;  // user events and queries to gossip
  size_t callbacks = 0;           // calls waiting for the delivery thread
  size_t messages = 0;            // messages and requests waiting for handlers
  bool operator==(const QueueDepths&) const = default;
};

// What Node::counters() returns.
struct NodeCounters {
  Counters protocol;  // the Swim's own counters (datagrams, probes, drops)
  NetCounters net;
  // As of the snapshot for the gossip queues, exact for the Node's own.
  QueueDepths queues;
};

}  // namespace roster

#endif  // ROSTER_COUNTERS_H_
