// roster-loopback: N real members in one process on 127.0.0.1, each on its
// own port, sharing a few libuv loops. Measures how fast they converge when
// all join through one seed, what a quiet cluster costs (process CPU,
// bytes and datagrams per member per second), and how fast K members
// killed without a leave are declared failed.
//
//   roster-loopback --nodes 100 --kill 1 --profile lan --steady 60
//                   --json out.json
#include <sys/resource.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "roster/node.h"
#include "tools/flags.h"

namespace roster::bench {
namespace {

constexpr char kUsage[] =
    "usage: roster-loopback [--nodes N] [--kill K] [--profile lan|wan|local]\n"
    "                       [--steady SECONDS] [--settle SECONDS]\n"
    "                       [--threads T] [--seed S] [--json FILE]\n";

struct Options {
  int nodes = 100;
  int kill = 1;
  Profile profile = Profile::kLan;
  double steady_s = 30;
  double settle_s = 5;
  int threads = 1;
  uint64_t seed = 1;
  std::string json;
};

absl::StatusOr<Options> Parse(int argc, char** argv) {
  tools::Flags flags({"nodes", "kill", "profile", "steady", "settle", "threads",
                      "seed", "json"},
                     {"help"});
  if (auto s = flags.Parse(argc, argv); !s.ok()) return s;
  if (flags.Has("help")) return absl::CancelledError(kUsage);
  if (!flags.positional().empty())
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", flags.positional()[0], "'"));
  Options o;
  auto nodes = flags.GetInt("nodes", 100, 2, 5000);
  auto kill = flags.GetInt("kill", 1, 0, 5000);
  auto profile = ParseProfile(flags.Get("profile", "lan"));
  auto steady = flags.GetDouble("steady", 30, 0, 86400);
  auto settle = flags.GetDouble("settle", 5, 0, 3600);
  auto threads = flags.GetInt("threads", 1, 1, 64);
  auto seed = flags.GetUint("seed", 1);
  for (const absl::Status& s :
       {nodes.status(), kill.status(), profile.status(), steady.status(),
        settle.status(), threads.status(), seed.status()}) {
    if (!s.ok()) return s;
  }
  o.nodes = static_cast<int>(*nodes);
  o.kill = static_cast<int>(*kill);
  o.profile = *profile;
  o.steady_s = *steady;
  o.settle_s = *settle;
  o.threads = static_cast<int>(*threads);
  o.seed = *seed;
  o.json = flags.Get("json", "");
  if (o.kill >= o.nodes - 1)
    return absl::InvalidArgumentError(
        absl::StrCat("--kill ", o.kill,
                     " must leave the seed and at least "
                     "one more of --nodes ",
                     o.nodes, " running"));
  return o;
}

double CpuSeconds() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Dist {
  std::optional<double> p50, max;
  std::string Json() const {
    if (!p50) return "null";
    return absl::StrFormat(R"({"p50": %.3f, "max": %.3f})", *p50, *max);
  }
};

Dist Summarize(std::vector<double> v) {
  Dist d;
  if (v.empty()) return d;
  std::sort(v.begin(), v.end());
  d.p50 = v[(v.size() - 1) / 2];
  d.max = v.back();
  return d;
}

// One libuv loop on its own thread, running a share of the members.
struct Shard {
  uv_loop_t loop;
  uv_async_t stop;
  std::thread thread;
};

// What the members tell the benchmark, from their loop threads.
struct Tally {
  explicit Tally(int n) : alive(n) {
    for (auto& a : alive) a = 1;  // itself
  }
  std::vector<std::atomic<int>> alive;  // members each one sees alive
  std::atomic<int> false_deaths{0};
  std::atomic<int> false_suspicions{0};
  std::mutex mu;
  std::vector<bool> victim;                   // guarded by mu
  absl::Time killed_at;                       // guarded by mu
  std::vector<std::vector<double>> detected;  // per member, seconds
};

bool WaitUntil(const std::function<bool()>& done, absl::Duration limit) {
  const absl::Time deadline = absl::Now() + limit;
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

int Run(const Options& o) {
  // Two sockets per member, and the push-pull connections.
  rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  const int n = o.nodes;
  Tally tally(n);
  tally.victim.assign(n, false);
  tally.detected.assign(n, {});
  std::vector<std::unique_ptr<Node>> nodes(n);
  std::vector<std::unique_ptr<Shard>> shards;
  std::atomic<int> started{0};
  std::atomic<bool> start_failed{false};
  for (int s = 0; s < o.threads; ++s) {
    auto shard = std::make_unique<Shard>();
    uv_loop_init(&shard->loop);
    uv_async_init(&shard->loop, &shard->stop, [](uv_async_t* a) {
      uv_close(reinterpret_cast<uv_handle_t*>(a), nullptr);
    });
    Shard* sh = shard.get();
    // Each shard's thread starts its members, then runs their loop.
    shard->thread = std::thread([&, sh, s] {
      for (int i = s; i < n; i += o.threads) {
        NodeConfig c = NodeConfig::ForProfile(
            o.profile, absl::StrCat("node-", i), "127.0.0.1:0");
        c.loop = &sh->loop;
        c.on_event = [&tally, i](const Event& e) {
          const int who = std::stoi(e.member.name.substr(5));
          switch (e.type) {
            case EventType::kJoined:
              ++tally.alive[i];
              break;
            case EventType::kFailed: {
              --tally.alive[i];
              std::lock_guard<std::mutex> lock(tally.mu);
              if (tally.victim[who]) {
                tally.detected[who].push_back(
                    absl::ToDoubleSeconds(absl::Now() - tally.killed_at));
              } else {
                ++tally.false_deaths;
              }
              break;
            }
            case EventType::kLeft:
              --tally.alive[i];
              break;
            case EventType::kSuspected: {
              std::lock_guard<std::mutex> lock(tally.mu);
              if (!tally.victim[who]) ++tally.false_suspicions;
              break;
            }
            default:
              break;
          }
        };
        auto node = Node::Start(std::move(c));
        if (!node.ok()) {
          std::fprintf(stderr, "roster-loopback: node-%d: %s\n", i,
                       node.status().ToString().c_str());
          start_failed = true;
          break;
        }
        nodes[i] = std::move(*node);
        ++started;
      }
      uv_run(&sh->loop, UV_RUN_DEFAULT);
    });
    shards.push_back(std::move(shard));
  }
  auto stop_all = [&] {
    for (auto& node : nodes) node.reset();
    for (auto& sh : shards) uv_async_send(&sh->stop);
    for (auto& sh : shards) {
      sh->thread.join();
      uv_loop_close(&sh->loop);
    }
  };
  if (!WaitUntil([&] { return started == n || start_failed; },
                 absl::Seconds(60)) ||
      start_failed) {
    stop_all();
    return 1;
  }

  // Everyone joins through node-0, at most 32 joins in flight (under the
  // seed's cap on concurrent inbound streams).
  std::printf("roster-loopback: %d members, %s profile, %d loop thread(s)\n", n,
              std::string(ProfileName(o.profile)).c_str(), o.threads);
  const absl::Time join_start = absl::Now();
  std::atomic<int> in_flight{0};
  std::atomic<int> join_failures{0};
  const std::string seed = nodes[0]->addr();
  for (int i = 1; i < n; ++i) {
    WaitUntil([&] { return in_flight < 32; }, absl::Seconds(60));
    ++in_flight;
    nodes[i]->JoinAsync({seed}, [&](absl::Status s) {
      if (!s.ok()) ++join_failures;
      --in_flight;
    });
  }
  const bool converged = WaitUntil(
      [&] {
        for (auto& a : tally.alive)
          if (a != n) return false;
        return true;
      },
      absl::Seconds(300));
  const double join_converged_s =
      absl::ToDoubleSeconds(absl::Now() - join_start);
  std::printf("  converged: %s after %.3f s (%d join calls failed)\n",
              converged ? "yes" : "NO", join_converged_s, join_failures.load());

  // A quiet cluster: settle, then measure.
  absl::SleepFor(absl::Seconds(o.settle_s));
  auto totals = [&] {
    NodeCounters sum;
    for (auto& node : nodes) {
      NodeCounters c = node->counters();
      sum.protocol.packets_sent += c.protocol.packets_sent;
      sum.protocol.bytes_sent += c.protocol.bytes_sent;
      sum.net.stream_bytes_sent += c.net.stream_bytes_sent;
      sum.net.streams_opened += c.net.streams_opened;
    }
    return sum;
  };
  NodeCounters before = totals();
  double cpu_before = CpuSeconds();
  const absl::Time steady_start = absl::Now();
  absl::SleepFor(absl::Seconds(o.steady_s));
  double cpu_after = CpuSeconds();
  const double steady_s =
      std::max(1e-9, absl::ToDoubleSeconds(absl::Now() - steady_start));
  NodeCounters after = totals();
  const double per = 1.0 / (n * steady_s);
  const double cpu_ms = (cpu_after - cpu_before) * 1000 * per;
  const double udp_bytes = static_cast<double>(after.protocol.bytes_sent -
                                               before.protocol.bytes_sent) *
                           per;
  const double tcp_bytes = static_cast<double>(after.net.stream_bytes_sent -
                                               before.net.stream_bytes_sent) *
                           per;
  const double packets = static_cast<double>(after.protocol.packets_sent -
                                             before.protocol.packets_sent) *
                         per;
  std::printf(
      "  steady %.1f s: %.4f CPU ms, %.1f bytes (%.1f UDP + %.1f TCP), "
      "%.2f datagrams per member per second\n",
      steady_s, cpu_ms, udp_bytes + tcp_bytes, udp_bytes, tcp_bytes, packets);

  // Kill K members without a leave.
  std::mt19937_64 rng(o.seed);
  std::vector<int> victims;
  while (static_cast<int>(victims.size()) < o.kill) {
    int v = 1 + static_cast<int>(rng() % static_cast<uint64_t>(n - 1));
    if (std::find(victims.begin(), victims.end(), v) == victims.end())
      victims.push_back(v);
  }
  {
    std::lock_guard<std::mutex> lock(tally.mu);
    for (int v : victims) tally.victim[v] = true;
    tally.killed_at = absl::Now();
  }
  for (int v : victims) nodes[v]->Shutdown();
  const int observers = n - o.kill;
  const bool detected = WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(tally.mu);
        for (int v : victims)
          if (static_cast<int>(tally.detected[v].size()) < observers)
            return false;
        return true;
      },
      absl::Seconds(600));
  std::vector<double> first, all;
  {
    std::lock_guard<std::mutex> lock(tally.mu);
    for (int v : victims) {
      auto& d = tally.detected[v];
      if (d.empty()) continue;
      first.push_back(*std::min_element(d.begin(), d.end()));
      if (static_cast<int>(d.size()) >= observers)
        all.push_back(*std::max_element(d.begin(), d.end()));
    }
  }
  Dist first_d = Summarize(first), all_d = Summarize(all);
  if (o.kill > 0) {
    std::printf("  killed %d: first detection p50 %s, everyone p50 %s%s\n",
                o.kill, first_d.Json().c_str(), all_d.Json().c_str(),
                detected ? "" : " (NOT detected by all)");
  }
  std::printf("  false deaths %d, false suspicions %d\n",
              tally.false_deaths.load(), tally.false_suspicions.load());

