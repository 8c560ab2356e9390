// `roster agent`: a cluster member run as a process, controlled by the
// other `roster` commands over its RPC address (tools/rpc, doc/rpc.md).
#ifndef ROSTER_TOOLS_AGENT_AGENT_H_
#define ROSTER_TOOLS_AGENT_AGENT_H_

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace roster::tools {

// Every flag of `roster agent`, as parsed (and as a --config file sets).
struct AgentOptions {
  std::string name;
  std::string bind;
  std::string advertise;
  std::vector<std::string> join;
  std::string profile = "lan";
  std::vector<std::string> meta;  // KEY=VALUE
  std::string label;
  std::string dns_server;
  std::string keyring;
  std::string plaintext;
  std::vector<std::string> allow_network;
  std::string snapshot;
  bool rejoin_after_leave = false;
  std::string rpc;  // empty: rpc::kDefaultAddr
  std::string rpc_token_file;
  std::vector<std::string> event_handler;
  std::string metrics_addr;
  std::string log_level = "info";
};

// Declares the agent's flags on `command` (the `agent` subcommand).
void AddAgentFlags(CLI::App& command, AgentOptions& options);

// Runs the agent until SIGINT or SIGTERM (a graceful leave, exit 0) or a
// `roster leave`; returns the exit status: 2 for a bad value, 1 when it
// cannot start (an address in use).
int RunAgent(const AgentOptions& options);

}  // namespace roster::tools

#endif  // ROSTER_TOOLS_AGENT_AGENT_H_
