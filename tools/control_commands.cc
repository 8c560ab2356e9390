// The commands that control a running agent through its RPC: join, leave,
// force-leave, event, query, tags, monitor, info, rtt and keys.
#include "tools/control_commands.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/cli_common.h"

namespace roster::tools {
namespace {

void Print(const Json& value) { std::printf("%s\n", rpc::Dump(value).c_str()); }

// Calls `command` and prints the result: as JSON with --json, else as
// `text` words it.
int Simple(const std::string& command, const RpcFlags& flags, const Json& args,
           const std::function<std::string(const Json&)>& text) {
  auto result = CallAgent(flags, command, args);
  if (!result.ok()) return Failure(command, result.status());
  if (flags.json) {
    Print(*result);
  } else {
    std::fputs(text(*result).c_str(), stdout);
  }
  return kExitOk;
}

struct ControlOptions {
  RpcFlags rpc;
  std::vector<std::string> seeds;
  std::string name;
  std::string payload;
  bool prune = false;
  bool coalesce = false;
  std::vector<std::string> nodes;
  std::vector<std::string> tags;
  double timeout = 0;
  bool ack = false;
  int relay_factor = 0;
  std::vector<std::string> set;
  std::vector<std::string> remove;
  std::string level = "info";
  bool ready = false;
  std::string other;
  bool list = false;
  std::string install, use, remove_key;
};

int RunJoin(const ControlOptions& o) {
  return Simple("join", o.rpc, {{"seeds", o.seeds}}, [](const Json& r) {
    return absl::StrCat("joined: ", r.value("members", 0), " members alive\n");
  });
}

int RunLeave(const ControlOptions& o) {
  return Simple("leave", o.rpc, Json::object(),
                [](const Json&) { return std::string("left\n"); });
}

int RunForceLeave(const ControlOptions& o) {
  return Simple("force-leave", o.rpc, {{"name", o.name}, {"prune", o.prune}},
                [&](const Json&) {
                  return absl::StrCat(o.name, o.prune ? " pruned" : " left",
                                      "\n");
                });
}

int RunEvent(const ControlOptions& o) {
  return Simple(
      "event", o.rpc,
      {{"name", o.name}, {"payload", o.payload}, {"coalesce", o.coalesce}},
      [&](const Json&) { return absl::StrCat("event ", o.name, " sent\n"); });
}

int RunQuery(const ControlOptions& o) {
  Json args = {{"name", o.name},   {"payload", o.payload},
               {"nodes", o.nodes}, {"tags", o.tags},
               {"ack", o.ack},     {"relay_factor", o.relay_factor}};
  if (o.timeout > 0) args["timeout_s"] = o.timeout;
  // The agent answers at the query's deadline: the wait for a line must be
  // longer than the longest query.
  auto result = CallAgent(
      o.rpc, "query", args, absl::Seconds(660), [&](const Json& line) {
        if (o.rpc.json) return Print(line);
        if (line.contains("ack")) {
          std::printf("ack from %s\n", line["ack"].get<std::string>().c_str());
        } else if (line.contains("response")) {
          std::printf("response from %s: %s\n",
                      line["response"]["from"].get<std::string>().c_str(),
                      line["response"]["payload"].get<std::string>().c_str());
        }
        std::fflush(stdout);
      });
  if (!result.ok()) return Failure("query", result.status());
  if (o.rpc.json) {
    Print(*result);
  } else {
    std::printf("%zu of %zu members responded", (*result)["responses"].size(),
                (*result)["expected"].size());
    if (!(*result)["missing_responses"].empty())
      std::printf(
          "; no response from %s",
          absl::StrJoin(
              (*result)["missing_responses"].get<std::vector<std::string>>(),
              ", ")
              .c_str());
    std::printf("\n");
  }
  return kExitOk;
}

int RunTags(const ControlOptions& o) {
  Json set = Json::object();
  for (const std::string& kv : o.set) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return Complain("tags", kExitUsage,
                      absl::StrCat("--set '", kv, "' is not KEY=VALUE"));
    set[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  Json args = {{"delete", o.remove}};
  if (!o.set.empty()) args["set"] = set;
  return Simple("tags", o.rpc, args, [](const Json& r) {
    std::string out;
    for (const auto& [k, v] : r["tags"].items())
      absl::StrAppend(&out, k, "=", v.get<std::string>(), "\n");
    return out;
  });
}

int RunMonitor(const ControlOptions& o) {
  auto result =
      CallAgent(o.rpc, "monitor", {{"level", o.level}},
                absl::InfiniteDuration(), [&](const Json& line) {
                  if (o.rpc.json || !line.contains("log")) {
                    Print(line);
                  } else {
                    std::printf("%s [%s] %s\n", line.value("at", "").c_str(),
                                line.value("level", "").c_str(),
                                line.value("log", "").c_str());
                  }
                  std::fflush(stdout);
                });
  if (!result.ok()) return Failure("monitor", result.status());
  return kExitOk;
}

int RunInfo(const ControlOptions& o) {
  auto result = CallAgent(o.rpc, "info", Json::object());
  if (!result.ok()) return Failure("info", result.status());
  const bool ready = result->value("ready", false);
  if (o.ready) {
    // For a readiness probe: the answer is the exit status.
    if (!ready) return Complain("info", kExitFailed, "not ready");
    std::puts("ready");
    return kExitOk;
  }
  if (o.rpc.json) {
    Print(*result);
    return kExitOk;
  }
  const Json& r = *result;
  std::printf(
      "name: %s\naddr: %s\nlife: %s\nincarnation: %s\nversion: %s\n"
      "ready: %s\nhealth_score: %s\nmembers: %s\n",
      r["name"].get<std::string>().c_str(),
      r["addr"].get<std::string>().c_str(), r["life"].dump().c_str(),
      r["incarnation"].dump().c_str(), r["version"].get<std::string>().c_str(),
      ready ? "yes" : "no", r["health_score"].dump().c_str(),
      r["members"].dump().c_str());
  std::printf("counters:\n");
  for (const auto& [k, v] : r["counters"].items())
    std::printf("  %s: %s\n", k.c_str(), v.dump().c_str());
  return kExitOk;
}

int RunRtt(const ControlOptions& o) {
  return Simple(
      "rtt", o.rpc, {{"a", o.name}, {"b", o.other}}, [](const Json& r) {
        return absl::StrFormat(
            "%s <-> %s: %.3f ms (estimated)\n", r["a"].get<std::string>(),
            r["b"].get<std::string>(), r["rtt_ms"].get<double>());
      });
}

int RunKeys(const ControlOptions& o) {
  const int chosen =
      o.list + !o.install.empty() + !o.use.empty() + !o.remove_key.empty();
  if (chosen != 1)
    return Complain("keys", kExitUsage,
                    "give exactly one of --list, --install KEY, --use KEY, "
                    "--remove KEY");
  Json args;
  if (o.list) args = {{"op", "list"}};
  if (!o.install.empty()) args = {{"op", "install"}, {"key", o.install}};
  if (!o.use.empty()) args = {{"op", "use"}, {"key", o.use}};
  if (!o.remove_key.empty()) args = {{"op", "remove"}, {"key", o.remove_key}};
  auto result = CallAgent(o.rpc, "keys", args, absl::Seconds(120));
  if (!result.ok()) return Failure("keys", result.status());
  if (o.rpc.json) {
    Print(*result);
  } else {
    for (const auto& [member, answer] : (*result)["members"].items()) {
      if (answer.value("ok", false)) {
        std::printf("%s: %zu keys, primary %s\n", member.c_str(),
                    answer["keys"].size(),
                    answer["keys"].empty()
                        ? "-"
                        : answer["keys"][0].get<std::string>().c_str());
      } else {
        std::printf("%s: failed: %s\n", member.c_str(),
                    answer.value("error", "").c_str());
      }
    }
    for (const Json& m : (*result)["missing"])
      std::printf("%s: no answer\n", m.get<std::string>().c_str());
  }
  const bool all =
      (*result)["failed"].get<size_t>() == 0 && (*result)["missing"].empty();
  return all ? kExitOk
             : Complain("keys", kExitFailed,
                        "not every member took the step (see above)");
}

}  // namespace

void AddControlCommands(CLI::App& app, std::function<int()>& run) {
  auto o = std::make_shared<ControlOptions>();
  auto command = [&](const char* name, const char* help,
                     int (*body)(const ControlOptions&), bool json) {
    CLI::App* c = app.add_subcommand(name, help);
    AddRpcFlags(*c, o->rpc, json);
    c->callback([&run, o, body] { run = [o, body] { return body(*o); }; });
    return c;
  };
  auto* join = command("join", "Join the agent to a cluster", RunJoin, true);
  join->add_option("seed", o->seeds, "HOST:PORT, dns:NAME:PORT or srv:NAME")
      ->required();
  command("leave", "Leave the cluster gracefully; the agent then exits",
          RunLeave, true);
  auto* force =
      command("force-leave", "Mark a failed member left", RunForceLeave, true);
  force->add_option("name", o->name, "the member")->required();
  force->add_flag("--prune", o->prune, "forget it at every member now");
  auto* event = command("event", "Send a user event", RunEvent, true);
  event->add_option("name", o->name, "the event's name")->required();
  event->add_option("payload", o->payload, "its payload");
  event->add_flag("--coalesce", o->coalesce,
                  "deliver only the latest of this name in a short window");
  auto* query =
      command("query", "Send a query and print the answers", RunQuery, true);
  query->add_option("name", o->name, "the query's name")->required();
  query->add_option("payload", o->payload, "its payload");
  query->add_option("--node", o->nodes, "ask only this member (repeatable)")
      ->allow_extra_args(false);
  query
      ->add_option("--tag", o->tags,
                   "ask only members whose tag KEY matches REGEX: KEY=REGEX")
      ->allow_extra_args(false);
  query->add_option("--timeout", o->timeout, "seconds to wait for answers")
      ->check(CLI::Range(0.001, 600.0));
  query->add_flag("--ack", o->ack, "ask each member to acknowledge");
  query
      ->add_option("--relay-factor", o->relay_factor,
                   "members each answer is relayed through")
      ->check(CLI::Range(0, 5));
  auto* tags =
      command("tags", "Show or change the agent's tags", RunTags, true);
  tags->add_option("--set", o->set, "KEY=VALUE (repeatable)")
      ->allow_extra_args(false);
  tags->add_option("--delete", o->remove, "KEY (repeatable)")
      ->allow_extra_args(false);
  auto* monitor = command("monitor", "Stream the agent's logs and events",
                          RunMonitor, true);
  monitor->add_option("--level", o->level, "debug, info, warning or error")
      ->check(CLI::IsMember({"debug", "info", "warning", "warn", "error"}));
  auto* info = command("info", "The agent's config, counters, health, life",
                       RunInfo, true);
  info->add_flag("--ready", o->ready,
                 "exit 0 if the agent is joined and has not left, else 1");
  auto* rtt =
      command("rtt", "The round trip the coordinates predict", RunRtt, true);
  rtt->add_option("name", o->name, "a member")->required();
  rtt->add_option("other", o->other, "another (default: the agent itself)");
  auto* keys = command("keys", "Change the cluster's keys, at every member",
                       RunKeys, true);
  keys->add_flag("--list", o->list, "list each member's keys");
  keys->add_option("--install", o->install, "add KEY (base64) everywhere");
  keys->add_option("--use", o->use, "make installed KEY the primary");
  keys->add_option("--remove", o->remove_key, "remove KEY everywhere");
}

}  // namespace roster::tools
