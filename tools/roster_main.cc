// roster: run a cluster member, inspect a cluster, or watch a demo.
//
//   roster agent --name NAME --bind HOST:PORT [--advertise HOST:PORT]
//                [--join SEED]... [--profile lan|wan|local]
//                [--meta KEY=VALUE]... [--label LABEL]
//                [--dns-server HOST:PORT]
//                [--snapshot FILE [--rejoin-after-leave]]
//                [--metrics-addr HOST:PORT]
//   roster members HOST:PORT [--json] [--label LABEL]
//   roster demo [--nodes 5] [--profile local]
//
// The agent prints one JSON object per line on stdout for each membership
// event, and its own notes on stderr; SIGINT or SIGTERM makes it leave
// gracefully and exit 0. Every bad flag, address or seed is one line on
// stderr and exit status 2.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "roster/metrics.h"
#include "roster/node.h"
#include "tools/flags.h"
#include "tools/keys.h"

namespace roster::tools {
namespace {

constexpr char kUsage[] =
    "usage: roster agent --name NAME --bind HOST:PORT [--advertise HOST:PORT]\n"
    "                    [--join SEED]... [--profile lan|wan|local]\n"
    "                    [--meta KEY=VALUE]... [--label LABEL]\n"
    "                    [--dns-server HOST:PORT] [--keyring FILE]\n"
    "                    [--plaintext accept|send] [--allow-network CIDR]...\n"
    "                    [--snapshot FILE [--rejoin-after-leave]]\n"
    "                    [--metrics-addr HOST:PORT]\n"
    "       roster members HOST:PORT [--json] [--label LABEL] [--keyring "
    "FILE]\n"
    "       roster keygen [--out FILE]\n"
    "       roster demo [--nodes N] [--profile lan|wan|local]\n"
    "SEED is HOST:PORT, [IPV6]:PORT, dns:NAME:PORT or srv:NAME.\n"
    "An agent re-reads its --keyring file on SIGHUP (key rotation).\n"
    "With --snapshot it records the members it knows in FILE and, started\n"
    "again, rejoins them without --join (unless it had left, without\n"
    "--rejoin-after-leave).\n";

// Exit statuses.
constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsageError = 2;

int UsageError(const std::string& command, std::string_view message) {
  std::fprintf(stderr, "roster %s: %.*s\n", command.c_str(),
               static_cast<int>(message.size()), message.data());
  return kUsageError;
}

int Fail(const std::string& command, std::string_view message) {
  std::fprintf(stderr, "roster %s: %.*s\n", command.c_str(),
               static_cast<int>(message.size()), message.data());
  return kFailed;
}

std::string_view Std(absl::string_view s) { return {s.data(), s.size()}; }

std::string Json(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out.push_back(c);
        }
    }
  }
  out += "\"";
  return out;
}

std::string Str(std::string_view s) { return std::string(s); }

std::string MetaJson(const std::string& meta) {
  auto tags = DecodeTags(meta);
  if (!tags) return absl::StrCat("{\"\": ", Json(meta), "}");
  std::vector<std::string> parts;
  for (const auto& [k, v] : *tags)
    parts.push_back(absl::StrCat(Json(k), ": ", Json(v)));
  return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
}

std::string MetaText(const std::string& meta) {
  auto tags = DecodeTags(meta);
  if (!tags) return meta;
  std::vector<std::string> parts;
  for (const auto& [k, v] : *tags) parts.push_back(absl::StrCat(k, "=", v));
  return absl::StrJoin(parts, ",");
}

std::string Ago(absl::Duration d) {
  if (d < absl::Seconds(1)) return "just now";
  if (d < absl::Minutes(2))
    return absl::StrCat(absl::ToInt64Seconds(d), "s ago");
  if (d < absl::Hours(2)) return absl::StrCat(absl::ToInt64Minutes(d), "m ago");
  return absl::StrCat(absl::ToInt64Hours(d), "h ago");
}

// The queried member's smoothed RTT to each member; "-" when it has none
// (itself, not yet probed, or an older build).
std::string RttText(absl::Duration rtt) {
  if (rtt <= absl::ZeroDuration()) return "-";
  return absl::StrFormat("%.1fms", absl::ToDoubleMilliseconds(rtt));
}

