#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/wire/codec.h"
#include "core/wire/coordinate.h"
#include "core/wire/frame.h"
#include "core/wire/versions.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "proto/roster.pb.h"
#include "roster/config.h"
#include "roster/counters.h"
#include "test/common/messages.h"
#include "test/core/wire_samples.h"
#include "util/crc32c.h"

namespace roster::core {

using util::Crc32c;
namespace {

using google::protobuf::util::MessageDifferencer;
using test::MakeAlive;
using test::MakeDead;
using test::MakeSuspect;
using test::Payload;
using test::Record;

constexpr size_t kBigFrame = 1 << 20;

std::string PutBigEndian32(uint32_t v) {
  std::string out(4, '\0');
  out[0] = static_cast<char>(v >> 24);
  out[1] = static_cast<char>(v >> 16);
  out[2] = static_cast<char>(v >> 8);
  out[3] = static_cast<char>(v);
  return out;
}

// Builds a frame by hand, with a correct CRC over whatever header is asked
// for, so each rejection test fails for exactly the reason it names.
std::string BuildFrame(uint8_t version, uint8_t flags,
                       std::optional<std::string> label, bool with_crc,
                       std::string_view payload) {
  std::string head;
  head.push_back(static_cast<char>(version));
  head.push_back(static_cast<char>(flags));
  if (label.has_value()) {
    head.push_back(static_cast<char>(label->size()));
    head += *label;
  }
  if (!with_crc) return head + std::string(payload);
  const uint32_t crc = Crc32c(payload, Crc32c(head));
  return head + PutBigEndian32(crc) + std::string(payload);
}

// An independent restatement of the validation rules, used to check that
// whatever the decoders accept really is within bounds.
bool TextOk(const std::string& s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return false;
  }
  return true;
}

void ExpectValidPacket(const wire::Packet& packet, const Limits& limits) {
  ASSERT_LE(static_cast<size_t>(packet.messages_size()),
            limits.max_messages_per_packet);
  const size_t n = limits.max_name_bytes;
  const size_t a = limits.max_addr_bytes;
  for (const wire::Message& m : packet.messages()) {
    switch (m.body_case()) {
      case wire::Message::kPing:
        EXPECT_TRUE(TextOk(m.ping().target(), n));
        EXPECT_TRUE(TextOk(m.ping().source(), n));
        // Optional: roster answers at the datagram's source.
        EXPECT_TRUE(m.ping().source_addr().empty() ||
                    TextOk(m.ping().source_addr(), a));
        break;
      case wire::Message::kIndirectPing:
        EXPECT_TRUE(TextOk(m.indirect_ping().target(), n));
        EXPECT_TRUE(TextOk(m.indirect_ping().target_addr(), a));
        EXPECT_TRUE(TextOk(m.indirect_ping().source(), n));
        EXPECT_TRUE(TextOk(m.indirect_ping().source_addr(), a));
        break;
      case wire::Message::kAck:
      case wire::Message::kNack:
        break;
      case wire::Message::kAlive:
        EXPECT_TRUE(TextOk(m.alive().name(), n));
        EXPECT_TRUE(TextOk(m.alive().addr(), a));
        EXPECT_LE(m.alive().meta().size(), limits.max_meta_bytes);
        break;
      case wire::Message::kSuspect:
        EXPECT_TRUE(TextOk(m.suspect().name(), n));
        EXPECT_TRUE(TextOk(m.suspect().from(), n));
        break;
      case wire::Message::kDead:
        EXPECT_TRUE(TextOk(m.dead().name(), n));
        EXPECT_TRUE(TextOk(m.dead().from(), n));
        break;
      case wire::Message::kUser:
        EXPECT_LE(m.user().payload().size(), limits.max_packet_bytes);
        break;
      case wire::Message::kHello:
        EXPECT_LE(m.hello().note().size(), limits.max_packet_bytes);
        break;
      case wire::Message::kUserEvent:
        EXPECT_TRUE(TextOk(m.user_event().name(), n));
        EXPECT_TRUE(TextOk(m.user_event().origin(), n));
        EXPECT_LE(m.user_event().payload().size(), limits.max_packet_bytes);
        break;
      case wire::Message::kQuery:
        EXPECT_TRUE(TextOk(m.query().name(), n));
        EXPECT_TRUE(TextOk(m.query().origin(), n));
        EXPECT_TRUE(TextOk(m.query().origin_addr(), a));
        EXPECT_LE(m.query().payload().size(), limits.max_packet_bytes);
        EXPECT_LE(m.query().filter().size(), limits.max_packet_bytes);
        break;
      case wire::Message::kQueryResponse:
        EXPECT_TRUE(TextOk(m.query_response().origin(), n));
        EXPECT_TRUE(TextOk(m.query_response().from(), n));
        EXPECT_LE(m.query_response().payload().size(), limits.max_packet_bytes);
        break;
      case wire::Message::BODY_NOT_SET: {
        // Only a kind from the future: length-delimited fields numbered
        // past every kind this build knows.
        const auto& unknown = m.GetReflection()->GetUnknownFields(m);
        EXPECT_GT(unknown.field_count(), 0) << "a message without a body";
        for (int i = 0; i < unknown.field_count(); ++i) {
          EXPECT_EQ(unknown.field(i).type(),
                    google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED);
          EXPECT_GT(unknown.field(i).number(), kMaxMessageKind);
          EXPECT_LE(unknown.field(i).number(), kMaxFutureKind);
        }
        break;
      }
    }
  }
}

void ExpectValidPushPull(const wire::PushPull& state, const Limits& limits) {
  EXPECT_TRUE(TextOk(state.source(), limits.max_name_bytes));
  EXPECT_LE(static_cast<size_t>(state.members_size()), limits.max_members);
  EXPECT_LE(state.user_state().size(), limits.max_user_state_bytes);
  for (const wire::MemberRecord& r : state.members()) {
    EXPECT_TRUE(TextOk(r.name(), limits.max_name_bytes));
    EXPECT_TRUE(TextOk(r.addr(), limits.max_addr_bytes));
    EXPECT_LE(r.meta().size(), limits.max_meta_bytes);
    EXPECT_TRUE(r.state() == wire::MEMBER_STATE_ALIVE ||
                r.state() == wire::MEMBER_STATE_SUSPECT ||
                r.state() == wire::MEMBER_STATE_DEAD ||
                r.state() == wire::MEMBER_STATE_LEFT)
        << r.state();
  }
}

// ---------------------------------------------------------------- CRC

TEST(Crc32cTest, KnownAnswers) {
  EXPECT_EQ(Crc32c(""), 0u);
  // The standard check value of CRC-32C.
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  // RFC 3720 B.4 vectors.
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending(32, '\0');
  for (int i = 0; i < 32; ++i) ascending[i] = static_cast<char>(i);
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
}

TEST(Crc32cTest, Chains) {
  const std::string text = "The quick brown fox jumps over the lazy dog";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    const std::string_view v(text);
    EXPECT_EQ(Crc32c(v.substr(cut), Crc32c(v.substr(0, cut))), Crc32c(text))
        << cut;
  }
}

