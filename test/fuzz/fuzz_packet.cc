// libFuzzer target: a datagram's payload (after its frame), as any peer may
// send it, through core::PacketReader (Swim's decoder: a fast path for the
// bytes roster writes, protobuf for the rest), core::DecodePacketInto and
// core::DecodePacket, with the default Limits. All three must agree, and
// what they accept must be within the limits and survive re-encoding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/wire/codec.h"
#include "core/wire/decode.h"
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
  core::PacketReader reader;
  core::WireError read_error;
  const bool read = reader.Read(payload, limits, &read_error);
  FUZZ_CHECK(read == ok);
  if (!ok) {
    FUZZ_CHECK(!error.message.empty());
    FUZZ_CHECK(error.reason == decoded.error.reason);
    FUZZ_CHECK(read_error.reason == error.reason);
    FUZZ_CHECK(read_error.message == error.message);
    return 0;
  }
  const auto& views = reader.messages();
  FUZZ_CHECK(views.size() ==
             static_cast<size_t>(decoded.value.messages_size()));
  for (size_t i = 0; i < views.size(); ++i) {
    const wire::Message& m = decoded.value.messages(static_cast<int>(i));
    FUZZ_CHECK(views[i].body_case() == m.body_case());
    FUZZ_CHECK((views[i].unknown_kind != 0) ==
               (m.body_case() == wire::Message::BODY_NOT_SET));
    if (m.has_ping()) {
      FUZZ_CHECK(views[i].ping().seq() == m.ping().seq());
      FUZZ_CHECK(views[i].ping().target() == m.ping().target());
    }
    if (m.has_alive()) {
      FUZZ_CHECK(views[i].alive().name() == m.alive().name());
      FUZZ_CHECK(views[i].alive().incarnation() == m.alive().incarnation());
      FUZZ_CHECK(views[i].alive().meta() == m.alive().meta());
    }
  }
  FUZZ_CHECK(packet->SerializeAsString() == decoded.value.SerializeAsString());
  fuzz::CheckDecodedPacket(decoded.value, limits);
  return 0;
}
