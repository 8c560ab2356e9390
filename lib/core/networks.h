// The networks member addresses may come from (Config::allowed_networks).
//
// Parsed here rather than with the C library's inet_pton so that the core
// stays free of socket headers. Every address is held as 16 bytes: IPv4 as
// the IPv4-mapped IPv6 address ::ffff:a.b.c.d, so "10.0.0.0/8" and
// "::ffff:10.0.0.0/104" are the same network and a v4-mapped peer matches.
#ifndef ROSTER_CORE_NETWORKS_H_
#define ROSTER_CORE_NETWORKS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace roster::core {

using IpBytes = std::array<uint8_t, 16>;

// "a.b.c.d" or an IPv6 literal (a zone suffix such as "%eth0" is ignored).
std::optional<IpBytes> ParseIp(std::string_view text);
// The host of "HOST:PORT" or "[V6]:PORT" as an address, if it is a literal.
std::optional<IpBytes> ParseHostIp(std::string_view host_port);

class NetworkList {
 public:
  // CIDRs such as "10.0.0.0/8", "192.168.1.7" (one host) or "fd00::/8".
  // InvalidArgument names the first that does not parse.
  static absl::StatusOr<NetworkList> Parse(
      const std::vector<std::string>& cidrs);

  bool empty() const { return networks_.empty(); }
  // True if the list is empty, or `host_port` has a literal IP host inside
  // one of the networks. A host name is never admitted by a non-empty list.
  bool Admits(std::string_view host_port) const;

 private:
  struct Network {
    IpBytes prefix;
    int bits;
  };
  std::vector<Network> networks_;
};

}  // namespace roster::core

#endif  // ROSTER_CORE_NETWORKS_H_