std::string Table(const std::vector<MemberInfo>& members) {
  std::vector<std::vector<std::string>> rows = {{"NAME", "ADDRESS", "STATE",
                                                 "INCARNATION", "REACHABLE",
                                                 "RTT", "META", "CHANGED"}};
  const absl::Time now = absl::Now();
  for (const MemberInfo& m : members) {
    rows.push_back({m.name, m.addr, Str(MemberStateName(m.state)),
                    absl::StrCat(m.incarnation),
                    Str(ReachabilityName(m.reachability)), RttText(m.rtt),
                    MetaText(m.meta),
                    absl::StrCat(Str(EventTypeName(m.last_change)), " ",
                                 Ago(now - m.state_changed))});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size())
        line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string EventLine(const Event& e) {
  return absl::StrCat(
      "{\"event\":", Json(EventTypeName(e.type)),
      ",\"member\":", Json(e.member.name), ",\"addr\":", Json(e.member.addr),
      ",\"incarnation\":", e.member.incarnation, ",\"life\":", e.member.life,
      ",\"reachability\":", Json(ReachabilityName(e.member.reachability)),
      ",\"at\":",
      Json(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                            absl::UTCTimeZone())),
      "}\n");
}

// ---------------------------------------------------------------- agent

int Agent(int argc, char** argv) {
  const std::string cmd = "agent";
  Flags flags({"name", "bind", "advertise", "join", "profile", "meta", "label",
               "dns-server", "keyring", "plaintext", "allow-network",
               "snapshot", "metrics-addr"},
              {"help", "rejoin-after-leave"});
  if (auto s = flags.Parse(argc, argv, 2); !s.ok())
    return UsageError(cmd, Std(s.message()));
  if (flags.Has("help")) {
    std::fputs(kUsage, stdout);
    return kOk;
  }
  if (!flags.positional().empty())
    return UsageError(
        cmd, absl::StrCat("unexpected argument '", flags.positional()[0], "'"));
  if (!flags.Has("name")) return UsageError(cmd, "--name is required");
  if (!flags.Has("bind"))
    return UsageError(cmd, "--bind HOST:PORT is required");
  auto profile = ParseProfile(flags.Get("profile", "lan"));
  if (!profile.ok())
    return UsageError(cmd,
                      absl::StrCat("--profile: ", profile.status().message()));
  std::map<std::string, std::string> tags;
  for (const std::string& kv : flags.GetAll("meta")) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return UsageError(cmd,
                        absl::StrCat("--meta '", kv, "' is not KEY=VALUE"));
    tags[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto meta = EncodeTags(tags);
  if (!meta.ok())
    return UsageError(cmd, absl::StrCat("--meta: ", meta.status().message()));
  const std::vector<std::string> seeds = flags.GetAll("join");
  for (const std::string& seed : seeds) {
    if (auto s = ValidateSeed(seed); !s.ok())
      return UsageError(cmd, absl::StrCat("--join: ", s.message()));
  }

  auto keyring = KeyringFromFlags(flags);
  if (!keyring.ok()) return UsageError(cmd, Std(keyring.status().message()));
  NodeConfig config = NodeConfig::ForProfile(*profile, flags.Get("name", ""),
                                             flags.Get("bind", ""));
  config.swim.keyring = *keyring;
  config.swim.allowed_networks = flags.GetAll("allow-network");
  config.swim.advertise_addr = flags.Get("advertise", "");
  config.swim.meta = *meta;
  config.swim.label = flags.Get("label", "");
  config.dns_server = flags.Get("dns-server", "");
  config.snapshot_path = flags.Get("snapshot", "");
  config.rejoin_after_leave = flags.Has("rejoin-after-leave");
  std::mutex out_mu;
  config.on_event = [&out_mu](const Event& e) {
    std::string line = EventLine(e);
    std::lock_guard<std::mutex> lock(out_mu);
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
  };
  config.on_log = [](LogLevel, std::string_view message) {
    std::fprintf(stderr, "roster agent: %.*s\n",
                 static_cast<int>(message.size()), message.data());
  };
  std::shared_ptr<Metrics> metrics = Metrics::Create();
  metrics->Observe(config);

  // The signals wait for the main thread; the node's thread never sees them.
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
               ? UsageError(cmd, Std(node.status().message()))
               : Fail(cmd, Std(node.status().message()));
  }
  std::fprintf(stderr, "roster agent: %s listening on %s (UDP and TCP)\n",
               (*node)->name().c_str(), (*node)->addr().c_str());
  // Declared after the node, so that serving stops before it is destroyed.
  std::unique_ptr<MetricsServer> metrics_server;
  if (flags.Has("metrics-addr")) {
    auto served =
        MetricsServer::Start(flags.Get("metrics-addr", ""), metrics, **node);
    if (!served.ok()) {
      return absl::IsInvalidArgument(served.status())
                 ? UsageError(cmd, Std(served.status().message()))
                 : Fail(cmd, Std(served.status().message()));
    }
    metrics_server = std::move(*served);
    std::fprintf(stderr, "roster agent: metrics on http://%s/metrics\n",
                 metrics_server->addr().c_str());
  }
  if (!seeds.empty()) {
    (*node)->JoinAsync(seeds, [seeds](absl::Status s) {
      if (s.ok()) {
        std::fprintf(stderr, "roster agent: joined through %s\n",
                     absl::StrJoin(seeds, ", ").c_str());
      } else {
        std::fprintf(stderr, "roster agent: %s\n", s.ToString().c_str());
      }
    });
  }

  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    if (*keyring == nullptr) {
      std::fprintf(stderr, "roster agent: SIGHUP: no --keyring to reload\n");
      continue;
    }
    absl::Status reloaded = ReloadKeyring(**keyring, flags.Get("keyring", ""));
    const std::string outcome =
        reloaded.ok() ? absl::StrCat("reloaded: ", (*keyring)->size(), " keys")
                      : absl::StrCat("kept as it was: ", reloaded.message());
    std::fprintf(stderr, "roster agent: keyring %s\n", outcome.c_str());
  }
  std::fprintf(stderr, "roster agent: %s, leaving\n",
               sig == SIGINT ? "interrupted" : "terminated");
  absl::Status left = (*node)->Leave(absl::Seconds(10));
  if (!left.ok())
    std::fprintf(stderr, "roster agent: %s\n", left.ToString().c_str());
  (*node)->Shutdown();
  return kOk;
}

