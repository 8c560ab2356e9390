// The one set of wire::Message builders the tests share (the unit tests of
// the core, the simulated clusters, the loopback tests and make_corpus):
// each sets exactly the fields it names, so the bytes are what protobuf
// writes for that message, and what a member sends.
#ifndef ROSTER_TEST_COMMON_MESSAGES_H_
#define ROSTER_TEST_COMMON_MESSAGES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/wire/codec.h"
#include "core/wire/frame.h"
#include "core/wire/streams.h"
#include "proto/roster.pb.h"

namespace roster::test {

// ---------------------------------------------------------------- messages

// Fields left out stay empty; a ping without a source address is answered
// at the datagram's source.
inline wire::Message MakePing(uint32_t seq, const std::string& target,
                              const std::string& source = "",
                              const std::string& source_addr = "") {
  wire::Message m;
  wire::Ping* p = m.mutable_ping();
  p->set_seq(seq);
  p->set_target(target);
  p->set_source(source);
  p->set_source_addr(source_addr);
  return m;
}

inline wire::Message MakeIndirectPing(uint32_t seq, const std::string& target,
                                      const std::string& target_addr,
                                      const std::string& source,
                                      const std::string& source_addr,
                                      bool want_nack) {
  wire::Message m;
  wire::IndirectPing* p = m.mutable_indirect_ping();
  p->set_seq(seq);
  p->set_target(target);
  p->set_target_addr(target_addr);
  p->set_source(source);
  p->set_source_addr(source_addr);
  p->set_want_nack(want_nack);
  return m;
}

// With seq 0 the body is present but empty: still an ack.
inline wire::Message MakeAck(uint32_t seq, const std::string& payload = "",
                             const std::string& coordinate = "") {
  wire::Message m;
  m.mutable_ack()->set_seq(seq);
  if (!payload.empty()) m.mutable_ack()->set_payload(payload);
  if (!coordinate.empty()) m.mutable_ack()->set_coordinate(coordinate);
  return m;
}

inline wire::Message MakeNack(uint32_t seq) {
  wire::Message m;
  m.mutable_nack()->set_seq(seq);
  return m;
}

inline wire::Message MakeAlive(const std::string& name, const std::string& addr,
                               uint64_t incarnation,
                               const std::string& meta = "") {
  wire::Message m;
  wire::Alive* a = m.mutable_alive();
  a->set_name(name);
  a->set_addr(addr);
  a->set_incarnation(incarnation);
  a->set_meta(meta);
  return m;
}

inline wire::Message MakeSuspect(const std::string& name, uint64_t incarnation,
                                 const std::string& from) {
  wire::Message m;
  wire::Suspect* s = m.mutable_suspect();
  s->set_name(name);
  s->set_incarnation(incarnation);
  s->set_from(from);
  return m;
}

// A Dead `from` the member itself is a leave.
inline wire::Message MakeDead(const std::string& name, uint64_t incarnation,
                              const std::string& from) {
  wire::Message m;
  wire::Dead* d = m.mutable_dead();
  d->set_name(name);
  d->set_incarnation(incarnation);
  d->set_from(from);
  return m;
}

inline wire::Message MakeUser(const std::string& payload,
                              const std::string& origin, uint64_t id) {
  wire::Message m;
  wire::UserBroadcast* u = m.mutable_user();
  u->set_payload(payload);
  u->set_origin(origin);
  u->set_id(id);
  return m;
}

inline wire::Message MakeHello(const std::string& note) {
  wire::Message m;
  m.mutable_hello()->set_note(note);
  return m;
}

inline wire::Message MakeUserEvent(const std::string& name,
                                   const std::string& payload,
                                   const std::string& origin, uint32_t life,
                                   uint64_t ltime, bool coalesce = false) {
  wire::Message m;
  wire::UserEvent* e = m.mutable_user_event();
  e->set_name(name);
  e->set_payload(payload);
  e->set_origin(origin);
  e->set_life(life);
  e->set_ltime(ltime);
  e->set_coalesce(coalesce);
  return m;
}

// A query of `origin` (answers go to `origin_addr`) asking every member,
// unless `filter` (an encoded wire::QueryFilter) says otherwise.
inline wire::Message MakeQuery(const std::string& name,
                               const std::string& payload,
                               const std::string& origin,
                               const std::string& origin_addr, uint32_t life,
                               uint64_t ltime, uint32_t id, uint32_t timeout_ms,
                               bool want_ack = false, uint32_t relay_factor = 0,
                               const std::string& filter = "") {
  wire::Message m;
  wire::Query* q = m.mutable_query();
  q->set_name(name);
  q->set_payload(payload);
  q->set_origin(origin);
  q->set_origin_addr(origin_addr);
  q->set_life(life);
  q->set_ltime(ltime);
  q->set_id(id);
  q->set_timeout_ms(timeout_ms);
  q->set_relay_factor(relay_factor);
  q->set_want_ack(want_ack);
  q->set_filter(filter);
  return m;
}

inline wire::Message MakeQueryResponse(const std::string& origin, uint32_t life,
                                       uint32_t id, const std::string& from,
                                       bool ack,
                                       const std::string& payload = "",
                                       bool relay = false) {
  wire::Message m;
  wire::QueryResponse* r = m.mutable_query_response();
  r->set_origin(origin);
  r->set_life(life);
  r->set_id(id);
  r->set_from(from);
  r->set_ack(ack);
  r->set_payload(payload);
  r->set_relay(relay);
  return m;
}

// One member of a push-pull exchange.
inline wire::MemberRecord Record(const std::string& name,
                                 const std::string& addr, uint64_t incarnation,
                                 wire::MemberState state,
                                 const std::string& meta = "") {
  wire::MemberRecord r;
  r.set_name(name);
  r.set_addr(addr);
  r.set_incarnation(incarnation);
  r.set_state(state);
  r.set_meta(meta);
  return r;
}

// ---------------------------------------------------------------- bytes

// A packet's payload: its messages encoded as a member piggybacks them.
inline std::string Payload(const std::vector<wire::Message>& messages) {
  std::string payload;
  for (const wire::Message& m : messages)
    payload += core::EncodeMessageEntry(m);
  return payload;
}

inline std::string Payload(const wire::Message& m) {
  return core::EncodeMessageEntry(m);
}

// A datagram as it travels: a frame (unsealed) around the payload.
inline std::string Datagram(const std::vector<wire::Message>& messages,
                            std::string_view label = "") {
  return core::SealFrame(Payload(messages), label);
}

// Push-pull as it travels: a stream frame around the encoded state.
inline std::string PushPullRequest(const wire::PushPull& state,
                                   std::string_view label = "") {
  return core::SealStream(wire::STREAM_KIND_PUSH_PULL,
                          core::EncodePushPull(state), label, nullptr);
}

inline std::string PushPullReply(const wire::PushPull& state,
                                 std::string_view label = "") {
  return core::SealStream(wire::STREAM_KIND_OK, core::EncodePushPull(state),
                          label, nullptr);
}

}  // namespace roster::test

#endif  // ROSTER_TEST_COMMON_MESSAGES_H_
