// What must hold of every packet and push-pull state that lib/core's
// decoders accept, checked independently of wire.cc's own validation, and
// that they survive being encoded again. Shared by the fuzz targets.
#ifndef ROSTER_TEST_FUZZ_WIRE_CHECKS_H_
#define ROSTER_TEST_FUZZ_WIRE_CHECKS_H_

#include "proto/roster.pb.h"
#include "roster/config.h"

namespace roster::fuzz {

// Aborts unless `packet`, as DecodePacket returned it, is within `limits`,
// and unless its messages, encoded again one entry each as a sender does,
// decode to the same messages.
void CheckDecodedPacket(const wire::Packet& packet, const Limits& limits);

// The same for a push-pull state that DecodePushPull returned.
void CheckDecodedPushPull(const wire::PushPull& state, const Limits& limits);

}  // namespace roster::fuzz

#endif  // ROSTER_TEST_FUZZ_WIRE_CHECKS_H_
