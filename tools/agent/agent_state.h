// What the agent's RPC commands share with the agent that runs them.
#ifndef ROSTER_TOOLS_AGENT_AGENT_STATE_H_
#define ROSTER_TOOLS_AGENT_AGENT_STATE_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "roster/keyring.h"
#include "roster/node.h"
#include "tools/agent/agent.h"
#include "tools/agent/event_handlers.h"
#include "tools/agent/monitor.h"
#include "tools/rpc/rpc_server.h"

namespace roster::tools {

// The name of the internal query that `roster keys` sends: every agent
// applies the step to its own keyring and answers with its keys.
inline constexpr char kKeysQuery[] = "_roster-keys";

struct AgentState {
  AgentOptions options;
  std::string profile;   // the profile's name, as parsed
  Node* node = nullptr;  // set once started, for the life of the server
  EventHandlers* handlers = nullptr;  // nullptr without --event-handler
  // Set once it listens, while its threads may already read it.
  std::atomic<const rpc::Server*> server{nullptr};
  std::shared_ptr<Keyring> keyring;  // nullptr without --keyring
  Monitor monitor;
  absl::Time started;
  // Ready (roster info --ready): started, not left, and either joined or
  // started with nothing to join.
  std::atomic<bool> joined{false};
  std::atomic<bool> left{false};
  std::atomic<uint64_t> keyring_writes_failed{0};
};

// The RPC commands (doc/rpc.md), each a call on state.node.
std::map<std::string, rpc::Handler> AgentCommands(AgentState& state);

// Applies one step of `roster keys` to this agent's keyring (and its
// --keyring file, rewritten in place): the JSON answer of kKeysQuery.
rpc::Json ApplyKeysStep(AgentState& state, const rpc::Json& step);

}  // namespace roster::tools

#endif  // ROSTER_TOOLS_AGENT_AGENT_STATE_H_
