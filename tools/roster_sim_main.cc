// roster-sim: runs a simulated roster cluster on one virtual clock, injects
// the faults asked for, and reports convergence, detection latency, false
// positives and traffic. The same flags and seed give the same results.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "sim/report.h"
#include "sim/runner.h"
#include "tools/flags.h"

namespace roster::tools {
namespace {

constexpr char kUsage[] = R"(usage: roster-sim [flags]
  --nodes N                    members (default 50)
  --seed S                     seed (default 1)
  --profile lan|wan|local      timing profile (default lan)
  --duration SECONDS           simulated seconds (default 120)
  --no-lifeguard               plain SWIM
  --bootstrap cold|converged   join through member 0, or start converged
  --crash K                    crash K random members...
  --crash-at S | FROM:TO       ...at S, or spread over [FROM, TO] (default 30)
  --loss FRACTION              datagram loss on every link
  --latency-ms MIN:MAX         one-way latency range (default 1:3)
  --latency-model uniform | regions:R
                               one latency range everywhere (default), or R
                               regions with 20-80 ms between each pair
  --no-coordinates             members run without network coordinates
  --slow K --slow-delay-ms MS  K members handle every inbound message late
  --pause K --pause-at S --pause-for S
  --partition-at S --heal-at S two halves, then healed
  --one-way-loss K:FRACTION    K members lose that fraction of what they get
  --events K                   K user events from random members, spread over
                               [0.2, 0.7] of the run
  --event-payload BYTES        each event's payload (default 16)
  --queries K                  K queries to every member from random members,
                               spread likewise (each member answers its name)
  --relay-factor R             each answer also through R members (default 0)
  --query-timeout SECONDS      a query's deadline (default: Serf's, from size)
  --scenario FILE              a scenario in protobuf text format (flags add to it)
  --json FILE --csv FILE --svg FILE   (FILE - is standard output)
  --quiet                      no progress line
)";

absl::Status Bad(const std::string& flag, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", why));
}

absl::StatusOr<double> ParseNumber(const std::string& flag,
                                   const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(v))
    return Bad(flag, absl::StrCat("'", text, "' is not a number"));
  return v;
}

// "A:B" as two numbers.
absl::StatusOr<std::pair<double, double>> ParsePair(const std::string& flag,
                                                    const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, ':');
  if (parts.size() != 2)
    return Bad(flag, absl::StrCat("'", text, "' is not of the form A:B"));
  auto a = ParseNumber(flag, parts[0]);
  if (!a.ok()) return a.status();
  auto b = ParseNumber(flag, parts[1]);
  if (!b.ok()) return b.status();
  return std::make_pair(*a, *b);
}

struct Outputs {
  std::string json, csv, svg;
  bool quiet = false;
};

absl::Status ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  *out = buffer.str();
  return absl::OkStatus();
}

// --events and --queries: spread over [0.2, 0.7] of the run, so that the
// last have time to spread, or reach their deadline, before it ends.
absl::Status AddEventsAndQueries(const Flags& flags, scenario::Scenario& s) {
  const double duration = s.duration_s() > 0 ? s.duration_s() : 120;
  if (flags.Has("events") || flags.Has("event-payload")) {
    auto k = flags.GetInt("events", 0, 1, 1000000);
    auto bytes = flags.GetInt("event-payload", 16, 0, 65536);
    for (const absl::Status& st : {k.status(), bytes.status()})
      if (!st.ok()) return st;
    if (!flags.Has("events")) return Bad("event-payload", "needs --events");
    scenario::Fault* f = s.add_faults();
    f->set_at_s(0.2 * duration);
    f->mutable_user_events()->set_count(static_cast<uint32_t>(*k));
    f->mutable_user_events()->set_until_s(0.7 * duration);
    f->mutable_user_events()->set_payload_bytes(static_cast<uint32_t>(*bytes));
  }
  if (flags.Has("queries") || flags.Has("relay-factor") ||
      flags.Has("query-timeout")) {
    auto k = flags.GetInt("queries", 0, 1, 1000000);
    auto relay = flags.GetInt("relay-factor", 0, 0, 5);
    auto timeout = flags.GetDouble("query-timeout", 0, 0, 600);
    for (const absl::Status& st :
         {k.status(), relay.status(), timeout.status()})
      if (!st.ok()) return st;
    if (!flags.Has("queries"))
      return Bad(flags.Has("relay-factor") ? "relay-factor" : "query-timeout",
                 "needs --queries");
    scenario::Fault* f = s.add_faults();
    f->set_at_s(0.2 * duration);
    f->mutable_queries()->set_count(static_cast<uint32_t>(*k));
    f->mutable_queries()->set_until_s(0.7 * duration);
    f->mutable_queries()->set_relay_factor(static_cast<uint32_t>(*relay));
    f->mutable_queries()->set_timeout_s(*timeout);
  }
  return absl::OkStatus();
}

