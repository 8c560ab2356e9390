// libFuzzer target: any text as a roster-sim scenario file, through
// sim::ParseScenario and sim::NormalizeScenario. A scenario that parses,
// printed and parsed again, must get the same verdict; one that
// normalizes must be within the bounds RunScenario relies on. A small one
// (a few members, a few seconds) is also run, so that any mix of faults
// the parser lets through is played on the simulator.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "google/protobuf/text_format.h"
#include "proto/scenario.pb.h"
#include "roster/config.h"
#include "sim/runner.h"
#include "test/fuzz/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace roster;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = sim::ParseScenario(text);
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.status().message().empty());
    return 0;
  }
  std::string printed;
  FUZZ_CHECK(google::protobuf::TextFormat::PrintToString(*parsed, &printed));
  auto reparsed = sim::ParseScenario(printed);
  FUZZ_CHECK(reparsed.ok());

  scenario::Scenario& s = *parsed;
  const absl::Status verdict = sim::NormalizeScenario(s);
  // (Only the outcome: "-nan" prints back as "nan", and messages echo it.)
  FUZZ_CHECK(sim::NormalizeScenario(*reparsed).code() == verdict.code());
  if (!verdict.ok()) return 0;
  FUZZ_CHECK(s.nodes() >= 1 && s.nodes() <= 100000);
  FUZZ_CHECK(std::isfinite(s.duration_s()) && s.duration_s() > 0);
  FUZZ_CHECK(ParseProfile(s.profile()).ok());
  FUZZ_CHECK(s.network().latency_min_ms() <= s.network().latency_max_ms());
  for (const scenario::Fault& f : s.faults()) {
    FUZZ_CHECK(f.at_s() >= 0 && f.at_s() <= s.duration_s());
    FUZZ_CHECK(f.kind_case() != scenario::Fault::KIND_NOT_SET);
  }
  // Normalizing twice changes nothing.
  scenario::Scenario twice = s;
  FUZZ_CHECK(sim::NormalizeScenario(twice).ok());
  FUZZ_CHECK(twice.SerializeAsString() == s.SerializeAsString());
  if (s.nodes() <= 8 && s.duration_s() <= 10) {
    // It may still be refused (a restart of more members than crashed).
    const auto run = sim::RunScenario(s);
    FUZZ_CHECK(run.ok() || !run.status().message().empty());
  }
  return 0;
}
