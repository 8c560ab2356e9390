#include "core/query_filter.h"

#include <re2/re2.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "proto/roster.pb.h"
#include "roster/tags.h"
#include "util/string_view.h"

namespace roster::core {

QueryFilter::QueryFilter(QueryFilter&&) noexcept = default;
QueryFilter& QueryFilter::operator=(QueryFilter&&) noexcept = default;
QueryFilter::~QueryFilter() = default;

absl::StatusOr<QueryFilter> QueryFilter::Build(std::vector<std::string> nodes,
                                               std::vector<TagFilter> tags) {
  if (nodes.size() > kMaxNodes)
    return absl::InvalidArgumentError(
        absl::StrCat("a query names ", nodes.size(),
                     " members, over the limit of ", kMaxNodes));
  if (tags.size() > kMaxTags)
    return absl::InvalidArgumentError(
        absl::StrCat("a query has ", tags.size(),
                     " tag filters, over the limit of ", kMaxTags));
  QueryFilter filter;
  wire::QueryFilter proto;
  for (std::string& node : nodes) {
    proto.add_nodes(node);
    filter.nodes_.insert(std::move(node));
  }
  for (TagFilter& tag : tags) {
    if (tag.key.empty())
      return absl::InvalidArgumentError("a query's tag filter has no key");
    if (tag.regex.size() > kMaxRegexBytes)
      return absl::InvalidArgumentError(absl::StrCat(
          "the regex of tag filter '", tag.key, "' is ", tag.regex.size(),
          " bytes, over the limit of ", kMaxRegexBytes));
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(1 << 20);
    auto regex = std::make_unique<re2::RE2>(tag.regex, options);
    if (!regex->ok())
      return absl::InvalidArgumentError(
          absl::StrCat("the regex of tag filter '", tag.key,
                       "' does not compile: ", regex->error()));
    wire::TagFilter* out = proto.add_tags();
    out->set_key(tag.key);
    out->set_regex(tag.regex);
    filter.tags_.push_back(Tag{std::move(tag.key), std::move(regex)});
  }
  if (proto.nodes_size() > 0 || proto.tags_size() > 0)
    filter.encoded_ = proto.SerializeAsString();
  return filter;
}

absl::StatusOr<QueryFilter> QueryFilter::FromParams(
    const std::vector<std::string>& nodes, const std::vector<TagFilter>& tags) {
  return Build(nodes, tags);
}

absl::StatusOr<QueryFilter> QueryFilter::Decode(std::string_view encoded) {
  if (encoded.empty()) return QueryFilter();
  wire::QueryFilter proto;
  if (!proto.ParseFromString(std::string(encoded)))
    return absl::InvalidArgumentError("a query's filter does not parse");
  std::vector<std::string> nodes(proto.nodes().begin(), proto.nodes().end());
  std::vector<TagFilter> tags;
  for (const wire::TagFilter& tag : proto.tags())
    tags.push_back(TagFilter{tag.key(), tag.regex()});
  return Build(std::move(nodes), std::move(tags));
}

bool QueryFilter::Selects(std::string_view name, std::string_view meta) const {
  if (!nodes_.empty() && !nodes_.contains(util::ToAbsl(name))) return false;
  if (tags_.empty()) return true;
  auto tags = DecodeTags(meta);
  if (!tags) return false;
  for (const Tag& tag : tags_) {
    auto it = tags->find(tag.key);
    if (it == tags->end() || !RE2::PartialMatch(it->second, *tag.regex))
      return false;
  }
  return true;
}

}  // namespace roster::core
