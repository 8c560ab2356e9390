// Shared by the wire tests: a reproducible random source, buffers the
// sanitizers watch, and one sample message of every kind.
#ifndef ROSTER_TEST_WIRE_SAMPLES_H_
#define ROSTER_TEST_WIRE_SAMPLES_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/wire.h"
#include "google/protobuf/stubs/logging.h"
#include "proto/roster.pb.h"

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

inline wire::Message PingMessage() {
  wire::Message m;
  wire::Ping* ping = m.mutable_ping();
  ping->set_seq(4000000000u);
  ping->set_target("node-b");
  ping->set_source("node-a");
  ping->set_source_addr("10.0.0.1:7946");
  return m;
}

inline wire::Message IndirectPingMessage() {
  wire::Message m;
  wire::IndirectPing* ping = m.mutable_indirect_ping();
  ping->set_seq(17);
  ping->set_target("node-c");
  ping->set_target_addr("[fe80::1]:7946");
  ping->set_source("node-a");
  ping->set_source_addr("10.0.0.1:7946");
  ping->set_want_nack(true);
  return m;
}

inline wire::Message AckMessage() {
  wire::Message m;
  m.mutable_ack()->set_seq(99);
  return m;
}

inline wire::Message ZeroAckMessage() {
  wire::Message m;
  m.mutable_ack();  // seq 0: the body is present but empty
  return m;
}

inline wire::Message NackMessage() {
  wire::Message m;
  m.mutable_nack()->set_seq(12345);
  return m;
}

inline wire::Message AliveMessage() {
  wire::Message m;
  wire::Alive* alive = m.mutable_alive();
  alive->set_name("node-d");
  alive->set_addr("10.0.0.4:7946");
  alive->set_incarnation(kMaxIncarnation);
  alive->set_meta(std::string("\0\x01\xff meta", 8));
  return m;
}

inline wire::Message SuspectMessage() {
  wire::Message m;
  wire::Suspect* suspect = m.mutable_suspect();
  suspect->set_name("node-e");
  suspect->set_incarnation(3);
  suspect->set_from("node-a");
  return m;
}

inline wire::Message DeadMessage() {
  wire::Message m;
  wire::Dead* dead = m.mutable_dead();
  dead->set_name("node-f");
  dead->set_incarnation(8);
  dead->set_from("node-f");
  return m;
}

inline wire::Message UserMessage(size_t size = 5) {
  wire::Message m;
  std::string payload(size, 'u');
  if (size > 0) payload[0] = '\0';
  m.mutable_user()->set_payload(payload);
  m.mutable_user()->set_origin("node-a");
  m.mutable_user()->set_id(7);
  return m;
}

inline std::vector<wire::Message> AllKinds() {
  return {PingMessage(),    IndirectPingMessage(), AckMessage(),
          ZeroAckMessage(), NackMessage(),         AliveMessage(),
          SuspectMessage(), DeadMessage(),         UserMessage(),
          UserMessage(0),   UserMessage(300),      UserMessage(20000)};
}

inline std::string Payload(const std::vector<wire::Message>& messages) {
  std::string payload;
  for (const wire::Message& m : messages) payload += EncodeMessageEntry(m);
  return payload;
}

inline std::string Payload(const wire::Message& m) {
  return EncodeMessageEntry(m);
}

inline wire::PushPull SamplePushPull() {
  wire::PushPull state;
  state.set_join(true);
  state.set_source("node-a");
  const wire::MemberState states[] = {
      wire::MEMBER_STATE_ALIVE, wire::MEMBER_STATE_SUSPECT,
      wire::MEMBER_STATE_DEAD, wire::MEMBER_STATE_LEFT};
  for (int i = 0; i < 4; ++i) {
    wire::MemberRecord* r = state.add_members();
    r->set_name("node-" + std::to_string(i));
    r->set_addr("10.0.0." + std::to_string(i) + ":7946");
    r->set_incarnation(static_cast<uint64_t>(i) * 1000);
    r->set_state(states[i]);
    r->set_meta(std::string(static_cast<size_t>(i) * 10, 'm'));
  }
  state.set_user_state(std::string("\0app", 4));
  return state;
}

}  // namespace roster::core

#endif  // ROSTER_TEST_WIRE_SAMPLES_H_
