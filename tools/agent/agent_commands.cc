// The agent's RPC commands (doc/rpc.md): each reads its arguments, calls
// roster::Node and words the outcome; bad arguments are InvalidArgument.
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "roster/tags.h"
#include "tools/agent/agent_state.h"
#include "tools/json_lines.h"
#include "tools/keys.h"

namespace roster::tools {
namespace {

using rpc::Call;

absl::Status Bad(absl::string_view what) {
  return absl::InvalidArgumentError(what);
}

// args[key] as a string: "" when absent, InvalidArgument when another type.
absl::StatusOr<std::string> String(const Json& args, const char* key) {
  if (!args.contains(key)) return std::string();
  if (!args[key].is_string())
    return Bad(absl::StrCat("\"", key, "\" must be a string"));
  return args[key].get<std::string>();
}

absl::StatusOr<std::vector<std::string>> Strings(const Json& args,
                                                 const char* key) {
  std::vector<std::string> out;
  if (!args.contains(key)) return out;
  if (!args[key].is_array())
    return Bad(absl::StrCat("\"", key, "\" must be an array of strings"));
  for (const Json& item : args[key]) {
    if (!item.is_string())
      return Bad(absl::StrCat("\"", key, "\" must be an array of strings"));
    out.push_back(item.get<std::string>());
  }
  return out;
}

bool Flag(const Json& args, const char* key) {
  return args.contains(key) && args[key].is_boolean() && args[key].get<bool>();
}

Json Keys(const Keyring& keyring) {
  Json keys = Json::array();
  for (const std::string& key : keyring.Keys())
    keys.push_back(Keyring::EncodeKey(key));
  return keys;
}

Json CountersJson(const NodeCounters& c) {
  const Counters& p = c.protocol;
  Json drops = Json::object();
  for (size_t r = 0; r < static_cast<size_t>(DropReason::kCount); ++r)
    drops[std::string(DropReasonName(static_cast<DropReason>(r)))] = p.drops[r];
  return {{"packets_sent", p.packets_sent},
          {"packets_received", p.packets_received},
          {"bytes_sent", p.bytes_sent},
          {"bytes_received", p.bytes_received},
          {"probes", p.probes},
          {"indirect_probes", p.indirect_probes},
          {"probe_failures", p.probe_failures},
          {"nacks_received", p.nacks_received},
          {"suspicions", p.suspicions},
          {"refutations", p.refutations},
          {"deaths", p.deaths},
          {"syncs_started", p.syncs_started},
          {"syncs_failed", p.syncs_failed},
          {"syncs_served", p.syncs_served},
          {"user_events_sent", p.user_events_sent},
          {"user_events_delivered", p.user_events_delivered},
          {"queries_sent", p.queries_sent},
          {"queries_handled", p.queries_handled},
          {"query_responses_received", p.query_responses_received},
          {"streams_opened", c.net.streams_opened},
          {"streams_failed", c.net.streams_failed},
          {"streams_accepted", c.net.streams_accepted},
          {"callbacks_dropped", c.net.callbacks_dropped},
          {"drops", drops}};
}

Json HandlerCountersJson(const AgentState& s) {
  if (s.handlers == nullptr) return Json::object();
  const EventHandlerCounters c = s.handlers->counters();
  return {{"events_queued", c.events_queued},
          {"events_dropped", c.events_dropped},
          {"runs", c.runs},
          {"succeeded", c.succeeded},
          {"failed", c.failed},
          {"timed_out", c.timed_out},
          {"spawn_failed", c.spawn_failed},
          {"output_truncated", c.output_truncated},
          {"queries_answered", c.queries_answered},
          {"query_responses_too_large", c.query_responses_too_large}};
}

Json RpcCountersJson(const AgentState& s) {
  const rpc::Server* server = s.server.load();
  if (server == nullptr) return Json::object();
  const rpc::ServerCounters c = server->counters();
  return {{"calls", c.calls},
          {"refused", c.refused},
          {"unauthorized", c.unauthorized},
          {"over_connections", c.over_connections}};
}

absl::StatusOr<Json> Join(AgentState& s, const Json& args) {
  auto seeds = Strings(args, "seeds");
  if (!seeds.ok()) return seeds.status();
  if (seeds->empty()) return Bad("join needs at least one seed");
  for (const std::string& seed : *seeds)
    if (auto v = ValidateSeed(seed); !v.ok()) return v;
  if (auto joined = s.node->Join(*seeds); !joined.ok()) return joined;
  s.joined = true;
  return Json{{"joined", true}, {"members", s.node->NumAlive()}};
}

absl::StatusOr<Json> Leave(AgentState& s, Call& call) {
  if (s.left.exchange(true))
    return absl::FailedPreconditionError("the agent is leaving already");
  absl::Status left = s.node->Leave(absl::Seconds(10));
  // The agent ends once this answer is out, as Serf's does after a leave.
  call.AfterReply([] { kill(getpid(), SIGTERM); });
  if (!left.ok()) return left;
  return Json{{"left", true}};
}

absl::StatusOr<Json> ForceLeave(AgentState& s, const Json& args) {
  auto name = String(args, "name");
  if (!name.ok()) return name.status();
  if (name->empty()) return Bad("force-leave needs a member's name");
  if (auto done = s.node->ForceLeave(*name, Flag(args, "prune")); !done.ok())
    return done;
  return Json{{"left", *name}, {"pruned", Flag(args, "prune")}};
}

absl::StatusOr<Json> SendEvent(AgentState& s, const Json& args) {
  auto name = String(args, "name");
  if (!name.ok()) return name.status();
  auto payload = String(args, "payload");
  if (!payload.ok()) return payload.status();
  if (auto sent = s.node->UserEvent(*name, *payload, Flag(args, "coalesce"));
      !sent.ok())
    return sent;
  return Json{{"sent", *name}};
}

Json ResultJson(const QueryResult& r) {
  Json responses = Json::array();
  for (const auto& [from, payload] : r.responses)
    responses.push_back({{"from", from}, {"payload", payload}});
  return {{"expected", r.expected},
          {"acks", r.acks},
          {"responses", responses},
          {"missing_acks", r.missing_acks},
          {"missing_responses", r.missing_responses}};
}

// Sends `params` and streams each ack and response to `call` as they come
// (when `call` is set), then returns the outcome.
absl::StatusOr<QueryResult> RunQuery(AgentState& s, const QueryParams& params,
                                     Call* call) {
  struct Shared {
    std::mutex mu;
    std::condition_variable changed;
    std::deque<Json> lines;
    std::optional<absl::StatusOr<QueryResult>> done;
  };
  auto shared = std::make_shared<Shared>();
  Node::QueryHandlers handlers;
  auto push = [shared](Json line) {
    std::lock_guard<std::mutex> lock(shared->mu);
    shared->lines.push_back(std::move(line));
    shared->changed.notify_all();
  };
  if (call != nullptr) {
    handlers.on_ack = [push](std::string_view from) {
      push({{"ack", std::string(from)}});
    };
    handlers.on_response = [push](std::string_view from,
                                  std::string_view payload) {
      push(
          {{"response",
            {{"from", std::string(from)}, {"payload", std::string(payload)}}}});
    };
  }
  handlers.on_done = [shared](absl::StatusOr<QueryResult> result) {
    std::lock_guard<std::mutex> lock(shared->mu);
    shared->done = std::move(result);
    shared->changed.notify_all();
  };
  s.node->QueryAsync(params, std::move(handlers));
  std::unique_lock<std::mutex> lock(shared->mu);
  while (true) {
    shared->changed.wait(
        lock, [&] { return !shared->lines.empty() || shared->done; });
    while (!shared->lines.empty()) {
      Json line = std::move(shared->lines.front());
      shared->lines.pop_front();
      lock.unlock();
      if (call != nullptr) call->Stream(line);
      lock.lock();
    }
    if (shared->done) return *shared->done;
  }
}

absl::StatusOr<Json> SendQuery(AgentState& s, const Json& args, Call& call) {
  QueryParams params;
  auto name = String(args, "name");
  if (!name.ok()) return name.status();
  params.name = *name;
  if (params.name == kKeysQuery)
    return Bad(absl::StrCat(kKeysQuery, " is roster keys' own query"));
  auto payload = String(args, "payload");
  if (!payload.ok()) return payload.status();
  params.payload = *payload;
  auto nodes = Strings(args, "nodes");
  if (!nodes.ok()) return nodes.status();
  params.nodes = *nodes;
  auto tags = Strings(args, "tags");  // KEY=REGEX
  if (!tags.ok()) return tags.status();
  for (const std::string& kv : *tags) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return Bad(absl::StrCat("--tag '", kv, "' is not KEY=REGEX"));
    params.tags.push_back({kv.substr(0, eq), kv.substr(eq + 1)});
  }
  if (args.contains("timeout_s")) {
    if (!args["timeout_s"].is_number()) return Bad("timeout_s is a number");
    const double seconds = args["timeout_s"].get<double>();
    if (!(seconds > 0 && seconds <= 600))
      return Bad("--timeout must be above 0 and at most 600 seconds");
    params.timeout = absl::Seconds(seconds);
  }
  params.request_ack = Flag(args, "ack");
  if (args.contains("relay_factor")) {
    if (!args["relay_factor"].is_number_integer())
      return Bad("relay_factor is an integer");
    params.relay_factor = args["relay_factor"].get<int>();
  }
  auto result = RunQuery(s, params, &call);
  if (!result.ok()) return result.status();
  return ResultJson(*result);
}

absl::StatusOr<Json> SetTags(AgentState& s, const Json& args) {
  std::map<std::string, std::string> tags;
  if (auto current = DecodeTags(s.node->Self().meta)) tags = *current;
  if (args.contains("set")) {
    if (!args["set"].is_object()) return Bad("\"set\" must be an object");
    for (const auto& [k, v] : args["set"].items()) {
      if (!v.is_string()) return Bad("a tag's value must be a string");
      tags[k] = v.get<std::string>();
    }
  }
  auto removed = Strings(args, "delete");
  if (!removed.ok()) return removed.status();
  for (const std::string& k : *removed) tags.erase(k);
  if (args.contains("set") || !removed->empty()) {
    auto meta = EncodeTags(tags);
    if (!meta.ok()) return Bad(meta.status().message());
    if (auto set = s.node->SetMeta(*meta); !set.ok()) return set;
    // Handlers see the agent's tags in ROSTER_TAG_*.
    if (s.handlers != nullptr) s.handlers->SetSelf(s.node->Self());
  }
  Json out = Json::object();
  for (const auto& [k, v] : tags) out[k] = v;
  return Json{{"tags", out}};
}

absl::StatusOr<Json> Watch(AgentState& s, const Json& args, Call& call) {
  auto level_name = String(args, "level");
  if (!level_name.ok()) return level_name.status();
  auto level = ParseLogLevel(level_name->empty() ? "info" : *level_name);
  if (!level)
    return Bad(absl::StrCat("--level '", *level_name,
                            "' is none of debug, info, warning, error"));
  auto watcher = s.monitor.Watch(*level);
  bool open = call.Stream({{"monitor", s.options.name}});
  while (open && !call.Ended(absl::Milliseconds(100))) {
    for (const Json& line : watcher->Take()) {
      if (!(open = call.Stream(line))) break;
    }
  }
  s.monitor.Unwatch(watcher);
  return Json{{"ended", true}};
}

bool Ready(const AgentState& s) { return s.joined && !s.left; }

absl::StatusOr<Json> Info(AgentState& s) {
  const MemberInfo self = s.node->Self();
  Json by_state = Json::object();
  for (const MemberInfo& m : s.node->Members(MemberFilter::kAll)) {
    const std::string state(MemberStateName(m.state));
    by_state[state] = by_state.value(state, 0) + 1;
  }
  const AgentOptions& o = s.options;
  return Json{
      {"name", self.name},
      {"addr", self.addr},
      {"life", self.life},
      {"incarnation", self.incarnation},
      {"version", ROSTER_VERSION},
      {"protocol", {{"min", self.protocol_min}, {"max", self.protocol_max}}},
      {"ready", Ready(s)},
      {"joined", s.joined.load()},
      {"left", s.left.load()},
      {"health_score", s.node->HealthScore()},
      {"uptime_s", absl::ToDoubleSeconds(absl::Now() - s.started)},
      {"members", by_state},
      {"meta", MetaJson(self.meta)},
      {"config",
       {{"profile", s.profile},
        {"bind", o.bind},
        {"advertise", o.advertise},
        {"join", o.join},
        {"label", o.label},
        {"snapshot", o.snapshot},
        {"keyring", o.keyring},
        {"encrypted", s.keyring != nullptr},
        {"rpc", o.rpc.empty() ? rpc::kDefaultAddr : o.rpc},
        {"metrics_addr", o.metrics_addr},
        {"event_handlers", o.event_handler.size()}}},
      {"counters", CountersJson(s.node->counters())},
      {"keyring_writes_failed", s.keyring_writes_failed.load()},
      {"event_handlers", HandlerCountersJson(s)},
      {"rpc", RpcCountersJson(s)}};
}

absl::StatusOr<Json> Rtt(AgentState& s, const Json& args) {
  auto a = String(args, "a");
  if (!a.ok()) return a.status();
  auto b = String(args, "b");
  if (!b.ok()) return b.status();
  if (a->empty()) return Bad("rtt needs a member's name");
  const std::string other = b->empty() ? s.node->name() : *b;
  auto rtt = s.node->EstimateRtt(*a, other);
  if (!rtt.ok()) return rtt.status();
  return Json{
      {"a", *a}, {"b", other}, {"rtt_ms", absl::ToDoubleMilliseconds(*rtt)}};
}

absl::StatusOr<Json> ClusterKeys(AgentState& s, const Json& args) {
  auto op = String(args, "op");
  if (!op.ok()) return op.status();
  if (*op != "list" && *op != "install" && *op != "use" && *op != "remove")
    return Bad("keys needs one of --list, --install, --use, --remove");
  auto key = String(args, "key");
  if (!key.ok()) return key.status();
  if (*op != "list") {
    auto decoded = Keyring::DecodeKey(*key);
    if (!decoded.ok()) return Bad(decoded.status().message());
  }
  QueryParams params;
  params.name = kKeysQuery;
  params.payload = rpc::Dump({{"op", *op}, {"key", *key}});
  params.relay_factor = 2;
  auto result = RunQuery(s, params, nullptr);
  if (!result.ok()) return result.status();
  Json members = Json::object();
  size_t failed = 0;
  for (const auto& [from, payload] : result->responses) {
    Json answer = Json::parse(payload, nullptr, /*allow_exceptions=*/false);
    if (!answer.is_object()) answer = {{"ok", false}, {"error", "unreadable"}};
    if (!answer.value("ok", false)) ++failed;
    members[from] = answer;
  }
  return Json{{"op", *op},
              {"members", members},
              {"failed", failed},
              {"missing", result->missing_responses}};
}

absl::StatusOr<Json> MembersList(AgentState& s) {
  Json members = Json::array();
  const absl::Time now = absl::Now();
  for (const MemberInfo& m : s.node->Members(MemberFilter::kAll))
    members.push_back(MemberJson(m, now));
  return Json{{"members", members}};
}

}  // namespace

