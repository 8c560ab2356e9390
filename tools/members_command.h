// `roster members`, and the member table the other commands print.
#ifndef ROSTER_TOOLS_MEMBERS_COMMAND_H_
#define ROSTER_TOOLS_MEMBERS_COMMAND_H_

#include <functional>
#include <string>
#include <vector>

#include "roster/member.h"

namespace CLI {
class App;
}

namespace roster::tools {

void AddMembersCommand(CLI::App& app, std::function<int()>& run);

// `members` as `roster members` prints them: a column per field.
std::string Table(const std::vector<MemberInfo>& members);

}  // namespace roster::tools

#endif  // ROSTER_TOOLS_MEMBERS_COMMAND_H_
