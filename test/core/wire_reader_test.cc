// Unit tests for lib/core/wire_reader.h and canonical_decode.h: the fast
// canonical path and the protobuf path read every input alike. Whatever the
// bytes (canonical, valid but written otherwise, truncated, garbled), a
// reader accepts exactly what DecodePacket and DecodePushPull accept, with
// the same values, and rejects the rest with the same reason and message.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/wire/canonical_decode.h"
#include "core/wire/codec.h"
#include "core/wire/decode.h"
#include "core/wire/versions.h"
#include "core/wire/views.h"
#include "gtest/gtest.h"
#include "proto/roster.pb.h"
#include "test/common/messages.h"
#include "test/core/wire_samples.h"

namespace roster::core {
namespace {

using test::MakeAlive;
using test::MakePing;
using test::Payload;

void ExpectSameFields(const FieldValues& got, const FieldValues& want,
                      const std::string& where) {
  for (int f = 1; f <= kMaxViewFields; ++f) {
    EXPECT_EQ(got.bytes(f), want.bytes(f)) << where << " field " << f;
    EXPECT_EQ(got.number(f), want.number(f)) << where << " field " << f;
  }
}

// Reads `payload` (from a buffer of exactly its size, so the sanitizers
// see any overread) both ways and expects the same outcome.
// Whether the reader and the protobuf decoder both accepted: false, after
// checking that they rejected alike, when either rejected.
template <typename Reader, typename Decoded>
bool BothAccept(Reader& reader, std::string_view payload, const Limits& limits,
                const Decoded& want) {
  WireError error;
  const bool ok = reader.Read(payload, limits, &error);
  EXPECT_EQ(ok, want.ok()) << error.message << " / " << want.error.message;
  if (ok && want.ok()) return true;
  if (!ok && !want.ok()) {
    EXPECT_EQ(error.reason, want.error.reason);
    EXPECT_EQ(error.message, want.error.message);
  }
  return false;
}

void ExpectSamePacket(std::string_view payload, const Limits& limits = {},
                      int known_kinds = kMaxMessageKind) {
  const ExactBuffer buffer(payload);
  const auto want = DecodePacket(buffer.view(), limits, known_kinds);
  PacketReader reader;
  WireError error;
  const bool ok = reader.Read(buffer.view(), limits, &error, known_kinds);
  EXPECT_EQ(ok, want.ok()) << error.message << " / " << want.error.message;
  if (!ok || !want.ok()) {
    if (!ok && !want.ok()) {
      EXPECT_EQ(error.reason, want.error.reason);
      EXPECT_EQ(error.message, want.error.message);
    }
    return;
  }
  std::vector<MessageView> views;
  std::vector<std::string> bodies;
  AppendViews(want.value, &views, &bodies, known_kinds);
  ASSERT_EQ(reader.messages().size(), views.size());
  for (size_t i = 0; i < views.size(); ++i) {
    const std::string where = "message " + std::to_string(i);
    EXPECT_EQ(reader.messages()[i].kind, views[i].kind) << where;
    EXPECT_EQ(reader.messages()[i].unknown_kind, views[i].unknown_kind)
        << where;
    ExpectSameFields(reader.messages()[i].values, views[i].values, where);
    EXPECT_EQ(reader.messages()[i].user_body, views[i].user_body) << where;
  }
}

void ExpectSamePushPull(std::string_view payload, const Limits& limits = {}) {
  const ExactBuffer buffer(payload);
  const auto want = DecodePushPull(buffer.view(), limits);
  PushPullReader reader;
  if (!BothAccept(reader, buffer.view(), limits, want)) return;
  const PushPullView view = ViewOf(want.value);
  const PushPullView& got = reader.state();
  EXPECT_EQ(got.join(), view.join());
  EXPECT_EQ(got.source(), view.source());
  EXPECT_EQ(got.user_state(), view.user_state());
  ASSERT_EQ(got.members().size(), view.members().size());
  for (size_t i = 0; i < view.members().size(); ++i) {
    ExpectSameFields(got.members()[i].values, view.members()[i].values,
                     "member " + std::to_string(i));
    EXPECT_EQ(got.members()[i].state(), view.members()[i].state());
  }
}

bool IsCanonicalPacket(std::string_view payload) {
  std::vector<MessageView> views;
  return ParseCanonicalPacket(payload, 1 << 20, &views);
}

// A hand-written protobuf encoder for the tests: whatever tags, wire types,
// varint lengths and nesting a test asks for.
class Writer {
 public:
  // A varint `extra` bytes longer than it needs to be.
  Writer& Varint(uint64_t v, int extra = 0) {
    std::vector<uint8_t> groups;
    do {
      groups.push_back(v & 0x7F);
      v >>= 7;
    } while (v != 0);
    groups.insert(groups.end(), extra, 0);
    for (size_t i = 0; i < groups.size(); ++i) {
      const bool more = i + 1 < groups.size();
      out_.push_back(static_cast<char>(groups[i] | (more ? 0x80 : 0)));
    }
    return *this;
  }
  Writer& Tag(int field, int wire_type) {
    return Varint((static_cast<uint64_t>(field) << 3) | wire_type);
  }
  Writer& Number(int field, uint64_t v, int extra = 0) {
    return Tag(field, 0).Varint(v, extra);
  }
  Writer& Bytes(int field, std::string_view b, int extra = 0) {
    Tag(field, 2).Varint(b.size(), extra);
    out_.append(b);
    return *this;
  }
  Writer& Raw(std::string_view b) {
    out_.append(b);
    return *this;
  }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

std::string Entry(int kind, std::string_view body) {
  return Writer().Bytes(1, Writer().Bytes(kind, body).str()).str();
}

// ------------------------------------------------------------ canonical

TEST(CanonicalDecodeTest, WhatRosterWritesTakesTheFastPath) {
  for (const wire::Message& m : AllKinds()) {
    const std::string payload = Payload(m);
    EXPECT_TRUE(IsCanonicalPacket(payload)) << m.ShortDebugString();
    ExpectSamePacket(payload);
  }
  EXPECT_TRUE(IsCanonicalPacket(""));
  EXPECT_TRUE(IsCanonicalPacket(Payload(AllKinds())));
  ExpectSamePacket(Payload(AllKinds()));
  PushPullView state;
  EXPECT_TRUE(
      ParseCanonicalPushPull(EncodePushPull(SamplePushPull()), 100, &state));
  ExpectSamePushPull(EncodePushPull(SamplePushPull()));
}

TEST(CanonicalDecodeTest, ExtremeValuesTakeTheFastPath) {
  wire::Message m = MakeAlive("n", "a", UINT64_MAX);
  EXPECT_TRUE(IsCanonicalPacket(Payload(m)));
  ExpectSamePacket(Payload(m));  // rejected: over kMaxIncarnation
  m = MakePing(UINT32_MAX, "t", "s", "a");
  EXPECT_TRUE(IsCanonicalPacket(Payload(m)));
  ExpectSamePacket(Payload(m));
}

// Valid protobuf that roster never writes: protobuf decides, and the
// reader agrees with it.
TEST(CanonicalDecodeTest, OtherValidEncodingsFallBackAndAgree) {
  const std::vector<std::string> bodies_of_alive = {
      // Fields out of order.
      Writer().Bytes(2, "10.0.0.1:1").Bytes(1, "node-a").Number(3, 4).str(),
      // A field twice: the last one wins.
      Writer().Bytes(1, "node-x").Bytes(1, "node-a").Bytes(2, "a:1").str(),
      // Explicit zero and empty values.
      Writer()
          .Bytes(1, "node-a")
          .Bytes(2, "a:1")
          .Number(3, 0)
          .Bytes(4, "")
          .str(),
      // Overlong varints, in a value and in a length.
      Writer().Bytes(1, "node-a", 2).Bytes(2, "a:1").Number(3, 5, 3).str(),
      // Unknown fields of every wire type, a group with nesting included.
      Writer()
          .Bytes(1, "node-a")
          .Bytes(2, "a:1")
          .Number(9, 1)
          .Tag(10, 1)
          .Raw("12345678")
          .Tag(11, 5)
          .Raw("1234")
          .Bytes(15, "x")
          .Tag(12, 3)
          .Number(1, 2)
          .Tag(13, 3)
          .Tag(13, 4)
          .Tag(12, 4)
          .Bytes(2000, "far")
          .str(),
      // A field with the wrong wire type is an unknown field.
      Writer().Bytes(1, "node-a").Bytes(2, "a:1").Bytes(3, "x").str(),
  };
  for (const std::string& body : bodies_of_alive) {
    const std::string payload = Entry(5, body);
    EXPECT_FALSE(IsCanonicalPacket(payload));
    ExpectSamePacket(payload);
    ExpectSamePacket(payload + Payload(AckMessage()));
  }
  // Two bodies in one Message: the last one wins.
  const std::string ping =
      Writer().Number(1, 3).Bytes(2, "t").Bytes(3, "s").Bytes(4, "a").str();
  ExpectSamePacket(
      Writer()
          .Bytes(1, Writer().Bytes(5, bodies_of_alive[0]).Bytes(1, ping).str())
          .str());
  // The same body twice: the two merge.
  ExpectSamePacket(
      Writer()
          .Bytes(1, Writer()
                        .Bytes(5, Writer().Bytes(1, "node-a").str())
                        .Bytes(5, Writer().Bytes(2, "a:1").Number(3, 9).str())
                        .str())
          .str());
  // A user broadcast with an unknown field is passed on with it.
  const std::string user =
      Writer().Bytes(1, "p").Bytes(2, "node-a").Number(3, 1).Number(7, 5).str();
  ExpectSamePacket(Entry(8, user));
  PacketReader reader;
  WireError error;
  ASSERT_TRUE(reader.Read(Entry(8, user), Limits{}, &error)) << error.message;
  EXPECT_EQ(reader.messages()[0].user().body(), user);
  // Packet-level unknown fields and an empty Message.
  ExpectSamePacket(Writer().Number(2, 1).str() + Payload(AckMessage()));
  ExpectSamePacket(Writer().Bytes(1, "").str());
}

// A kind from a later version is skipped by both paths alike, the rest of
// the datagram read; anything else without a known body is refused alike.
TEST(CanonicalDecodeTest, UnknownKindsAreSkippedAlike) {
  const std::string alive = Payload(AliveMessage());
  const std::string future = Entry(kMaxMessageKind + 1, "anything \xff");
  for (const std::string& payload :
       {future + alive, alive + future, Entry(15, "") + alive,
        future + future + alive}) {
    EXPECT_TRUE(IsCanonicalPacket(payload));
    ExpectSamePacket(payload);
    PacketReader reader;
    WireError error;
    ASSERT_TRUE(reader.Read(payload, Limits{}, &error)) << error.message;
    int alives = 0, skipped = 0;
    for (const MessageView& m : reader.messages()) {
      alives += m.body_case() == wire::Message::kAlive;
      skipped += m.unknown_kind != 0;
      if (m.unknown_kind != 0) {
        EXPECT_EQ(m.body_case(), wire::Message::BODY_NOT_SET);
      }
    }
    EXPECT_EQ(alives, 1);
    EXPECT_EQ(skipped, static_cast<int>(reader.messages().size()) - 1);
  }
  // Past a one-byte tag (protobuf's path), up to kMaxFutureKind and past.
  for (int kind : {16, 100, kMaxFutureKind, kMaxFutureKind + 1, 5000}) {
    const std::string payload = Entry(kind, "x") + alive;
    EXPECT_FALSE(IsCanonicalPacket(payload));
    ExpectSamePacket(payload);
    PacketReader reader;
    WireError error;
    EXPECT_EQ(reader.Read(payload, Limits{}, &error), kind <= kMaxFutureKind)
        << kind << ": " << error.message;
  }
  // Written otherwise: a future kind beside a known body (the known one is
  // read), twice in one Message, with an overlong length; refused: as a
  // number, as a group, beside a known kind's field of the wrong type.
  const std::string future_body =
      Writer().Bytes(kMaxMessageKind + 2, "z").str();
  for (const std::string& message :
       {Writer().Raw(future_body).Bytes(3, Writer().Number(1, 4).str()).str(),
        Writer().Raw(future_body).Raw(future_body).str(),
        Writer().Bytes(kMaxMessageKind + 2, "z", 2).str(),
        Writer().Number(kMaxMessageKind + 2, 1).str(),
        Writer().Tag(kMaxMessageKind + 2, 3).Tag(kMaxMessageKind + 2, 4).str(),
        Writer().Raw(future_body).Number(5, 1).str()}) {
    const std::string payload = Writer().Bytes(1, message).str() + alive;
    EXPECT_FALSE(IsCanonicalPacket(payload));
    ExpectSamePacket(payload);
  }
  // The limit on messages counts skipped ones.
  Limits small;
  small.max_messages_per_packet = 2;
  ExpectSamePacket(future + future + alive, small);
  ExpectSamePacket(future + alive, small);
}

// A member playing an older build reads a later version's kind as
// unknown, on both paths, and does not check what it skips.
TEST(CanonicalDecodeTest, KindsPastTheKnownOnesAreSkippedAlike) {
  const int old_kinds = KnownKinds(1);
  const std::string hello = Payload(HelloMessage());
  const std::string alive = Payload(AliveMessage());
  ExpectSamePacket(hello + alive, {}, old_kinds);
  ExpectSamePacket(Payload(AllKinds()), {}, old_kinds);
  PacketReader reader;
  WireError error;
  ASSERT_TRUE(reader.Read(hello + alive, Limits{}, &error, old_kinds));
  ASSERT_EQ(reader.messages().size(), 2u);
  EXPECT_EQ(reader.messages()[0].unknown_kind, wire::Message::kHello);
  EXPECT_EQ(reader.messages()[1].body_case(), wire::Message::kAlive);
  ASSERT_TRUE(reader.Read(hello + alive, Limits{}, &error));
  EXPECT_EQ(reader.messages()[0].body_case(), wire::Message::kHello);
  // Written otherwise: an overlong length, a note of the wrong type, a
  // truncated body.
  for (int known : {old_kinds, kMaxMessageKind}) {
    ExpectSamePacket(Entry(9, Writer().Bytes(1, "x", 1).str()) + alive, {},
                     known);
    ExpectSamePacket(Entry(9, Writer().Number(1, 5).str()) + alive, {}, known);
    ExpectSamePacket(Entry(9, Writer().Tag(1, 2).Varint(9).str()) + alive, {},
                     known);
  }
}

TEST(CanonicalDecodeTest, RejectionsMatch) {
  Limits small;
  small.max_messages_per_packet = 3;
  ExpectSamePacket(Payload(AllKinds()), small);
  small = Limits{};
  small.max_packet_bytes = 10;
  ExpectSamePacket(Payload(AliveMessage()), small);
  // Bad text, an empty name, past the incarnation limit, no body.
  ExpectSamePacket(Entry(6, Writer().Bytes(1, "a\x01").Number(2, 1).str()));
  ExpectSamePacket(Entry(6, Writer().Number(2, 1).Bytes(3, "b").str()));
  ExpectSamePacket(
      Entry(7, Writer().Bytes(1, "a").Number(2, kMaxIncarnation + 1).str()));
  ExpectSamePacket(Writer().Bytes(1, Writer().Number(9, 1).str()).str());
  // Unterminated group, end group outside a group, field number 0, bad
  // wire types.
  ExpectSamePacket(Entry(5, Writer().Tag(11, 3).Number(1, 1).str()));
  ExpectSamePacket(Entry(5, Writer().Tag(11, 4).str()));
  ExpectSamePacket(Entry(5, Writer().Tag(0, 0).Varint(1).str()));
  ExpectSamePacket(Entry(5, Writer().Tag(9, 6).str()));
  ExpectSamePacket(Entry(5, Writer().Tag(9, 7).str()));
}

// Groups nested past protobuf's depth limit are refused, below it read.
TEST(CanonicalDecodeTest, DeepGroupsMatch) {
  for (int depth : {90, 97, 98, 99, 100, 101, 150}) {
    Writer w;
    w.Bytes(1, "node-a").Bytes(2, "a:1");
    for (int i = 0; i < depth; ++i) w.Tag(11, 3);
    for (int i = 0; i < depth; ++i) w.Tag(11, 4);
    ExpectSamePacket(Entry(5, w.str()));
  }
}

// ------------------------------------------------------------ garbage

TEST(CanonicalDecodeTest, EveryTruncationAndBitFlipMatches) {
  const std::string payload = Payload(AllKinds());
  for (size_t n = 0; n < payload.size(); n += (n < 400 ? 1 : 97)) {
    ExpectSamePacket(payload.substr(0, n));
  }
  const std::string small =
      Payload({PingMessage(), AliveMessage(), SuspectMessage(), UserMessage()});
  for (size_t bit = 0; bit < small.size() * 8; ++bit) {
    std::string flipped = small;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    ExpectSamePacket(flipped);
  }
}

// Random field soup: tags of every number and wire type, nested where the
// wire type allows, with random lengths and values.
std::string Soup(XorShift& rng, int depth) {
  Writer w;
  const size_t fields = rng.Below(6);
  for (size_t i = 0; i < fields; ++i) {
    const int field = static_cast<int>(rng.Below(18));
    const int wire_type = static_cast<int>(rng.Below(8));
    switch (rng.Below(6)) {
      case 0:
        w.Number(field, rng.Below(3) == 0 ? rng.Next() : rng.Below(300),
                 static_cast<int>(rng.Below(3)));
        break;
      case 1:
        w.Bytes(field, depth > 0 ? Soup(rng, depth - 1) : rng.Bytes(4),
                static_cast<int>(rng.Below(2)));
        break;
      case 2:
        w.Bytes(field, std::string(rng.Below(8), 'a' + rng.Below(26)));
        break;
      case 3:
        w.Tag(field, 3)
            .Raw(depth > 0 ? Soup(rng, depth - 1) : "")
            .Tag(rng.Below(4) == 0 ? field + 1 : field, 4);
        break;
      case 4:
        w.Tag(field, wire_type).Raw(rng.Bytes(rng.Below(9)));
        break;
      default:
        w.Raw(rng.Bytes(rng.Below(3)));
        break;
    }
  }
  return w.str();
}

// A push-pull that is mostly valid, with soup in random places.
std::string PushPullSoup(XorShift& rng) {
  Writer w;
  if (rng.Below(2) == 0) w.Number(1, rng.Below(3));
  w.Bytes(2, "node-a");
  const size_t members = rng.Below(4);
  for (size_t i = 0; i < members; ++i) {
    Writer r;
    r.Bytes(1, "node-" + std::to_string(i)).Bytes(2, "10.0.0.1:7946");
    if (rng.Below(2) == 0) r.Number(3, rng.Below(4) == 0 ? rng.Next() : 7);
    if (rng.Below(2) == 0) r.Number(4, rng.Below(5));
    if (rng.Below(3) == 0) r.Raw(Soup(rng, 1));
    w.Bytes(3, r.str());
  }
  if (rng.Below(2) == 0) w.Bytes(4, "state");
  if (rng.Below(3) == 0) w.Raw(Soup(rng, 1));
  return w.str();
}

TEST(CanonicalDecodeTest, RandomSoupMatches) {
  QuietProtobufLog quiet;
  XorShift rng(2024);
  for (int round = 0; round < 20000; ++round) {
    std::string payload;
    const size_t messages = rng.Below(4);
    for (size_t i = 0; i < messages; ++i) {
      // Every kind, and two from the future.
      const int kind = 1 + static_cast<int>(rng.Below(kMaxMessageKind + 2));
      if (rng.Below(3) == 0) {
        payload += Payload(AllKinds()[rng.Below(AllKinds().size())]);
      } else {
        payload += Entry(kind, Soup(rng, 2));
      }
    }
    ExpectSamePacket(payload);
    ExpectSamePushPull(Soup(rng, 2));
    ExpectSamePushPull(PushPullSoup(rng));
  }
}

TEST(CanonicalDecodeTest, RandomBytesMatch) {
  QuietProtobufLog quiet;
  XorShift rng(99);
  for (int round = 0; round < 20000; ++round) {
    const std::string bytes = rng.Bytes(rng.Below(64));
    ExpectSamePacket(bytes);
    ExpectSamePushPull(bytes);
  }
}

// ------------------------------------------------------------ push-pull

TEST(CanonicalDecodeTest, PushPullVariantsMatch) {
  const std::string canonical = EncodePushPull(SamplePushPull());
  for (size_t n = 0; n < canonical.size(); ++n) {
    ExpectSamePushPull(canonical.substr(0, n));
  }
  const std::string record =
      Writer().Bytes(1, "node-a").Bytes(2, "a:1").Number(4, 2).str();
  // Members after the user state, members around the source, a state out
  // of range, a state of 2^32 + 1 (protobuf keeps 1), an empty record.
  ExpectSamePushPull(
      Writer().Bytes(2, "s").Bytes(4, "u").Bytes(3, record).str());
  ExpectSamePushPull(
      Writer().Bytes(3, record).Bytes(2, "s").Bytes(3, record).str());
  ExpectSamePushPull(
      Writer()
          .Bytes(2, "s")
          .Bytes(3, Writer().Bytes(1, "n").Bytes(2, "a").Number(4, 9).str())
          .str());
  ExpectSamePushPull(Writer()
                         .Bytes(2, "s")
                         .Bytes(3, Writer()
                                       .Bytes(1, "n")
                                       .Bytes(2, "a")
                                       .Number(4, (uint64_t{1} << 32) + 1)
                                       .str())
                         .str());
  ExpectSamePushPull(Writer().Bytes(2, "s").Bytes(3, "").str());
  ExpectSamePushPull(Writer().Number(1, 2).Bytes(2, "s").str());
  Limits few;
  few.max_members = 2;
  ExpectSamePushPull(canonical, few);
}

}  // namespace
}  // namespace roster::core