// ---------------------------------------------------------------- Frame

TEST(FrameTest, LayoutWithoutLabel) {
  const std::string frame = SealFrame("abc", "");
  ASSERT_EQ(frame.size(), 2u + 4u + 3u);
  EXPECT_EQ(static_cast<uint8_t>(frame[0]), kFrameVersion);
  EXPECT_EQ(static_cast<uint8_t>(frame[1]), 0x02);  // checksum only
  const uint32_t crc = Crc32c("abc", Crc32c(frame.substr(0, 2)));
  EXPECT_EQ(frame.substr(2, 4), PutBigEndian32(crc));
  EXPECT_EQ(frame.substr(6), "abc");
  EXPECT_EQ(FrameOverhead(""), 6u);
}

TEST(FrameTest, LayoutWithLabel) {
  const std::string frame = SealFrame("xyz", "prod");
  ASSERT_EQ(frame.size(), 2u + 1u + 4u + 4u + 3u);
  EXPECT_EQ(static_cast<uint8_t>(frame[0]), kFrameVersion);
  EXPECT_EQ(static_cast<uint8_t>(frame[1]), 0x03);  // label + checksum
  EXPECT_EQ(static_cast<uint8_t>(frame[2]), 4);
  EXPECT_EQ(frame.substr(3, 4), "prod");
  const uint32_t crc = Crc32c("xyz", Crc32c(frame.substr(0, 7)));
  EXPECT_EQ(frame.substr(7, 4), PutBigEndian32(crc));
  EXPECT_EQ(frame.substr(11), "xyz");
  EXPECT_EQ(FrameOverhead("prod"), 11u);
}

TEST(FrameTest, OverheadMatchesSealedSize) {
  for (const std::string& label :
       {std::string(), std::string("a"), std::string(255, 'l')}) {
    for (size_t n : {0u, 1u, 1000u}) {
      EXPECT_EQ(SealFrame(std::string(n, 'p'), label).size(),
                n + FrameOverhead(label));
    }
  }
}

TEST(FrameTest, RoundTripReturnsViewIntoFrame) {
  for (const std::string& label :
       {std::string(), std::string("c1"), std::string(255, 'z')}) {
    for (const std::string& payload :
         {std::string(), std::string("hello"), std::string(3000, '\0')}) {
      const std::string frame = SealFrame(payload, label);
      const auto opened = OpenFrame(frame, label, frame.size());
      ASSERT_TRUE(opened.ok()) << opened.error.message;
      EXPECT_EQ(opened.value, payload);
      EXPECT_EQ(opened.value.data() + opened.value.size(),
                frame.data() + frame.size());
    }
  }
}

TEST(FrameTest, OverlongLabelIsCutNotWrapped) {
  const std::string label(300, 'q');
  const std::string frame = SealFrame("p", label);
  EXPECT_EQ(frame.size(), FrameOverhead(label) + 1);
  EXPECT_EQ(FrameOverhead(label), FrameOverhead(std::string(255, 'q')));
  const auto opened = OpenFrame(frame, std::string(255, 'q'), kBigFrame);
  ASSERT_TRUE(opened.ok()) << opened.error.message;
  EXPECT_EQ(opened.value, "p");
}

TEST(FrameTest, RejectsOversized) {
  const std::string frame = SealFrame(std::string(100, 'x'), "lbl");
  EXPECT_TRUE(OpenFrame(frame, "lbl", frame.size()).ok());
  const auto opened = OpenFrame(frame, "lbl", frame.size() - 1);
  EXPECT_FALSE(opened.ok());
  EXPECT_EQ(opened.error.reason, DropReason::kTooLarge);
}

TEST(FrameTest, RejectsEmptyAndShort) {
  for (std::string_view frame :
       {std::string_view(), std::string_view("\x01")}) {
    const auto opened = OpenFrame(frame, "", kBigFrame);
    EXPECT_FALSE(opened.ok());
    EXPECT_EQ(opened.error.reason, DropReason::kMalformed);
    EXPECT_FALSE(opened.error.message.empty());
  }
}