  std::string json = absl::StrFormat(
      "{\n  \"nodes\": %d,\n  \"profile\": \"%s\",\n  \"threads\": %d,\n"
      "  \"kill\": %d,\n  \"converged\": %s,\n  \"join_converged_s\": %.3f,\n"
      "  \"steady_s\": %.1f,\n  \"cpu_ms_per_node_s\": %.5f,\n"
      "  \"bytes_per_node_s\": %.2f,\n  \"udp_bytes_per_node_s\": %.2f,\n"
      "  \"tcp_bytes_per_node_s\": %.2f,\n  \"packets_per_node_s\": %.3f,\n"
      "  \"detect_first_s\": %s,\n  \"detect_all_s\": %s,\n"
      "  \"detected_by_all\": %s,\n  \"false_deaths\": %d,\n"
      "  \"false_suspicions\": %d\n}\n",
      n, std::string(ProfileName(o.profile)), o.threads, o.kill,
      converged ? "true" : "false", join_converged_s, steady_s, cpu_ms,
      udp_bytes + tcp_bytes, udp_bytes, tcp_bytes, packets, first_d.Json(),
      all_d.Json(), detected ? "true" : "false", tally.false_deaths.load(),
      tally.false_suspicions.load());
  if (!o.json.empty()) {
    std::ofstream out(o.json);
    out << json;
    if (!out) {
      std::fprintf(stderr, "roster-loopback: cannot write %s\n",
                   o.json.c_str());
      stop_all();
      return 1;
    }
  }
  stop_all();
  return converged && (o.kill == 0 || detected) ? 0 : 1;
}

}  // namespace
}  // namespace roster::bench

int main(int argc, char** argv) {
  auto options = roster::bench::Parse(argc, argv);
  if (!options.ok()) {
    if (absl::IsCancelled(options.status())) {
      std::fputs(std::string(options.status().message()).c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "roster-loopback: %s\n",
                 std::string(options.status().message()).c_str());
    return 2;
  }
  return roster::bench::Run(*options);
}
