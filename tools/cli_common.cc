#include "tools/cli_common.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace roster::tools {

int Complain(std::string_view command, int status, absl::string_view message) {
  std::fprintf(stderr, "roster %.*s: %.*s\n", static_cast<int>(command.size()),
               command.data(), static_cast<int>(message.size()),
               message.data());
  return status;
}

int Failure(std::string_view command, const absl::Status& status) {
  const bool usage =
      absl::IsInvalidArgument(status) || absl::IsOutOfRange(status);
  return Complain(command, usage ? kExitUsage : kExitFailed, status.message());
}

void AddRpcFlags(CLI::App& command, RpcFlags& flags, bool json) {
  command
      .add_option("--rpc", flags.rpc,
                  "HOST:PORT of the agent's RPC (default 127.0.0.1:7373)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  command
      .add_option("--token-file", flags.token_file,
                  "FILE holding the agent's RPC token (default: "
                  "$ROSTER_RPC_TOKEN)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  if (json) command.add_flag("--json", flags.json, "print JSON");
}

absl::StatusOr<Json> CallAgent(
    const RpcFlags& flags, const std::string& command, const Json& args,
    absl::Duration line_timeout,
    const std::function<void(const Json&)>& on_stream) {
  rpc::CallOptions options;
  options.addr = flags.rpc;
  options.line_timeout = line_timeout;
  if (!flags.token_file.empty()) {
    std::ifstream in(flags.token_file);
    std::string line;
    if (!in || !std::getline(in, line))
      return absl::InvalidArgumentError(
          absl::StrCat("--token-file: cannot read ", flags.token_file));
    options.token = std::string(absl::StripAsciiWhitespace(line));
  } else if (const char* token = std::getenv("ROSTER_RPC_TOKEN")) {
    options.token = token;
  }
  return rpc::CallAgent(options, command, args, on_stream);
}

}  // namespace roster::tools
