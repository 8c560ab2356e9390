// Debian's abseil keeps absl::string_view distinct from std::string_view.
// roster speaks std::string_view; this converts at the edge of abseil's
// containers.
#ifndef ROSTER_CORE_STRING_VIEW_H_
#define ROSTER_CORE_STRING_VIEW_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace roster::core {

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

inline std::string_view ToStd(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

}  // namespace roster::core

#endif  // ROSTER_CORE_STRING_VIEW_H_
