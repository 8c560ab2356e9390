// Socket addresses as roster writes them: "1.2.3.4:7946" and "[::1]:7946".
//
// Member addresses travel as these strings; the runtime turns them into
// socket addresses and back. IPv4-mapped IPv6 addresses (what a dual-stack
// socket reports for an IPv4 peer) are written as plain IPv4, so a peer has
// one spelling whichever socket heard it.
#ifndef ROSTER_NET_ADDRESS_H_
#define ROSTER_NET_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace roster::net {

// "host:port" split, without resolving anything. A bracketed host is an
// IPv6 literal; an unbracketed host with a colon is rejected (ambiguous).
// An error's message says what is wrong, to follow the quoted text.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
absl::StatusOr<HostPort> SplitHostPort(std::string_view text);

// An IP literal and port ("1.2.3.4:7946", "[::1]:7946") as a socket address.
absl::StatusOr<sockaddr_storage> ParseIpPort(std::string_view text);
// An IP literal (no port) with `port`; false if `host` is not a literal.
bool ParseIp(const std::string& host, uint16_t port, sockaddr_storage* out);

std::string FormatAddress(const sockaddr* addr);
std::string FormatAddress(const sockaddr_storage& addr);
uint16_t PortOf(const sockaddr_storage& addr);
void SetPort(sockaddr_storage* addr, uint16_t port);
bool IsWildcard(const sockaddr_storage& addr);
socklen_t AddressLength(const sockaddr_storage& addr);
// The IPv4-mapped IPv6 form of an IPv4 address (for a dual-stack socket);
// other addresses unchanged.
sockaddr_storage MapToIpv6(const sockaddr_storage& addr);

}  // namespace roster::net

#endif  // ROSTER_NET_ADDRESS_H_
