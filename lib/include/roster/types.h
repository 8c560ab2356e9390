// The vocabulary of roster's API, the same in every header of roster/:
//
// Text and bytes. What a call reads and does not keep is a
// std::string_view; what it keeps is a std::string taken by value (move
// into it); what it returns is a std::string, or a const std::string& to
// something that lives as long as its object. Never absl::string_view:
// Debian's abseil (20220623) builds it as a class of its own, not an alias
// of std::string_view, so the two do not convert into each other.
// Payloads, metadata and keys are bytes in the same types; nothing assumes
// they are UTF-8 or free of NULs.
//
// Errors. A call that can fail returns absl::Status or absl::StatusOr<T>;
// it never throws and never aborts on bad input. The codes keep one
// meaning throughout:
//   InvalidArgument     the caller's input is malformed or over a limit
//   NotFound            no member (or file) of that name
//   AlreadyExists       the name or port is taken
//   Unavailable         the peer cannot be reached now (worth retrying)
//   DeadlineExceeded    the call's own time bound passed first
//   FailedPrecondition  the call is not allowed in this state (or the
//                       peer refused it, with its words)
//   ResourceExhausted   a bound on queued or concurrent work was reached
//   Cancelled           the node shut down under the call
//   DataLoss            what arrived cannot be read (another key or label)
// The message is one line meant for a person and names what it concerns.
//
// Time. Durations are absl::Duration, instants absl::Time.
#ifndef ROSTER_TYPES_H_
#define ROSTER_TYPES_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

#endif  // ROSTER_TYPES_H_