absl::StatusOr<scenario::Scenario> BuildScenario(const Flags& flags) {
  scenario::Scenario s;
  if (flags.Has("scenario")) {
    std::string text;
    const std::string path = flags.Get("scenario", "");
    if (absl::Status st = ReadFile(path, &text); !st.ok()) return st;
    auto parsed = sim::ParseScenario(text);
    if (!parsed.ok())
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", parsed.status().message()));
    s = *parsed;
  }
  if (flags.Has("nodes")) {
    auto v = flags.GetInt("nodes", 0, 1, 100000);
    if (!v.ok()) return v.status();
    s.set_nodes(static_cast<uint32_t>(*v));
  }
  if (flags.Has("seed")) {
    auto v = flags.GetUint("seed", 0);
    if (!v.ok()) return v.status();
    s.set_seed(*v);
  } else if (!flags.Has("scenario")) {
    s.set_seed(1);
  }
  if (flags.Has("profile")) {
    std::string p = flags.Get("profile", "");
    if (auto ok = ParseProfile(p); !ok.ok())
      return Bad("profile", std::string(ok.status().message()));
    s.set_profile(p);
  }
  if (flags.Has("duration")) {
    auto v = flags.GetDouble("duration", 0, 0.001, 1e6);
    if (!v.ok()) return v.status();
    s.set_duration_s(*v);
  }
  if (flags.Has("no-lifeguard")) s.set_no_lifeguard(true);
  if (flags.Has("bootstrap")) {
    std::string b = flags.Get("bootstrap", "");
    if (b == "cold") {
      s.set_bootstrap(scenario::BOOTSTRAP_COLD);
    } else if (b == "converged") {
      s.set_bootstrap(scenario::BOOTSTRAP_CONVERGED);
    } else {
      return Bad("bootstrap",
                 absl::StrCat("'", b, "' is not cold or converged"));
    }
  }
  if (flags.Has("loss")) {
    auto v = flags.GetDouble("loss", 0, 0, 1);
    if (!v.ok()) return v.status();
    s.mutable_network()->set_loss(*v);
  }
  if (flags.Has("latency-ms")) {
    auto v = ParsePair("latency-ms", flags.Get("latency-ms", ""));
    if (!v.ok()) return v.status();
    if (v->first < 0 || v->second < v->first)
      return Bad("latency-ms", "needs 0 <= MIN <= MAX");
    s.mutable_network()->set_latency_min_ms(v->first);
    s.mutable_network()->set_latency_max_ms(v->second);
  }
  if (flags.Has("latency-model")) {
    const std::string model = flags.Get("latency-model", "");
    std::vector<std::string> parts = absl::StrSplit(model, ':');
    if (model == "uniform") {
      s.mutable_network()->set_regions(0);
    } else if (parts.size() == 2 && parts[0] == "regions") {
      auto r = ParseNumber("latency-model", parts[1]);
      if (!r.ok()) return r.status();
      if (*r < 1 || *r > 1000 || *r != std::floor(*r))
        return Bad("latency-model", "R must be a whole number in [1, 1000]");
      s.mutable_network()->set_regions(static_cast<uint32_t>(*r));
    } else {
      return Bad("latency-model",
                 absl::StrCat("'", model, "' is not uniform or regions:R"));
    }
  }
  if (flags.Has("no-coordinates")) s.set_no_coordinates(true);
  // --crash defaults to one member at 30 s when no scenario file is given.
  if (flags.Has("crash") || flags.Has("crash-at") || !flags.Has("scenario")) {
    auto k = flags.GetInt("crash", 1, 0, 100000);
    if (!k.ok()) return k.status();
    std::string at = flags.Get("crash-at", "30");
    double from, to;
    if (at.find(':') != std::string::npos) {
      auto v = ParsePair("crash-at", at);
      if (!v.ok()) return v.status();
      from = v->first;
      to = v->second;
      if (to < from) return Bad("crash-at", "FROM is after TO");
    } else {
      auto v = ParseNumber("crash-at", at);
      if (!v.ok()) return v.status();
      from = to = *v;
    }
    if (*k > 0) {
      scenario::Fault* f = s.add_faults();
      f->set_at_s(from);
      f->mutable_crash()->mutable_members()->set_count(*k);
      if (to > from) f->mutable_crash()->set_until_s(to);
    }
  }
  if (flags.Has("slow") || flags.Has("slow-delay-ms")) {
    auto k = flags.GetInt("slow", 1, 1, 100000);
    if (!k.ok()) return k.status();
    if (!flags.Has("slow-delay-ms"))
      return Bad("slow", "needs --slow-delay-ms");
    auto d = flags.GetDouble("slow-delay-ms", 0, 0.001, 600000);
    if (!d.ok()) return d.status();
    scenario::Fault* f = s.add_faults();
    f->mutable_slow()->mutable_members()->set_count(*k);
    f->mutable_slow()->set_delay_ms(*d);
  }
  if (flags.Has("pause") || flags.Has("pause-at") || flags.Has("pause-for")) {
    auto k = flags.GetInt("pause", 1, 1, 100000);
    auto at = flags.GetDouble("pause-at", 30, 0, 1e6);
    auto d = flags.GetDouble("pause-for", 10, 0.001, 1e6);
    for (const absl::Status& st : {k.status(), at.status(), d.status()})
      if (!st.ok()) return st;
    scenario::Fault* f = s.add_faults();
    f->set_at_s(*at);
    f->mutable_pause()->mutable_members()->set_count(*k);
    f->mutable_pause()->set_for_s(*d);
  }
  if (flags.Has("partition-at") || flags.Has("heal-at")) {
    if (!flags.Has("partition-at") || !flags.Has("heal-at"))
      return Bad("partition-at", "needs both --partition-at and --heal-at");
    auto at = flags.GetDouble("partition-at", 0, 0, 1e6);
    auto heal = flags.GetDouble("heal-at", 0, 0, 1e9);
    for (const absl::Status& st : {at.status(), heal.status()})
      if (!st.ok()) return st;
    if (*heal < *at) return Bad("heal-at", "is before --partition-at");
    scenario::Fault* f = s.add_faults();
    f->set_at_s(*at);
    f->mutable_partition()->set_heal_at_s(*heal);
  }
  if (flags.Has("one-way-loss")) {
    auto v = ParsePair("one-way-loss", flags.Get("one-way-loss", ""));
    if (!v.ok()) return v.status();
    if (v->first < 1 || v->first != std::floor(v->first))
      return Bad("one-way-loss", "K must be a positive integer");
    if (v->second < 0 || v->second > 1)
      return Bad("one-way-loss", "FRACTION must be in [0, 1]");
    scenario::Fault* f = s.add_faults();
    f->mutable_one_way_loss()->mutable_members()->set_count(
        static_cast<uint32_t>(v->first));
    f->mutable_one_way_loss()->set_fraction(v->second);
  }
  if (absl::Status st = AddEventsAndQueries(flags, s); !st.ok()) return st;
  if (absl::Status st = sim::NormalizeScenario(s); !st.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flags.Has("scenario") ? "scenario " : "", st.message()));
  }
  return s;
}

