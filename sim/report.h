// Writes a RunResult as roster-sim's outputs: the JSON summary scripts
// read, the per-second CSV series and an SVG chart of it.
#ifndef ROSTER_SIM_REPORT_H_
#define ROSTER_SIM_REPORT_H_

#include <string>

#include "sim/runner.h"

namespace roster::sim {

// What the host measured: the only part of the JSON that may differ
// between two runs of the same scenario.
struct HostStats {
  double wall_s = 0;
  double peak_rss_mb = 0;
};

std::string ToJson(const RunResult& result, const HostStats& host);
std::string ToCsv(const RunResult& result);
std::string ToSvg(const RunResult& result);
// A few lines for people.
std::string ToText(const RunResult& result, const HostStats& host);

}  // namespace roster::sim

#endif  // ROSTER_SIM_REPORT_H_
