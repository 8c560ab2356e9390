// Queries (Serf's): sent by gossip to every member, answered by the
// members the filter selects with an acknowledgement and their handler's
// response, each by datagram to the querier directly and through a few
// relays, and summed up for the querier at the deadline.
#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/swim_impl.h"
#include "core/wire/checks.h"
#include "core/wire/encode.h"
#include "util/string_view.h"

namespace roster {

namespace {

constexpr int kMaxRelayFactor = 5;
constexpr absl::Duration kMaxQueryTimeout = absl::Minutes(10);

std::string QueryKey(std::string_view origin, uint32_t life, uint32_t id) {
  return absl::StrCat(util::ToAbsl(origin), "/", life, "/", id);
}

}  // namespace

absl::Duration Swim::Impl::DefaultQueryTimeout() const {
  const double n = static_cast<double>(table_.NumAlive());
  return cfg_.gossip_interval * 16 *
         std::max(1.0, std::ceil(std::log10(n + 1)));
}

absl::Status Swim::Impl::Query(const QueryParams& params, uint64_t token) {
  if (!started_ || leaving_)
    return absl::FailedPreconditionError(
        "a query needs a started member that has not left");
  core::WireError error;
  if (!core::CheckMemberName(params.name, "query name", cfg_.limits, &error))
    return absl::InvalidArgumentError(error.message);
  if (params.relay_factor < 0 || params.relay_factor > kMaxRelayFactor)
    return absl::InvalidArgumentError(absl::StrCat(
        "a query's relay factor must be in [0, ", kMaxRelayFactor, "]"));
  if (params.timeout < absl::ZeroDuration() ||
      params.timeout > kMaxQueryTimeout)
    return absl::InvalidArgumentError(
        "a query's timeout must be in [0, 10 minutes] (0: the default)");
  auto filter = core::QueryFilter::FromParams(params.nodes, params.tags);
  if (!filter.ok()) return filter.status();
  const size_t bytes =
      params.name.size() + params.payload.size() + filter->encoded().size();
  if (bytes > cfg_.limits.max_query_bytes)
    return absl::InvalidArgumentError(
        absl::StrCat("a query's name, payload and filter are ", bytes,
                     " bytes, over limits.max_query_bytes of ",
                     cfg_.limits.max_query_bytes));
  if (own_queries_.size() >= cfg_.limits.max_pending_queries)
    return absl::ResourceExhaustedError(
        absl::StrCat(own_queries_.size(),
                     " queries of this member are waiting for their deadline "
                     "(limits.max_pending_queries)"));
  const absl::Duration timeout = params.timeout == absl::ZeroDuration()
                                     ? DefaultQueryTimeout()
                                     : params.timeout;
  const uint32_t id = next_query_id_++;
  const uint64_t ltime = query_clock_.Increment();
  core::QueryEntryValues values{
      .name = params.name,
      .payload = params.payload,
      .origin = cfg_.name,
      .origin_addr = self_->addr(),
      .life = self_->life(),
      .ltime = ltime,
      .id = id,
      .timeout_ms = static_cast<uint32_t>(absl::ToInt64Milliseconds(timeout)),
      .relay_factor = static_cast<uint32_t>(params.relay_factor),
      .want_ack = params.request_ack,
      .filter = filter->encoded()};
  std::string entry = core::QueryEntry(values);
  if (entry.size() + FrameOverhead() > cfg_.packet_budget)
    return absl::InvalidArgumentError(absl::StrCat(
        "a query of ", entry.size(),
        " bytes does not fit in the packet budget of ", cfg_.packet_budget));
  ++counters_.queries_sent;
  seen_queries_.Insert(QueryKey(cfg_.name, self_->life(), id));
  OwnQuery& own = own_queries_[id];
  own.token = token;
  own.want_ack = params.request_ack;
  own.result.token = token;
  for (const Member* m : table_.members()) {
    // A member of an older build never hears the query: not expected.
    if ((m->state() == MemberState::kAlive ||
         m->state() == MemberState::kSuspect) &&
        (m == self_ || BothSpeak(*m, core::kEventsVersion)) &&
        filter->Selects(m->name(), m->meta()))
      own.expected.emplace_back(m->name());
  }
  std::sort(own.expected.begin(), own.expected.end());
  own.result.expected = own.expected;
  values.retry = true;
  own.retry_entry = core::QueryEntry(values);
  QueueEvents(std::move(entry));
  rt_.After(timeout, core::MakeTimer(core::TimerKind::kQueryDeadline, id));
  // Gossip misses a member now and then under loss (about 1 in 700 at 5%
  // loss among 100): a third and two thirds into the wait, the members
  // not heard from are asked again, directly.
  rt_.After(timeout / 3, core::MakeTimer(core::TimerKind::kQueryRetry, id));
  rt_.After(timeout * 2 / 3, core::MakeTimer(core::TimerKind::kQueryRetry, id));
  if (filter->Selects(cfg_.name, self_->meta())) {
    if (params.request_ack) OnAnswerToOwnQuery(id, cfg_.name, true, {});
    Answering answering;
    answering.origin = cfg_.name;
    answering.life = self_->life();
    answering.id = id;
    AskHandler(QueryRequest{params.name, params.payload, cfg_.name, ltime,
                            rt_.Now() + timeout},
               std::move(answering));
  }
  return absl::OkStatus();
}

void Swim::Impl::OnQueryRetry(uint32_t id) {
  auto it = own_queries_.find(id);
  if (it == own_queries_.end()) return;
  const OwnQuery& own = it->second;
  for (const std::string& name : own.expected) {
    // A member that acknowledged has the query; its handler may simply
    // give no response.
    if (name == cfg_.name || own.answered.contains(name) ||
        (own.want_ack && own.acked.contains(name)))
      continue;
    const Member* m = table_.Find(name);
    if (m == nullptr || m->state() == MemberState::kDead ||
        m->state() == MemberState::kLeft ||
        !BothSpeak(*m, core::kEventsVersion))
      continue;
    Send(std::string(m->addr()), own.retry_entry);
  }
}

void Swim::Impl::OnQuery(const core::QueryView& query) {
  if (!query_clock_.Witness(query.ltime())) {
    Drop(DropReason::kMalformed);
    return;
  }
  std::string query_key = QueryKey(query.origin(), query.life(), query.id());
  if (!seen_queries_.Insert(query_key)) {
    if (query.retry()) SendAnswersAgain(query_key);
    return;
  }
  auto filter = core::QueryFilter::Decode(query.filter());
  if (!filter.ok()) {
    Drop(DropReason::kMalformed);
    return;
  }
  // A retry came to this member alone: the others have it.
  if (!query.retry()) {
    std::string entry = core::QueryEntry({.name = query.name(),
                                          .payload = query.payload(),
                                          .origin = query.origin(),
                                          .origin_addr = query.origin_addr(),
                                          .life = query.life(),
                                          .ltime = query.ltime(),
                                          .id = query.id(),
                                          .timeout_ms = query.timeout_ms(),
                                          .relay_factor = query.relay_factor(),
                                          .want_ack = query.want_ack(),
                                          .filter = query.filter()});
    if (entry.size() + FrameOverhead() <= cfg_.packet_budget) {
      QueueEvents(std::move(entry));
    } else {
      Drop(DropReason::kTooLarge);
    }
  }
  if (!filter->Selects(cfg_.name, self_->meta())) return;
  const absl::Duration timeout =
      std::min(absl::Milliseconds(query.timeout_ms()), kMaxQueryTimeout);
  Answering answering;
  answering.origin = std::string(query.origin());
  answering.origin_addr = std::string(query.origin_addr());
  answering.life = query.life();
  answering.id = query.id();
  answering.relay_factor =
      std::min<uint32_t>(query.relay_factor(), kMaxRelayFactor);
  answering.query_key = std::move(query_key);
  if (query.want_ack()) {
    ++counters_.query_acks_sent;
    std::string ack =
        core::QueryResponseEntry(query.origin(), query.life(), query.id(),
                                 cfg_.name, /*ack=*/true, {}, false);
    Send(answering.origin_addr, ack);
    answering.sent.push_back(std::move(ack));
  }
  AskHandler(
      QueryRequest{std::string(query.name()), std::string(query.payload()),
                   std::string(query.origin()), query.ltime(),
                   rt_.Now() + timeout},
      std::move(answering));
}

uint64_t Swim::Impl::AskHandler(const QueryRequest& request,
                                Answering answering) {
  if (answering_.size() >= cfg_.limits.max_answering_queries) {
    Drop(DropReason::kOverloaded);
    return 0;
  }
  const uint64_t key = next_answering_++;
  answering.deadline = request.deadline;
  if (!answering.query_key.empty())
    answering_by_query_[answering.query_key] = key;
  answering_.emplace(key, std::move(answering));
  rt_.After(request.deadline - rt_.Now(),
            core::MakeTimer(core::TimerKind::kAnsweringDeadline, key));
  ++counters_.queries_handled;
  app_->OnQuery(request, [this, key](std::optional<std::string> response) {
    SendAnswer(key, std::move(response));
  });
  return key;
}

void Swim::Impl::SendAnswersAgain(const std::string& query_key) {
  auto by_query = answering_by_query_.find(query_key);
  if (by_query == answering_by_query_.end()) return;
  const Answering& answering = answering_.at(by_query->second);
  for (const std::string& entry : answering.sent)
    Send(answering.origin_addr, entry);
}

void Swim::Impl::SendAnswer(uint64_t key, std::optional<std::string> response) {
  auto it = answering_.find(key);
  if (it == answering_.end() || it->second.answered) {
    // After the deadline (its timer took it out), or answered twice.
    if (response && it == answering_.end()) ++counters_.query_answers_late;
    return;
  }
  Answering& answering = it->second;
  answering.answered = true;
  if (!response) return;
  if (rt_.Now() > answering.deadline) {
    ++counters_.query_answers_late;
    return;
  }
  if (response->size() > cfg_.limits.max_query_response_bytes) {
    Drop(DropReason::kTooLarge);
    Log(LogLevel::kWarning,
        absl::StrCat("the response to query ", answering.id, " of ",
                     answering.origin, " is ", response->size(),
                     " bytes, over limits.max_query_response_bytes of ",
                     cfg_.limits.max_query_response_bytes, ": not sent"));
    return;
  }
  if (answering.origin_addr.empty()) {
    OnAnswerToOwnQuery(answering.id, cfg_.name, false, *response);
    return;
  }
  std::string entry =
      core::QueryResponseEntry(answering.origin, answering.life, answering.id,
                               cfg_.name, /*ack=*/false, *response, false);
  if (entry.size() + FrameOverhead() > cfg_.packet_budget) {
    Drop(DropReason::kTooLarge);
    return;
  }
  ++counters_.query_responses_sent;
  Send(answering.origin_addr, entry);
  answering.sent.push_back(std::move(entry));
  if (answering.relay_factor == 0) return;
  const std::string relayed =
      core::QueryResponseEntry(answering.origin, answering.life, answering.id,
                               cfg_.name, /*ack=*/false, *response, true);
  for (const Member* relay :
       table_.Sample(answering.relay_factor, random_, [&](const Member& m) {
         return &m != self_ && m.state() == MemberState::kAlive &&
                m.name() != answering.origin &&
                BothSpeak(m, core::kEventsVersion);
       })) {
    Send(std::string(relay->addr()), relayed);
  }
}

void Swim::Impl::OnQueryResponse(const core::QueryResponseView& response) {
  if (response.origin() != cfg_.name) {
    if (!response.relay()) {
      Drop(DropReason::kWrongTarget);
      return;
    }
    // Passed on once, to where this member knows the querier lives.
    const Member* origin = table_.Find(response.origin());
    if (origin == nullptr || origin->state() == MemberState::kDead ||
        origin->state() == MemberState::kLeft ||
        !SameLife(*origin, response.life())) {
      Drop(DropReason::kWrongTarget);
      return;
    }
    ++counters_.query_responses_relayed;
    Send(std::string(origin->addr()),
         core::QueryResponseEntry(response.origin(), response.life(),
                                  response.id(), response.from(),
                                  response.ack(), response.payload(), false));
    return;
  }
  if (response.life() != self_->life()) {
    Drop(DropReason::kWrongTarget);  // for an earlier life of ours
    return;
  }
  OnAnswerToOwnQuery(response.id(), response.from(), response.ack(),
                     response.payload());
}

void Swim::Impl::OnAnswerToOwnQuery(uint32_t id, std::string_view from,
                                    bool ack, std::string_view payload) {
  auto it = own_queries_.find(id);
  if (it == own_queries_.end()) return;  // over, or never ours
  OwnQuery& own = it->second;
  if (ack) {
    if (!own.acked.insert(std::string(from)).second) return;
    ++counters_.query_acks_received;
    own.result.acks.emplace_back(from);
    app_->OnQueryAck(own.token, from);
    return;
  }
  if (!own.answered.insert(std::string(from)).second) return;
  ++counters_.query_responses_received;
  own.result.responses.emplace_back(std::string(from), std::string(payload));
  app_->OnQueryResponse(own.token, from, payload);
}

void Swim::Impl::OnQueryDeadline(uint32_t id) {
  auto it = own_queries_.find(id);
  if (it == own_queries_.end()) return;
  OwnQuery own = std::move(it->second);
  own_queries_.erase(it);
  for (const std::string& name : own.expected) {
    if (own.want_ack && !own.acked.contains(name))
      own.result.missing_acks.push_back(name);
    if (!own.answered.contains(name))
      own.result.missing_responses.push_back(name);
  }
  app_->OnQueryDone(own.result);
}

void Swim::Impl::OnAnsweringDeadline(uint64_t key) {
  auto it = answering_.find(key);
  if (it == answering_.end()) return;
  if (!it->second.query_key.empty())
    answering_by_query_.erase(it->second.query_key);
  answering_.erase(it);
}

}  // namespace roster
