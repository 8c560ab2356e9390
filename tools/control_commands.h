// `roster join`, `leave`, `force-leave`, `event`, `query`, `tags`,
// `monitor`, `info`, `rtt` and `keys`: each a call on a running agent's
// RPC (doc/rpc.md).
#ifndef ROSTER_TOOLS_CONTROL_COMMANDS_H_
#define ROSTER_TOOLS_CONTROL_COMMANDS_H_

#include <functional>

namespace CLI {
class App;
}

namespace roster::tools {

// Declares the commands on `app`; the one parsed sets `run`, which returns
// the exit status.
void AddControlCommands(CLI::App& app, std::function<int()>& run);

}  // namespace roster::tools

#endif  // ROSTER_TOOLS_CONTROL_COMMANDS_H_
