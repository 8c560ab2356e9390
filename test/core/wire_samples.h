// Shared by the wire tests: a reproducible random source, buffers the
// sanitizers watch, and one sample message of every kind (built with the
// builders of test/common/messages.h).
#ifndef ROSTER_TEST_CORE_WIRE_SAMPLES_H_
#define ROSTER_TEST_CORE_WIRE_SAMPLES_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/wire/decoded.h"
#include "google/protobuf/stubs/logging.h"
#include "proto/roster.pb.h"
#include "test/common/messages.h"

namespace roster::core {

// Deterministic xorshift64 so failures reproduce.
class XorShift {
 public:
  explicit XorShift(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  // Uniform-ish in [0, n); n > 0.
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
  char Byte() { return static_cast<char>(Next() & 0xFF); }
  std::string Bytes(size_t n) {
    std::string out(n, '\0');
    for (char& c : out) c = Byte();
    return out;
  }

 private:
  uint64_t state_;
};

// Silences protobuf's log (it reports invalid UTF-8 it meets while parsing)
// for the lifetime of the object.
class QuietProtobufLog {
 public:
  QuietProtobufLog()
      : previous_(google::protobuf::SetLogHandler(&QuietProtobufLog::Drop)) {}
  ~QuietProtobufLog() { google::protobuf::SetLogHandler(previous_); }

 private:
  static void Drop(google::protobuf::LogLevel, const char*, int,
                   const std::string&) {}
  google::protobuf::LogHandler* previous_;
};

// Copies `bytes` into a heap buffer of exactly that size, so that the
// sanitizers catch any read past the end.
class ExactBuffer {
 public:
  explicit ExactBuffer(std::string_view bytes)
      : size_(bytes.size()), data_(new char[bytes.size()]) {
    std::copy(bytes.begin(), bytes.end(), data_.get());
  }
  std::string_view view() const { return {data_.get(), size_}; }

 private:
  size_t size_;
  std::unique_ptr<char[]> data_;
};

// One sample message of every kind, built with the shared builders.
inline wire::Message PingMessage() {
  return test::MakePing(4000000000u, "node-b", "node-a", "10.0.0.1:7946");
}

inline wire::Message IndirectPingMessage() {
  return test::MakeIndirectPing(17, "node-c", "[fe80::1]:7946", "node-a",
                                "10.0.0.1:7946", /*want_nack=*/true);
}

inline wire::Message AckMessage() { return test::MakeAck(99); }

// seq 0: the body is present but empty.
inline wire::Message ZeroAckMessage() { return test::MakeAck(0); }

// With the application's payload (Delegate::AckPayload).
inline wire::Message PayloadAckMessage() {
  return test::MakeAck(77, std::string("rtt\0payload", 11));
}

// With the answering member's network coordinate (wire/coordinate.h's
// layout: a fresh one).
inline std::string FreshCoordinateBytes() {
  std::string bytes("\x01\x08", 2);
  bytes.append(32, '\0');
  bytes.append("\x3f\xc0\x00\x00", 4);  // error 1.5
  bytes.append(4, '\0');                // adjustment 0
  bytes.append("\x37\x27\xc5\xac", 4);  // height 10 us
  return bytes;
}
inline wire::Message CoordinateAckMessage() {
  return test::MakeAck(78, "p", FreshCoordinateBytes());
}

inline wire::Message NackMessage() { return test::MakeNack(12345); }

inline wire::Message AliveMessage() {
  return test::MakeAlive("node-d", "10.0.0.4:7946", kMaxIncarnation,
                         std::string("\0\x01\xff meta", 8));
}

// Every field an alive has, the protocol versions included.
inline wire::Message VersionedAliveMessage() {
  wire::Message m = test::MakeAlive("node-v", "10.0.0.9:7946", 5, "v");
  m.mutable_alive()->set_life(0xdeadbeef);
  m.mutable_alive()->set_previous_life(7);
  m.mutable_alive()->set_protocol_min(1);
  m.mutable_alive()->set_protocol_max(300);
  return m;
}

inline wire::Message SuspectMessage() {
  return test::MakeSuspect("node-e", 3, "node-a");
}

inline wire::Message DeadMessage() {
  return test::MakeDead("node-f", 8, "node-f");
}

// A forced leave with prune (Swim::ForceLeave).
inline wire::Message PrunedDeadMessage() {
  wire::Message m = test::MakeDead("node-g", 9, "node-g");
  m.mutable_dead()->set_life(0xfeedface);
  m.mutable_dead()->set_prune(true);
  return m;
}

inline wire::Message UserMessage(size_t size = 5) {
  std::string payload(size, 'u');
  if (size > 0) payload[0] = '\0';
  return test::MakeUser(payload, "node-a", 7);
}

inline wire::Message HelloMessage() { return test::MakeHello("node-a"); }

// Version 2's kinds, with every field set.
inline wire::Message UserEventMessage() {
  return test::MakeUserEvent("deploy",
                             std::string("v\0"
                                         "42",
                                         4),
                             "node-a", 9, 77, /*coalesce=*/true);
}

inline wire::Message QueryMessage() {
  wire::QueryFilter filter;
  filter.add_nodes("node-b");
  wire::TagFilter* tag = filter.add_tags();
  tag->set_key("role");
  tag->set_regex("^db$");
  wire::Message m =
      test::MakeQuery("load", "cpu", "node-a", "10.0.0.1:7946", 9, 78, 5, 1500,
                      /*want_ack=*/true, 2, filter.SerializeAsString());
  m.mutable_query()->set_retry(true);
  return m;
}

inline wire::Message QueryResponseMessage() {
  return test::MakeQueryResponse("node-a", 9, 5, "node-b", /*ack=*/false, "0.5",
                                 /*relay=*/true);
}

inline std::vector<wire::Message> AllKinds() {
  return {
      PingMessage(),           IndirectPingMessage(), AckMessage(),
      ZeroAckMessage(),        NackMessage(),         AliveMessage(),
      VersionedAliveMessage(), SuspectMessage(),      DeadMessage(),
      UserMessage(),           UserMessage(0),        UserMessage(300),
      UserMessage(20000),      HelloMessage(),        test::MakeHello(""),
      PayloadAckMessage(),     PrunedDeadMessage(),   CoordinateAckMessage(),
      UserEventMessage(),      QueryMessage(),        QueryResponseMessage()};
}

inline wire::PushPull SamplePushPull() {
  wire::PushPull state;
  state.set_join(true);
  state.set_source("node-a");
  const wire::MemberState states[] = {
      wire::MEMBER_STATE_ALIVE, wire::MEMBER_STATE_SUSPECT,
      wire::MEMBER_STATE_DEAD, wire::MEMBER_STATE_LEFT};
  for (int i = 0; i < 4; ++i) {
    *state.add_members() = test::Record(
        "node-" + std::to_string(i), "10.0.0." + std::to_string(i) + ":7946",
        static_cast<uint64_t>(i) * 1000, states[i],
        std::string(static_cast<size_t>(i) * 10, 'm'));
    // Versions said by some (a newer build), not by others (an older).
    if (i % 2 == 1) {
      state.mutable_members(i)->set_protocol_min(1);
      state.mutable_members(i)->set_protocol_max(static_cast<uint32_t>(i));
    }
  }
  state.set_user_state(std::string("\0app", 4));
  state.set_event_clock(78);
  state.set_query_clock(79);
  wire::Packet recent;
  *recent.add_messages() = UserEventMessage();
  state.set_recent_events(recent.SerializeAsString());
  return state;
}

}  // namespace roster::core

#endif  // ROSTER_TEST_CORE_WIRE_SAMPLES_H_
