// Validation of decoded messages against Limits: names and addresses
// present, bounded, free of control bytes and well-formed UTF-8; metadata,
// payloads and application state bounded; incarnations within
// kMaxIncarnation; every message of a known kind. Both decoders, the
// protobuf one and the canonical fast one, check through here.
#ifndef ROSTER_CORE_WIRE_CHECKS_H_
#define ROSTER_CORE_WIRE_CHECKS_H_

#include <vector>

#include "core/wire/decoded.h"
#include "core/wire/views.h"
#include "roster/config.h"

namespace roster::core {

// False with `error` set (the first problem, in message order) when the
// packet breaks a limit.
bool CheckPacket(const std::vector<MessageView>& messages, const Limits& limits,
                 WireError* error);
bool CheckPushPull(const PushPullView& state, const Limits& limits,
                   WireError* error);

// The rule every peer applies to a member's name and address on the wire,
// for what the application gives (Config::Validate, Swim::Preload): a
// value this refuses would start a member whose news every peer drops.
// False with `error` set, naming the value as `what`.
bool CheckMemberName(std::string_view value, const char* what,
                     const Limits& limits, WireError* error);
bool CheckMemberAddr(std::string_view value, const char* what,
                     const Limits& limits, WireError* error);

}  // namespace roster::core

#endif  // ROSTER_CORE_WIRE_CHECKS_H_
