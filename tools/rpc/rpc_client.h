// The commands' side of the control protocol (rpc_protocol.h).
#ifndef ROSTER_TOOLS_RPC_RPC_CLIENT_H_
#define ROSTER_TOOLS_RPC_RPC_CLIENT_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/rpc/rpc_protocol.h"

namespace roster::tools::rpc {

struct CallOptions {
  std::string addr = kDefaultAddr;
  std::string token;  // empty: none sent
  // The wait for the connection, and for each line after the request;
  // absl::InfiniteDuration() for a stream that lasts (monitor).
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration line_timeout = absl::Seconds(30);
};

// Sends `command` with `args` to the agent and returns its result. Each
// streamed line goes to `on_stream` first, in order. An unreachable agent
// or a broken connection is Unavailable (with the address); a bad --rpc
// address InvalidArgument; the agent's own refusals come back with their
// codes (InvalidArgument for a bad value, PermissionDenied for a token).
absl::StatusOr<Json> CallAgent(
    const CallOptions& options, const std::string& command, const Json& args,
    const std::function<void(const Json&)>& on_stream = nullptr);

}  // namespace roster::tools::rpc

#endif  // ROSTER_TOOLS_RPC_RPC_CLIENT_H_
