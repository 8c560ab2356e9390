// libFuzzer target: a datagram's payload (after its frame), as any peer may
// send it, through core::DecodePacketInto (on an arena, as Swim decodes)
// and core::DecodePacket, with the default Limits. Both must agree, and
// what they accept must be within the limits and survive re-encoding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/wire.h"
#include "google/protobuf/arena.h"
#include "proto/roster.pb.h"
#include "roster/config.h"
#include "test/fuzz/check.h"
#include "test/fuzz/wire_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace roster;
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  const Limits limits;

  google::protobuf::Arena arena;
  auto* packet = google::protobuf::Arena::CreateMessage<wire::Packet>(&arena);
  core::WireError error;
  const bool ok = core::DecodePacketInto(payload, limits, packet, &error);
  const auto decoded = core::DecodePacket(payload, limits);
  FUZZ_CHECK(ok == decoded.ok());
  if (!ok) {
    FUZZ_CHECK(!error.message.empty());
    FUZZ_CHECK(error.reason == decoded.error.reason);
    return 0;
  }
  FUZZ_CHECK(packet->SerializeAsString() == decoded.value.SerializeAsString());
  fuzz::CheckDecodedPacket(decoded.value, limits);
  return 0;
}
