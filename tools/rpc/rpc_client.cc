#include "tools/rpc/rpc_client.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tools/rpc/line_socket.h"

namespace roster::tools::rpc {

absl::StatusOr<Json> CallAgent(
    const CallOptions& options, const std::string& command, const Json& args,
    const std::function<void(const Json&)>& on_stream) {
  auto endpoint = ParseEndpoint(options.addr);
  if (!endpoint.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("--rpc: ", endpoint.status().message()));
  auto socket = LineSocket::Connect(*endpoint, options.connect_timeout);
  if (!socket.ok()) return socket.status();
  Json request = {{"command", command}, {"args", args}};
  if (!options.token.empty()) request["token"] = options.token;
  if (auto s = (*socket)->WriteLine(Dump(request)); !s.ok())
    return absl::UnavailableError(
        absl::StrCat("agent at ", options.addr, ": ", s.message()));
  while (true) {
    const absl::Time deadline = options.line_timeout == absl::InfiniteDuration()
                                    ? absl::InfiniteFuture()
                                    : absl::Now() + options.line_timeout;
    auto line = (*socket)->ReadLine(deadline);
    if (!line.ok())
      return absl::UnavailableError(
          absl::StrCat("agent at ", options.addr,
                       " gave no answer: ", line.status().message()));
    const Json reply = Json::parse(*line, nullptr, /*allow_exceptions=*/false);
    if (!reply.is_object())
      return absl::UnavailableError(absl::StrCat(
          "agent at ", options.addr, " answered a line that is not JSON"));
    if (reply.contains("stream")) {
      if (on_stream) on_stream(reply["stream"]);
      continue;
    }
    if (reply.contains("result")) return reply["result"];
    if (reply.contains("error")) return StatusFromError(reply["error"]);
    return absl::UnavailableError(absl::StrCat(
        "agent at ", options.addr, " answered a line of no known kind"));
  }
}

}  // namespace roster::tools::rpc
