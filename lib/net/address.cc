#include "net/address.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "util/string_view.h"

namespace roster::net {
namespace {

bool IsV4Mapped(const sockaddr_in6& a) {
  return IN6_IS_ADDR_V4MAPPED(&a.sin6_addr);
}

}  // namespace

absl::StatusOr<HostPort> SplitHostPort(std::string_view text) {
  HostPort out;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() ||
        text[close + 1] != ':')
      return absl::InvalidArgumentError("is not [IPV6]:PORT");
    out.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return absl::InvalidArgumentError("has no port");
    out.host = std::string(text.substr(0, colon));
    if (out.host.find(':') != std::string::npos)
      return absl::InvalidArgumentError(
          "needs brackets around its IPv6 address, as in [::1]:7946");
    port = text.substr(colon + 1);
  }
  if (out.host.empty()) return absl::InvalidArgumentError("has no host");
  uint32_t value = 0;
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string_view::npos ||
      !absl::SimpleAtoi(util::ToAbsl(port), &value) || value > 65535)
    return absl::InvalidArgumentError("has a bad port (0 to 65535)");
  out.port = static_cast<uint16_t>(value);
  return out;
}

bool ParseIp(const std::string& host, uint16_t port, sockaddr_storage* out) {
  std::memset(out, 0, sizeof(*out));
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return true;
  }
  return false;
}

absl::StatusOr<sockaddr_storage> ParseIpPort(std::string_view text) {
  auto hp = SplitHostPort(text);
  if (!hp.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("'", util::ToAbsl(text), "' ", hp.status().message()));
  sockaddr_storage out;
  if (!ParseIp(hp->host, hp->port, &out))
    return absl::InvalidArgumentError(absl::StrCat(
        "'", util::ToAbsl(text), "' is not an IP address and port"));
  return out;
}

std::string FormatAddress(const sockaddr* addr) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (addr->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(addr);
    inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof(buf));
    return absl::StrCat(buf, ":", ntohs(v4->sin_port));
  }
  if (addr->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(addr);
    if (IsV4Mapped(*v6)) {
      inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], buf, sizeof(buf));
      return absl::StrCat(buf, ":", ntohs(v6->sin6_port));
    }
    inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof(buf));
    return absl::StrCat("[", buf, "]:", ntohs(v6->sin6_port));
  }
  return "unknown";
}

std::string FormatAddress(const sockaddr_storage& addr) {
  return FormatAddress(reinterpret_cast<const sockaddr*>(&addr));
}

uint16_t PortOf(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET)
    return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
  if (addr.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  return 0;
}

void SetPort(sockaddr_storage* addr, uint16_t port) {
  if (addr->ss_family == AF_INET)
    reinterpret_cast<sockaddr_in*>(addr)->sin_port = htons(port);
  if (addr->ss_family == AF_INET6)
    reinterpret_cast<sockaddr_in6*>(addr)->sin6_port = htons(port);
}

bool IsWildcard(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr.s_addr ==
           htonl(INADDR_ANY);
  if (addr.ss_family == AF_INET6)
    return IN6_IS_ADDR_UNSPECIFIED(
        &reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr);
  return false;
}

socklen_t AddressLength(const sockaddr_storage& addr) {
  return addr.ss_family == AF_INET6 ? sizeof(sockaddr_in6)
                                    : sizeof(sockaddr_in);
}

sockaddr_storage MapToIpv6(const sockaddr_storage& addr) {
  if (addr.ss_family != AF_INET) return addr;
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(&addr);
  sockaddr_storage out;
  std::memset(&out, 0, sizeof(out));
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  v6->sin6_family = AF_INET6;
  v6->sin6_port = v4->sin_port;
  v6->sin6_addr.s6_addr[10] = 0xff;
  v6->sin6_addr.s6_addr[11] = 0xff;
  std::memcpy(&v6->sin6_addr.s6_addr[12], &v4->sin_addr, 4);
  return out;
}

}  // namespace roster::net
