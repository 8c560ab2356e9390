// Unit tests for lib/include/roster/config.h: the DESIGN.md profiles,
// profile names and Config::Validate.
#include "roster/config.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace roster {
namespace {

using ::testing::HasSubstr;

// The DESIGN.md "Configuration" table, one column per profile.
struct ProfileTable {
  Profile profile;
  absl::Duration probe_interval;
  absl::Duration probe_timeout;
  int indirect_checks;
  int suspicion_mult;
  int suspicion_max_timeout_mult;
  int retransmit_mult;
  absl::Duration gossip_interval;
  int gossip_nodes;
  absl::Duration gossip_to_the_dead;
  absl::Duration push_pull_interval;
  int awareness_max_multiplier;
  size_t packet_budget;
};

const ProfileTable kDesignTable[] = {
    {Profile::kLan, absl::Seconds(1), absl::Milliseconds(500), 3, 4, 6, 4,
     absl::Milliseconds(200), 3, absl::Seconds(30), absl::Seconds(30), 8, 1400},
    {Profile::kWan, absl::Seconds(5), absl::Seconds(3), 3, 6, 6, 4,
     absl::Milliseconds(500), 4, absl::Seconds(60), absl::Seconds(60), 8, 1400},
    {Profile::kLocal, absl::Seconds(1), absl::Milliseconds(200), 1, 3, 6, 2,
     absl::Milliseconds(100), 3, absl::Seconds(15), absl::Seconds(15), 8, 1400},
};

TEST(ConfigProfileTest, ProfilesMatchDesignTable) {
  for (const ProfileTable& want : kDesignTable) {
    SCOPED_TRACE(std::string(ProfileName(want.profile)));
    const Config c = Config::ForProfile(want.profile, "n1", "127.0.0.1:7946");
    EXPECT_EQ(c.probe_interval, want.probe_interval);
    EXPECT_EQ(c.probe_timeout, want.probe_timeout);
    EXPECT_EQ(c.indirect_checks, want.indirect_checks);
    EXPECT_EQ(c.suspicion_mult, want.suspicion_mult);
    EXPECT_EQ(c.suspicion_max_timeout_mult, want.suspicion_max_timeout_mult);
    EXPECT_EQ(c.retransmit_mult, want.retransmit_mult);
    EXPECT_EQ(c.gossip_interval, want.gossip_interval);
    EXPECT_EQ(c.gossip_nodes, want.gossip_nodes);
    EXPECT_EQ(c.gossip_to_the_dead, want.gossip_to_the_dead);
    EXPECT_EQ(c.push_pull_interval, want.push_pull_interval);
    EXPECT_EQ(c.awareness_max_multiplier, want.awareness_max_multiplier);
    EXPECT_EQ(c.packet_budget, want.packet_budget);
    // Lifeguard is on unless the user turns it off.
    EXPECT_TRUE(c.lifeguard);
  }
}

TEST(ConfigProfileTest, ForProfileSetsIdentity) {
  for (Profile p : {Profile::kLan, Profile::kWan, Profile::kLocal}) {
    const Config c = Config::ForProfile(p, "node-a", "10.1.2.3:7946");
    EXPECT_EQ(c.name, "node-a");
    EXPECT_EQ(c.advertise_addr, "10.1.2.3:7946");
    EXPECT_TRUE(c.meta.empty());
    EXPECT_TRUE(c.label.empty());
    EXPECT_EQ(c.initial_incarnation, 0u);
  }
}

TEST(ConfigProfileTest, ProfilesAreDistinct) {
  const Config lan = Config::ForProfile(Profile::kLan, "a", "h:1");
  const Config wan = Config::ForProfile(Profile::kWan, "a", "h:1");
  const Config local = Config::ForProfile(Profile::kLocal, "a", "h:1");
  EXPECT_GT(wan.probe_interval, lan.probe_interval);
  EXPECT_LT(local.probe_timeout, lan.probe_timeout);
  EXPECT_LT(local.gossip_interval, lan.gossip_interval);
}

TEST(ConfigProfileTest, ProfileDefaultsValidate) {
  for (Profile p : {Profile::kLan, Profile::kWan, Profile::kLocal}) {
    const Config c = Config::ForProfile(p, "node-a", "127.0.0.1:7946");
    EXPECT_TRUE(c.Validate().ok())
        << ProfileName(p) << ": " << c.Validate().message();
  }
}

// ---------------------------------------------------------------------------
// ParseProfile / ProfileName.

TEST(ParseProfileTest, AcceptsTheThreeNames) {
  absl::StatusOr<Profile> lan = ParseProfile("lan");
  ASSERT_TRUE(lan.ok()) << lan.status();
  EXPECT_EQ(*lan, Profile::kLan);
  absl::StatusOr<Profile> wan = ParseProfile("wan");
  ASSERT_TRUE(wan.ok()) << wan.status();
  EXPECT_EQ(*wan, Profile::kWan);
  absl::StatusOr<Profile> local = ParseProfile("local");
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ(*local, Profile::kLocal);
}

TEST(ParseProfileTest, RejectsOthersWithAMessage) {
  for (const char* bad :
       {"", "lan ", " lan", "lanx", "wa", "loc", "datacenter", "default"}) {
    absl::StatusOr<Profile> p = ParseProfile(bad);
    ASSERT_FALSE(p.ok()) << "'" << bad << "' accepted";
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_FALSE(p.status().message().empty()) << bad;
  }
  absl::StatusOr<Profile> p = ParseProfile("datacenter");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("datacenter"));
}

