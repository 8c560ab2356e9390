// Checking a Config, keeping what the check parsed: Swim::Create takes the
// allowed networks from here, so they are parsed once.
#ifndef ROSTER_CORE_CONFIG_CHECK_H_
#define ROSTER_CORE_CONFIG_CHECK_H_

#include "absl/status/statusor.h"
#include "core/networks.h"
#include "roster/config.h"

namespace roster::core {

// Config::Validate's answer; on success, Config::allowed_networks parsed.
absl::StatusOr<NetworkList> CheckConfig(const Config& config);

}  // namespace roster::core

#endif  // ROSTER_CORE_CONFIG_CHECK_H_
