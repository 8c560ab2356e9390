// Unit tests for lib/core/wire_entries.h: every entry and push-pull body is
// byte for byte what protobuf writes for the same message.
#include "core/wire_entries.h"

#include <cstdint>
#include <string>

#include "core/wire.h"
#include "gtest/gtest.h"
#include "proto/roster.pb.h"
#include "test/wire_samples.h"

namespace roster::core {
namespace {

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
      wire::Message m;
      wire::Ping* ping = m.mutable_ping();
      ping->set_seq(seq);
      ping->set_target(a);
      ping->set_source(b);
      ping->set_source_addr(c);
      EXPECT_EQ(PingEntry(seq, a, b, c), EncodeMessageEntry(m));

      for (bool nack : {false, true}) {
        wire::IndirectPing* ip = m.mutable_indirect_ping();
        ip->set_seq(seq);
        ip->set_target(a);
        ip->set_target_addr(b);
        ip->set_source(c);
        ip->set_source_addr(d);
        ip->set_want_nack(nack);
        EXPECT_EQ(IndirectPingEntry(seq, a, b, c, d, nack),
                  EncodeMessageEntry(m));
      }

      m.mutable_ack()->set_seq(seq);
      EXPECT_EQ(AckEntry(seq), EncodeMessageEntry(m));
      m.mutable_nack()->set_seq(seq);
      EXPECT_EQ(NackEntry(seq), EncodeMessageEntry(m));

      wire::Alive* alive = m.mutable_alive();
      alive->set_name(a);
      alive->set_addr(b);
      alive->set_incarnation(number);
      alive->set_meta(c);
      EXPECT_EQ(AliveEntry(a, b, number, c), EncodeMessageEntry(m));

      wire::Suspect* suspect = m.mutable_suspect();
      suspect->set_name(a);
      suspect->set_incarnation(number);
      suspect->set_from(b);
      EXPECT_EQ(SuspectEntry(a, number, b), EncodeMessageEntry(m));

      wire::Dead* dead = m.mutable_dead();
      dead->set_name(a);
      dead->set_incarnation(number);
      dead->set_from(b);
      EXPECT_EQ(DeadEntry(a, number, b), EncodeMessageEntry(m));

      wire::UserBroadcast* user = m.mutable_user();
      user->set_payload(a);
      user->set_origin(b);
      user->set_id(number);
      EXPECT_EQ(UserEntry(a, b, number), EncodeMessageEntry(m));
      EXPECT_EQ(UserEntryFromBody(user->SerializeAsString()),
                EncodeMessageEntry(m));
    }
  }
}

TEST(WireEntriesTest, BigBodiesGetLongLengths) {
  const std::string payload(20000, 'p');
  wire::Message m;
  m.mutable_user()->set_payload(payload);
  m.mutable_user()->set_origin("node-a");
  m.mutable_user()->set_id(3);
  EXPECT_EQ(UserEntry(payload, "node-a", 3), EncodeMessageEntry(m));
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
      wire::MemberRecord* r = state.add_members();
      r->set_name(name);
      r->set_addr(addr);
      r->set_incarnation(incarnation);
      r->set_state(static_cast<wire::MemberState>(member_state));
      r->set_meta(meta);
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
                     static_cast<MemberState>(r.state()), r.meta());
  }
  EXPECT_EQ(writer.Finish(state.user_state()), EncodePushPull(state));
}

}  // namespace
}  // namespace roster::core
