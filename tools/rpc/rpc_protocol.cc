#include "tools/rpc/rpc_protocol.h"

#include <arpa/inet.h>

#include <charconv>

#include "absl/strings/str_cat.h"
#include "lib/util/string_view.h"

namespace roster::tools::rpc {

std::string Dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json ErrorLine(const absl::Status& status) {
  return {{"error",
           {{"code", absl::StatusCodeToString(status.code())},
            {"message", std::string(status.message())}}}};
}

absl::Status StatusFromError(const Json& error) {
  const std::string message =
      error.contains("message") && error["message"].is_string()
          ? error["message"].get<std::string>()
          : "the agent gave no reason";
  const std::string code = error.contains("code") && error["code"].is_string()
                               ? error["code"].get<std::string>()
                               : "";
  for (int c = 1; c <= 16; ++c) {
    auto status_code = static_cast<absl::StatusCode>(c);
    if (absl::StatusCodeToString(status_code) == code)
      return absl::Status(status_code, message);
  }
  return absl::UnknownError(message);
}

absl::StatusOr<Endpoint> ParseEndpoint(std::string_view addr) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("'", util::ToAbsl(addr),
                                                   "' is not HOST:PORT (",
                                                   util::ToAbsl(why), ")"));
  };
  const size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos) return bad("no port");
  std::string_view host = addr.substr(0, colon);
  std::string_view port_text = addr.substr(colon + 1);
  bool v6 = false;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    v6 = true;
  }
  int port = -1;
  auto [end, ec] = std::from_chars(port_text.data(),
                                   port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() ||
      port < 0 || port > 65535)
    return bad("the port must be 0 to 65535");
  Endpoint endpoint{std::string(host), port, false};
  if (v6) {
    in6_addr a6;
    if (inet_pton(AF_INET6, endpoint.host.c_str(), &a6) != 1)
      return bad("not a numeric IPv6 address");
    endpoint.loopback = IN6_IS_ADDR_LOOPBACK(&a6);
  } else {
    in_addr a4;
    if (inet_pton(AF_INET, endpoint.host.c_str(), &a4) != 1)
      return bad("not a numeric IPv4 address");
    endpoint.loopback = (ntohl(a4.s_addr) >> 24) == 127;
  }
  return endpoint;
}

socklen_t ToSockaddr(const Endpoint& endpoint, sockaddr_storage* out) {
  *out = {};
  if (endpoint.host.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(out);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(endpoint.port));
    inet_pton(AF_INET6, endpoint.host.c_str(), &a->sin6_addr);
    return sizeof(*a);
  }
  auto* a = reinterpret_cast<sockaddr_in*>(out);
  a->sin_family = AF_INET;
  a->sin_port = htons(static_cast<uint16_t>(endpoint.port));
  inet_pton(AF_INET, endpoint.host.c_str(), &a->sin_addr);
  return sizeof(*a);
}

}  // namespace roster::tools::rpc
