#include "metrics/node_families.h"

#include <array>
#include <cstdint>
#include <string>
#include <utility>

#include "prometheus/client_metric.h"
#include "prometheus/metric_type.h"

namespace roster::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// One counter field, named as doc/metrics.md lists it.
template <typename Struct>
struct CounterField {
  const char* name;
  const char* help;
  uint64_t Struct::*field;
};

constexpr CounterField<Counters> kProtocolCounters[] = {
    {"roster_packets_sent_total", "Datagrams sent.", &Counters::packets_sent},
    {"roster_packets_received_total", "Datagrams received.",
     &Counters::packets_received},
    {"roster_packet_sent_bytes_total", "Bytes of datagrams sent.",
     &Counters::bytes_sent},
    {"roster_packet_received_bytes_total", "Bytes of datagrams received.",
     &Counters::bytes_received},
    {"roster_probes_total", "Probes of other members started.",
     &Counters::probes},
    {"roster_indirect_probes_total",
     "Probes that asked other members to relay pings.",
     &Counters::indirect_probes},
    {"roster_probe_failures_total", "Probes that got no ack in time.",
     &Counters::probe_failures},
    {"roster_nacks_received_total", "Lifeguard nacks from relays.",
     &Counters::nacks_received},
    {"roster_suspicions_total", "Members this member started suspecting.",
     &Counters::suspicions},
    {"roster_refutations_total",
     "Times this member refuted news of its own suspicion or death.",
     &Counters::refutations},
    {"roster_deaths_total", "Members this member declared dead.",
     &Counters::deaths},
    {"roster_push_pulls_started_total", "Push-pull exchanges started.",
     &Counters::syncs_started},
    {"roster_push_pulls_failed_total", "Push-pull exchanges that failed.",
     &Counters::syncs_failed},
    {"roster_push_pulls_served_total", "Push-pull requests served.",
     &Counters::syncs_served},
    {"roster_name_conflicts_total",
     "Live processes seen claiming a live member's name.",
     &Counters::name_conflicts},
    {"roster_tcp_probes_total", "Probes over TCP after UDP probes failed.",
     &Counters::tcp_probes},
    {"roster_tcp_probe_acks_total", "TCP probes answered.",
     &Counters::tcp_probe_acks},
    {"roster_restarts_seen_total", "New lives of known members taken in.",
     &Counters::restarts_seen},
    {"roster_takeovers_total",
     "Joins that took this member's name over from a silent holder.",
     &Counters::takeovers},
    {"roster_stream_requests_refused_total",
     "TCP requests answered with a refusal.", &Counters::streams_refused},
    {"roster_member_list_requests_total", "Member list requests served.",
     &Counters::member_queries},
    {"roster_stream_frames_sealed_total", "Stream frames sealed (AEAD).",
     &Counters::stream_frames_sealed},
    {"roster_stream_frames_opened_total", "Stream frames opened (AEAD).",
     &Counters::stream_frames_opened},
    {"roster_broadcasts_delivered_total",
     "Application broadcasts delivered to this member.",
     &Counters::broadcasts_delivered},
    {"roster_unknown_kinds_skipped_total",
     "Messages of a kind this build does not know, skipped.",
     &Counters::unknown_kinds_skipped},
    {"roster_hellos_received_total", "Hello messages received.",
     &Counters::hellos_received},
    {"roster_ack_payloads_refused_total",
     "Ack payloads over the size limit, not sent.",
     &Counters::ack_payloads_refused},
    {"roster_user_events_sent_total", "User events sent.",
     &Counters::user_events_sent},
    {"roster_user_events_delivered_total",
     "User events delivered to the application.",
     &Counters::user_events_delivered},
    {"roster_user_events_coalesced_total",
     "User events replaced by a later one of the same name.",
     &Counters::user_events_coalesced},
    {"roster_user_events_too_old_total",
     "User events ignored as older than the recent ones or the join.",
     &Counters::user_events_too_old},
    {"roster_queries_sent_total", "Queries sent.", &Counters::queries_sent},
    {"roster_queries_handled_total", "Queries handed to the handler.",
     &Counters::queries_handled},
    {"roster_query_acks_sent_total", "Query acknowledgements sent.",
     &Counters::query_acks_sent},
    {"roster_query_responses_sent_total", "Query responses sent.",
     &Counters::query_responses_sent},
    {"roster_query_answers_late_total",
     "Query answers given after the deadline, not sent.",
     &Counters::query_answers_late},
    {"roster_query_responses_relayed_total",
     "Query answers passed on for other members.",
     &Counters::query_responses_relayed},
    {"roster_query_acks_received_total",
     "Acknowledgements this member's queries received.",
     &Counters::query_acks_received},
    {"roster_query_responses_received_total",
     "Responses this member's queries received.",
     &Counters::query_responses_received},
    {"roster_coordinates_refused_total",
     "Network coordinates in acks not used.", &Counters::coordinates_refused},
    {"roster_coordinate_resets_total",
     "Times this member's coordinate started afresh.",
     &Counters::coordinate_resets},
};

