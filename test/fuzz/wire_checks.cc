#include "test/fuzz/wire_checks.h"

#include <cstdint>
#include <string>
#include <string_view>

#include "core/wire/codec.h"
#include "core/wire/fields.h"
#include "core/wire/versions.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/unknown_field_set.h"
#include "test/fuzz/check.h"

namespace roster::fuzz {
namespace {

// A name or address: present, within its limit, no control byte or DEL,
// and UTF-8 by protobuf's own validator (wire.cc has its own).
void CheckText(const std::string& text, size_t max_bytes) {
  FUZZ_CHECK(!text.empty());
  FUZZ_CHECK(text.size() <= max_bytes);
  for (const char c : text) {
    const auto byte = static_cast<uint8_t>(c);
    FUZZ_CHECK(byte >= 0x20 && byte != 0x7F);
  }
  FUZZ_CHECK(google::protobuf::internal::IsStructurallyValidUTF8(
      text.data(), static_cast<int>(text.size())));
}

void CheckIncarnation(uint64_t incarnation, bool alive) {
  FUZZ_CHECK(incarnation <= core::kMaxIncarnation + (alive ? 1 : 0));
}

void CheckMessage(const wire::Message& m, const Limits& limits) {
  const size_t name = limits.max_name_bytes, addr = limits.max_addr_bytes;
  switch (m.body_case()) {
    case wire::Message::kPing:
      CheckText(m.ping().target(), name);
      CheckText(m.ping().source(), name);
      if (!m.ping().source_addr().empty()) {
        CheckText(m.ping().source_addr(), addr);  // optional
      }
      return;
    case wire::Message::kIndirectPing:
      CheckText(m.indirect_ping().target(), name);
      CheckText(m.indirect_ping().target_addr(), addr);
      CheckText(m.indirect_ping().source(), name);
      CheckText(m.indirect_ping().source_addr(), addr);
      return;
    case wire::Message::kAck:
    case wire::Message::kNack:
      return;
    case wire::Message::kAlive:
      CheckText(m.alive().name(), name);
      CheckText(m.alive().addr(), addr);
      CheckIncarnation(m.alive().incarnation(), /*alive=*/true);
      FUZZ_CHECK(m.alive().meta().size() <= limits.max_meta_bytes);
      return;
    case wire::Message::kSuspect:
      CheckText(m.suspect().name(), name);
      CheckText(m.suspect().from(), name);
      CheckIncarnation(m.suspect().incarnation(), /*alive=*/false);
      return;
    case wire::Message::kDead:
      CheckText(m.dead().name(), name);
      CheckText(m.dead().from(), name);
      CheckIncarnation(m.dead().incarnation(), /*alive=*/false);
      return;
    case wire::Message::kUser:
      CheckText(m.user().origin(), name);
      FUZZ_CHECK(m.user().payload().size() <= limits.max_packet_bytes);
      return;
    case wire::Message::kHello:
      FUZZ_CHECK(m.hello().note().size() <= limits.max_packet_bytes);
      return;
    case wire::Message::kUserEvent:
      CheckText(m.user_event().name(), name);
      CheckText(m.user_event().origin(), name);
      FUZZ_CHECK(m.user_event().payload().size() <= limits.max_packet_bytes);
      return;
    case wire::Message::kQuery:
      CheckText(m.query().name(), name);
      CheckText(m.query().origin(), name);
      CheckText(m.query().origin_addr(), addr);
      FUZZ_CHECK(m.query().payload().size() <= limits.max_packet_bytes);
      FUZZ_CHECK(m.query().filter().size() <= limits.max_packet_bytes);
      return;
    case wire::Message::kQueryResponse:
      CheckText(m.query_response().origin(), name);
      CheckText(m.query_response().from(), name);
      FUZZ_CHECK(m.query_response().payload().size() <=
                 limits.max_packet_bytes);
      return;
    case wire::Message::BODY_NOT_SET: {
      // Only a kind from the future, kept to be skipped: length-delimited
      // fields numbered past every kind this build knows.
      const auto& unknown = m.GetReflection()->GetUnknownFields(m);
      FUZZ_CHECK(unknown.field_count() > 0);
      for (int i = 0; i < unknown.field_count(); ++i) {
        FUZZ_CHECK(unknown.field(i).type() ==
                   google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED);
        FUZZ_CHECK(unknown.field(i).number() > core::kMaxMessageKind);
        FUZZ_CHECK(unknown.field(i).number() <= core::kMaxFutureKind);
      }
      return;
    }
  }
}

}  // namespace

void CheckDecodedPacket(const wire::Packet& packet, const Limits& limits) {
  FUZZ_CHECK(static_cast<size_t>(packet.messages_size()) <=
             limits.max_messages_per_packet);
  std::string again;
  for (const wire::Message& m : packet.messages()) {
    CheckMessage(m, limits);
    again += core::EncodeMessageEntry(m);
  }
  // Encoding may grow what was sent (a negative enum, say, always takes
  // ten bytes), so only what still fits the limit must decode again.
  if (again.size() > limits.max_packet_bytes) return;
  const auto redecoded = core::DecodePacket(again, limits);
  FUZZ_CHECK(redecoded.ok());
  FUZZ_CHECK(redecoded.value.messages_size() == packet.messages_size());
  for (int i = 0; i < packet.messages_size(); ++i) {
    FUZZ_CHECK(redecoded.value.messages(i).SerializeAsString() ==
               packet.messages(i).SerializeAsString());
  }
}

void CheckDecodedPushPull(const wire::PushPull& state, const Limits& limits) {
  CheckText(state.source(), limits.max_name_bytes);
  FUZZ_CHECK(static_cast<size_t>(state.members_size()) <= limits.max_members);
  for (const wire::MemberRecord& r : state.members()) {
    CheckText(r.name(), limits.max_name_bytes);
    CheckText(r.addr(), limits.max_addr_bytes);
    CheckIncarnation(r.incarnation(), r.state() == wire::MEMBER_STATE_ALIVE);
    FUZZ_CHECK(r.meta().size() <= limits.max_meta_bytes);
    FUZZ_CHECK(wire::MemberState_IsValid(r.state()));
  }
  FUZZ_CHECK(state.user_state().size() <= limits.max_user_state_bytes);
  const std::string again = core::EncodePushPull(state);
  if (again.size() > limits.max_stream_bytes) return;
  const auto redecoded = core::DecodePushPull(again, limits);
  FUZZ_CHECK(redecoded.ok());
  FUZZ_CHECK(redecoded.value.SerializeAsString() == again);
}

}  // namespace roster::fuzz
