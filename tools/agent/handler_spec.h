// What an --event-handler value means, apart from running it: the filters
// an operator writes ([FILTER[,FILTER...]=]PROGRAM), which events and
// queries they select, and the stdin line a membership event is told as.
// Kept apart from the running of programs (tools/agent/handler_process.h)
// and the queues and threads (tools/agent/event_handlers.h), so that the
// rules an operator relies on, the same as Serf's, can be read on their own
// and change without touching either.
#ifndef ROSTER_TOOLS_AGENT_HANDLER_SPEC_H_
#define ROSTER_TOOLS_AGENT_HANDLER_SPEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "roster/member.h"

namespace roster::tools {

// One filter of a handler: what its program runs for.
struct EventFilter {
  enum class Kind : uint8_t {
    kAll,            // "*": every event and query
    kMemberJoin,     // "member-join": EventType::kJoined
    kMemberLeave,    // "member-leave": EventType::kLeft
    kMemberFailed,   // "member-failed": EventType::kFailed
    kMemberUpdate,   // "member-update": EventType::kUpdated
    kMemberRestart,  // "member-restart": EventType::kRestarted
    kUser,           // "user" (every user event) or "user:NAME"
    kQuery,          // "query" (every query) or "query:NAME"
  };
  Kind kind = Kind::kAll;
  // For kUser and kQuery: only the event or query of exactly this name;
  // empty for every one.
  std::string name;

  bool operator==(const EventFilter&) const = default;
};

// A parsed --event-handler value.
struct HandlerSpec {
  std::vector<EventFilter> filters;  // never empty; {kAll} when none given
  std::string program;               // given to /bin/sh -c as it is
  std::string text;                  // the spec as written, for log lines
};

// Parses "[FILTER[,FILTER...]=]PROGRAM". The text before the first '=' is
// the filter list, as in Serf, so a program that holds '=' needs one
// ("*=FOO=1 ./handler.sh"). InvalidArgument, one line naming the part at
// fault, for an unknown or empty filter, a "user:" or "query:" without a
// name, or an empty program.
absl::StatusOr<HandlerSpec> ParseHandlerSpec(std::string_view spec);

// The value ROSTER_EVENT takes for a membership event: "member-join",
// "member-leave", "member-failed", "member-update" or "member-restart";
// nullopt for the types no handler runs for (suspected, recovered and the
// self- types, which Serf has no event for).
std::optional<std::string_view> HandlerEventName(EventType type);

// The stdin line for one member of a membership event, newline included:
// "NAME\tADDR\tSTATE\tTAGS\n", STATE as MemberStateName, TAGS the member's
// tags (roster/tags.h) as "k=v,k=v" sorted by key (empty when its meta is
// not tags). A tab, newline or backslash inside a field is written as \t,
// \n or \\, so that the line always has four fields.
std::string MemberLine(const MemberInfo& member);

// Helpers of the handlers' own sources (tools/agent/*.cc), not for callers.
namespace handler_spec {

// Debian's abseil keeps absl::string_view a class of its own (roster/types.h).
inline absl::string_view Av(std::string_view s) { return {s.data(), s.size()}; }

// The filter kind that selects a membership event of `type`; nullopt for
// the types no handler runs for (as HandlerEventName).
std::optional<EventFilter::Kind> KindOf(EventType type);

// Whether `spec` selects a membership event whose filter kind is `kind`:
// a filter of that kind, or "*".
bool SelectsMembership(const HandlerSpec& spec, EventFilter::Kind kind);

// Whether `spec` selects the user event or query (`kind` kUser or kQuery)
// called `name`: "*", or a filter of that kind with no name or this one.
bool SelectsNamed(const HandlerSpec& spec, EventFilter::Kind kind,
                  std::string_view name);

// Whether the handler can run for anything but a query, and so needs a
// worker.
bool NeedsWorker(const HandlerSpec& spec);

// A field of a stdin line: tabs and newlines would break the line's shape.
// Returns `s` with each tab, newline and backslash written as \t, \n, \\.
std::string EscapeField(std::string_view s);

}  // namespace handler_spec
}  // namespace roster::tools

#endif  // ROSTER_TOOLS_AGENT_HANDLER_SPEC_H_
