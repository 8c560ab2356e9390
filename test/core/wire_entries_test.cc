// Unit tests for lib/core/wire/encode.h: every entry and push-pull body is
// byte for byte what protobuf writes for the same message. And the tables
// of lib/core/wire/fields.h, which the encoder, the fast decoder, the views
// and the checks are generated from, against proto/roster.proto.
#include <cstdint>
#include <set>
#include <string>

#include "core/wire/codec.h"
#include "core/wire/encode.h"
#include "core/wire/fields.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "proto/roster.pb.h"
#include "test/common/messages.h"
#include "test/core/wire_samples.h"

namespace roster::core {
namespace {

using test::MakeAck;
using test::MakeAlive;
using test::MakeDead;
using test::MakeIndirectPing;
using test::MakeNack;
using test::MakePing;
using test::MakeSuspect;
using test::MakeUser;
using test::Record;

// Values that cover every varint length, zero (left out) and the edges.
const uint64_t kNumbers[] = {0,
                             1,
                             127,
                             128,
                             16383,
                             16384,
                             uint64_t{1} << 31,
                             0xFFFFFFFFu,
                             uint64_t{1} << 32,
                             kMaxIncarnation,
                             kMaxIncarnation + 1,
                             UINT64_MAX};

// Text of lengths around the one-byte length limit, empty included.
std::string Text(XorShift& rng) {
  static const size_t kSizes[] = {0, 1, 6, 127, 128, 300};
  return rng.Bytes(kSizes[rng.Below(std::size(kSizes))]);
}

TEST(WireEntriesTest, EveryKindMatchesProtobuf) {
  XorShift rng(42);
  for (uint64_t number : kNumbers) {
    const auto seq = static_cast<uint32_t>(number);
    for (int round = 0; round < 20; ++round) {
      const std::string a = Text(rng), b = Text(rng), c = Text(rng),
                        d = Text(rng);
      EXPECT_EQ(PingEntry(seq, a, b, c),
                EncodeMessageEntry(MakePing(seq, a, b, c)));
      for (bool nack : {false, true}) {
        EXPECT_EQ(IndirectPingEntry(seq, a, b, c, d, nack),
                  EncodeMessageEntry(MakeIndirectPing(seq, a, b, c, d, nack)));
      }
      EXPECT_EQ(AckEntry(seq), EncodeMessageEntry(MakeAck(seq)));
      EXPECT_EQ(AckEntry(seq, a), EncodeMessageEntry(MakeAck(seq, a)));
      EXPECT_EQ(AckEntry(seq, a, b), EncodeMessageEntry(MakeAck(seq, a, b)));
      EXPECT_EQ(AckEntry(seq, {}, b), EncodeMessageEntry(MakeAck(seq, "", b)));
      EXPECT_EQ(NackEntry(seq), EncodeMessageEntry(MakeNack(seq)));
      EXPECT_EQ(AliveEntry(a, b, number, c),
                EncodeMessageEntry(MakeAlive(a, b, number, c)));
      EXPECT_EQ(SuspectEntry(a, number, b),
                EncodeMessageEntry(MakeSuspect(a, number, b)));
      EXPECT_EQ(DeadEntry(a, number, b),
                EncodeMessageEntry(MakeDead(a, number, b)));
      const wire::Message user = MakeUser(a, b, number);
      EXPECT_EQ(UserEntry(a, b, number), EncodeMessageEntry(user));
      EXPECT_EQ(UserEntryFromBody(user.user().SerializeAsString()),
                EncodeMessageEntry(user));
      EXPECT_EQ(HelloEntry(a), EncodeMessageEntry(test::MakeHello(a)));
    }
  }
}

TEST(WireEntriesTest, AliveWithLivesAndVersionsMatchesProtobuf) {
  for (uint64_t number : kNumbers) {
    const auto n = static_cast<uint32_t>(number);
    wire::Message m = MakeAlive("node-a", "a:1", number, "m");
    m.mutable_alive()->set_life(n);
    m.mutable_alive()->set_previous_life(n / 2);
    m.mutable_alive()->set_protocol_min(n / 3);
    m.mutable_alive()->set_protocol_max(n);
    EXPECT_EQ(AliveEntry("node-a", "a:1", number, "m", n, n / 2, n / 3, n),
              EncodeMessageEntry(m))
        << number;
  }
  EXPECT_EQ(AliveEntry(VersionedAliveMessage().alive().name(),
                       VersionedAliveMessage().alive().addr(), 5, "v",
                       0xdeadbeef, 7, 1, 300),
            EncodeMessageEntry(VersionedAliveMessage()));
}

TEST(WireEntriesTest, DeadWithLifeAndPruneMatchesProtobuf) {
  const wire::Message& m = PrunedDeadMessage();
  EXPECT_EQ(DeadEntry(m.dead().name(), m.dead().incarnation(), m.dead().from(),
                      m.dead().life(), /*prune=*/true),
            EncodeMessageEntry(m));
}

TEST(WireEntriesTest, BigBodiesGetLongLengths) {
  const std::string payload(20000, 'p');
  EXPECT_EQ(UserEntry(payload, "node-a", 3),
            EncodeMessageEntry(MakeUser(payload, "node-a", 3)));
}

TEST(PushPullWriterTest, MatchesProtobuf) {
  XorShift rng(7);
  for (int round = 0; round < 50; ++round) {
    wire::PushPull state;
    state.set_join(round % 2 == 0);
    const std::string source = Text(rng);
    state.set_source(source);
    PushPullWriter writer(state.join(), source);
    const size_t members = rng.Below(20);
    for (size_t i = 0; i < members; ++i) {
      const std::string name = Text(rng), addr = Text(rng), meta = Text(rng);
      const uint64_t incarnation = kNumbers[rng.Below(std::size(kNumbers))];
      const auto member_state = static_cast<MemberState>(rng.Below(4));
      *state.add_members() =
          Record(name, addr, incarnation,
                 static_cast<wire::MemberState>(member_state), meta);
      writer.AddMember(name, addr, incarnation, member_state, meta);
    }
    const std::string user_state = Text(rng);
    state.set_user_state(user_state);
    EXPECT_EQ(writer.Finish(user_state), EncodePushPull(state)) << round;
  }
}

TEST(PushPullWriterTest, SampleMatchesProtobuf) {
  const wire::PushPull state = SamplePushPull();
  PushPullWriter writer(state.join(), state.source());
  for (const wire::MemberRecord& r : state.members()) {
    writer.AddMember(r.name(), r.addr(), r.incarnation(),
                     static_cast<MemberState>(r.state()), r.meta(), r.life(),
                     r.previous_life(), r.protocol_min(), r.protocol_max());
  }
  EXPECT_EQ(writer.Finish(state.user_state(), state.event_clock(),
                          state.query_clock(), state.recent_events()),
            EncodePushPull(state));
}

// ------------------------------------------------------------ fields.h

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

// Whether a field of `type` is what the descriptor says.
void ExpectType(const FieldDescriptor* field, FieldType type) {
  const bool repeated = type == FieldType::kMemberRecords;
  EXPECT_EQ(field->is_repeated(), repeated) << field->full_name();
  switch (type) {
    case FieldType::kUint32:
      EXPECT_EQ(field->type(), FieldDescriptor::TYPE_UINT32)
          << field->full_name();
      return;
    case FieldType::kUint64:
      EXPECT_EQ(field->type(), FieldDescriptor::TYPE_UINT64)
          << field->full_name();
      return;
    case FieldType::kBool:
      EXPECT_EQ(field->type(), FieldDescriptor::TYPE_BOOL)
          << field->full_name();
      return;
    case FieldType::kMemberState:
      ASSERT_EQ(field->type(), FieldDescriptor::TYPE_ENUM)
          << field->full_name();
      EXPECT_EQ(field->enum_type(), wire::MemberState_descriptor());
      return;
    case FieldType::kBytes:
      EXPECT_EQ(field->type(), FieldDescriptor::TYPE_BYTES)
          << field->full_name();
      return;
    case FieldType::kMemberRecords:
      ASSERT_EQ(field->type(), FieldDescriptor::TYPE_MESSAGE)
          << field->full_name();
      EXPECT_EQ(field->message_type(), wire::MemberRecord::descriptor());
      return;
  }
  ADD_FAILURE() << "unknown type of " << field->full_name();
}

// Every field of the message is in its table, and every row of the table
// is a field of the message, by number, name and type.
template <typename Proto>
void ExpectTableIsMessage() {
  const Descriptor* message = Proto::descriptor();
  SCOPED_TRACE(message->full_name());
  ASSERT_EQ(FieldTable<Proto>::kSize,
            static_cast<size_t>(message->field_count()))
      << "fields.h lists another number of fields than proto/roster.proto";
  for (const FieldInfo& row : FieldTable<Proto>::kFields) {
    const FieldDescriptor* field = message->FindFieldByNumber(row.number);
    ASSERT_NE(field, nullptr) << "no field " << row.number;
    EXPECT_EQ(field->name(), row.name);
    EXPECT_EQ(field->containing_oneof(), nullptr) << field->full_name();
    ExpectType(field, row.type);
    // Numbers and flags have no rule but "any", and bytes always have one.
    if (row.type == FieldType::kBytes) {
      EXPECT_NE(row.rule, FieldRule::kAny) << field->full_name();
    }
  }
}

TEST(FieldTablesTest, EveryTableIsItsMessage) {
#define ROSTER_TEST_TABLE_(Msg) ExpectTableIsMessage<wire::Msg>();
#define ROSTER_TEST_KIND_TABLE_(number, field, Field, Msg) \
  ROSTER_TEST_TABLE_(Msg)
  ROSTER_WIRE_KINDS(ROSTER_TEST_KIND_TABLE_)
  ROSTER_WIRE_PUSH_PULL_MESSAGES(ROSTER_TEST_TABLE_)
#undef ROSTER_TEST_KIND_TABLE_
#undef ROSTER_TEST_TABLE_
}

// The kinds are Message's body, all of it.
TEST(FieldTablesTest, KindsAreTheBody) {
  const Descriptor* message = wire::Message::descriptor();
  ASSERT_EQ(message->oneof_decl_count(), 1);
  const auto* body = message->oneof_decl(0);
  EXPECT_EQ(body->name(), "body");
  EXPECT_EQ(body->field_count(), message->field_count());
  std::set<int> numbers;
#define ROSTER_TEST_KIND_(number, field, Field, Msg)                 \
  {                                                                  \
    const FieldDescriptor* f = message->FindFieldByNumber(number);   \
    ASSERT_NE(f, nullptr) << #field;                                 \
    EXPECT_EQ(f->name(), #field);                                    \
    EXPECT_EQ(f->containing_oneof(), body) << #field;                \
    EXPECT_EQ(f->message_type(), wire::Msg::descriptor()) << #field; \
    numbers.insert(number);                                          \
  }
  ROSTER_WIRE_KINDS(ROSTER_TEST_KIND_)
#undef ROSTER_TEST_KIND_
  EXPECT_EQ(numbers.size(), static_cast<size_t>(message->field_count()));
  EXPECT_EQ(kMaxMessageKind, message->field_count());
  EXPECT_EQ(wire::Packet::descriptor()->field_count(), 1);
}

}  // namespace
}  // namespace roster::core
