#include "tools/flags.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace roster::tools {
namespace {

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

absl::Status Flags::Parse(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool inline_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    if (Contains(switches_, name)) {
      if (inline_value)
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " takes no value"));
      values_[name] = "true";
      continue;
    }
    if (!Contains(with_value_, name))
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    if (!inline_value) {
      if (i + 1 >= argc)
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " needs a value"));
      value = argv[++i];
    }
    values_[name] = value;
    all_values_[name].push_back(value);
  }
  return absl::OkStatus();
}

std::string Flags::Get(const std::string& name, std::string fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::vector<std::string> Flags::GetAll(const std::string& name) const {
  auto it = all_values_.find(name);
  return it == all_values_.end() ? std::vector<std::string>{} : it->second;
}

absl::StatusOr<int64_t> Flags::GetInt(const std::string& name, int64_t fallback,
                                      int64_t min, int64_t max) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  const std::string& s = it->second;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno == ERANGE)
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": '", s, "' is not an integer"));
  if (v < min || v > max)
    return absl::InvalidArgumentError(absl::StrCat(
        "--", name, ": ", v, " is out of range [", min, ", ", max, "]"));
  return static_cast<int64_t>(v);
}

absl::StatusOr<uint64_t> Flags::GetUint(const std::string& name,
                                        uint64_t fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  const std::string& s = it->second;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (s.empty() || s[0] == '-' || *end != '\0' || errno == ERANGE)
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": '", s, "' is not a non-negative integer"));
  return static_cast<uint64_t>(v);
}

absl::StatusOr<double> Flags::GetDouble(const std::string& name,
                                        double fallback, double min,
                                        double max) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  const std::string& s = it->second;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": '", s, "' is not a number"));
  if (v < min || v > max)
    return absl::InvalidArgumentError(absl::StrCat(
        "--", name, ": ", v, " is out of range [", min, ", ", max, "]"));
  return v;
}

}  // namespace roster::tools
