// A strict command-line flag parser for roster's tools: every flag must be
// declared, every value must parse, and every mistake comes back as one
// line a person can act on.
#ifndef ROSTER_TOOLS_FLAGS_H_
#define ROSTER_TOOLS_FLAGS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace roster::tools {

class Flags {
 public:
  // `with_value` flags take one argument (--x V or --x=V); `switches` none.
  Flags(std::vector<std::string> with_value, std::vector<std::string> switches)
      : with_value_(std::move(with_value)), switches_(std::move(switches)) {}

  // Parses argv[first..argc); positional arguments are kept in order.
  absl::Status Parse(int argc, char** argv, int first = 1);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // The last value of a flag, or `fallback`.
  std::string Get(const std::string& name, std::string fallback) const;
  // Every value of a repeatable flag (--join A --join B), in order.
  std::vector<std::string> GetAll(const std::string& name) const;
  absl::StatusOr<int64_t> GetInt(const std::string& name, int64_t fallback,
                                 int64_t min, int64_t max) const;
  absl::StatusOr<uint64_t> GetUint(const std::string& name,
                                   uint64_t fallback) const;
  absl::StatusOr<double> GetDouble(const std::string& name, double fallback,
                                   double min, double max) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::vector<std::string> with_value_;
  std::vector<std::string> switches_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> all_values_;
  std::vector<std::string> positional_;
};

}  // namespace roster::tools

#endif  // ROSTER_TOOLS_FLAGS_H_