TEST(ParseProfileTest, NamesRoundTrip) {
  for (Profile p : {Profile::kLan, Profile::kWan, Profile::kLocal}) {
    absl::StatusOr<Profile> parsed = ParseProfile(ProfileName(p));
    ASSERT_TRUE(parsed.ok()) << ProfileName(p);
    EXPECT_EQ(*parsed, p);
  }
  EXPECT_EQ(ProfileName(Profile::kLan), "lan");
  EXPECT_EQ(ProfileName(Profile::kWan), "wan");
  EXPECT_EQ(ProfileName(Profile::kLocal), "local");
}

// ---------------------------------------------------------------------------
// Validate.

Config Valid() {
  return Config::ForProfile(Profile::kLan, "node-a", "127.0.0.1:7946");
}

// Expects InvalidArgument whose message names `field`.
void ExpectInvalid(const Config& c, const std::string& field) {
  const absl::Status s = c.Validate();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument)
      << "expected " << field << " to be rejected; got " << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(field));
}

TEST(ValidateTest, AcceptsDefaultsWithNameAndAddress) {
  EXPECT_TRUE(Valid().Validate().ok()) << Valid().Validate();
}

TEST(ValidateTest, DefaultConstructedConfigLacksIdentity) {
  Config c;
  EXPECT_FALSE(c.Validate().ok());
}

TEST(ValidateTest, RejectsEmptyName) {
  Config c = Valid();
  c.name = "";
  ExpectInvalid(c, "name");
}

TEST(ValidateTest, NameLengthBound) {
  Config c = Valid();
  c.name = std::string(c.limits.max_name_bytes, 'n');
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
  c.name = std::string(c.limits.max_name_bytes + 1, 'n');
  ExpectInvalid(c, "name");
  c.name = std::string(10000, 'n');
  ExpectInvalid(c, "name");
}

TEST(ValidateTest, RejectsControlCharactersInName) {
  Config c = Valid();
  c.name = std::string("node\0a", 6);
  ExpectInvalid(c, "name");
  c.name = "node\na";
  ExpectInvalid(c, "name");
}

