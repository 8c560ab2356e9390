// Tags (roster/tags.h). Built with the protocol core, which selects the
// members of a query by them.
#include "roster/tags.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "util/string_view.h"

namespace roster {

absl::StatusOr<std::string> EncodeTags(
    const std::map<std::string, std::string>& tags) {
  std::string out;
  for (const auto& [key, value] : tags) {
    if (key.empty() || key.find_first_of("=\n") != std::string::npos)
      return absl::InvalidArgumentError(absl::StrCat(
          "tag key '", key, "' is empty or holds '=' or a newline"));
    if (value.find('\n') != std::string::npos)
      return absl::InvalidArgumentError(
          absl::StrCat("tag '", key, "' has a newline in its value"));
    if (!out.empty()) out.push_back('\n');
    absl::StrAppend(&out, key, "=", value);
  }
  return out;
}

std::optional<std::map<std::string, std::string>> DecodeTags(
    std::string_view meta) {
  std::map<std::string, std::string> tags;
  if (meta.empty()) return tags;
  for (absl::string_view line : absl::StrSplit(util::ToAbsl(meta), '\n')) {
    size_t eq = line.find('=');
    if (eq == 0 || eq == absl::string_view::npos) return std::nullopt;
    tags[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  return tags;
}

}  // namespace roster
