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
// `prune`: a forced leave whose member every receiver forgets at once.
std::string DeadEntry(std::string_view name, uint64_t incarnation,
                      std::string_view from, uint32_t life = 0,
                      bool prune = false);
std::string UserEntry(std::string_view payload, std::string_view origin,
                      uint64_t id, uint32_t life = 0);
// Version 2's kind (versions.h): only for members that speak it.
std::string HelloEntry(std::string_view note);
// Version 2's kinds: user events and queries.
std::string UserEventEntry(std::string_view name, std::string_view payload,
                           std::string_view origin, uint32_t life,
                           uint64_t ltime, bool coalesce);
struct QueryEntryValues {
  std::string_view name;
  std::string_view payload;
  std::string_view origin;
  std::string_view origin_addr;
  uint32_t life = 0;
  uint64_t ltime = 0;
  uint32_t id = 0;
  uint32_t timeout_ms = 0;
  uint32_t relay_factor = 0;
  bool want_ack = false;
  std::string_view filter;  // an encoded QueryFilter
  bool retry = false;
};
std::string QueryEntry(const QueryEntryValues& query);
std::string QueryResponseEntry(std::string_view origin, uint32_t life,
                               uint32_t id, std::string_view from, bool ack,
                               std::string_view payload, bool relay);
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
  // The encoded PushPull; the writer is spent. `recent_events` is
  // Packet.messages entries (UserEventEntry).
  std::string Finish(std::string_view user_state, uint64_t event_clock = 0,
                     uint64_t query_clock = 0,
                     std::string_view recent_events = {});

 private:
  std::string out_;
};

}  // namespace roster::core

#endif  // ROSTER_CORE_WIRE_ENCODE_H_