TEST(FrameTest, RejectsWrongVersion) {
  for (int version : {0, 2, 255}) {
    const std::string frame = BuildFrame(static_cast<uint8_t>(version), 0x02,
                                         std::nullopt, true, "payload");
    const auto opened = OpenFrame(frame, "", kBigFrame);
    EXPECT_FALSE(opened.ok());
    EXPECT_EQ(opened.error.reason, DropReason::kBadVersion) << version;
  }
  // The same frame with the right version is fine, so the test can fail.
  EXPECT_TRUE(
      OpenFrame(BuildFrame(kFrameVersion, 0x02, std::nullopt, true, "payload"),
                "", kBigFrame)
          .ok());
}

TEST(FrameTest, RejectsEncrypted) {
  const std::string frame =
      BuildFrame(kFrameVersion, 0x02 | 0x04, std::nullopt, true, "payload");
  const auto opened = OpenFrame(frame, "", kBigFrame);
  EXPECT_FALSE(opened.ok());
  EXPECT_EQ(opened.error.reason, DropReason::kMalformed);
  EXPECT_NE(opened.error.message.find("encrypt"), std::string::npos)
      << opened.error.message;
}

TEST(FrameTest, RejectsUnknownFlags) {
  for (int bit = 3; bit < 8; ++bit) {
    const std::string frame =
        BuildFrame(kFrameVersion, static_cast<uint8_t>(0x02 | (1 << bit)),
                   std::nullopt, true, "payload");
    const auto opened = OpenFrame(frame, "", kBigFrame);
    EXPECT_FALSE(opened.ok()) << bit;
    EXPECT_EQ(opened.error.reason, DropReason::kMalformed) << bit;
  }
}

TEST(FrameTest, RejectsMissingChecksum) {
  for (const std::optional<std::string>& label :
       {std::optional<std::string>(), std::optional<std::string>("lbl")}) {
    const uint8_t flags = label.has_value() ? 0x01 : 0x00;
    const std::string frame =
        BuildFrame(kFrameVersion, flags, label, false, "payload");
    const auto opened = OpenFrame(frame, label.value_or(""), kBigFrame);
    EXPECT_FALSE(opened.ok());
    EXPECT_EQ(opened.error.reason, DropReason::kMalformed);
  }
}

TEST(FrameTest, RejectsEmptyLabelWithLabelFlag) {
  const std::string frame =
      BuildFrame(kFrameVersion, 0x03, std::string(), true, "payload");
  const auto opened = OpenFrame(frame, "", kBigFrame);
  EXPECT_FALSE(opened.ok());
  EXPECT_EQ(opened.error.reason, DropReason::kMalformed);
}

TEST(FrameTest, RejectsWrongLabel) {
  struct Case {
    std::string sealed;
    std::string expected;
  };
  const Case cases[] = {
      {"blue", "green"},  // another cluster
      {"", "blue"},       // missing label
      {"blue", ""},       // unexpected label
      {"blue", "blu"},    // prefix
      {"blu", "blue"},   {"blue", "Blue"},
  };
  for (const Case& c : cases) {
    const std::string frame = SealFrame("payload", c.sealed);
    const auto opened = OpenFrame(frame, c.expected, kBigFrame);
    EXPECT_FALSE(opened.ok()) << c.sealed << " vs " << c.expected;
    EXPECT_EQ(opened.error.reason, DropReason::kWrongLabel)
        << c.sealed << " vs " << c.expected;
    EXPECT_TRUE(OpenFrame(frame, c.sealed, kBigFrame).ok());
  }
}

// A payload of every kind, small enough to damage byte by byte.
std::string SmallPayloadOfEveryKind() {
  std::vector<wire::Message> messages = AllKinds();
  std::erase_if(messages,
                [](const wire::Message& m) { return m.ByteSizeLong() > 1000; });
  return Payload(messages);
}

TEST(FrameTest, EveryBitFlipIsRejected) {
  for (const std::string& label : {std::string(), std::string("cluster")}) {
    const std::string payload = SmallPayloadOfEveryKind();
    const std::string frame = SealFrame(payload, label);
    const size_t crc_at = FrameOverhead(label) - 4;
    const size_t label_at = label.empty() ? crc_at : 3;
    for (size_t i = 0; i < frame.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string bad = frame;
        bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
        const auto opened = OpenFrame(bad, label, kBigFrame);
        ASSERT_FALSE(opened.ok()) << "byte " << i << " bit " << bit;
        ASSERT_FALSE(opened.error.message.empty());
        if (i >= label_at) {
          // Label content, checksum and payload damage is corruption.
          EXPECT_EQ(opened.error.reason, DropReason::kBadChecksum)
              << "byte " << i << " bit " << bit;
        }
      }
      // And an arbitrary byte replacement too.
      std::string bad = frame;
      bad[i] = static_cast<char>(~bad[i]);
      EXPECT_FALSE(OpenFrame(bad, label, kBigFrame).ok()) << "byte " << i;
    }
  }
}

TEST(FrameTest, EveryTruncationIsRejected) {
  for (const std::string& label : {std::string(), std::string("cluster")}) {
    const std::string frame = SealFrame(SmallPayloadOfEveryKind(), label);
    for (size_t n = 0; n < frame.size(); ++n) {
      const ExactBuffer prefix(std::string_view(frame).substr(0, n));
      const auto opened = OpenFrame(prefix.view(), label, kBigFrame);
      ASSERT_FALSE(opened.ok()) << n;
      ASSERT_FALSE(opened.error.message.empty());
    }
    const ExactBuffer whole(frame);
    EXPECT_TRUE(OpenFrame(whole.view(), label, kBigFrame).ok());
  }
}

// ---------------------------------------------------------------- Messages

