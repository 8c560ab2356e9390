// What every decoder of hostile bytes gives back, and the bounds every
// decoded value meets.
#ifndef ROSTER_CORE_WIRE_DECODED_H_
#define ROSTER_CORE_WIRE_DECODED_H_

#include <cstdint>
#include <string>
#include <utility>

#include "proto/roster.pb.h"
#include "roster/counters.h"
#include "roster/member.h"

namespace roster::core {

// Suspect and dead news with a higher incarnation is rejected as hostile,
// and alive news above kMaxIncarnation + 1: a member refutes by going one
// higher than what it refutes, so it must always have room to, and no honest
// member gets anywhere near. (Without a keyring a forged alive at the top
// can still pin a member's view; it can no longer make it unrefutable.)
inline constexpr uint64_t kMaxIncarnation = uint64_t{1} << 62;

// The public MemberState is the wire's, value for value: tables and
// answers cast between them.
static_assert(static_cast<int>(MemberState::kAlive) ==
              wire::MEMBER_STATE_ALIVE);
static_assert(static_cast<int>(MemberState::kSuspect) ==
              wire::MEMBER_STATE_SUSPECT);
static_assert(static_cast<int>(MemberState::kDead) == wire::MEMBER_STATE_DEAD);
static_assert(static_cast<int>(MemberState::kLeft) == wire::MEMBER_STATE_LEFT);

// The outcome of a failed decode: what to count and a message for logs.
struct WireError {
  DropReason reason;
  std::string message;
};

template <typename T>
struct Decoded {
  bool ok() const { return error.message.empty(); }
  T value;
  WireError error{DropReason::kMalformed, {}};
};

// A failed decode, for returning.
template <typename T>
Decoded<T> Failed(DropReason reason, std::string message) {
  Decoded<T> decoded;
  decoded.error = {reason, std::move(message)};
  return decoded;
}

}  // namespace roster::core

#endif  // ROSTER_CORE_WIRE_DECODED_H_
