// The advertised address: derived from the bound sockets and the host's
// interfaces, or checked when configured (see advertise.h).
#include "net/advertise.h"

#include <uv.h>

#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "net/address.h"

namespace roster::net {
namespace {

// The first non-loopback interface address of the bound family (IPv4
// first for a dual-stack socket), at the bound port.
std::optional<std::string> InterfaceAddress(const sockaddr_storage& bound) {
  uv_interface_address_t* ifaces = nullptr;
  int count = 0;
  if (uv_interface_addresses(&ifaces, &count) != 0) return std::nullopt;
  std::optional<std::string> v4, v6;
  for (int i = 0; i < count; ++i) {
    if (ifaces[i].is_internal) continue;
    sockaddr_storage a{};
    if (ifaces[i].address.address4.sin_family == AF_INET) {
      std::memcpy(&a, &ifaces[i].address.address4, sizeof(sockaddr_in));
      if (!v4) {
        SetPort(&a, PortOf(bound));
        v4 = FormatAddress(a);
      }
    } else if (ifaces[i].address.address6.sin6_family == AF_INET6) {
      const auto& in6 = ifaces[i].address.address6.sin6_addr;
      if (IN6_IS_ADDR_LINKLOCAL(&in6)) continue;  // needs a scope id
      std::memcpy(&a, &ifaces[i].address.address6, sizeof(sockaddr_in6));
      if (!v6) {
        SetPort(&a, PortOf(bound));
        v6 = FormatAddress(a);
      }
    }
  }
  uv_free_interface_addresses(ifaces, count);
  if (bound.ss_family == AF_INET) return v4;
  return v4 ? v4 : v6;
}

}  // namespace

absl::Status ValidateBeforeBinding(const Config& swim) {
  if (!swim.advertise_addr.empty()) return swim.Validate();
  Config check = swim;
  check.advertise_addr = "0.0.0.0:0";
  check.allowed_networks.clear();
  return check.Validate();
}

absl::StatusOr<std::string> AdvertiseAddress(const std::string& configured,
                                             const sockaddr_storage& bound) {
  if (configured.empty()) {
    if (!IsWildcard(bound)) return FormatAddress(bound);
    auto picked = InterfaceAddress(bound);
    if (!picked)
      return absl::FailedPreconditionError(absl::StrCat(
          "bound to the wildcard address ", FormatAddress(bound),
          " and found no non-loopback interface address to advertise: set "
          "the advertise address"));
    return *picked;
  }
  auto adv = ParseIpPort(configured);
  if (!adv.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("advertise address: ", adv.status().message(),
                     " (it must be an IP address and port peers can reach)"));
  if (IsWildcard(*adv))
    return absl::InvalidArgumentError(
        absl::StrCat("advertise address ", configured,
                     " is a wildcard; peers need a reachable address"));
  if (PortOf(*adv) == 0) SetPort(&*adv, PortOf(bound));
  return FormatAddress(*adv);
}

}  // namespace roster::net
