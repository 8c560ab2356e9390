// Which members a query selects (QueryParams::nodes and ::tags): written
// once by the querier, carried encoded in Query.filter, and applied by
// each receiver to itself and by the querier to its table (the members it
// expects to answer).
#ifndef ROSTER_CORE_QUERY_FILTER_H_
#define ROSTER_CORE_QUERY_FILTER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "roster/events.h"

namespace re2 {
class RE2;
}

namespace roster::core {

class QueryFilter {
 public:
  // A filter's bounds: a regex's length (RE2's memory is bounded too), and
  // how many names and tag filters it may hold.
  static constexpr size_t kMaxRegexBytes = 256;
  static constexpr size_t kMaxNodes = 1024;
  static constexpr size_t kMaxTags = 16;

  // From the application: InvalidArgument naming what is wrong (too many,
  // an empty key, a regex RE2 refuses).
  static absl::StatusOr<QueryFilter> FromParams(
      const std::vector<std::string>& nodes,
      const std::vector<TagFilter>& tags);
  // From the wire (an encoded wire::QueryFilter; empty selects everyone):
  // InvalidArgument when it does not parse or breaks a bound.
  static absl::StatusOr<QueryFilter> Decode(std::string_view encoded);

  QueryFilter(QueryFilter&&) noexcept;
  QueryFilter& operator=(QueryFilter&&) noexcept;
  ~QueryFilter();

  // Whether a member with this name and metadata (tags, roster/tags.h) is
  // selected. Metadata that is not tags matches no tag filter.
  bool Selects(std::string_view name, std::string_view meta) const;
  // The wire form (empty when it selects everyone).
  const std::string& encoded() const { return encoded_; }

 private:
  struct Tag {
    std::string key;
    std::unique_ptr<re2::RE2> regex;
  };
  QueryFilter() = default;
  static absl::StatusOr<QueryFilter> Build(std::vector<std::string> nodes,
                                           std::vector<TagFilter> tags);

  absl::flat_hash_set<std::string> nodes_;
  std::vector<Tag> tags_;
  std::string encoded_;
};

}  // namespace roster::core

#endif  // ROSTER_CORE_QUERY_FILTER_H_
