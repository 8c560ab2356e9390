#include "roster/config.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "core/config_check.h"
#include "core/networks.h"
#include "core/wire/checks.h"
#include "core/wire/encode.h"
#include "core/wire/frame.h"
#include "core/wire/versions.h"
#include "util/string_view.h"

namespace roster {

absl::StatusOr<Profile> ParseProfile(std::string_view name) {
  if (name == "lan") return Profile::kLan;
  if (name == "wan") return Profile::kWan;
  if (name == "local") return Profile::kLocal;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown profile '", util::ToAbsl(name),
                   "' (expected lan, wan or local)"));
}

std::string_view ProfileName(Profile profile) {
  switch (profile) {
    case Profile::kLan:
      return "lan";
    case Profile::kWan:
      return "wan";
    case Profile::kLocal:
      return "local";
  }
  return "unknown";
}

Config Config::ForProfile(Profile profile, std::string name,
                          std::string advertise_addr) {
  Config c;
  c.name = std::move(name);
  c.advertise_addr = std::move(advertise_addr);
  switch (profile) {
    case Profile::kLan:
      break;  // the defaults are the LAN profile
    case Profile::kWan:
      c.probe_interval = absl::Seconds(5);
      c.probe_timeout = absl::Seconds(3);
      c.suspicion_mult = 6;
      c.gossip_interval = absl::Milliseconds(500);
      c.gossip_nodes = 4;
      c.gossip_to_the_dead = absl::Seconds(60);
      c.push_pull_interval = absl::Seconds(60);
      c.reconnect_interval = absl::Seconds(30);
      break;
    case Profile::kLocal:
      c.probe_timeout = absl::Milliseconds(200);
      c.indirect_checks = 1;
      c.suspicion_mult = 3;
      c.retransmit_mult = 2;
      c.gossip_interval = absl::Milliseconds(100);
      c.gossip_to_the_dead = absl::Seconds(15);
      c.push_pull_interval = absl::Seconds(15);
      c.reconnect_interval = absl::Seconds(5);
      break;
  }
  return c;
}

namespace {

absl::Status Invalid(std::string_view field, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("config: ", util::ToAbsl(field), " ", util::ToAbsl(why)));
}

}  // namespace

namespace core {

absl::StatusOr<NetworkList> CheckConfig(const Config& c) {
  // The limits first: the name and address are checked against them.
  if (c.limits.max_name_bytes < 1 || c.limits.max_name_bytes > 255)
    return Invalid("limits.max_name_bytes", "must be in [1, 255]");
  if (c.limits.max_addr_bytes < 1 || c.limits.max_addr_bytes > 255)
    return Invalid("limits.max_addr_bytes", "must be in [1, 255]");
  // By the rule peers apply on the wire, so that a member never starts
  // with a name or address whose every piece of news they would drop.
  WireError error;
  if (!CheckMemberName(c.name, "name", c.limits, &error) ||
      !CheckMemberAddr(c.advertise_addr, "advertise_addr", c.limits, &error))
    return absl::InvalidArgumentError(
        absl::StrCat("config: ", error.message,
                     " (names and addresses are 1 to limits.max_name_bytes or "
                     "max_addr_bytes bytes of UTF-8 without control bytes)"));
  if (c.initial_incarnation > kMaxIncarnation)
    return Invalid("initial_incarnation", "is over 2^62");
  if (c.protocol_max < kMinProtocolVersion ||
      c.protocol_max > kMaxProtocolVersion)
    return Invalid("protocol_max",
                   absl::StrCat("must be in [", kMinProtocolVersion, ", ",
                                kMaxProtocolVersion, "]"));
  if (c.meta.size() > c.limits.max_meta_bytes)
    return Invalid("meta", "is larger than limits.max_meta_bytes");
  if (c.label.size() > kMaxLabelBytes)
    return Invalid("label", "is longer than 255 bytes");
  if (c.probe_interval <= absl::ZeroDuration())
    return Invalid("probe_interval", "must be positive");
  if (c.probe_timeout <= absl::ZeroDuration() ||
      c.probe_timeout > c.probe_interval)
    return Invalid("probe_timeout", "must be positive and <= probe_interval");
  if (c.indirect_checks < 0 || c.indirect_checks > 16)
    return Invalid("indirect_checks", "must be in [0, 16]");
  if (c.suspicion_mult < 1 || c.suspicion_mult > 100)
    return Invalid("suspicion_mult", "must be in [1, 100]");
  if (c.suspicion_max_timeout_mult < 1 || c.suspicion_max_timeout_mult > 100)
    return Invalid("suspicion_max_timeout_mult", "must be in [1, 100]");
  if (c.awareness_max_multiplier < 1 || c.awareness_max_multiplier > 64)
    return Invalid("awareness_max_multiplier", "must be in [1, 64]");
  if (c.retransmit_mult < 1 || c.retransmit_mult > 100)
    return Invalid("retransmit_mult", "must be in [1, 100]");
  if (c.gossip_interval <= absl::ZeroDuration())
    return Invalid("gossip_interval", "must be positive");
  if (c.gossip_nodes < 0 || c.gossip_nodes > 64)
    return Invalid("gossip_nodes", "must be in [0, 64]");
  if (c.push_pull_interval < absl::ZeroDuration())
    return Invalid("push_pull_interval", "must not be negative (0 disables)");
  if (c.reconnect_interval < absl::ZeroDuration())
    return Invalid("reconnect_interval", "must not be negative (0 disables)");
  if (c.gossip_to_the_dead < absl::ZeroDuration())
    return Invalid("gossip_to_the_dead", "must not be negative");
  if (c.dead_retention < absl::ZeroDuration())
    return Invalid("dead_retention", "must not be negative");
  if (c.dead_reclaim_time < absl::ZeroDuration())
    return Invalid("dead_reclaim_time", "must not be negative");
  if (c.packet_budget < 512 || c.packet_budget > c.limits.max_packet_bytes)
    return Invalid("packet_budget", "must be in [512, max_packet_bytes]");
  // This member's news must fit in one datagram, or it spreads only
  // through push-pull (seconds instead of milliseconds). Lives are random,
  // so at their longest.
  if (AliveEntry(c.name, c.advertise_addr, kMaxIncarnation + 1, c.meta,
                 UINT32_MAX, UINT32_MAX, kMinProtocolVersion, c.protocol_max)
              .size() +
          FrameOverhead(c.label, c.keyring.get()) >
      c.packet_budget)
    return Invalid("meta",
                   "makes this member's news larger than packet_budget: it "
                   "could not be gossiped");
  if (c.limits.max_members < 1)
    return Invalid("limits.max_members", "must be > 0");
  if (c.limits.max_ack_payload_bytes > c.packet_budget / 2)
    return Invalid("limits.max_ack_payload_bytes",
                   "must be at most half of packet_budget");
  if (c.limits.max_meta_bytes > 65535)
    return Invalid("limits.max_meta_bytes", "must be at most 65535");
  auto networks = NetworkList::Parse(c.allowed_networks);
  if (!networks.ok()) return networks.status();
  if (!networks->Admits(c.advertise_addr))
    return Invalid("advertise_addr", "is outside allowed_networks");
  return networks;
}

}  // namespace core

absl::Status Config::Validate() const {
  return core::CheckConfig(*this).status();
}

}  // namespace roster
