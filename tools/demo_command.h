// `roster demo`: the main job of the README, in one process.
#ifndef ROSTER_TOOLS_DEMO_COMMAND_H_
#define ROSTER_TOOLS_DEMO_COMMAND_H_

#include <functional>

namespace CLI {
class App;
}

namespace roster::tools {

void AddDemoCommand(CLI::App& app, std::function<int()>& run);

}  // namespace roster::tools

#endif  // ROSTER_TOOLS_DEMO_COMMAND_H_
