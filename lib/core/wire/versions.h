// Protocol versions: what a member advertises in its alive news and
// push-pull records, so that a rolling upgrade can tell which peers speak
// what (doc/wire_format.md, "Versions and compatibility").
#ifndef ROSTER_CORE_WIRE_VERSIONS_H_
#define ROSTER_CORE_WIRE_VERSIONS_H_

#include <algorithm>
#include <cstdint>
#include <iterator>

#include "core/wire/fields.h"

namespace roster::core {

// The version this build speaks at most, and the oldest it still speaks.
inline constexpr uint32_t kProtocolVersion = 2;
inline constexpr uint32_t kMinProtocolVersion = 1;
// The member table keeps a version in one byte; nothing near it is
// expected, so a bigger claim is held at the top rather than wrapped.
inline constexpr uint32_t kMaxProtocolVersion = 255;

// A Packet.messages entry whose body is a kind this member does not know
// is skipped, the rest of the datagram handled: a newer build's kind. Kinds
// are numbered densely from 1 and each version adds a few, so a number
// past this is no kind of any version but a writer's mistake, refused with
// the datagram as before.
inline constexpr int kMaxFutureKind = 127;

// The version that introduced each kind, by its number (kinds are numbered
// in the order they came, so a version knows kinds 1 to KnownKinds).
inline constexpr uint32_t kHelloVersion = 2;
// User events and queries (Serf's layer).
inline constexpr uint32_t kEventsVersion = 2;
inline constexpr uint32_t kKindSince[] = {
    0,  // no kind
    1,
    1,
    1,
    1,  // ping, indirect_ping, ack, nack
    1,
    1,
    1,
    1,               // alive, suspect, dead, user
    kHelloVersion,   // hello
    kEventsVersion,  // user_event
    kEventsVersion,
    kEventsVersion,  // query, query_response
};
static_assert(std::size(kKindSince) == kMaxMessageKind + 1,
              "a kind of ROSTER_WIRE_KINDS with no version here");
static_assert(
    [] {
      for (int k = 2; k <= kMaxMessageKind; ++k)
        if (kKindSince[k] < kKindSince[k - 1]) return false;
      return true;
    }(),
    "kinds must be numbered in the order of their versions");

// The kinds a member speaking at most `version` knows: 1 to this.
constexpr int KnownKinds(uint32_t version) {
  int known = 0;
  while (known < kMaxMessageKind && kKindSince[known + 1] <= version) ++known;
  return known;
}
static_assert(KnownKinds(1) == wire::Message::kUser);
static_assert(KnownKinds(kEventsVersion) == wire::Message::kQueryResponse);

// A peer that did not say (0: a build before versions) speaks version 1.
constexpr uint32_t EffectiveVersion(uint32_t advertised) {
  return std::clamp<uint32_t>(advertised, 1, kMaxProtocolVersion);
}

// The range a peer advertised, as it came (0: not said).
struct Protocols {
  uint32_t min = 0;
  uint32_t max = 0;
  bool said() const { return min != 0 || max != 0; }
};

// Whether a peer advertising [min, max] speaks `version`.
constexpr bool Speaks(uint32_t min, uint32_t max, uint32_t version) {
  return EffectiveVersion(min) <= version && version <= EffectiveVersion(max);
}

}  // namespace roster::core

#endif  // ROSTER_CORE_WIRE_VERSIONS_H_
