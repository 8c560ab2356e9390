#include "roster/config.h"

#include "absl/strings/str_cat.h"
#include "core/networks.h"
#include "core/string_view.h"
#include "core/wire/checks.h"
#include "core/wire/frame.h"

namespace roster {

absl::StatusOr<Profile> ParseProfile(std::string_view name) {
  if (name == "lan") return Profile::kLan;
  if (name == "wan") return Profile::kWan;
  if (name == "local") return Profile::kLocal;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown profile '", core::ToAbsl(name),
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
      absl::StrCat("config: ", core::ToAbsl(field), " ", core::ToAbsl(why)));
}

}  // namespace

absl::Status Config::Validate() const {
  // The limits first: the name and address are checked against them.
  if (limits.max_name_bytes < 1 || limits.max_name_bytes > 255)
    return Invalid("limits.max_name_bytes", "must be in [1, 255]");
  if (limits.max_addr_bytes < 1 || limits.max_addr_bytes > 255)
    return Invalid("limits.max_addr_bytes", "must be in [1, 255]");
  // By the rule peers apply on the wire, so that a member never starts
  // with a name or address whose every piece of news they would drop.
  core::WireError error;
  if (!core::CheckMemberName(name, "name", limits, &error) ||
      !core::CheckMemberAddr(advertise_addr, "advertise_addr", limits, &error))
    return absl::InvalidArgumentError(
        absl::StrCat("config: ", error.message,
                     " (names and addresses are 1 to limits.max_name_bytes or "
                     "max_addr_bytes bytes of UTF-8 without control bytes)"));
  if (initial_incarnation > core::kMaxIncarnation)
    return Invalid("initial_incarnation", "is over 2^62");
  if (meta.size() > limits.max_meta_bytes)
    return Invalid("meta", "is larger than limits.max_meta_bytes");
  if (label.size() > core::kMaxLabelBytes)
    return Invalid("label", "is longer than 255 bytes");
  if (probe_interval <= absl::ZeroDuration())
    return Invalid("probe_interval", "must be positive");
  if (probe_timeout <= absl::ZeroDuration() || probe_timeout > probe_interval)
    return Invalid("probe_timeout", "must be positive and <= probe_interval");
  if (indirect_checks < 0 || indirect_checks > 16)
    return Invalid("indirect_checks", "must be in [0, 16]");
  if (suspicion_mult < 1 || suspicion_mult > 100)
    return Invalid("suspicion_mult", "must be in [1, 100]");
  if (suspicion_max_timeout_mult < 1 || suspicion_max_timeout_mult > 100)
    return Invalid("suspicion_max_timeout_mult", "must be in [1, 100]");
  if (awareness_max_multiplier < 1 || awareness_max_multiplier > 64)
    return Invalid("awareness_max_multiplier", "must be in [1, 64]");
  if (retransmit_mult < 1 || retransmit_mult > 100)
    return Invalid("retransmit_mult", "must be in [1, 100]");
  if (gossip_interval <= absl::ZeroDuration())
    return Invalid("gossip_interval", "must be positive");
  if (gossip_nodes < 0 || gossip_nodes > 64)
    return Invalid("gossip_nodes", "must be in [0, 64]");
  if (push_pull_interval < absl::ZeroDuration())
    return Invalid("push_pull_interval", "must not be negative (0 disables)");
  if (reconnect_interval < absl::ZeroDuration())
    return Invalid("reconnect_interval", "must not be negative (0 disables)");
  if (gossip_to_the_dead < absl::ZeroDuration())
    return Invalid("gossip_to_the_dead", "must not be negative");
  if (dead_retention < absl::ZeroDuration())
    return Invalid("dead_retention", "must not be negative");
  if (dead_reclaim_time < absl::ZeroDuration())
    return Invalid("dead_reclaim_time", "must not be negative");
  if (packet_budget < 512 || packet_budget > limits.max_packet_bytes)
    return Invalid("packet_budget", "must be in [512, max_packet_bytes]");
  if (limits.max_members < 1)
    return Invalid("limits.max_members", "must be > 0");
  if (limits.max_meta_bytes > 65535)
    return Invalid("limits.max_meta_bytes", "must be at most 65535");
  auto networks = core::NetworkList::Parse(allowed_networks);
  if (!networks.ok()) return networks.status();
  if (!networks->Admits(advertise_addr))
    return Invalid("advertise_addr", "is outside allowed_networks");
  return absl::OkStatus();
}

}  // namespace roster
