#include "sim/event_observer.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace roster::sim {

EventObserver::EventObserver(Simulation& sim) : sim_(sim) {
  sim_.on_user_event = [this](int node, const UserEvent& event) {
    OnUserEvent(node, event);
  };
  sim_.on_query = [this](int node, const QueryRequest&) {
    return std::optional<std::string>(sim_.name(node));
  };
  sim_.on_query_response = [this](int, uint64_t token, std::string_view,
                                  std::string_view) {
    if (token < queries_.size()) queries_[token].last_answer = sim_.now();
  };
  sim_.on_query_done = [this](int node, const QueryResult& result) {
    OnQueryDone(node, result);
  };
}

uint32_t EventObserver::LifeNow(int node) const {
  return sim_.running(node) ? sim_.life(node) : 0;
}

std::vector<uint32_t> EventObserver::Lives() const {
  std::vector<uint32_t> lives(sim_.size());
  for (size_t i = 0; i < lives.size(); ++i)
    lives[i] = LifeNow(static_cast<int>(i));
  return lives;
}

void EventObserver::SendUserEvent(int node, const scenario::UserEvents& spec) {
  const std::string name = absl::StrCat("event-", events_.size());
  SentEvent sent{sim_.now(), Lives(), std::vector<double>(sim_.size(), -1.0)};
  event_by_name_[name] = events_.size();
  events_.push_back(std::move(sent));
  // A failure to send (a member that left) leaves the event undelivered,
  // which the results show.
  (void)sim_.swim(node).UserEvent(name, std::string(spec.payload_bytes(), 'e'),
                                  spec.coalesce());
}

void EventObserver::OnUserEvent(int node, const UserEvent& event) {
  auto it = event_by_name_.find(event.name);
  if (it == event_by_name_.end()) return;
  SentEvent& sent = events_[it->second];
  double& at = sent.delivered_s[node];
  if (at < 0) at = absl::ToDoubleSeconds(sim_.now() - sent.at);
}

void EventObserver::SendQuery(int node, const scenario::Queries& spec) {
  QueryParams params;
  params.name = "query";
  params.payload = std::string(spec.payload_bytes(), 'q');
  params.relay_factor = static_cast<int>(spec.relay_factor());
  params.timeout = absl::Milliseconds(std::llround(spec.timeout_s() * 1000));
  params.request_ack = spec.request_ack();
  SentQuery sent{sim_.now(), Lives(), std::vector<bool>(sim_.size(), true),
                 sim_.now()};
  if (spec.to_size() > 0) {
    sent.asked.assign(sim_.size(), false);
    for (uint32_t to : spec.to()) {
      params.nodes.push_back(sim_.name(static_cast<int>(to)));
      sent.asked[to] = true;
    }
  }
  const uint64_t token = queries_.size();
  queries_.push_back(std::move(sent));
  (void)sim_.swim(node).Query(params, token);
}

void EventObserver::OnQueryDone(int, const QueryResult& result) {
  if (result.token >= queries_.size()) return;
  SentQuery& sent = queries_[result.token];
  sent.done = true;
  absl::flat_hash_map<std::string, bool> answered;
  for (const auto& [from, payload] : result.responses) answered[from] = true;
  for (size_t i = 0; i < sim_.size(); ++i) {
    const int node = static_cast<int>(i);
    if (!sent.asked[i] || sent.lives[i] == 0 || LifeNow(node) != sent.lives[i])
      continue;
    if (!answered.contains(sim_.name(node))) ++sent.missing;
  }
  sent.complete = sent.missing == 0;
}

EventResults EventObserver::Results() const {
  EventResults r;
  r.user_events = events_.size();
  std::vector<double> samples;
  for (const SentEvent& sent : events_) {
    for (size_t i = 0; i < sim_.size(); ++i) {
      if (sent.lives[i] == 0 || LifeNow(static_cast<int>(i)) != sent.lives[i])
        continue;
      if (sent.delivered_s[i] < 0) {
        ++r.deliveries_missing;
      } else {
        samples.push_back(sent.delivered_s[i]);
      }
    }
  }
  r.dissemination_s = Distribution::Of(std::move(samples));
  r.queries = queries_.size();
  std::vector<double> completion;
  for (const SentQuery& sent : queries_) {
    if (!sent.done) continue;
    ++r.queries_finished;
    r.answers_missing += sent.missing;
    if (!sent.complete) continue;
    ++r.queries_complete;
    completion.push_back(absl::ToDoubleSeconds(sent.last_answer - sent.at));
  }
  r.completion_s = Distribution::Of(std::move(completion));
  return r;
}

}  // namespace roster::sim
