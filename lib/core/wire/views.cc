#include "core/wire/views.h"

namespace roster::core {
namespace {

// Fills `f` from alternating field numbers and values.
struct Filler {
  FieldValues& f;
  void Bytes(int field, const std::string& value) {
    f.fields[field - 1].SetBytes(value);
  }
  void Number(int field, uint64_t value) { f.fields[field - 1].value = value; }
};

MessageView ViewOf(const wire::Message& m, std::vector<std::string>* bodies) {
  MessageView view;
  view.kind = m.body_case();
  Filler fill{view.values};
  switch (m.body_case()) {
    case wire::Message::kPing:
      fill.Number(1, m.ping().seq());
      fill.Bytes(2, m.ping().target());
      fill.Bytes(3, m.ping().source());
      fill.Bytes(4, m.ping().source_addr());
      break;
    case wire::Message::kIndirectPing: {
      const wire::IndirectPing& p = m.indirect_ping();
      fill.Number(1, p.seq());
      fill.Bytes(2, p.target());
      fill.Bytes(3, p.target_addr());
      fill.Bytes(4, p.source());
      fill.Bytes(5, p.source_addr());
      fill.Number(6, p.want_nack() ? 1 : 0);
      break;
    }
    case wire::Message::kAck:
      fill.Number(1, m.ack().seq());
      break;
    case wire::Message::kNack:
      fill.Number(1, m.nack().seq());
      break;
    case wire::Message::kAlive:
      fill.Bytes(1, m.alive().name());
      fill.Bytes(2, m.alive().addr());
      fill.Number(3, m.alive().incarnation());
      fill.Bytes(4, m.alive().meta());
      break;
    case wire::Message::kSuspect:
      fill.Bytes(1, m.suspect().name());
      fill.Number(2, m.suspect().incarnation());
      fill.Bytes(3, m.suspect().from());
      break;
    case wire::Message::kDead:
      fill.Bytes(1, m.dead().name());
      fill.Number(2, m.dead().incarnation());
      fill.Bytes(3, m.dead().from());
      break;
    case wire::Message::kUser:
      fill.Bytes(1, m.user().payload());
      fill.Bytes(2, m.user().origin());
      fill.Number(3, m.user().id());
      if (bodies != nullptr) {
        view.user_body = bodies->emplace_back(m.user().SerializeAsString());
      }
      break;
    case wire::Message::BODY_NOT_SET:
      break;
  }
  return view;
}

}  // namespace

void AppendViews(const wire::Packet& packet, std::vector<MessageView>* out,
                 std::vector<std::string>* bodies) {
  if (bodies != nullptr) {
    // Room for every body up front: a string moved by a growing vector
    // could take its characters with it.
    size_t users = 0;
    for (const wire::Message& m : packet.messages())
      users += m.body_case() == wire::Message::kUser ? 1 : 0;
    bodies->reserve(bodies->size() + users);
  }
  for (const wire::Message& m : packet.messages())
    out->push_back(ViewOf(m, bodies));
}

PushPullView ViewOf(const wire::PushPull& state) {
  PushPullView view;
  view.join_ = state.join();
  view.source_ = state.source();
  view.user_state_ = state.user_state();
  view.members_.reserve(state.members_size());
  for (const wire::MemberRecord& r : state.members()) {
    MemberRecordView& record = view.members_.emplace_back();
    Filler fill{record.values};
    fill.Bytes(1, r.name());
    fill.Bytes(2, r.addr());
    fill.Number(3, r.incarnation());
    fill.Number(4, static_cast<uint32_t>(r.state()));
    fill.Bytes(5, r.meta());
  }
  return view;
}

}  // namespace roster::core