TEST(MessageEntryTest, EveryKindRoundTripsThroughAFrame) {
  const Limits limits;
  for (const wire::Message& message : AllKinds()) {
    const std::string frame = SealFrame(EncodeMessageEntry(message), "lan");
    const auto opened = OpenFrame(frame, "lan", kBigFrame);
    ASSERT_TRUE(opened.ok()) << opened.error.message;
    const auto decoded = DecodePacket(opened.value, limits);
    ASSERT_TRUE(decoded.ok()) << decoded.error.message;
    ASSERT_EQ(decoded.value.messages_size(), 1);
    EXPECT_TRUE(MessageDifferencer::Equals(decoded.value.messages(0), message))
        << message.DebugString();
  }
}

TEST(MessageEntryTest, EntryIsTagLengthBody) {
  const wire::Message ack = ZeroAckMessage();
  EXPECT_EQ(EncodeMessageEntry(ack), std::string("\x0a\x02\x1a\x00", 4));

  // A body over 127 bytes needs a multi-byte length varint.
  wire::Message user = UserMessage(300);
  user.mutable_user()->clear_origin();  // only the payload, for exact sizes
  user.mutable_user()->clear_id();
  const std::string body = user.SerializeAsString();
  // 0x42 (field 8), 303 as a varint, 0x0a (field 1), 300 as a varint, 300.
  ASSERT_EQ(body.size(), 306u);
  const std::string entry = EncodeMessageEntry(user);
  EXPECT_EQ(entry.substr(0, 3), std::string("\x0a\xb2\x02", 3));
  EXPECT_EQ(entry.substr(3), body);
}

TEST(MessageEntryTest, ConcatenationParsesAsPacket) {
  const std::vector<wire::Message> messages = AllKinds();
  wire::Packet expected;
  for (const wire::Message& m : messages) *expected.add_messages() = m;

  const std::string concatenated = Payload(messages);
  EXPECT_EQ(concatenated, expected.SerializeAsString());

  wire::Packet parsed;
  ASSERT_TRUE(parsed.ParseFromString(concatenated));
  EXPECT_TRUE(MessageDifferencer::Equals(parsed, expected));

  const auto decoded = DecodePacket(concatenated, Limits());
  ASSERT_TRUE(decoded.ok()) << decoded.error.message;
  EXPECT_TRUE(MessageDifferencer::Equals(decoded.value, expected));

  // Every split of the list concatenates to the same packet.
  for (size_t cut = 0; cut <= messages.size(); ++cut) {
    const std::vector<wire::Message> head(messages.begin(),
                                          messages.begin() + cut);
    const std::vector<wire::Message> tail(messages.begin() + cut,
                                          messages.end());
    EXPECT_EQ(Payload(head) + Payload(tail), concatenated);
  }
}

TEST(DecodePacketTest, EmptyPayloadIsAnEmptyPacket) {
  const auto decoded = DecodePacket("", Limits());
  ASSERT_TRUE(decoded.ok()) << decoded.error.message;
  EXPECT_EQ(decoded.value.messages_size(), 0);
}

TEST(DecodePacketTest, RejectsOversizedPayload) {
  Limits limits;
  const std::string payload = Payload(AllKinds());
  limits.max_packet_bytes = payload.size();
  EXPECT_TRUE(DecodePacket(payload, limits).ok());
  limits.max_packet_bytes = payload.size() - 1;
  const auto decoded = DecodePacket(payload, limits);
  EXPECT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error.reason, DropReason::kTooLarge);
}

TEST(DecodePacketTest, RejectsGarbage) {
  QuietProtobufLog quiet;
  const std::string garbage[] = {
      std::string("\xff\xff\xff", 3),
      std::string("\x0a\x05\x12", 3),  // entry longer than the payload
      std::string("\x0a"),             // tag without length
  };
  for (const std::string& g : garbage) {
    const auto decoded = DecodePacket(g, Limits());
    EXPECT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.error.reason, DropReason::kMalformed);
  }
  wire::Message ping = PingMessage();
  // A target that is not UTF-8: proto3 strings must be.
  ping.mutable_ping()->set_target(std::string("\xc3\x28", 2));
  const auto decoded = DecodePacket(Payload(ping), Limits());
  EXPECT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error.reason, DropReason::kMalformed);
}

TEST(DecodePacketTest, RejectsMessageWithoutBody) {
  const std::string payload =
      Payload({AckMessage(), wire::Message(), AckMessage()});
  const auto decoded = DecodePacket(payload, Limits());
  EXPECT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error.reason, DropReason::kMalformed);
  EXPECT_NE(decoded.error.message.find("messages[1]"), std::string::npos)
      << decoded.error.message;

  // A kind from the future (field 13) is kept to be skipped, not refused;
  // but not as a number (a varint), nor past kMaxFutureKind.
  static_assert(kMaxMessageKind == 12);
  const std::string future =
      Payload(AckMessage()) + std::string("\x0a\x02\x6a\x00", 4);
  const auto decoded_future = DecodePacket(future, Limits());
  ASSERT_TRUE(decoded_future.ok()) << decoded_future.error.message;
  ASSERT_EQ(decoded_future.value.messages_size(), 2);
  EXPECT_EQ(decoded_future.value.messages(1).body_case(),
            wire::Message::BODY_NOT_SET);
  for (const std::string& bad : {std::string("\x0a\x02\x68\x01", 4),
                                 std::string("\x0a\x03\x82\x08\x00", 5)}) {
    const auto decoded_bad =
        DecodePacket(Payload(AckMessage()) + bad, Limits());
    EXPECT_FALSE(decoded_bad.ok());
    EXPECT_EQ(decoded_bad.error.reason, DropReason::kMalformed);
    EXPECT_NE(decoded_bad.error.message.find("messages[1]"), std::string::npos)
        << decoded_bad.error.message;
  }
}

