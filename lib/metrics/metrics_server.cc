#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <exception>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "prometheus/exposer.h"
#include "roster/metrics.h"
#include "util/string_view.h"

namespace roster {
namespace {

struct HostPort {
  std::string host;
  uint32_t port = 0;
};

// Civetweb binds IP literals only, and Debian's is built without IPv6, so
// both are refused here rather than by an exception with no cause in it.
absl::StatusOr<HostPort> ParseAddr(std::string_view addr) {
  auto bad = [addr](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics address '", util::ToAbsl(addr), "' ", util::ToAbsl(why),
        " (expected IPV4:PORT, e.g. 127.0.0.1:9464)"));
  };
  const size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos) return bad("has no port");
  const std::string host(addr.substr(0, colon));
  HostPort out;
  if (!absl::SimpleAtoi(util::ToAbsl(addr.substr(colon + 1)), &out.port) ||
      out.port > 65535)
    return bad("has a bad port");
  if (!host.empty() && host.front() == '[')
    return bad("is IPv6, which civetweb here is built without");
  in_addr ip;
  if (inet_pton(AF_INET, host.c_str(), &ip) != 1)
    return bad("has no IPv4 address");
  out.host = host;
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    std::string_view addr,
    std::vector<std::shared_ptr<prometheus::Collectable>> collectables) {
  absl::StatusOr<HostPort> parsed = ParseAddr(addr);
  if (!parsed.ok()) return parsed.status();
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->collectables_ = std::move(collectables);
  try {
    server->exposer_ =
        std::make_unique<prometheus::Exposer>(std::vector<std::string>{
            "listening_ports", std::string(addr), "num_threads", "2"});
    for (const auto& c : server->collectables_)
      server->exposer_->RegisterCollectable(c);
    const std::vector<int> ports = server->exposer_->GetListeningPorts();
    if (ports.empty())
      return absl::UnavailableError(absl::StrCat(
          "metrics address ", util::ToAbsl(addr), ": nothing bound"));
    server->port_ = ports.front();
  } catch (const std::exception& e) {
    // prometheus-cpp says only that civetweb failed; binding is what fails
    // once the address has parsed.
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", util::ToAbsl(addr),
                     ": the address is in use or not local (", e.what(), ")"));
  }
  server->addr_ = absl::StrCat(parsed->host, ":", server->port_);
  return server;
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    std::string_view addr, std::shared_ptr<Metrics> metrics, const Node& node) {
  metrics->Attach(&node);
  auto server = Start(addr, {metrics});
  if (!server.ok()) {
    metrics->Attach(nullptr);
    return server.status();
  }
  (*server)->attached_ = std::move(metrics);
  return server;
}

MetricsServer::~MetricsServer() {
  exposer_.reset();
  if (attached_ != nullptr) attached_->Attach(nullptr);
}

}  // namespace roster
