// roster-sim: runs a simulated roster cluster on one virtual clock and
// reports how fast it converged and detected the crashes injected into it.
// The same flags and seed always give the same simulated results.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sim/observer.h"
#include "sim/rng.h"
#include "sim/simulation.h"
#include "tools/flags.h"

namespace roster::tools {
namespace {

constexpr char kUsage[] =
    "usage: roster-sim [--nodes N] [--seed S] [--profile lan|wan|local]\n"
    "                  [--duration SECONDS] [--crash K] [--crash-at SECONDS]\n"
    "                  [--loss FRACTION] [--no-lifeguard] [--json FILE]\n";

struct Options {
  int nodes;
  uint64_t seed;
  Profile profile;
  bool lifeguard;
  double duration_s;
  int crash;
  double crash_at_s;
  double loss;
  std::string json;
};

absl::StatusOr<Options> ParseOptions(int argc, char** argv) {
  Flags flags({"nodes", "seed", "profile", "duration", "crash", "crash-at",
               "loss", "json"},
              {"no-lifeguard", "help"});
  if (auto s = flags.Parse(argc, argv); !s.ok()) return s;
  if (flags.Has("help")) return absl::CancelledError(kUsage);
  if (!flags.positional().empty())
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", flags.positional()[0], "'"));
  Options o;
  auto nodes = flags.GetInt("nodes", 50, 1, 100000);
  auto seed = flags.GetUint("seed", 1);
  auto profile = ParseProfile(flags.Get("profile", "lan"));
  auto duration = flags.GetDouble("duration", 120, 1, 1e6);
  auto crash = flags.GetInt("crash", 1, 0, 100000);
  auto crash_at = flags.GetDouble("crash-at", 30, 0, 1e6);
  auto loss = flags.GetDouble("loss", 0, 0, 1);
  for (const absl::Status& s :
       {nodes.status(), seed.status(), profile.status(), duration.status(),
        crash.status(), crash_at.status(), loss.status()}) {
    if (!s.ok()) return s;
  }
  o.nodes = static_cast<int>(*nodes);
  o.seed = *seed;
  o.profile = *profile;
  o.lifeguard = !flags.Has("no-lifeguard");
  o.duration_s = *duration;
  o.crash = static_cast<int>(*crash);
  o.crash_at_s = *crash_at;
  o.loss = *loss;
  o.json = flags.Get("json", "");
  if (o.crash >= o.nodes)
    return absl::InvalidArgumentError(absl::StrCat(
        "--crash ", o.crash, " must leave at least one of --nodes ", o.nodes,
        " running"));
  if (o.crash > 0 && o.crash_at_s >= o.duration_s)
    return absl::InvalidArgumentError(absl::StrCat("--crash-at ", o.crash_at_s,
                                                   " is not before --duration ",
                                                   o.duration_s));
  return o;
}

std::string Json(const sim::Distribution& d) {
  if (d.count == 0) return "null";
  return absl::StrFormat(
      R"({"p50": %.3f, "p99": %.3f, "max": %.3f, "mean": %.3f})", d.p50, d.p99,
      d.max, d.mean);
}

std::string Line(const char* what, const sim::Distribution& d) {
  if (d.count == 0) return absl::StrCat("  ", what, ": never\n");
  return absl::StrFormat("  %-28s p50 %6.2f s   p99 %6.2f s   max %6.2f s\n",
                         what, d.p50, d.p99, d.max);
}

int Run(const Options& o) {
  const auto wall_start = std::chrono::steady_clock::now();
  sim::SimOptions options = sim::SimOptions::WithSeed(o.seed);
  options.profile = o.profile;
  options.lifeguard = o.lifeguard;
  options.network.loss = o.loss;
  sim::Simulation sim(std::move(options));
  sim::Observer observer(sim);
  sim.AddCluster(o.nodes, 0);

  // Which members crash is part of the seeded run.
  sim::Rng pick(sim::DeriveSeed(o.seed, 0xc0ffee));
  std::vector<int> victims;
  std::vector<bool> chosen(o.nodes, false);
  while (static_cast<int>(victims.size()) < o.crash) {
    int v = static_cast<int>(pick.Below(o.nodes));
    if (!chosen[v]) {
      chosen[v] = true;
      victims.push_back(v);
    }
  }

  const absl::Duration step = absl::Seconds(1);
  bool crashed = o.crash == 0;
  const absl::Time start = sim.now();
  while (sim.now() - start < absl::Seconds(o.duration_s)) {
    absl::Duration left = absl::Seconds(o.duration_s) - (sim.now() - start);
    if (!crashed && sim.now() - start >= absl::Seconds(o.crash_at_s)) {
      for (int v : victims) observer.Crash(v);
      crashed = true;
    }
    absl::Duration next = std::min(step, left);
    if (!crashed) {
      next = std::min(next, absl::Seconds(o.crash_at_s) - (sim.now() - start));
      if (next <= absl::ZeroDuration()) continue;
    }
    sim.RunFor(next);
    observer.Sample();
  }

  uint64_t packets = 0, bytes = 0;
  for (size_t i = 0; i < sim.size(); ++i) {
    packets += sim.swim(i).counters().packets_sent;
    bytes += sim.swim(i).counters().bytes_sent;
  }
  const double member_seconds = o.nodes * o.duration_s;
  const double wall_s = std::chrono::duration<double>(
                            std::chrono::steady_clock::now() - wall_start)
                            .count();

  std::string report = absl::StrFormat(
      "roster-sim: %d members, profile %s, lifeguard %s, seed %u, %.0f "
      "simulated seconds\n",
      o.nodes, std::string(ProfileName(o.profile)), o.lifeguard ? "on" : "off",
      o.seed, o.duration_s);
  if (auto j = observer.join_converged_s()) {
    absl::StrAppendFormat(
        &report, "joined: every member saw all %d alive after %.1f s\n",
        o.nodes, *j);
  } else {
    absl::StrAppend(&report, "joined: the cluster never fully converged\n");
  }
  if (o.crash > 0) {
    std::string names;
    for (size_t i = 0; i < victims.size() && i < 5; ++i)
      absl::StrAppend(&names, i ? ", " : "", sim.name(victims[i]));
    if (victims.size() > 5) absl::StrAppend(&names, ", ...");
    absl::StrAppendFormat(
        &report, "crashed %d at %.0f s (%s); detected by all: %d\n", o.crash,
        o.crash_at_s, names, observer.detected_by_all());
    report += Line("first suspicion after", observer.suspect_first_s());
    report += Line("declared dead (first) after", observer.detect_first_s());
    report += Line("declared dead (all) after", observer.detect_all_s());
  }
  absl::StrAppendFormat(
      &report,
      "false suspicions: %d, false deaths: %d\n"
      "traffic: %.2f packets, %.0f bytes per member per second\n"
      "wall time: %.2f s\n",
      observer.false_suspicions(), observer.false_deaths(),
      packets / member_seconds, bytes / member_seconds, wall_s);
  std::fputs(report.c_str(), stdout);

  if (!o.json.empty()) {
    std::string join =
        observer.join_converged_s()
            ? absl::StrFormat("%.3f", *observer.join_converged_s())
            : "null";
    std::string json = absl::StrFormat(
        "{\"nodes\": %d, \"seed\": %u, \"profile\": \"%s\", \"lifeguard\": "
        "%s, \"duration_s\": %.3f, \"crashes\": %d, \"join_converged_s\": %s, "
        "\"suspect_first_s\": %s, \"detect_first_s\": %s, \"detect_all_s\": "
        "%s, \"detected_by_all\": %d, \"false_suspicions\": %d, "
        "\"false_deaths\": %d, \"packets_per_node_s\": %.3f, "
        "\"bytes_per_node_s\": %.1f, \"events\": %d, \"host\": {\"wall_s\": "
        "%.3f}}\n",
        o.nodes, o.seed, std::string(ProfileName(o.profile)),
        o.lifeguard ? "true" : "false", o.duration_s, o.crash, join,
        Json(observer.suspect_first_s()), Json(observer.detect_first_s()),
        Json(observer.detect_all_s()), observer.detected_by_all(),
        observer.false_suspicions(), observer.false_deaths(),
        packets / member_seconds, bytes / member_seconds, observer.events(),
        wall_s);
    std::ofstream out(o.json);
    out << json;
    if (!out) {
      std::fprintf(stderr, "roster-sim: cannot write --json %s\n",
                   o.json.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace roster::tools

int main(int argc, char** argv) {
  auto options = roster::tools::ParseOptions(argc, argv);
  if (!options.ok()) {
    if (absl::IsCancelled(options.status())) {
      std::fputs(roster::tools::kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "roster-sim: %s\n%s",
                 std::string(options.status().message()).c_str(),
                 roster::tools::kUsage);
    return 2;
  }
  return roster::tools::Run(*options);
}
