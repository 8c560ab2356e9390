// What every `roster` command shares: exit statuses, the flags that reach
// a running agent (--rpc, --token-file, --json), and one way to report an
// outcome.
#ifndef ROSTER_TOOLS_CLI_COMMON_H_
#define ROSTER_TOOLS_CLI_COMMON_H_

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "tools/json_lines.h"
#include "tools/rpc/rpc_client.h"

namespace CLI {
class App;
}

namespace roster::tools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the agent unreachable, or refused
inline constexpr int kExitUsage = 2;   // a bad flag or value

// Prints "roster COMMAND: message" on stderr and returns `status`.
int Complain(std::string_view command, int status, absl::string_view message);

// The exit status for an error: 2 for a bad value (InvalidArgument,
// OutOfRange), 1 otherwise; after printing it as Complain does.
int Failure(std::string_view command, const absl::Status& status);

struct RpcFlags {
  std::string rpc = rpc::kDefaultAddr;
  std::string token_file;  // default: the ROSTER_RPC_TOKEN variable
  bool json = false;
};
// Declares --rpc and --token-file (and --json when `json`) on `command`.
void AddRpcFlags(CLI::App& command, RpcFlags& flags, bool json);

// Calls the agent as the flags say, streaming lines to `on_stream`.
absl::StatusOr<Json> CallAgent(
    const RpcFlags& flags, const std::string& command, const Json& args,
    absl::Duration line_timeout = absl::Seconds(30),
    const std::function<void(const Json&)>& on_stream = nullptr);

}  // namespace roster::tools

#endif  // ROSTER_TOOLS_CLI_COMMON_H_
