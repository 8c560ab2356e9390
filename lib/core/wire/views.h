// Decoded messages as views into the bytes they came in: what Swim reads
// from a datagram or a push-pull body without building protobuf messages.
// Each view has the accessors of the protobuf message it stands for, so
// code reads `msg.alive().name()` from either.
//
// A view holds up to six fields, indexed by field number; a field is either
// bytes (a view) or a number. Views are only as long-lived as the bytes
// they point into.
#ifndef ROSTER_CORE_WIRE_VIEWS_H_
#define ROSTER_CORE_WIRE_VIEWS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/roster.pb.h"

namespace roster::core {

// The value of one field: bytes, or a number (varint) when `data` is null.
struct FieldValue {
  const char* data = nullptr;
  uint64_t value = 0;  // the length of the bytes, or the number
  std::string_view bytes() const {
    return data == nullptr ? std::string_view() : std::string_view(data, value);
  }
  void SetBytes(std::string_view b) {
    data = b.data() != nullptr ? b.data() : "";
    value = b.size();
  }
};

inline constexpr int kMaxViewFields = 6;

// The fields of one message, by field number (fields[0] is field 1).
struct FieldValues {
  FieldValue fields[kMaxViewFields];
  std::string_view bytes(int field) const { return fields[field - 1].bytes(); }
  uint64_t number(int field) const { return fields[field - 1].value; }
};

class PingView {
 public:
  explicit PingView(const FieldValues& f) : f_(f) {}
  uint32_t seq() const { return static_cast<uint32_t>(f_.number(1)); }
  std::string_view target() const { return f_.bytes(2); }
  std::string_view source() const { return f_.bytes(3); }
  std::string_view source_addr() const { return f_.bytes(4); }

 private:
  const FieldValues& f_;
};

class IndirectPingView {
 public:
  explicit IndirectPingView(const FieldValues& f) : f_(f) {}
  uint32_t seq() const { return static_cast<uint32_t>(f_.number(1)); }
  std::string_view target() const { return f_.bytes(2); }
  std::string_view target_addr() const { return f_.bytes(3); }
  std::string_view source() const { return f_.bytes(4); }
  std::string_view source_addr() const { return f_.bytes(5); }
  bool want_nack() const { return f_.number(6) != 0; }

 private:
  const FieldValues& f_;
};

// Ack and Nack.
class SeqView {
 public:
  explicit SeqView(const FieldValues& f) : f_(f) {}
  uint32_t seq() const { return static_cast<uint32_t>(f_.number(1)); }

 private:
  const FieldValues& f_;
};

class AliveView {
 public:
  explicit AliveView(const FieldValues& f) : f_(f) {}
  std::string_view name() const { return f_.bytes(1); }
  std::string_view addr() const { return f_.bytes(2); }
  uint64_t incarnation() const { return f_.number(3); }
  std::string_view meta() const { return f_.bytes(4); }

 private:
  const FieldValues& f_;
};

// Suspect and Dead.
class AccusationView {
 public:
  explicit AccusationView(const FieldValues& f) : f_(f) {}
  std::string_view name() const { return f_.bytes(1); }
  uint64_t incarnation() const { return f_.number(2); }
  std::string_view from() const { return f_.bytes(3); }

 private:
  const FieldValues& f_;
};

class UserView {
 public:
  UserView(const FieldValues& f, std::string_view body) : f_(f), body_(body) {}
  std::string_view payload() const { return f_.bytes(1); }
  std::string_view origin() const { return f_.bytes(2); }
  uint64_t id() const { return f_.number(3); }
  // The UserBroadcast as protobuf would encode it (unknown fields kept),
  // for passing the broadcast on.
  std::string_view body() const { return body_; }

 private:
  const FieldValues& f_;
  std::string_view body_;
};

// One Packet.messages element.
struct MessageView {
  wire::Message::BodyCase kind = wire::Message::BODY_NOT_SET;
  FieldValues values;
  std::string_view user_body;  // kUser only

  wire::Message::BodyCase body_case() const { return kind; }
  PingView ping() const { return PingView(values); }
  IndirectPingView indirect_ping() const { return IndirectPingView(values); }
  SeqView ack() const { return SeqView(values); }
  SeqView nack() const { return SeqView(values); }
  AliveView alive() const { return AliveView(values); }
  AccusationView suspect() const { return AccusationView(values); }
  AccusationView dead() const { return AccusationView(values); }
  UserView user() const { return UserView(values, user_body); }
};

// One PushPull.members element.
struct MemberRecordView {
  FieldValues values;

  std::string_view name() const { return values.bytes(1); }
  std::string_view addr() const { return values.bytes(2); }
  uint64_t incarnation() const { return values.number(3); }
  // As protobuf keeps an open enum: any int32, valid or not.
  wire::MemberState state() const {
    return static_cast<wire::MemberState>(
        static_cast<int32_t>(static_cast<uint32_t>(values.number(4))));
  }
  std::string_view meta() const { return values.bytes(5); }
};

struct PushPullView {
  bool join_ = false;
  std::string_view source_;
  std::vector<MemberRecordView> members_;
  std::string_view user_state_;

  bool join() const { return join_; }
  std::string_view source() const { return source_; }
  const std::vector<MemberRecordView>& members() const { return members_; }
  std::string_view user_state() const { return user_state_; }
};

// Views of messages protobuf parsed; they point into `packet`. A user
// broadcast's body is encoded into `bodies`, which must keep its strings
// in place while the views live (null: bodies left empty).
void AppendViews(const wire::Packet& packet, std::vector<MessageView>* out,
                 std::vector<std::string>* bodies);
PushPullView ViewOf(const wire::PushPull& state);

}  // namespace roster::core

#endif  // ROSTER_CORE_WIRE_VIEWS_H_
