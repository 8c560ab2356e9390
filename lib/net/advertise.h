// Where a member says peers reach it is not always where it listens: bound
// to a wildcard ("0.0.0.0:7946"), or to port 0, the address to advertise
// is known only once the sockets are bound, and a configured one must be
// one that peers can actually use. These rules live here, apart from the
// assembly of a Node.
#ifndef ROSTER_NET_ADVERTISE_H_
#define ROSTER_NET_ADVERTISE_H_

#include <netinet/in.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "roster/config.h"

namespace roster::net {

// Config::Validate before any socket is bound: an empty advertise address,
// still to be derived, is not checked (Swim::Create checks the derived
// one, and the allowed networks with it).
absl::Status ValidateBeforeBinding(const Config& swim);

// The address to advertise, given the configured one (empty, or an IP
// address and port, port 0 meaning the bound port) and the bound socket:
// the configured one in its normal form; empty: the bound address, or with
// a wildcard bind the first non-loopback interface address of its family
// (IPv4 first for a dual-stack socket). FailedPrecondition when there is
// none, InvalidArgument for a configured address peers cannot use.
absl::StatusOr<std::string> AdvertiseAddress(const std::string& configured,
                                             const sockaddr_storage& bound);

}  // namespace roster::net

#endif  // ROSTER_NET_ADVERTISE_H_