// The wire's rule, not a looser one: a member named "a\x7f" would start,
// and then every peer would drop its news as malformed.
TEST(ValidateTest, NamesFollowTheWiresRule) {
  Config c = Valid();
  c.name = "a\x7f";
  ExpectInvalid(c, "name");
  c.name = "caf\xc3";  // a truncated UTF-8 sequence
  ExpectInvalid(c, "name");
  c.name = "\xc0\xafx";  // an overlong form
  ExpectInvalid(c, "name");
  c.name = "caf\xc3\xa9-7";  // well-formed UTF-8 is fine
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
  c = Valid();
  c.advertise_addr = "10.0.0.1:79\x7f";
  ExpectInvalid(c, "advertise_addr");
  c = Valid();
  c.initial_incarnation = (uint64_t{1} << 62) + 1;
  ExpectInvalid(c, "initial_incarnation");
}

TEST(ValidateTest, RejectsBadAddress) {
  Config c = Valid();
  c.advertise_addr = "";
  ExpectInvalid(c, "advertise_addr");
  c.advertise_addr = std::string(c.limits.max_addr_bytes + 1, '1');
  ExpectInvalid(c, "advertise_addr");
}

TEST(ValidateTest, RejectsOversizeMeta) {
  Config c = Valid();
  c.meta = std::string(c.limits.max_meta_bytes, 'm');
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
  c.meta = std::string(c.limits.max_meta_bytes + 1, 'm');
  ExpectInvalid(c, "meta");
}

TEST(ValidateTest, AnAckPayloadMustLeaveRoomInTheAck) {
  Config c = Valid();
  c.limits.max_ack_payload_bytes = c.packet_budget / 2;
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
  c.limits.max_ack_payload_bytes = c.packet_budget / 2 + 1;
  ExpectInvalid(c, "limits.max_ack_payload_bytes");
}

TEST(ValidateTest, LabelLengthBound) {
  // The label travels behind a single length byte.
  Config c = Valid();
  c.label = std::string(255, 'l');
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
  c.label = std::string(256, 'l');
  ExpectInvalid(c, "label");
}

TEST(ValidateTest, RejectsTimeoutLongerThanInterval) {
  Config c = Valid();
  c.probe_timeout = c.probe_interval + absl::Milliseconds(1);
  ExpectInvalid(c, "probe_timeout");
  c.probe_timeout = c.probe_interval;
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
}

TEST(ValidateTest, RejectsNonPositiveTimings) {
  {
    Config c = Valid();
    c.probe_interval = absl::ZeroDuration();
    ExpectInvalid(c, "probe_interval");
  }
  {
    Config c = Valid();
    c.probe_interval = -absl::Seconds(1);
    ExpectInvalid(c, "probe_interval");
  }
  {
    Config c = Valid();
    c.probe_timeout = -absl::Milliseconds(1);
    ExpectInvalid(c, "probe_timeout");
  }
  {
    Config c = Valid();
    c.probe_timeout = absl::ZeroDuration();
    ExpectInvalid(c, "probe_timeout");
  }
  {
    Config c = Valid();
    c.gossip_interval = -absl::Milliseconds(200);
    ExpectInvalid(c, "gossip_interval");
  }
  {
    Config c = Valid();
    c.gossip_interval = absl::ZeroDuration();
    ExpectInvalid(c, "gossip_interval");
  }
}

TEST(ValidateTest, RejectsNegativeIntervalsThatMayBeZero) {
  {
    Config c = Valid();
    c.push_pull_interval = -absl::Seconds(1);
    ExpectInvalid(c, "push_pull_interval");
    c.push_pull_interval = absl::ZeroDuration();  // disables
    EXPECT_TRUE(c.Validate().ok()) << c.Validate();
  }
  {
    Config c = Valid();
    c.reconnect_interval = -absl::Seconds(1);
    ExpectInvalid(c, "reconnect_interval");
    c.reconnect_interval = absl::ZeroDuration();  // disables
    EXPECT_TRUE(c.Validate().ok()) << c.Validate();
  }
}

