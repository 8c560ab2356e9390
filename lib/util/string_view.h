// Debian's abseil keeps absl::string_view distinct from std::string_view.
// roster speaks std::string_view; these convert at the edge of abseil (its
// containers, StrCat, Status messages), in every layer.
#ifndef ROSTER_UTIL_STRING_VIEW_H_
#define ROSTER_UTIL_STRING_VIEW_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace roster::util {

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

inline std::string_view ToStd(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

}  // namespace roster::util

#endif  // ROSTER_UTIL_STRING_VIEW_H_
