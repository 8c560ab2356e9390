// The agent's control protocol (doc/rpc.md): how `roster` commands reach a
// running `roster agent` over TCP.
//
// One request per connection. The client sends one line, a JSON object
//   {"command": "members", "args": {...}, "token": "..."}
// ("args" and "token" may be left out), and the agent answers with zero or
// more lines {"stream": {...}} (a query's acknowledgements and answers,
// monitor's logs and events) and then one final line, either
//   {"result": {...}}  or  {"error": {"code": "NOT_FOUND", "message": "..."}}
// with the code an absl::StatusCode's name, and closes the connection.
#ifndef ROSTER_TOOLS_RPC_RPC_PROTOCOL_H_
#define ROSTER_TOOLS_RPC_RPC_PROTOCOL_H_

#include <sys/socket.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace roster::tools::rpc {

using Json = nlohmann::ordered_json;

// Where `roster agent` listens and `roster` commands call by default:
// Serf's RPC port, on loopback.
inline constexpr char kDefaultAddr[] = "127.0.0.1:7373";

// The longest line either side accepts; a longer one ends the connection.
inline constexpr size_t kMaxLineBytes = 256 * 1024;

// `value` as one line; bytes that are not UTF-8 (a binary payload) become
// U+FFFD rather than an exception.
std::string Dump(const Json& value);

// The error line for `status` (not Ok), and back.
Json ErrorLine(const absl::Status& status);
absl::Status StatusFromError(const Json& error);

// A parsed "HOST:PORT" (IPv4, or IPv6 in brackets; numeric only).
struct Endpoint {
  std::string host;
  int port = 0;
  bool loopback = false;  // 127.0.0.0/8 or ::1
};
// InvalidArgument naming `addr` when it is not a numeric HOST:PORT.
absl::StatusOr<Endpoint> ParseEndpoint(std::string_view addr);
// Fills `out` with a parsed endpoint's socket address; returns its length.
socklen_t ToSockaddr(const Endpoint& endpoint, sockaddr_storage* out);

}  // namespace roster::tools::rpc

#endif  // ROSTER_TOOLS_RPC_RPC_PROTOCOL_H_