Json ApplyKeysStep(AgentState& s, const Json& step) {
  if (s.keyring == nullptr)
    return {{"ok", false}, {"error", "this agent has no --keyring"}};
  if (!step.is_object() || !step.contains("op") || !step["op"].is_string())
    return {{"ok", false}, {"error", "not a keys step"}};
  const std::string op = step["op"].get<std::string>();
  absl::Status done;
  if (op != "list") {
    auto key = Keyring::DecodeKey(step.value("key", ""));
    if (!key.ok()) {
      done = key.status();
    } else if (op == "install") {
      done = s.keyring->Install(*key);
    } else if (op == "use") {
      done = s.keyring->UsePrimary(*key);
    } else if (op == "remove") {
      done = s.keyring->Remove(*key);
    } else {
      done = Bad(absl::StrCat("no keys step '", op, "'"));
    }
    if (done.ok() && !s.options.keyring.empty()) {
      // The file follows, so that a restart keeps the cluster's keys.
      if (auto saved = SaveKeyring(*s.keyring, s.options.keyring);
          !saved.ok()) {
        ++s.keyring_writes_failed;
        s.monitor.Log(LogLevel::kError, std::string(saved.message()));
      }
    }
  }
  Json answer = {{"ok", done.ok()}, {"keys", Keys(*s.keyring)}};
  if (!done.ok()) answer["error"] = std::string(done.message());
  return answer;
}

std::map<std::string, rpc::Handler> AgentCommands(AgentState& s) {
  return {
      {"join", [&s](const Json& a, Call&) { return Join(s, a); }},
      {"leave", [&s](const Json&, Call& c) { return Leave(s, c); }},
      {"force-leave", [&s](const Json& a, Call&) { return ForceLeave(s, a); }},
      {"event", [&s](const Json& a, Call&) { return SendEvent(s, a); }},
      {"query", [&s](const Json& a, Call& c) { return SendQuery(s, a, c); }},
      {"tags", [&s](const Json& a, Call&) { return SetTags(s, a); }},
      {"monitor", [&s](const Json& a, Call& c) { return Watch(s, a, c); }},
      {"info", [&s](const Json&, Call&) { return Info(s); }},
      {"rtt", [&s](const Json& a, Call&) { return Rtt(s, a); }},
      {"keys", [&s](const Json& a, Call&) { return ClusterKeys(s, a); }},
      {"members", [&s](const Json&, Call&) { return MembersList(s); }},
  };
}

}  // namespace roster::tools
