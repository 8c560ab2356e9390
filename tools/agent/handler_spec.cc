#include "tools/agent/handler_spec.h"

#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "roster/tags.h"

namespace roster::tools {

using handler_spec::Av;
using handler_spec::EscapeField;
using handler_spec::KindOf;

namespace {

// ---------------------------------------------------------------- parsing

struct FilterName {
  std::string_view text;
  EventFilter::Kind kind;
};

constexpr FilterName kFilterNames[] = {
    {"*", EventFilter::Kind::kAll},
    {"member-join", EventFilter::Kind::kMemberJoin},
    {"member-leave", EventFilter::Kind::kMemberLeave},
    {"member-failed", EventFilter::Kind::kMemberFailed},
    {"member-update", EventFilter::Kind::kMemberUpdate},
    {"member-restart", EventFilter::Kind::kMemberRestart},
    {"user", EventFilter::Kind::kUser},
    {"query", EventFilter::Kind::kQuery},
};

constexpr char kFilterList[] =
    "member-join, member-leave, member-failed, member-update, "
    "member-restart, user, user:NAME, query, query:NAME or *";

absl::StatusOr<EventFilter> ParseFilter(std::string_view text,
                                        std::string_view spec) {
  EventFilter filter;
  std::string_view kind = text;
  const size_t colon = text.find(':');
  if (colon != std::string_view::npos) {
    kind = text.substr(0, colon);
    filter.name = std::string(text.substr(colon + 1));
    if (kind != "user" && kind != "query") {
      return absl::InvalidArgumentError(absl::StrCat(
          "event handler \"", Av(spec), "\": filter \"", Av(text),
          "\": only user: and query: take a name; want ", kFilterList));
    }
    if (filter.name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("event handler \"", Av(spec), "\": filter \"", Av(text),
                       "\" names no ", Av(kind), "; want ", Av(kind), ":NAME"));
    }
  }
  for (const FilterName& f : kFilterNames) {
    if (f.text == kind) {
      filter.kind = f.kind;
      return filter;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("event handler \"", Av(spec), "\": unknown filter \"",
                   Av(text), "\"; want ", kFilterList,
                   " (a program holding '=' needs a filter: \"*=PROGRAM\")"));
}

}  // namespace

namespace handler_spec {

std::optional<EventFilter::Kind> KindOf(EventType type) {
  switch (type) {
    case EventType::kJoined:
      return EventFilter::Kind::kMemberJoin;
    case EventType::kLeft:
      return EventFilter::Kind::kMemberLeave;
    case EventType::kFailed:
      return EventFilter::Kind::kMemberFailed;
    case EventType::kUpdated:
      return EventFilter::Kind::kMemberUpdate;
    case EventType::kRestarted:
      return EventFilter::Kind::kMemberRestart;
    case EventType::kSuspected:
    case EventType::kRecovered:
    case EventType::kSelfSuspected:
    case EventType::kSelfFailed:
      break;
  }
  return std::nullopt;
}

bool SelectsMembership(const HandlerSpec& spec, EventFilter::Kind kind) {
  for (const EventFilter& f : spec.filters) {
    if (f.kind == EventFilter::Kind::kAll || f.kind == kind) return true;
  }
  return false;
}

bool SelectsNamed(const HandlerSpec& spec, EventFilter::Kind kind,
                  std::string_view name) {
  for (const EventFilter& f : spec.filters) {
    if (f.kind == EventFilter::Kind::kAll) return true;
    if (f.kind == kind && (f.name.empty() || f.name == name)) return true;
  }
  return false;
}

bool NeedsWorker(const HandlerSpec& spec) {
  for (const EventFilter& f : spec.filters) {
    if (f.kind != EventFilter::Kind::kQuery) return true;
  }
  return false;
}

std::string EscapeField(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace handler_spec

absl::StatusOr<HandlerSpec> ParseHandlerSpec(std::string_view spec) {
  HandlerSpec parsed;
  parsed.text = std::string(spec);
  std::string_view program = spec;
  const size_t eq = spec.find('=');
  if (eq != std::string_view::npos) {
    const std::string_view filters = spec.substr(0, eq);
    program = spec.substr(eq + 1);
    for (absl::string_view piece : absl::StrSplit(Av(filters), ',')) {
      const std::string_view f(piece.data(), piece.size());
      if (f.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("event handler \"", Av(spec),
                         "\": empty filter before '='; want ", kFilterList));
      }
      absl::StatusOr<EventFilter> filter = ParseFilter(f, spec);
      if (!filter.ok()) return filter.status();
      parsed.filters.push_back(*std::move(filter));
    }
  } else {
    parsed.filters.push_back(EventFilter{});
  }
  if (absl::StripAsciiWhitespace(Av(program)).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("event handler \"", Av(spec), "\" has no program"));
  }
  parsed.program = std::string(program);
  return parsed;
}

std::optional<std::string_view> HandlerEventName(EventType type) {
  const std::optional<EventFilter::Kind> kind = KindOf(type);
  if (!kind) return std::nullopt;
  for (const FilterName& f : kFilterNames) {
    if (f.kind == *kind) return f.text;
  }
  return std::nullopt;
}

std::string MemberLine(const MemberInfo& member) {
  std::string tags;
  if (std::optional<std::map<std::string, std::string>> decoded =
          DecodeTags(member.meta)) {
    tags = absl::StrJoin(*decoded, ",", absl::PairFormatter("="));
  }
  return absl::StrCat(EscapeField(member.name), "\t", EscapeField(member.addr),
                      "\t", Av(MemberStateName(member.state)), "\t",
                      EscapeField(tags), "\n");
}

}  // namespace roster::tools