absl::Status Write(const std::string& path, const std::string& text) {
  if (path == "-") {  // after the summary, on standard output
    std::fputs(text.c_str(), stdout);
    return absl::OkStatus();
  }
  std::ofstream out(path);
  out << text;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  Flags flags({"nodes",        "seed",          "profile",       "duration",
               "bootstrap",    "crash",         "crash-at",      "loss",
               "latency-ms",   "slow",          "slow-delay-ms", "pause",
               "pause-at",     "pause-for",     "partition-at",  "heal-at",
               "one-way-loss", "scenario",      "json",          "csv",
               "svg",          "events",        "event-payload", "queries",
               "relay-factor", "query-timeout", "latency-model"},
              {"no-lifeguard", "quiet", "help", "no-coordinates"});
  absl::Status parsed = flags.Parse(argc, argv);
  if (parsed.ok() && flags.Has("help")) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (parsed.ok() && !flags.positional().empty())
    parsed = absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", flags.positional()[0], "'"));
  absl::StatusOr<scenario::Scenario> s =
      parsed.ok() ? BuildScenario(flags) : parsed;
  if (!s.ok()) {
    std::fprintf(stderr, "roster-sim: %s\n(see roster-sim --help)\n",
                 std::string(s.status().message()).c_str());
    return 2;
  }

  const bool quiet = flags.Has("quiet");
  const auto wall_start = std::chrono::steady_clock::now();
  auto wall = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         wall_start)
        .count();
  };
  double last_progress = 0;
  bool printed = false;
  auto progress = [&](double now, double duration) {
    if (quiet || wall() - last_progress < 2) return;
    last_progress = wall();
    printed = true;
    std::fprintf(stderr, "\rroster-sim: %.0f/%.0f simulated s, %.0f s wall",
                 now, duration, wall());
  };
  auto result = sim::RunScenario(*s, progress);
  if (printed) std::fputs("\n", stderr);
  if (!result.ok()) {
    std::fprintf(stderr, "roster-sim: %s\n",
                 std::string(result.status().message()).c_str());
    return 2;
  }
  sim::HostStats host;
  host.wall_s = wall();
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) == 0)
    host.peak_rss_mb = usage.ru_maxrss / 1024.0;
  std::fputs(sim::ToText(*result, host).c_str(), stdout);
  const std::pair<const char*, std::string> outputs[] = {
      {"json", sim::ToJson(*result, host)},
      {"csv", flags.Has("csv") ? sim::ToCsv(*result) : ""},
      {"svg", flags.Has("svg") ? sim::ToSvg(*result) : ""}};
  for (const auto& [flag, text] : outputs) {
    if (!flags.Has(flag)) continue;
    if (absl::Status st = Write(flags.Get(flag, ""), text); !st.ok()) {
      std::fprintf(stderr, "roster-sim: --%s: %s\n", flag,
                   std::string(st.message()).c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace roster::tools

int main(int argc, char** argv) { return roster::tools::Main(argc, argv); }
