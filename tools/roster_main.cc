// roster: run a cluster member (`roster agent`), control a running one
// through its RPC (join, leave, force-leave, event, query, tags, monitor,
// info, rtt, keys, members), make a key, or watch a demo. `roster --help`
// and `roster COMMAND --help` say the rest.
//
// Every command parses with CLI11; every bad flag or value is one line on
// stderr and exit status 2, an agent that cannot be reached or refuses is
// one line and exit status 1.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "roster/keyring.h"
#include "tools/agent/agent.h"
#include "tools/agent/config_file.h"
#include "tools/cli_common.h"
#include "tools/control_commands.h"
#include "tools/demo_command.h"
#include "tools/keys.h"
#include "tools/members_command.h"

namespace roster::tools {
namespace {

constexpr char kDescription[] =
    "roster: decentralized cluster membership (SWIM with Lifeguard).\n"
    "Run a member with `roster agent`; the other commands reach it at its\n"
    "--rpc address (127.0.0.1:7373 by default).";

void AddKeygenCommand(CLI::App& app, std::function<int()>& run) {
  auto out = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand(
      "keygen", "Print a new base64 key, or write it as a new keyring file");
  c->add_option("--out", *out, "FILE to create (never over an existing one)");
  c->callback([&run, out] {
    run = [out] {
      if (out->empty()) {
        std::printf("%s\n", Keyring::EncodeKey(Keyring::GenerateKey()).c_str());
        return kExitOk;
      }
      if (auto s = CreateKeyringFile(*out); !s.ok())
        return Complain("keygen", kExitFailed, s.message());
      std::fprintf(stderr, "roster keygen: wrote a new keyring to %s\n",
                   out->c_str());
      return kExitOk;
    };
  });
}

int Main(int argc, char** argv) {
  CLI::App app(kDescription, "roster");
  app.require_subcommand(1);
  std::function<int()> run;
  AgentOptions agent_options;
  CLI::App* agent = app.add_subcommand("agent", "Run a cluster member");
  AddAgentFlags(*agent, agent_options);
  agent->add_option("--config", "TOML FILE of flags (doc/rpc.md)");
  agent->callback([&] { run = [&] { return RunAgent(agent_options); }; });
  AddMembersCommand(app, run);
  AddControlCommands(app, run);
  AddKeygenCommand(app, run);
  AddDemoCommand(app, run);

  std::vector<std::string> args(argv + 1, argv + argc);
  const std::string command = args.empty() ? "" : args[0];
  if (command.empty() || command == "help") {
    std::fputs(app.help().c_str(), command.empty() ? stderr : stdout);
    return command.empty() ? kExitUsage : kExitOk;
  }
  CLI::App* sub = nullptr;
  for (CLI::App* c : app.get_subcommands([](CLI::App*) { return true; }))
    if (c->get_name() == command) sub = c;
  if (sub == nullptr && command.rfind("-", 0) != 0)
    return Complain(command, kExitUsage,
                    "no such command (roster --help lists them)");
  if (sub == agent) {
    std::vector<std::string> rest(args.begin() + 1, args.end());
    auto expanded = ExpandConfigFiles(rest, *agent);
    if (!expanded.ok())
      return Complain("agent", kExitUsage, expanded.status().message());
    args.resize(1);
    args.insert(args.end(), expanded->begin(), expanded->end());
  }
  try {
    // CLI11 takes the arguments last first.
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    std::fputs((sub ? sub->help() : app.help()).c_str(), stdout);
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    return Complain(sub ? command : std::string("roster"), kExitUsage,
                    e.what());
  }
  if (!run) return Complain(command, kExitUsage, "nothing to do");
  try {
    return run();
  } catch (const Json::exception& e) {
    // Only an agent that answers outside doc/rpc.md gets here.
    return Complain(
        command, kExitFailed,
        absl::StrCat("the agent's answer is not as expected: ", e.what()));
  }
}

}  // namespace
}  // namespace roster::tools

int main(int argc, char** argv) { return roster::tools::Main(argc, argv); }
