// Debian's abseil keeps absl::string_view distinct from std::string_view;
// lib/net speaks std::string_view and converts at abseil's edge.
#ifndef ROSTER_NET_STRINGS_H_
#define ROSTER_NET_STRINGS_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace roster::net {

inline absl::string_view Absl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view Std(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

}  // namespace roster::net

#endif  // ROSTER_NET_STRINGS_H_