TEST(DecodePacketTest, RejectsTooManyMessages) {
  Limits limits;
  limits.max_messages_per_packet = 3;
  const std::vector<wire::Message> three(3, AckMessage());
  EXPECT_TRUE(DecodePacket(Payload(three), limits).ok());
  const std::vector<wire::Message> four(4, AckMessage());
  const auto decoded = DecodePacket(Payload(four), limits);
  EXPECT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error.reason, DropReason::kTooLarge);
}

// One mutation of one string field, and the field's name in errors.
struct FieldCase {
  std::string field;
  bool is_addr;
  std::function<wire::Message(std::string)> make;
};

std::vector<FieldCase> TextFields() {
  return {
      {"ping.target", false,
       [](std::string v) {
         wire::Message m = PingMessage();
         m.mutable_ping()->set_target(v);
         return m;
       }},
      {"ping.source", false,
       [](std::string v) {
         wire::Message m = PingMessage();
         m.mutable_ping()->set_source(v);
         return m;
       }},
      {"ping.source_addr", true,
       [](std::string v) {
         wire::Message m = PingMessage();
         m.mutable_ping()->set_source_addr(v);
         return m;
       }},
      {"indirect_ping.target", false,
       [](std::string v) {
         wire::Message m = IndirectPingMessage();
         m.mutable_indirect_ping()->set_target(v);
         return m;
       }},
      {"indirect_ping.target_addr", true,
       [](std::string v) {
         wire::Message m = IndirectPingMessage();
         m.mutable_indirect_ping()->set_target_addr(v);
         return m;
       }},
      {"indirect_ping.source", false,
       [](std::string v) {
         wire::Message m = IndirectPingMessage();
         m.mutable_indirect_ping()->set_source(v);
         return m;
       }},
      {"indirect_ping.source_addr", true,
       [](std::string v) {
         wire::Message m = IndirectPingMessage();
         m.mutable_indirect_ping()->set_source_addr(v);
         return m;
       }},
      {"alive.name", false,
       [](std::string v) {
         wire::Message m = AliveMessage();
         m.mutable_alive()->set_name(v);
         return m;
       }},
      {"alive.addr", true,
       [](std::string v) {
         wire::Message m = AliveMessage();
         m.mutable_alive()->set_addr(v);
         return m;
       }},
      {"suspect.name", false,
       [](std::string v) {
         wire::Message m = SuspectMessage();
         m.mutable_suspect()->set_name(v);
         return m;
       }},
      {"suspect.from", false,
       [](std::string v) {
         wire::Message m = SuspectMessage();
         m.mutable_suspect()->set_from(v);
         return m;
       }},
      {"dead.name", false,
       [](std::string v) {
         wire::Message m = DeadMessage();
         m.mutable_dead()->set_name(v);
         return m;
       }},
      {"dead.from", false,
       [](std::string v) {
         wire::Message m = DeadMessage();
         m.mutable_dead()->set_from(v);
         return m;
       }},
  };
}

TEST(DecodePacketTest, ValidatesEveryNameAndAddress) {
  const Limits limits;
  for (const FieldCase& c : TextFields()) {
    SCOPED_TRACE(c.field);
    const size_t max =
        c.is_addr ? limits.max_addr_bytes : limits.max_name_bytes;
    auto decode = [&](std::string value) {
      // Put the bad message after a good one, so validation must look at
      // every message and not just the first.
      return DecodePacket(Payload({AckMessage(), c.make(std::move(value))}),
                          limits);
    };
    EXPECT_TRUE(decode("ok-value").ok());
    EXPECT_TRUE(decode(std::string(max, 'n')).ok());
    EXPECT_TRUE(decode("h\xc3\xa9llo").ok());  // UTF-8 beyond ASCII is fine

    const auto empty = decode("");
    if (c.field == "ping.source_addr") {
      EXPECT_TRUE(empty.ok()) << "optional";
    } else {
      EXPECT_FALSE(empty.ok());
      EXPECT_EQ(empty.error.reason, DropReason::kMalformed);
      EXPECT_NE(empty.error.message.find(c.field), std::string::npos)
          << empty.error.message;
    }

    const auto oversize = decode(std::string(max + 1, 'n'));
    EXPECT_FALSE(oversize.ok());
    EXPECT_EQ(oversize.error.reason, DropReason::kTooLarge);
    EXPECT_NE(oversize.error.message.find(c.field), std::string::npos)
        << oversize.error.message;

    for (const std::string& bad :
         {std::string("a\0b", 3), std::string("a\nb"), std::string("\x1f"),
          std::string("tab\there"), std::string("del\x7f")}) {
      const auto control = decode(bad);
      EXPECT_FALSE(control.ok());
      EXPECT_EQ(control.error.reason, DropReason::kMalformed);
      EXPECT_NE(control.error.message.find(c.field), std::string::npos)
          << control.error.message;
    }
  }
}

// Every byte value at every position of names of every length up to a few
// words: accepted exactly when printable ASCII (a lone byte above 0x7F is
// not UTF-8), whatever the word-at-a-time check does with the tail.
TEST(DecodePacketTest, EveryByteAtEveryPositionOfANameIsJudged) {
  const Limits limits;
  for (size_t size = 1; size <= 19; ++size) {
    for (size_t at = 0; at < size; ++at) {
      for (int b = 0; b < 256; ++b) {
        std::string name(size, 'n');
        name[at] = static_cast<char>(b);
        wire::Message m = AliveMessage();
        m.mutable_alive()->set_name(name);
        EXPECT_EQ(DecodePacket(Payload(m), limits).ok(), b >= 0x20 && b < 0x7F)
            << "size " << size << " at " << at << " byte " << b;
      }
    }
  }
}