constexpr CounterField<NetCounters> kNetCounters[] = {
    {"roster_datagrams_truncated_total",
     "Datagrams larger than the receive buffer.",
     &NetCounters::datagrams_truncated},
    {"roster_datagram_send_errors_total", "Datagrams the kernel refused.",
     &NetCounters::datagram_send_errors},
    {"roster_streams_opened_total", "Outbound TCP exchanges started.",
     &NetCounters::streams_opened},
    {"roster_streams_failed_total", "Outbound TCP exchanges that failed.",
     &NetCounters::streams_failed},
    {"roster_streams_accepted_total", "Inbound TCP connections served.",
     &NetCounters::streams_accepted},
    {"roster_streams_refused_total",
     "Inbound TCP connections closed over the limit.",
     &NetCounters::streams_refused},
    {"roster_streams_timed_out_total", "TCP exchanges that timed out.",
     &NetCounters::streams_timed_out},
    {"roster_streams_too_large_total",
     "TCP messages declaring a length over the limit.",
     &NetCounters::streams_too_large},
    {"roster_streams_malformed_total",
     "TCP messages cut short or declaring 0 bytes.",
     &NetCounters::streams_malformed},
    {"roster_streams_not_admitted_total",
     "TCP connections from outside the allowed networks.",
     &NetCounters::streams_not_admitted},
    {"roster_stream_sent_bytes_total", "Bytes sent over TCP.",
     &NetCounters::stream_bytes_sent},
    {"roster_stream_received_bytes_total", "Bytes received over TCP.",
     &NetCounters::stream_bytes_received},
    {"roster_streams_reused_total",
     "Inbound requests served on a connection after its first.",
     &NetCounters::streams_reused},
    {"roster_streams_idle_closed_total",
     "Inbound connections closed while idle.",
     &NetCounters::streams_idle_closed},
    {"roster_streams_evicted_total",
     "Idle inbound connections closed to make room.",
     &NetCounters::streams_evicted},
    {"roster_messages_sent_total", "SendTo calls delivered.",
     &NetCounters::messages_sent},
    {"roster_messages_received_total", "Messages handed to on_message.",
     &NetCounters::messages_received},
    {"roster_requests_sent_total", "Request calls answered.",
     &NetCounters::requests_sent},
    {"roster_requests_received_total", "Requests handed to on_request.",
     &NetCounters::requests_received},
    {"roster_message_connections_opened_total",
     "Outbound message connections opened.",
     &NetCounters::message_connections_opened},
    {"roster_message_connections_reused_total",
     "Calls sent on a connection that had carried an earlier one.",
     &NetCounters::message_connections_reused},
    {"roster_message_connections_closed_total",
     "Outbound message connections closed.",
     &NetCounters::message_connections_closed},
    {"roster_message_connections_idle_closed_total",
     "Outbound message connections closed unused.",
     &NetCounters::message_connections_idle_closed},
    {"roster_message_retries_total",
     "Calls sent again after the peer closed a reused connection.",
     &NetCounters::message_retries},
    {"roster_message_timeouts_total",
     "SendTo and Request calls past their deadline.",
     &NetCounters::message_timeouts},
    {"roster_messages_overflowed_total",
     "Messages and requests refused with the handlers' queue full.",
     &NetCounters::messages_overflowed},
    {"roster_dns_lookups_total", "DNS lookups of seeds.",
     &NetCounters::dns_lookups},
    {"roster_dns_failures_total", "DNS lookups of seeds that failed.",
     &NetCounters::dns_failures},
    {"roster_callbacks_delivered_total",
     "Callbacks run on the delivery thread.",
     &NetCounters::callbacks_delivered},
    {"roster_callbacks_dropped_total",
     "Callbacks dropped with the delivery queue full.",
     &NetCounters::callbacks_dropped},
};

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

