// The JSON the tools print and the agent's RPC carries: one shape per kind
// of thing (a member, a membership event, a user event, a query), written
// by nlohmann-json, so that `roster members --json`, the agent's stdout and
// `roster monitor` agree.
#ifndef ROSTER_TOOLS_JSON_LINES_H_
#define ROSTER_TOOLS_JSON_LINES_H_

#include <string>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "roster/events.h"
#include "roster/member.h"

namespace roster::tools {

using Json = nlohmann::ordered_json;

// A member's metadata as an object of tags, or {"": raw} when it does not
// decode as tags.
Json MetaJson(const std::string& meta);
// name, addr, state, incarnation, life, reachability, meta, last_change,
// changed_s_ago (from `now`), rtt_ms (null before the first probe).
Json MemberJson(const MemberInfo& member, absl::Time now);
// {"event": "joined", "member", "addr", "incarnation", "life",
//  "reachability", "at"}
Json EventJson(const Event& event);
// {"event": "user", "name", "payload", "origin", "ltime", "at"}
Json UserEventJson(const UserEvent& event);
// {"event": "query", "name", "payload", "origin", "ltime", "at"}
Json QueryJson(const QueryRequest& query);

}  // namespace roster::tools

#endif  // ROSTER_TOOLS_JSON_LINES_H_