TEST(DecodePacketTest, RejectsOversizeMeta) {
  Limits limits;
  wire::Message alive = AliveMessage();
  alive.mutable_alive()->set_meta(std::string(limits.max_meta_bytes, 'm'));
  EXPECT_TRUE(DecodePacket(Payload(alive), limits).ok());
  alive.mutable_alive()->set_meta(std::string(limits.max_meta_bytes + 1, 'm'));
  const auto decoded = DecodePacket(Payload(alive), limits);
  EXPECT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error.reason, DropReason::kTooLarge);
  EXPECT_NE(decoded.error.message.find("alive.meta"), std::string::npos);
}

TEST(DecodePacketTest, RejectsOversizeCoordinate) {
  wire::Message ack = CoordinateAckMessage();
  ack.mutable_ack()->set_coordinate(std::string(kMaxCoordinateBytes, 'c'));
  EXPECT_TRUE(DecodePacket(Payload(ack), Limits()).ok());
  ack.mutable_ack()->set_coordinate(std::string(kMaxCoordinateBytes + 1, 'c'));
  const auto decoded = DecodePacket(Payload(ack), Limits());
  EXPECT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error.reason, DropReason::kTooLarge);
  EXPECT_NE(decoded.error.message.find("ack.coordinate"), std::string::npos);
}

TEST(DecodePacketTest, SmallLimitsApply) {
  Limits limits;
  limits.max_name_bytes = 4;
  limits.max_addr_bytes = 6;
  wire::Message alive = MakeAlive("abcd", "h:7946", 0);
  EXPECT_TRUE(DecodePacket(Payload(alive), limits).ok());
  alive.mutable_alive()->set_name("abcde");
  EXPECT_EQ(DecodePacket(Payload(alive), limits).error.reason,
            DropReason::kTooLarge);
  alive.mutable_alive()->set_name("abcd");
  alive.mutable_alive()->set_addr("h:79460");
  EXPECT_EQ(DecodePacket(Payload(alive), limits).error.reason,
            DropReason::kTooLarge);
}

// ---------------------------------------------------------------- Push-pull

TEST(PushPullTest, RoundTrip) {
  const wire::PushPull state = SamplePushPull();
  const std::string frame = SealFrame(EncodePushPull(state), "lan");
  const auto opened = OpenFrame(frame, "lan", kBigFrame);
  ASSERT_TRUE(opened.ok()) << opened.error.message;
  const auto decoded = DecodePushPull(opened.value, Limits());
  ASSERT_TRUE(decoded.ok()) << decoded.error.message;
  EXPECT_TRUE(MessageDifferencer::Equals(decoded.value, state));

  wire::PushPull minimal;
  minimal.set_source("solo");
  const auto decoded_minimal =
      DecodePushPull(EncodePushPull(minimal), Limits());
  ASSERT_TRUE(decoded_minimal.ok()) << decoded_minimal.error.message;
  EXPECT_TRUE(MessageDifferencer::Equals(decoded_minimal.value, minimal));
}

TEST(PushPullTest, RejectsUnknownState) {
  for (int value : {4, 7, -1, 1 << 20}) {
    wire::PushPull state = SamplePushPull();
    state.mutable_members(2)->set_state(static_cast<wire::MemberState>(value));
    const auto decoded = DecodePushPull(EncodePushPull(state), Limits());
    EXPECT_FALSE(decoded.ok()) << value;
    EXPECT_EQ(decoded.error.reason, DropReason::kMalformed) << value;
    EXPECT_NE(decoded.error.message.find("members[2].state"), std::string::npos)
        << decoded.error.message;
  }
  // The same record on the wire, written by hand: field 4, varint 7.
  const std::string record = std::string("\x0a\x01n\x12\x03h:1\x20\x07", 10);
  const std::string raw = std::string("\x12\x01s\x1a", 4) +
                          static_cast<char>(record.size()) + record;
  const auto decoded = DecodePushPull(raw, Limits());
  EXPECT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error.reason, DropReason::kMalformed);
  std::string fixed = raw;
  fixed[fixed.size() - 1] = '\x03';  // MEMBER_STATE_LEFT
  EXPECT_TRUE(DecodePushPull(fixed, Limits()).ok());
}

TEST(PushPullTest, RejectsTooManyMembers) {
  Limits limits;
  limits.max_members = 4;
  wire::PushPull state = SamplePushPull();
  ASSERT_EQ(state.members_size(), 4);
  EXPECT_TRUE(DecodePushPull(EncodePushPull(state), limits).ok());
  *state.add_members() = state.members(0);
  const auto decoded = DecodePushPull(EncodePushPull(state), limits);
  EXPECT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error.reason, DropReason::kTooLarge);
}

TEST(PushPullTest, RejectsOversizeUserState) {
  Limits limits;
  limits.max_user_state_bytes = 16;
  wire::PushPull state = SamplePushPull();
  // The recent events share the bound: over it, they are refused too.
  const auto events = DecodePushPull(EncodePushPull(state), limits);
  EXPECT_EQ(events.error.reason, DropReason::kTooLarge);
  EXPECT_NE(events.error.message.find("recent_events"), std::string::npos);
  state.clear_recent_events();
  state.set_user_state(std::string(16, 's'));
  EXPECT_TRUE(DecodePushPull(EncodePushPull(state), limits).ok());
  state.set_user_state(std::string(17, 's'));
  const auto decoded = DecodePushPull(EncodePushPull(state), limits);
  EXPECT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error.reason, DropReason::kTooLarge);
  EXPECT_NE(decoded.error.message.find("user_state"), std::string::npos);
}