ClientMetric CounterSample(double value) {
  ClientMetric sample;
  sample.counter.value = value;
  return sample;
}

ClientMetric GaugeSample(double value) {
  ClientMetric sample;
  sample.gauge.value = value;
  return sample;
}

ClientMetric Labelled(ClientMetric sample, std::string label,
                      std::string value) {
  sample.label.push_back({std::move(label), std::move(value)});
  return sample;
}

template <typename Struct, size_t N>
void AppendCounters(const CounterField<Struct> (&fields)[N],
                    const Struct& values, std::vector<MetricFamily>& out) {
  for (const CounterField<Struct>& f : fields) {
    MetricFamily family = Family(f.name, f.help, MetricType::Counter);
    family.metric.push_back(
        CounterSample(static_cast<double>(values.*(f.field))));
    out.push_back(std::move(family));
  }
}

}  // namespace

void AppendNodeFamilies(const NodeCounters& counters,
                        const std::vector<MemberInfo>& members, int health,
                        std::vector<MetricFamily>& out) {
  std::array<size_t, 4> by_state{};
  for (const MemberInfo& m : members) {
    const size_t state = static_cast<size_t>(m.state);
    if (state < by_state.size()) ++by_state[state];
  }
  MetricFamily states = Family(
      "roster_members", "Members in the table by state, this member included.",
      MetricType::Gauge);
  for (MemberState state : {MemberState::kAlive, MemberState::kSuspect,
                            MemberState::kDead, MemberState::kLeft}) {
    states.metric.push_back(Labelled(
        GaugeSample(static_cast<double>(by_state[static_cast<size_t>(state)])),
        "state", std::string(MemberStateName(state))));
  }
  out.push_back(std::move(states));

  MetricFamily score = Family(
      "roster_health_score",
      "Lifeguard's local health: 0 is healthy; timeouts scale by 1 + score.",
      MetricType::Gauge);
  score.metric.push_back(GaugeSample(health));
  out.push_back(std::move(score));

  const QueueDepths& q = counters.queues;
  MetricFamily queues = Family("roster_queue_depth", "Items waiting, by queue.",
                               MetricType::Gauge);
  for (const auto& [name, depth] :
       {std::pair{"membership_news", q.membership_news},
        std::pair{"broadcasts", q.broadcasts},
        std::pair{"events_and_queries", q.events_and_queries},
        std::pair{"callbacks", q.callbacks},
        std::pair{"messages", q.messages}}) {
    queues.metric.push_back(
        Labelled(GaugeSample(static_cast<double>(depth)), "queue", name));
  }
  out.push_back(std::move(queues));

  MetricFamily drops =
      Family("roster_drops_total",
             "Inbound datagrams, streams and messages not acted upon, by "
             "reason.",
             MetricType::Counter);
  for (size_t r = 0; r < static_cast<size_t>(DropReason::kCount); ++r) {
    drops.metric.push_back(Labelled(
        CounterSample(static_cast<double>(counters.protocol.drops[r])),
        "reason", std::string(DropReasonName(static_cast<DropReason>(r)))));
  }
  out.push_back(std::move(drops));

  AppendCounters(kProtocolCounters, counters.protocol, out);
  AppendCounters(kNetCounters, counters.net, out);
}

}  // namespace roster::metrics
