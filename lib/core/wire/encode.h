// The packet entries and push-pull bodies roster sends, written straight
// from the values they carry. The bytes are exactly what protobuf writes for
// the same wire::Message or wire::PushPull (fields in number order, zero and
// empty values left out), without building a protobuf message per send.
// What each message holds, and so what is written, comes from its table in
// fields.h (encode.cc).
#ifndef ROSTER_CORE_WIRE_ENCODE_H_
#define ROSTER_CORE_WIRE_ENCODE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "roster/member.h"

namespace roster::core {

// One Packet.messages entry each (see EncodeMessageEntry in codec.h).
std::string PingEntry(uint32_t seq, std::string_view target,
                      std::string_view source, std::string_view source_addr);
std::string IndirectPingEntry(uint32_t seq, std::string_view target,
                              std::string_view target_addr,
                              std::string_view source,
                              std::string_view source_addr, bool want_nack);
// `coordinate`: the answering member's, already in its wire layout
// (wire/coordinate.h), or empty.
std::string AckEntry(uint32_t seq, std::string_view payload = {},
                     std::string_view coordinate = {});
std::string NackEntry(uint32_t seq);
// `life` and `previous_life` are left out when 0 (a sender that does not
// say, as builds before lives), and so are the protocol versions (as
// builds before versions).
std::string AliveEntry(std::string_view name, std::string_view addr,
                       uint64_t incarnation, std::string_view meta,
                       uint32_t life = 0, uint32_t previous_life = 0,
                       uint32_t protocol_min = 0, uint32_t protocol_max = 0);
std::string SuspectEntry(std::string_view name, uint64_t incarnation,
                         std::string_view from, uint32_t life = 0);
std::string DeadEntry(std::string_view name, uint64_t incarnation,
                      std::string_view from, uint32_t life = 0);
std::string UserEntry(std::string_view payload, std::string_view origin,
                      uint64_t id, uint32_t life = 0);
// Version 2's kind (versions.h): only for members that speak it.
std::string HelloEntry(std::string_view note);
// The entry of a user broadcast whose UserBroadcast body is already
// encoded (a broadcast passed on as it came).
std::string UserEntryFromBody(std::string_view body);

// Writes an encoded PushPull one member at a time.
class PushPullWriter {
 public:
  PushPullWriter(bool join, std::string_view source);
  void AddMember(std::string_view name, std::string_view addr,
                 uint64_t incarnation, MemberState state, std::string_view meta,
                 uint32_t life = 0, uint32_t previous_life = 0,
                 uint32_t protocol_min = 0, uint32_t protocol_max = 0);
  // The encoded PushPull; the writer is spent.
  std::string Finish(std::string_view user_state);

 private:
  std::string out_;
};

}  // namespace roster::core

#endif  // ROSTER_CORE_WIRE_ENCODE_H_
