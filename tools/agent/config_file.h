// `roster agent --config FILE`: every agent flag in a TOML file (read by
// toml++), one key per flag without its dashes:
//
//   name = "cache-1"
//   bind = "0.0.0.0:7946"
//   join = ["srv:_roster._udp.cache.svc.cluster.local"]
//   rejoin-after-leave = true
//
// Flags on the command line override the file's single values and add to
// its lists.
#ifndef ROSTER_TOOLS_AGENT_CONFIG_FILE_H_
#define ROSTER_TOOLS_AGENT_CONFIG_FILE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace CLI {
class App;
}

namespace roster::tools {

// The file is at most this big.
inline constexpr size_t kMaxConfigFileBytes = 1 << 20;

// The file's settings as command-line arguments for `agent` ("--name",
// "cache-1", ...): InvalidArgument naming the file, and the line and column
// of a syntax error, an unknown key, a value of the wrong type (a table, a
// list for a single-valued flag, a date) or a file over
// kMaxConfigFileBytes.
absl::StatusOr<std::vector<std::string>> ConfigFileArgs(const std::string& path,
                                                        const CLI::App& agent);

// argv for `roster agent ...` with each --config FILE replaced by the
// file's settings, put first so that the command line overrides them.
absl::StatusOr<std::vector<std::string>> ExpandConfigFiles(
    const std::vector<std::string>& args, const CLI::App& agent);

}  // namespace roster::tools

#endif  // ROSTER_TOOLS_AGENT_CONFIG_FILE_H_