// ---------------------------------------------------------------- members

int Members(int argc, char** argv) {
  const std::string cmd = "members";
  Flags flags({"label", "timeout", "keyring"}, {"json", "help"});
  if (auto s = flags.Parse(argc, argv, 2); !s.ok())
    return UsageError(cmd, Std(s.message()));
  if (flags.Has("help")) {
    std::fputs(kUsage, stdout);
    return kOk;
  }
  if (flags.positional().size() != 1)
    return UsageError(cmd, "expected one HOST:PORT of a live member");
  auto timeout = flags.GetDouble("timeout", 5, 0.1, 3600);
  if (!timeout.ok()) return UsageError(cmd, Std(timeout.status().message()));
  const std::string& addr = flags.positional()[0];
  auto keyring = KeyringFromFlags(flags);
  if (!keyring.ok()) return UsageError(cmd, Std(keyring.status().message()));
  auto members = QueryMembers(addr, flags.Get("label", ""),
                              absl::Seconds(*timeout), keyring->get());
  if (!members.ok()) {
    return absl::IsInvalidArgument(members.status())
               ? UsageError(cmd, Std(members.status().message()))
               : Fail(cmd, Std(members.status().message()));
  }
  if (!flags.Has("json")) {
    std::fputs(Table(*members).c_str(), stdout);
    return kOk;
  }
  const absl::Time now = absl::Now();
  std::vector<std::string> items;
  for (const MemberInfo& m : *members) {
    items.push_back(absl::StrFormat(
        "{\"name\": %s, \"addr\": %s, \"state\": %s, \"incarnation\": %d, "
        "\"life\": %d, \"reachability\": %s, \"meta\": %s, "
        "\"last_change\": %s, \"changed_s_ago\": %.1f, \"rtt_ms\": %s}",
        Json(m.name), Json(m.addr), Json(MemberStateName(m.state)),
        m.incarnation, m.life, Json(ReachabilityName(m.reachability)),
        MetaJson(m.meta), Json(EventTypeName(m.last_change)),
        absl::ToDoubleSeconds(now - m.state_changed),
        m.rtt > absl::ZeroDuration()
            ? absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(m.rtt))
            : std::string("null")));
  }
  std::printf("{\"members\": [%s]}\n", absl::StrJoin(items, ", ").c_str());
  return kOk;
}

// ---------------------------------------------------------------- demo

