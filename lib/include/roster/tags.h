// Member metadata as tags: "key=value" lines. The protocol carries
// MemberInfo::meta as opaque bytes; this is one convention for what an
// application puts there (the roster command line's --meta KEY=VALUE, and
// what `roster members` shows), kept apart from roster/node.h because it
// is a format, not part of running a member.
#ifndef ROSTER_TAGS_H_
#define ROSTER_TAGS_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace roster {

// Keys are non-empty and hold no '=' or newline; values hold no newline.
absl::StatusOr<std::string> EncodeTags(
    const std::map<std::string, std::string>& tags);
// nullopt if `meta` is not in that form.
std::optional<std::map<std::string, std::string>> DecodeTags(
    std::string_view meta);

}  // namespace roster

#endif  // ROSTER_TAGS_H_
