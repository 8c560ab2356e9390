// Unit tests of core::QueryFilter: which members a query selects by name
// and by tag, the bounds an application's filter is held to, and what a
// filter from the wire that breaks them gets.
#include "core/query_filter.h"

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/roster.pb.h"
#include "roster/tags.h"

namespace roster::core {
namespace {

using ::testing::HasSubstr;

std::string Tags(const std::map<std::string, std::string>& tags) {
  auto meta = EncodeTags(tags);
  EXPECT_TRUE(meta.ok()) << meta.status();
  return meta.ok() ? *meta : std::string();
}

TEST(QueryFilterTest, AnEmptyFilterSelectsEveryoneAndEncodesToNothing) {
  auto filter = QueryFilter::FromParams({}, {});
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_TRUE(filter->encoded().empty());
  EXPECT_TRUE(filter->Selects("anyone", ""));
  EXPECT_TRUE(filter->Selects("other", "not tags at all"));
  auto decoded = QueryFilter::Decode("");
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->Selects("anyone", ""));
}

TEST(QueryFilterTest, ByNodesSelectsOnlyThoseNamed) {
  auto filter = QueryFilter::FromParams({"a", "c"}, {});
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_TRUE(filter->Selects("a", ""));
  EXPECT_FALSE(filter->Selects("b", ""));
  EXPECT_TRUE(filter->Selects("c", ""));
  // A name is matched whole.
  EXPECT_FALSE(filter->Selects("aa", ""));
}

TEST(QueryFilterTest, ByTagsMatchesAnywhereInTheValueUnlessAnchored) {
  auto partial = QueryFilter::FromParams({}, {{"role", "web"}});
  ASSERT_TRUE(partial.ok()) << partial.status();
  EXPECT_TRUE(partial->Selects("m", Tags({{"role", "web"}})));
  EXPECT_TRUE(partial->Selects("m", Tags({{"role", "frontweb-2"}})));
  EXPECT_FALSE(partial->Selects("m", Tags({{"role", "db"}})));
  // A member without the tag does not match.
  EXPECT_FALSE(partial->Selects("m", Tags({{"zone", "web"}})));
  EXPECT_FALSE(partial->Selects("m", ""));

  auto anchored = QueryFilter::FromParams({}, {{"role", "^web$"}});
  ASSERT_TRUE(anchored.ok()) << anchored.status();
  EXPECT_TRUE(anchored->Selects("m", Tags({{"role", "web"}})));
  EXPECT_FALSE(anchored->Selects("m", Tags({{"role", "frontweb-2"}})));
  EXPECT_FALSE(anchored->Selects("m", Tags({{"role", "web2"}})));
}

TEST(QueryFilterTest, EveryTagFilterAndTheNamesMustMatch) {
  auto filter = QueryFilter::FromParams({"a", "b"},
                                        {{"role", "^web$"}, {"zone", "eu-.*"}});
  ASSERT_TRUE(filter.ok()) << filter.status();
  const std::string both = Tags({{"role", "web"}, {"zone", "eu-west"}});
  EXPECT_TRUE(filter->Selects("a", both));
  EXPECT_FALSE(filter->Selects("z", both)) << "not named";
  EXPECT_FALSE(filter->Selects("a", Tags({{"role", "web"}, {"zone", "us"}})));
  EXPECT_FALSE(filter->Selects("a", Tags({{"role", "web"}})));
}

TEST(QueryFilterTest, MetadataThatIsNotTagsMatchesNoTagFilter) {
  const std::string meta = "no equals sign here";
  ASSERT_FALSE(DecodeTags(meta).has_value()) << "the test needs non-tags";
  auto by_tag = QueryFilter::FromParams({}, {{"role", ".*"}});
  ASSERT_TRUE(by_tag.ok()) << by_tag.status();
  EXPECT_FALSE(by_tag->Selects("m", meta));
  // Without tag filters the metadata is not looked at.
  auto by_name = QueryFilter::FromParams({"m"}, {});
  ASSERT_TRUE(by_name.ok()) << by_name.status();
  EXPECT_TRUE(by_name->Selects("m", meta));
}

TEST(QueryFilterTest, ABadRegexIsRefusedNamingItsTag) {
  auto filter = QueryFilter::FromParams({}, {{"role", "web("}});
  ASSERT_FALSE(filter.ok());
  EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(filter.status().message(), HasSubstr("'role'"));
  EXPECT_THAT(filter.status().message(), HasSubstr("does not compile"));
  // RE2's own word for what is wrong follows.
  EXPECT_THAT(filter.status().message(), HasSubstr("missing )"));
}

TEST(QueryFilterTest, ATagFilterNeedsAKey) {
  auto filter = QueryFilter::FromParams({}, {{"", "x"}});
  ASSERT_FALSE(filter.ok());
  EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(filter.status().message(), HasSubstr("no key"));
}

TEST(QueryFilterTest, TooManyNodesOrTagsAreRefused) {
  std::vector<std::string> nodes(QueryFilter::kMaxNodes, "n");
  EXPECT_TRUE(QueryFilter::FromParams(nodes, {}).ok());
  nodes.push_back("one-more");
  auto many_nodes = QueryFilter::FromParams(nodes, {});
  ASSERT_FALSE(many_nodes.ok());
  EXPECT_EQ(many_nodes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(many_nodes.status().message(),
              HasSubstr("1025 members, over the limit of 1024"));

  std::vector<TagFilter> tags(QueryFilter::kMaxTags, TagFilter{"k", "v"});
  EXPECT_TRUE(QueryFilter::FromParams({}, tags).ok());
  tags.push_back(TagFilter{"k", "v"});
  auto many_tags = QueryFilter::FromParams({}, tags);
  ASSERT_FALSE(many_tags.ok());
  EXPECT_EQ(many_tags.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(many_tags.status().message(),
              HasSubstr("17 tag filters, over the limit of 16"));
}

TEST(QueryFilterTest, ARegexTooLongIsRefused) {
  const std::string longest(QueryFilter::kMaxRegexBytes, 'a');
  EXPECT_TRUE(QueryFilter::FromParams({}, {{"k", longest}}).ok());
  auto filter = QueryFilter::FromParams({}, {{"k", longest + "a"}});
  ASSERT_FALSE(filter.ok());
  EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(filter.status().message(),
              HasSubstr("'k' is 257 bytes, over the limit of 256"));
}

TEST(QueryFilterTest, TheWireFormSelectsAsTheFilterItCameFrom) {
  auto filter = QueryFilter::FromParams({"a", "b"}, {{"role", "^web"}});
  ASSERT_TRUE(filter.ok()) << filter.status();
  ASSERT_FALSE(filter->encoded().empty());
  auto decoded = QueryFilter::Decode(filter->encoded());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->encoded(), filter->encoded());
  for (const char* name : {"a", "b", "c"}) {
    for (const char* role : {"web", "webby", "db", "aweb"}) {
      const std::string meta = Tags({{"role", role}});
      EXPECT_EQ(decoded->Selects(name, meta), filter->Selects(name, meta))
          << name << " " << role;
    }
  }
  EXPECT_TRUE(decoded->Selects("a", Tags({{"role", "webby"}})));
  EXPECT_FALSE(decoded->Selects("a", Tags({{"role", "aweb"}})));
}

TEST(QueryFilterTest, AWireFilterThatDoesNotParseIsRefused) {
  // A field 1 (bytes) whose length runs past the end.
  auto filter = QueryFilter::Decode(std::string("\x0a\x7f", 2));
  ASSERT_FALSE(filter.ok());
  EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(filter.status().message(), HasSubstr("does not parse"));
}

TEST(QueryFilterTest, AWireFilterIsHeldToTheSameBounds) {
  wire::QueryFilter bad_regex;
  wire::TagFilter* tag = bad_regex.add_tags();
  tag->set_key("role");
  tag->set_regex("(");
  auto filter = QueryFilter::Decode(bad_regex.SerializeAsString());
  ASSERT_FALSE(filter.ok());
  EXPECT_THAT(filter.status().message(), HasSubstr("does not compile"));

  wire::QueryFilter many;
  for (size_t i = 0; i <= QueryFilter::kMaxTags; ++i) {
    wire::TagFilter* t = many.add_tags();
    t->set_key("k");
    t->set_regex("v");
  }
  auto too_many = QueryFilter::Decode(many.SerializeAsString());
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace roster::core