// The remaining durations have no meaning when negative: a negative
// retention would forget the dead at once (inviting stale news to bring them
// back), and a negative gossip-to-the-dead window is an empty window.
TEST(ValidateTest, RejectsNegativeGossipToTheDead) {
  Config c = Valid();
  c.gossip_to_the_dead = -absl::Seconds(1);
  ExpectInvalid(c, "gossip_to_the_dead");
}

TEST(ValidateTest, RejectsNegativeDeadRetention) {
  Config c = Valid();
  c.dead_retention = -absl::Seconds(1);
  ExpectInvalid(c, "dead_retention");
}

TEST(ValidateTest, RejectsNegativeDeadReclaimTime) {
  Config c = Valid();
  c.dead_reclaim_time = -absl::Seconds(1);
  ExpectInvalid(c, "dead_reclaim_time");
}

TEST(ValidateTest, RejectsNegativeCounts) {
  {
    Config c = Valid();
    c.indirect_checks = -1;
    ExpectInvalid(c, "indirect_checks");
  }
  {
    Config c = Valid();
    c.suspicion_mult = -1;
    ExpectInvalid(c, "suspicion_mult");
  }
  {
    Config c = Valid();
    c.suspicion_mult = 0;
    ExpectInvalid(c, "suspicion_mult");
  }
  {
    Config c = Valid();
    c.suspicion_max_timeout_mult = -1;
    ExpectInvalid(c, "suspicion_max_timeout_mult");
  }
  {
    Config c = Valid();
    c.awareness_max_multiplier = -1;
    ExpectInvalid(c, "awareness_max_multiplier");
  }
  {
    Config c = Valid();
    c.awareness_max_multiplier = 0;
    ExpectInvalid(c, "awareness_max_multiplier");
  }
  {
    Config c = Valid();
    c.retransmit_mult = -1;
    ExpectInvalid(c, "retransmit_mult");
  }
  {
    Config c = Valid();
    c.gossip_nodes = -1;
    ExpectInvalid(c, "gossip_nodes");
  }
}

TEST(ValidateTest, ZeroIndirectChecksAndGossipNodesAreAllowed) {
  Config c = Valid();
  c.indirect_checks = 0;
  c.gossip_nodes = 0;
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
}

TEST(ValidateTest, PacketBudgetRange) {
  Config c = Valid();
  c.packet_budget = 511;
  ExpectInvalid(c, "packet_budget");
  c.packet_budget = 0;
  ExpectInvalid(c, "packet_budget");
  c.packet_budget = 512;
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
  c.packet_budget = c.limits.max_packet_bytes;
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
  c.packet_budget = c.limits.max_packet_bytes + 1;
  ExpectInvalid(c, "packet_budget");
  // The bound follows the configured limit.
  c.limits.max_packet_bytes = 1000;
  c.packet_budget = 1400;
  ExpectInvalid(c, "packet_budget");
  c.packet_budget = 1000;
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
}

TEST(ValidateTest, MetadataMustFitInOneDatagram) {
  Config c = Valid();
  c.limits.max_meta_bytes = 4096;
  c.meta = std::string(c.packet_budget, 'm');
  ExpectInvalid(c, "meta");
  c.packet_budget = 4096;
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
}

TEST(ValidateTest, ProtocolMaxRange) {
  Config c = Valid();
  EXPECT_EQ(c.protocol_max, 2u);  // this build's version
  c.protocol_max = 0;
  ExpectInvalid(c, "protocol_max");
  c.protocol_max = 256;
  ExpectInvalid(c, "protocol_max");
  c.protocol_max = 255;
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
  c.protocol_max = 2;
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
}

TEST(ValidateTest, RejectsZeroMaxMembers) {
  Config c = Valid();
  c.limits.max_members = 0;
  ExpectInvalid(c, "max_members");
}

TEST(ValidateTest, LifeguardOffStillValid) {
  Config c = Valid();
  c.lifeguard = false;
  EXPECT_TRUE(c.Validate().ok()) << c.Validate();
}

}  // namespace
}  // namespace roster