TEST(PushPullTest, RejectsOversizePayload) {
  Limits limits;
  const std::string payload = EncodePushPull(SamplePushPull());
  limits.max_stream_bytes = payload.size();
  EXPECT_TRUE(DecodePushPull(payload, limits).ok());
  limits.max_stream_bytes = payload.size() - 1;
  EXPECT_EQ(DecodePushPull(payload, limits).error.reason,
            DropReason::kTooLarge);
}

TEST(PushPullTest, RejectsBadRecordsAndSource) {
  QuietProtobufLog quiet;
  const Limits limits;
  struct Case {
    std::string what;
    std::function<void(wire::PushPull*)> mutate;
    DropReason reason;
  };
  const Case cases[] = {
      {"empty source", [](wire::PushPull* s) { s->clear_source(); },
       DropReason::kMalformed},
      {"control source", [](wire::PushPull* s) { s->set_source("a\rb"); },
       DropReason::kMalformed},
      {"long source",
       [&](wire::PushPull* s) {
         s->set_source(std::string(limits.max_name_bytes + 1, 's'));
       },
       DropReason::kTooLarge},
      {"empty name",
       [](wire::PushPull* s) { s->mutable_members(1)->clear_name(); },
       DropReason::kMalformed},
      {"long name",
       [&](wire::PushPull* s) {
         s->mutable_members(1)->set_name(
             std::string(limits.max_name_bytes + 1, 'n'));
       },
       DropReason::kTooLarge},
      {"nul name",
       [](wire::PushPull* s) {
         s->mutable_members(3)->set_name(std::string("x\0", 2));
       },
       DropReason::kMalformed},
      {"empty addr",
       [](wire::PushPull* s) { s->mutable_members(0)->clear_addr(); },
       DropReason::kMalformed},
      {"long addr",
       [&](wire::PushPull* s) {
         s->mutable_members(0)->set_addr(
             std::string(limits.max_addr_bytes + 1, 'a'));
       },
       DropReason::kTooLarge},
      {"control addr",
       [](wire::PushPull* s) { s->mutable_members(0)->set_addr("h:1\n"); },
       DropReason::kMalformed},
      {"long meta",
       [&](wire::PushPull* s) {
         s->mutable_members(2)->set_meta(
             std::string(limits.max_meta_bytes + 1, 'm'));
       },
       DropReason::kTooLarge},
      {"bad utf8 name",
       [](wire::PushPull* s) {
         s->mutable_members(2)->set_name(std::string("\xff", 1));
       },
       DropReason::kMalformed},
  };
  for (const Case& c : cases) {
    wire::PushPull state = SamplePushPull();
    c.mutate(&state);
    const auto decoded = DecodePushPull(EncodePushPull(state), limits);
    EXPECT_FALSE(decoded.ok()) << c.what;
    EXPECT_EQ(decoded.error.reason, c.reason) << c.what;
    EXPECT_FALSE(decoded.error.message.empty()) << c.what;
  }
  EXPECT_EQ(DecodePushPull(std::string("\x1a\x05\x0a", 3), limits).error.reason,
            DropReason::kMalformed);
}

// ---------------------------------------------------------------- Garbage

std::string Mutate(std::string bytes, XorShift& rng) {
  const size_t rounds = 1 + rng.Below(4);
  for (size_t r = 0; r < rounds; ++r) {
    switch (rng.Below(7)) {
      case 0:  // flip a bit
        if (!bytes.empty()) {
          bytes[rng.Below(bytes.size())] ^=
              static_cast<char>(1 << rng.Below(8));
        }
        break;
      case 1:  // overwrite a byte
        if (!bytes.empty()) bytes[rng.Below(bytes.size())] = rng.Byte();
        break;
      case 2:  // insert bytes
        bytes.insert(rng.Below(bytes.size() + 1), rng.Bytes(1 + rng.Below(4)));
        break;
      case 3:  // erase bytes
        if (!bytes.empty()) {
          const size_t at = rng.Below(bytes.size());
          bytes.erase(at, 1 + rng.Below(4));
        }
        break;
      case 4:  // truncate
        bytes.resize(rng.Below(bytes.size() + 1));
        break;
      case 5:  // duplicate a slice
        if (!bytes.empty()) {
          const size_t at = rng.Below(bytes.size());
          const std::string slice = bytes.substr(at, 1 + rng.Below(16));
          bytes.insert(rng.Below(bytes.size() + 1), slice);
        }
        break;
      case 6: {  // write an interesting byte
        static constexpr char kInteresting[] = {0x00, 0x01, 0x0a, 0x1f,
                                                0x7f, 0x08, 0x10, 0x7f};
        if (!bytes.empty()) {
          bytes[rng.Below(bytes.size())] =
              kInteresting[rng.Below(sizeof(kInteresting))];
        }
        break;
      }
    }
  }
  return bytes;
}

