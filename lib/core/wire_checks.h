// Validation of decoded messages against Limits: names and addresses
// present, bounded, free of control bytes and well-formed UTF-8; metadata,
// payloads and application state bounded; incarnations within
// kMaxIncarnation; every message of a known kind. Both decoders, the
// protobuf one and the canonical fast one, check through here.
#ifndef ROSTER_CORE_WIRE_CHECKS_H_
#define ROSTER_CORE_WIRE_CHECKS_H_

#include <vector>

#include "core/wire.h"
#include "core/wire_view.h"
#include "roster/config.h"

namespace roster::core {

// False with `error` set (the first problem, in message order) when the
// packet breaks a limit.
bool CheckPacket(const std::vector<MessageView>& messages, const Limits& limits,
                 WireError* error);
bool CheckPushPull(const PushPullView& state, const Limits& limits,
                   WireError* error);

}  // namespace roster::core

#endif  // ROSTER_CORE_WIRE_CHECKS_H_
