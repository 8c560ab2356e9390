// roster-sim's runner: scenario parsing and checking, determinism of the
// results, and every fault kind having its effect.
#include "sim/runner.h"

#include "gtest/gtest.h"
#include "sim/report.h"

namespace roster::sim {
namespace {

scenario::Scenario Parse(const std::string& text) {
  auto s = ParseScenario(text);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : scenario::Scenario();
}

TEST(ScenarioTest, ParseErrorsNameLineAndColumn) {
  auto s = ParseScenario("nodes: 10\nbogus_field: 3\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("line 2"), absl::string_view::npos)
      << s.status();
  EXPECT_NE(s.status().message().find("bogus_field"), absl::string_view::npos);
}

TEST(ScenarioTest, NormalizeFillsDefaults) {
  scenario::Scenario s;
  ASSERT_TRUE(NormalizeScenario(s).ok());
  EXPECT_EQ(s.nodes(), 50u);
  EXPECT_EQ(s.profile(), "lan");
  EXPECT_EQ(s.duration_s(), 120);
  EXPECT_EQ(s.network().latency_min_ms(), 1);
  EXPECT_EQ(s.network().latency_max_ms(), 3);
}

TEST(ScenarioTest, NormalizeRejectsWithTheFieldNamed) {
  struct Case {
    const char* text;
    const char* field;
  } cases[] = {
      {"profile: \"moon\"", "profile"},
      {"duration_s: -5", "duration_s"},
      {"network { loss: 1.5 }", "network.loss"},
      {"network { latency_min_ms: 9 latency_max_ms: 2 }", "network.latency"},
      {"network { regions: 1001 }", "network.regions"},
      {"nodes: 10 faults { at_s: 5 crash { members { index: 10 } } }",
       "faults[0].crash"},
      {"nodes: 10 faults { at_s: 5 crash { members { } } }", "faults[0].crash"},
      {"faults { at_s: 500 crash { members { count: 1 } } }", "faults[0].at_s"},
      {"faults { at_s: 50 crash { members { count: 1 } until_s: 10 } }",
       "faults[0].crash.until_s"},
      {"faults { at_s: 5 pause { members { count: 1 } } }",
       "faults[0].pause.for_s"},
      {"faults { at_s: 5 }", "faults[0]"},
      {"nodes: 4 faults { at_s: 5 crash { members { count: 4 } } }", "faults"},
  };
  for (const Case& c : cases) {
    scenario::Scenario s = Parse(c.text);
    absl::Status st = NormalizeScenario(s);
    EXPECT_FALSE(st.ok()) << c.text;
    EXPECT_NE(st.message().find(c.field), absl::string_view::npos)
        << c.text << " -> " << st.message();
  }
}

TEST(ScenarioTest, ExampleFilesParse) {
  for (const char* name : {"lifeguard_slow", "partition_heal", "everything",
                           "scale_10k", "regions"}) {
    std::string path = std::string(ROSTER_SOURCE_DIR) + "/sim/scenarios/" +
                       name + ".textproto";
    FILE* f = std::fopen(path.c_str(), "r");
    ASSERT_NE(f, nullptr) << path;
    std::string text;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    std::fclose(f);
    auto s = ParseScenario(text);
    ASSERT_TRUE(s.ok()) << name << ": " << s.status();
    EXPECT_TRUE(NormalizeScenario(*s).ok()) << name;
  }
}

scenario::Scenario Everything() {
  return Parse(R"(
    nodes: 40 seed: 42 duration_s: 300
    network { loss: 0.01 latency_min_ms: 1 latency_max_ms: 20 }
    faults { at_s: 20 crash { members { count: 3 } until_s: 40 } }
    faults { at_s: 30 slow { members { count: 2 } delay_ms: 1500 for_s: 60 } }
    faults { at_s: 40 pause { members { count: 1 } for_s: 30 } }
    faults { at_s: 50 one_way_loss { members { count: 2 } fraction: 0.3 for_s: 30 } }
    faults { at_s: 80 leave { members { index: 11 } } }
    faults { at_s: 100 set_loss { fraction: 0.1 } }
    faults { at_s: 120 set_loss { fraction: 0.01 } }
    faults { at_s: 150 partition { heal_at_s: 190 } }
    faults { at_s: 200 restart { members { count: 2 } } }
    faults { at_s: 210 restart { members { count: 1 } new_address: true } }
  )");
}

TEST(RunnerTest, EveryFaultKindHasItsEffect) {
  auto r = RunScenario(Everything());
  ASSERT_TRUE(r.ok()) << r.status();
  // Crashes: all three detected by every live member.
  EXPECT_EQ(r->crashes, 3u);
  EXPECT_EQ(r->detected_by_all, 3u);
  EXPECT_GT(r->detect_all_s.max, r->detect_first_s.max * 0.5);
  // A 30 s pause is long enough to be declared dead: counted apart.
  EXPECT_GT(r->false_deaths_of_slow, 0u);
  // The partition killed the other half in each half's view, then healed.
  EXPECT_GT(r->false_deaths, r->false_deaths_of_slow);
  ASSERT_TRUE(r->healed_s.has_value());
  // Restarts brought the crashed members back: at the end the 39 members
  // that have not left see 39 alive; the average over running members also
  // counts the leaver, whose own view stopped following the cluster, so it
  // sits just below 39 (and would be near 36 without the restarts).
  const SeriesPoint& last = r->series.back();
  EXPECT_GT(last.alive, 38.5);
  EXPECT_LE(last.alive, 39.0);
  EXPECT_NEAR(last.suspect, 0, 0.01);
  // One second of CSV per simulated second.
  EXPECT_EQ(r->series.size(), 300u);
}

TEST(RunnerTest, SameScenarioSameJsonDifferentSeedDifferent) {
  HostStats none;
  auto a = RunScenario(Everything());
  auto b = RunScenario(Everything());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(ToJson(*a, none), ToJson(*b, none));
  EXPECT_EQ(ToCsv(*a), ToCsv(*b));
  scenario::Scenario other = Everything();
  other.set_seed(43);
  auto c = RunScenario(other);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(ToJson(*a, none), ToJson(*c, none));
}

TEST(RunnerTest, OutputsCarryTheFieldsScriptsRead) {
  auto r =
      RunScenario(Parse("nodes: 30 duration_s: 60 "
                        "faults { at_s: 10 crash { members { count: 2 } } }"));
  ASSERT_TRUE(r.ok());
  const std::string json = ToJson(*r, HostStats{1.5, 12});
  for (const char* field :
       {"\"nodes\": 30", "\"seed\"", "\"profile\": \"lan\"",
        "\"lifeguard\": true", "\"join_converged_s\"", "\"suspect_first_s\"",
        "\"detect_first_s\"", "\"detect_all_s\"", "\"false_suspicions\"",
        "\"false_deaths\"", "\"false_deaths_of_slow\"", "\"healed_s\": null",
        "\"packets_per_node_s\"", "\"bytes_per_node_s\"", "\"events\"",
        "\"host\": {\"wall_s\": 1.500, \"peak_rss_mb\": 12.0}"}) {
    EXPECT_NE(json.find(field), std::string::npos) << field << "\n" << json;
  }
  const std::string csv = ToCsv(*r);
  EXPECT_EQ(csv.rfind("t_s,alive,suspect,dead,packets,bytes,"
                      "user_events_delivered,query_responses\n",
                      0),
            0u);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 61);
  const std::string svg = ToSvg(*r);
  EXPECT_NE(svg.find("<polyline"), std::string::npos);
  EXPECT_EQ(std::count(svg.begin(), svg.end(), '#') >= 4, true);
}

TEST(RunnerTest, ConvergedBootstrapStartsConverged) {
  auto r = RunScenario(
      Parse("nodes: 200 duration_s: 5 bootstrap: BOOTSTRAP_CONVERGED"));
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->join_converged_s.has_value());
  EXPECT_EQ(*r->join_converged_s, 1.0);  // the first sample
  EXPECT_NEAR(r->series.front().alive, 200, 0.01);
}

}  // namespace
}  // namespace roster::sim