TEST(GarbageTest, NeverCrashesAndOnlyAcceptsValidInput) {
  QuietProtobufLog quiet;
  XorShift rng(0x9E3779B97F4A7C15ull);
  Limits loose;
  Limits tight;
  tight.max_name_bytes = 6;
  tight.max_addr_bytes = 13;
  tight.max_meta_bytes = 4;
  tight.max_messages_per_packet = 5;
  tight.max_members = 3;
  tight.max_user_state_bytes = 3;

  const std::string valid_payload = Payload(AllKinds());
  const std::string small_payload =
      Payload({PingMessage(), AliveMessage(), DeadMessage(), AckMessage()});
  const std::string push_pull = EncodePushPull(SamplePushPull());
  const std::string labels[] = {"", "cluster"};

  int frames_opened = 0;
  int packets_ok = 0;
  int packets_rejected = 0;
  int push_pulls_ok = 0;
  int push_pulls_rejected = 0;

  auto check_packet = [&](std::string_view payload, const Limits& limits) {
    const ExactBuffer buffer(payload);
    const auto decoded = DecodePacket(buffer.view(), limits);
    if (!decoded.ok()) {
      ++packets_rejected;
      return;
    }
    ++packets_ok;
    ExpectValidPacket(decoded.value, limits);
    // What was accepted re-encodes, entry by entry, to something accepted
    // with equal messages. (Unknown fields of the Packet itself are not
    // part of any entry, so the packets as a whole may differ.)
    std::string again;
    for (const wire::Message& m : decoded.value.messages()) {
      again += EncodeMessageEntry(m);
    }
    const auto redecoded = DecodePacket(again, limits);
    ASSERT_TRUE(redecoded.ok()) << redecoded.error.message;
    ASSERT_EQ(redecoded.value.messages_size(), decoded.value.messages_size());
    for (int i = 0; i < decoded.value.messages_size(); ++i) {
      EXPECT_TRUE(MessageDifferencer::Equals(redecoded.value.messages(i),
                                             decoded.value.messages(i)))
          << decoded.value.messages(i).DebugString();
    }
  };

  for (int iteration = 0; iteration < 20000; ++iteration) {
    const std::string& label = labels[rng.Below(2)];
    const Limits& limits = rng.Below(2) == 0 ? loose : tight;
    std::string input;
    switch (rng.Below(5)) {
      case 0:  // random bytes as a frame
        input = rng.Bytes(rng.Below(200));
        if (rng.Below(2) == 0 && input.size() >= 2) {
          input[0] = static_cast<char>(kFrameVersion);
          input[1] = static_cast<char>(rng.Below(4));
        }
        break;
      case 1:  // a mutated valid frame
        input = Mutate(
            SealFrame(rng.Below(2) ? valid_payload : small_payload, label),
            rng);
        break;
      case 2: {  // a mutated payload in a valid frame: reaches the decoder
        const std::string payload =
            Mutate(rng.Below(2) ? valid_payload : small_payload, rng);
        const std::string frame = SealFrame(payload, label);
        const ExactBuffer buffer(frame);
        const auto opened = OpenFrame(buffer.view(), label, kBigFrame);
        ASSERT_TRUE(opened.ok()) << opened.error.message;
        ASSERT_EQ(opened.value, payload);
        ++frames_opened;
        check_packet(opened.value, limits);
        continue;
      }
      case 3:  // random bytes as a packet payload
        check_packet(rng.Bytes(rng.Below(64)), limits);
        continue;
      case 4: {  // push-pull payloads, mutated or random
        const std::string payload = rng.Below(4) == 0 ? rng.Bytes(rng.Below(64))
                                                      : Mutate(push_pull, rng);
        const ExactBuffer buffer(payload);
        const auto decoded = DecodePushPull(buffer.view(), limits);
        if (decoded.ok()) {
          ++push_pulls_ok;
          ExpectValidPushPull(decoded.value, limits);
        } else {
          ++push_pulls_rejected;
          EXPECT_FALSE(decoded.error.message.empty());
        }
        continue;
      }
    }
    const ExactBuffer buffer(input);
    const auto opened = OpenFrame(buffer.view(), label, kBigFrame);
    if (!opened.ok()) {
      ASSERT_FALSE(opened.error.message.empty());
      continue;
    }
    ++frames_opened;
    // An accepted frame lies inside the input and ends with it.
    ASSERT_LE(opened.value.size(), input.size());
    ASSERT_EQ(opened.value.data() + opened.value.size(),
              buffer.view().data() + buffer.view().size());
    check_packet(opened.value, limits);
    if (HasFatalFailure()) return;
  }

  // The loop exercised both outcomes of each decoder, so it tests something.
  EXPECT_GT(frames_opened, 1000);
  EXPECT_GT(packets_ok, 100);
  EXPECT_GT(packets_rejected, 1000);
  EXPECT_GT(push_pulls_ok, 50);
  EXPECT_GT(push_pulls_rejected, 500);
}

// Refutation goes one higher than the news it answers, so an incarnation at
// the top of uint64 would make a member unable to refute, ever.
TEST(DecodePacketTest, RejectsIncarnationsPastTheLimit) {
  for (int kind = 0; kind < 3; ++kind) {
    const wire::Message m =
        kind == 0   ? MakeAlive("a", "10.0.0.1:1", kMaxIncarnation + 2)
        : kind == 1 ? MakeSuspect("a", UINT64_MAX, "b")
                    : MakeDead("a", kMaxIncarnation + 1, "b");
    auto decoded = DecodePacket(EncodeMessageEntry(m), Limits());
    EXPECT_FALSE(decoded.ok()) << kind;
    EXPECT_EQ(decoded.error.reason, DropReason::kMalformed);
    EXPECT_NE(decoded.error.message.find("incarnation"), std::string::npos);
  }
  wire::PushPull state;
  state.set_source("b");
  wire::MemberRecord* r = state.add_members();
  *r = Record("a", "10.0.0.1:1", UINT64_MAX, wire::MEMBER_STATE_DEAD);
  EXPECT_FALSE(DecodePushPull(EncodePushPull(state), Limits()).ok());
  r->set_incarnation(kMaxIncarnation);
  EXPECT_TRUE(DecodePushPull(EncodePushPull(state), Limits()).ok());
  // An alive may be one higher: the refutation of news at the limit.
  const wire::Message refutation =
      MakeAlive("a", "10.0.0.1:1", kMaxIncarnation + 1);
  EXPECT_TRUE(DecodePacket(EncodeMessageEntry(refutation), Limits()).ok());
}

}  // namespace
}  // namespace roster::core
