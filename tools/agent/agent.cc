#include "tools/agent/agent.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "roster/metrics.h"
#include "roster/tags.h"
#include "tools/agent/agent_state.h"
#include "tools/agent/event_handlers.h"
#include "tools/cli_common.h"
#include "tools/json_lines.h"
#include "tools/keys.h"
#include "tools/rpc/rpc_server.h"

namespace roster::tools {
namespace {

int Refuse(int status, absl::string_view message) {
  return Complain("agent", status, message);
}

// The token in --rpc-token-file: its first line, which must not be empty.
absl::StatusOr<std::string> ReadToken(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return absl::InvalidArgumentError(
        absl::StrCat("--rpc-token-file: cannot read ", path));
  std::string line;
  std::getline(in, line);
  std::string token(absl::StripAsciiWhitespace(line));
  if (token.size() < 16)
    return absl::InvalidArgumentError(absl::StrCat(
        "--rpc-token-file: ", path,
        " must hold a token of at least 16 characters on its first line"));
  return token;
}

absl::StatusOr<std::string> MetaFromFlags(
    const std::vector<std::string>& pairs) {
  std::map<std::string, std::string> tags;
  for (const std::string& kv : pairs) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return absl::InvalidArgumentError(
          absl::StrCat("--meta '", kv, "' is not KEY=VALUE"));
    tags[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto meta = EncodeTags(tags);
  if (!meta.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("--meta: ", meta.status().message()));
  return *meta;
}

}  // namespace

void AddAgentFlags(CLI::App& command, AgentOptions& o) {
  auto single = [&](const char* flag, std::string& value, const char* help) {
    return command.add_option(flag, value, help)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  };
  auto repeated = [&](const char* flag, std::vector<std::string>& value,
                      const char* help) {
    return command.add_option(flag, value, help)->allow_extra_args(false);
  };
  single("--name", o.name, "this member's name, unique in the cluster")
      ->required();
  single("--bind", o.bind, "HOST:PORT to listen on (UDP and TCP)")->required();
  single("--advertise", o.advertise,
         "HOST:PORT others reach it at (default: --bind)");
  repeated("--join", o.join,
           "a seed: HOST:PORT, [IPV6]:PORT, dns:NAME:PORT or srv:NAME");
  single("--profile", o.profile, "lan, wan or local timings");
  repeated("--meta", o.meta, "a tag KEY=VALUE");
  single("--label", o.label, "the cluster's label (shared by its members)");
  single("--dns-server", o.dns_server, "HOST:PORT of the DNS server for seeds");
  single("--keyring", o.keyring,
         "keyring FILE (base64 keys, primary first; re-read on SIGHUP)");
  single("--plaintext", o.plaintext,
         "accept or send: plaintext while encryption is turned on");
  repeated("--allow-network", o.allow_network, "a CIDR members may come from");
  single("--snapshot", o.snapshot,
         "FILE recording the members, to rejoin them without --join");
  command.add_flag("--rejoin-after-leave", o.rejoin_after_leave,
                   "rejoin through --snapshot even after a graceful leave");
  single("--rpc", o.rpc,
         "HOST:PORT the roster commands reach it at (default "
         "127.0.0.1:7373)");
  single("--rpc-token-file", o.rpc_token_file,
         "FILE whose first line is the token every RPC call must carry "
         "(required for a non-loopback --rpc)");
  repeated("--event-handler", o.event_handler,
           "[FILTER=]PROGRAM run on events (see doc/event_handlers.md)");
  single("--metrics-addr", o.metrics_addr,
         "HOST:PORT serving Prometheus metrics on /metrics");
  single("--log-level", o.log_level, "debug, info, warning or error");
}

int RunAgent(const AgentOptions& o) {
  auto profile = ParseProfile(o.profile);
  if (!profile.ok())
    return Refuse(kExitUsage,
                  absl::StrCat("--profile: ", profile.status().message()));
  auto log_level = ParseLogLevel(o.log_level);
  if (!log_level)
    return Refuse(kExitUsage,
                  absl::StrCat("--log-level '", o.log_level,
                               "' is none of debug, info, warning, error"));
  auto meta = MetaFromFlags(o.meta);
  if (!meta.ok()) return Refuse(kExitUsage, meta.status().message());
  for (const std::string& seed : o.join) {
    if (auto s = ValidateSeed(seed); !s.ok())
      return Refuse(kExitUsage, absl::StrCat("--join: ", s.message()));
  }
  auto keyring = LoadKeyring(o.keyring, o.plaintext);
  if (!keyring.ok()) return Refuse(kExitUsage, keyring.status().message());
  std::string token;
  if (!o.rpc_token_file.empty()) {
    auto read = ReadToken(o.rpc_token_file);
    if (!read.ok()) return Refuse(kExitUsage, read.status().message());
    token = *read;
  }

  std::vector<HandlerSpec> specs;
  for (const std::string& text : o.event_handler) {
    auto spec = ParseHandlerSpec(text);
    if (!spec.ok())
      return Refuse(kExitUsage,
                    absl::StrCat("--event-handler: ", spec.status().message()));
    specs.push_back(std::move(*spec));
  }

  auto state = std::make_unique<AgentState>();
  state->options = o;
  state->profile = std::string(ProfileName(*profile));
  state->keyring = *keyring;
  state->started = absl::Now();
  state->joined = o.join.empty();

  NodeConfig config = NodeConfig::ForProfile(*profile, o.name, o.bind);
  config.swim.keyring = *keyring;
  config.swim.allowed_networks = o.allow_network;
  config.swim.advertise_addr = o.advertise;
  config.swim.meta = *meta;
  config.swim.label = o.label;
  config.dns_server = o.dns_server;
  config.snapshot_path = o.snapshot;
  config.rejoin_after_leave = o.rejoin_after_leave;
  // The handlers' and the RPC's lines: to every monitor, and to stderr
  // whatever --log-level says.
  auto log_always = [s = state.get()](LogLevel level,
                                      std::string_view message) {
    s->monitor.Log(level, message);
    std::fprintf(stderr, "roster agent: %.*s\n",
                 static_cast<int>(message.size()), message.data());
  };
  // Declared before the node, so that they outlive it: the node's
  // callbacks run them until it is destroyed.
  std::unique_ptr<EventHandlers> handlers;
  if (!specs.empty()) {
    EventHandlers::Options handler_options;
    handler_options.handlers = std::move(specs);
    handler_options.self.name = o.name;
    handler_options.self.addr = o.advertise.empty() ? o.bind : o.advertise;
    handler_options.self.meta = *meta;
    handler_options.max_query_response_bytes =
        config.swim.limits.max_query_response_bytes;
    handler_options.on_log = log_always;
    auto created = EventHandlers::Create(std::move(handler_options));
    if (!created.ok())
      return Refuse(kExitUsage, absl::StrCat("--event-handler: ",
                                             created.status().message()));
    handlers = std::move(*created);
    state->handlers = handlers.get();
  }
  std::mutex out_mu;
  AgentState* s = state.get();
  config.on_event = [&out_mu, s](const Event& e) {
    if (e.type == EventType::kJoined && e.member.name != s->options.name)
      s->joined = true;
    rpc::Json line = EventJson(e);
    s->monitor.Event(line);
    if (s->handlers != nullptr) s->handlers->OnEvent(e);
    const std::string text = rpc::Dump(line) + "\n";
    std::lock_guard<std::mutex> lock(out_mu);
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
  };
  config.on_user_event = [s](const UserEvent& e) {
    s->monitor.Event(UserEventJson(e));
    if (s->handlers != nullptr) s->handlers->OnUserEvent(e);
  };
  config.on_query = [s](const QueryRequest& q) -> std::optional<std::string> {
    if (q.name == kKeysQuery) {
      rpc::Json step =
          rpc::Json::parse(q.payload, nullptr, /*allow_exceptions=*/false);
      return rpc::Dump(ApplyKeysStep(*s, step));
    }
    s->monitor.Event(QueryJson(q));
    if (s->handlers != nullptr) return s->handlers->OnQuery(q);
    return std::nullopt;
  };
  const LogLevel threshold = *log_level;
  config.on_log = [s, threshold](LogLevel level, std::string_view message) {
    s->monitor.Log(level, message);
    if (level < threshold) return;
    std::fprintf(stderr, "roster agent: %.*s\n",
                 static_cast<int>(message.size()), message.data());
  };

  std::shared_ptr<Metrics> metrics = Metrics::Create();
  metrics->Observe(config);

  // The signals wait for the main thread; the node's threads never see
  // them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto node = Node::Start(std::move(config));
  if (!node.ok()) {
    return absl::IsInvalidArgument(node.status())
               ? Refuse(kExitUsage, node.status().message())
               : Refuse(kExitFailed, node.status().message());
  }
  state->node = node->get();
  if (handlers != nullptr) handlers->SetSelf((*node)->Self());
  rpc::Server::Options rpc_options;
  rpc_options.addr = o.rpc.empty() ? rpc::kDefaultAddr : o.rpc;
  rpc_options.token = token;
  rpc_options.log = log_always;
  auto server = rpc::Server::Start(rpc_options, AgentCommands(*state));
  if (!server.ok()) {
    (*node)->Shutdown();
    return absl::IsInvalidArgument(server.status())
               ? Refuse(kExitUsage, server.status().message())
               : Refuse(kExitFailed, server.status().message());
  }
  state->server = server->get();
  std::fprintf(stderr,
               "roster agent: %s listening on %s (UDP and TCP), RPC on %s\n",
               (*node)->name().c_str(), (*node)->addr().c_str(),
               (*server)->addr().c_str());
  // Declared after the node, so that serving stops before it is destroyed.
  std::unique_ptr<MetricsServer> metrics_server;
  if (!o.metrics_addr.empty()) {
    auto served = MetricsServer::Start(o.metrics_addr, metrics, **node);
    if (!served.ok()) {
      server->reset();
      (*node)->Shutdown();
      return absl::IsInvalidArgument(served.status())
                 ? Refuse(kExitUsage, served.status().message())
                 : Refuse(kExitFailed, served.status().message());
    }
    metrics_server = std::move(*served);
    std::fprintf(stderr, "roster agent: metrics on http://%s/metrics\n",
                 metrics_server->addr().c_str());
  }
  if (!o.join.empty()) {
    (*node)->JoinAsync(o.join, [s](absl::Status status) {
      if (status.ok()) {
        s->joined = true;
        std::fprintf(stderr, "roster agent: joined through %s\n",
                     absl::StrJoin(s->options.join, ", ").c_str());
      } else {
        std::fprintf(stderr, "roster agent: %s\n", status.ToString().c_str());
      }
    });
  }

  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    if (state->keyring == nullptr) {
      std::fprintf(stderr, "roster agent: SIGHUP: no --keyring to reload\n");
      continue;
    }
    absl::Status reloaded = ReloadKeyring(*state->keyring, o.keyring);
    const std::string outcome =
        reloaded.ok()
            ? absl::StrCat("reloaded: ", state->keyring->size(), " keys")
            : absl::StrCat("kept as it was: ", reloaded.message());
    std::fprintf(stderr, "roster agent: keyring %s\n", outcome.c_str());
  }
  if (!state->left.exchange(true)) {
    std::fprintf(stderr, "roster agent: %s, leaving\n",
                 sig == SIGINT ? "interrupted" : "terminated");
    absl::Status left = (*node)->Leave(absl::Seconds(10));
    if (!left.ok())
      std::fprintf(stderr, "roster agent: %s\n", left.ToString().c_str());
  } else {
    std::fprintf(stderr, "roster agent: left, shutting down\n");
  }
  server->reset();
  metrics_server.reset();
  (*node)->Shutdown();
  return kExitOk;
}

}  // namespace roster::tools
