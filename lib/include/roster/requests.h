// Requests a program may make of a member over TCP without being one, as
// `roster members` does: the frame to send and the reading of the reply.
// The connection carries a 4-byte big-endian length before each frame
// (doc/wire_format.md); roster::QueryMembers (roster/node.h) does all of
// it over real sockets.
#ifndef ROSTER_REQUESTS_H_
#define ROSTER_REQUESTS_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "roster/config.h"
#include "roster/keyring.h"
#include "roster/member.h"

namespace roster {

// The request for a member's list, with the cluster's label and keyring.
std::string MembersRequest(std::string_view label, const Keyring* keyring);

// The members in a reply to MembersRequest, their state_changed counted
// back from `now`. FailedPrecondition with the member's words when it
// refused; DataLoss when the reply cannot be read (another label or key)
// or breaks `limits`.
absl::StatusOr<std::vector<MemberInfo>> ReadMembersReply(std::string_view frame,
                                                         std::string_view label,
                                                         const Keyring* keyring,
                                                         absl::Time now,
                                                         const Limits& limits);

}  // namespace roster

#endif  // ROSTER_REQUESTS_H_