int Demo(int argc, char** argv) {
  const std::string cmd = "demo";
  Flags flags({"nodes", "profile"}, {"help"});
  if (auto s = flags.Parse(argc, argv, 2); !s.ok())
    return UsageError(cmd, Std(s.message()));
  if (flags.Has("help")) {
    std::fputs(kUsage, stdout);
    return kOk;
  }
  if (!flags.positional().empty())
    return UsageError(
        cmd, absl::StrCat("unexpected argument '", flags.positional()[0], "'"));
  auto n = flags.GetInt("nodes", 5, 2, 200);
  if (!n.ok()) return UsageError(cmd, Std(n.status().message()));
  auto profile = ParseProfile(flags.Get("profile", "local"));
  if (!profile.ok())
    return UsageError(cmd,
                      absl::StrCat("--profile: ", profile.status().message()));
  const int count = static_cast<int>(*n);
  const int victim = count - 1;
  const std::string victim_name = absl::StrCat("n", victim);

  std::mutex mu;
  absl::Time killed_at = absl::InfiniteFuture();
  std::vector<double> detections;
  std::vector<std::unique_ptr<Node>> nodes;
  std::printf(
      "roster demo: %d members on 127.0.0.1, %s profile, all joining "
      "through n0\n",
      count, Str(ProfileName(*profile)).c_str());
  const absl::Time start = absl::Now();
  for (int i = 0; i < count; ++i) {
    NodeConfig c =
        NodeConfig::ForProfile(*profile, absl::StrCat("n", i), "127.0.0.1:0");
    const std::string me = c.swim.name;
    c.on_event = [&, me](const Event& e) {
      if (e.member.name != victim_name) return;
      std::lock_guard<std::mutex> lock(mu);
      if (killed_at == absl::InfiniteFuture()) return;
      double after = absl::ToDoubleSeconds(absl::Now() - killed_at);
      if (e.type == EventType::kSuspected) {
        std::printf("  %-4s suspects %s after %.2f s\n", me.c_str(),
                    victim_name.c_str(), after);
      } else if (e.type == EventType::kFailed) {
        std::printf("  %-4s declared %s failed after %.2f s\n", me.c_str(),
                    victim_name.c_str(), after);
        detections.push_back(after);
      }
      std::fflush(stdout);
    };
    auto node = Node::Start(std::move(c));
    if (!node.ok()) return Fail(cmd, Std(node.status().message()));
    nodes.push_back(std::move(*node));
  }
  for (int i = 1; i < count; ++i) {
    if (auto s = nodes[i]->Join({nodes[0]->addr()}); !s.ok())
      return Fail(cmd, Std(s.message()));
  }
  auto wait_for = [&](auto done, absl::Duration limit) {
    const absl::Time deadline = absl::Now() + limit;
    while (!done()) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return true;
  };
  bool formed = wait_for(
      [&] {
        for (auto& node : nodes)
          if (node->NumAlive() != static_cast<size_t>(count)) return false;
        return true;
      },
      absl::Seconds(60));
  if (!formed) return Fail(cmd, "the cluster did not form within 60 s");
  std::printf("formed in %.2f s; n0 sees:\n\n%s\n",
              absl::ToDoubleSeconds(absl::Now() - start),
              Table(nodes[0]->Members()).c_str());

  std::printf("killing %s at %s without a leave\n", victim_name.c_str(),
              nodes[victim]->addr().c_str());
  std::fflush(stdout);
  {
    std::lock_guard<std::mutex> lock(mu);
    killed_at = absl::Now();
  }
  nodes[victim]->Shutdown();
  bool detected = wait_for(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return detections.size() == static_cast<size_t>(count - 1);
      },
      absl::Seconds(120));
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!detected) {
      return Fail(cmd,
                  absl::StrCat("only ", detections.size(), " of ", count - 1,
                               " members detected the failure "
                               "within 120 s"));
    }
    std::sort(detections.begin(), detections.end());
    std::printf(
        "every member declared %s failed: first after %.2f s, "
        "median %.2f s, last %.2f s\n\nfinal view of n0:\n\n%s",
        victim_name.c_str(), detections.front(),
        detections[detections.size() / 2], detections.back(),
        Table(nodes[0]->Members(MemberFilter::kAll)).c_str());
  }
  for (auto& node : nodes) node->Shutdown();
  return kOk;
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return kUsageError;
  }
  const std::string command = argv[1];
  if (command == "agent") return Agent(argc, argv);
  if (command == "members") return Members(argc, argv);
  if (command == "demo") return Demo(argc, argv);
  if (command == "keygen") return Keygen(argc, argv);
  if (command == "--help" || command == "help" || command == "-h") {
    std::fputs(kUsage, stdout);
    return kOk;
  }
  std::fprintf(stderr,
               "roster: unknown command '%s' (expected agent, members, "
               "keygen or demo)\n",
               command.c_str());
  return kUsageError;
}

}  // namespace
}  // namespace roster::tools

int main(int argc, char** argv) { return roster::tools::Main(argc, argv); }
