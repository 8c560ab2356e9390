#include "core/wire/streams.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/wire/checks.h"
#include "core/wire/frame.h"
#include "roster/counters.h"

namespace roster::core {

std::string SealStream(wire::StreamKind kind, std::string_view body,
                       std::string_view label, const Keyring* keyring) {
  std::string payload;
  payload.reserve(body.size() + 1);
  payload.push_back(static_cast<char>(kind));
  payload.append(body);
  return SealFrame(payload, label, keyring);
}

Decoded<StreamView> OpenStream(std::string_view frame, std::string_view label,
                               size_t max_frame_bytes, const Keyring* keyring,
                               std::string* opened) {
  Decoded<StreamView> out;
  auto payload = OpenFrame(frame, label, max_frame_bytes, keyring, opened);
  if (!payload.ok()) {
    out.error = std::move(payload.error);
    return out;
  }
  if (payload.value.empty()) {
    out.error = {DropReason::kMalformed, "empty stream message"};
    return out;
  }
  out.value.kind = static_cast<wire::StreamKind>(
      static_cast<uint8_t>(payload.value.front()));
  out.value.body = payload.value.substr(1);
  return out;
}

std::string PrintableRefusal(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 300)) {
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  return out;
}

std::string EncodeAppMessage(std::string_view from, std::string_view payload,
                             bool reply_with_status) {
  wire::AppMessage m;
  m.set_from(std::string(from));
  m.set_payload(std::string(payload));
  m.set_reply_with_status(reply_with_status);
  return m.SerializeAsString();
}

absl::StatusOr<wire::AppMessage> DecodeAppMessage(std::string_view body,
                                                  const Limits& limits) {
  wire::AppMessage m;
  if (!m.ParseFromArray(body.data(), static_cast<int>(body.size())))
    return absl::InvalidArgumentError("the message does not decode");
  WireError error;
  if (!CheckMemberName(m.from(), "the message's sender", limits, &error))
    return absl::InvalidArgumentError(error.message);
  return m;
}

std::string EncodeAppReply(const absl::Status& status,
                           std::string_view payload) {
  wire::AppReply r;
  r.set_code(static_cast<uint32_t>(status.code()));
  if (status.ok()) {
    r.set_payload(std::string(payload));
  } else {
    r.set_message(std::string(status.message()));
  }
  return r.SerializeAsString();
}

absl::StatusOr<wire::AppReply> DecodeAppReply(std::string_view body) {
  wire::AppReply r;
  if (!r.ParseFromArray(body.data(), static_cast<int>(body.size())))
    return absl::InvalidArgumentError("the reply does not decode");
  return r;
}

absl::Status AppReplyStatus(const wire::AppReply& reply) {
  if (reply.code() == 0) return absl::OkStatus();
  const uint32_t last =
      static_cast<uint32_t>(absl::StatusCode::kUnauthenticated);
  const absl::StatusCode code =
      reply.code() <= last ? static_cast<absl::StatusCode>(reply.code())
                           : absl::StatusCode::kUnknown;
  return absl::Status(code, PrintableRefusal(reply.message()));
}

std::string EncodeMemberList(const std::vector<MemberInfo>& members,
                             absl::Time now) {
  wire::MemberList list;
  for (const MemberInfo& m : members) {
    wire::MemberListEntry* e = list.add_members();
    e->set_name(m.name);
    e->set_addr(m.addr);
    e->set_state(static_cast<wire::MemberState>(m.state));
    e->set_incarnation(m.incarnation);
    e->set_meta(m.meta);
    e->set_life(m.life);
    e->set_reachability(static_cast<uint32_t>(m.reachability));
    e->set_last_change(static_cast<uint32_t>(m.last_change));
    absl::Duration age = std::max(now - m.state_changed, absl::ZeroDuration());
    e->set_age_ms(static_cast<uint64_t>(absl::ToInt64Milliseconds(age)));
    e->set_rtt_us(static_cast<uint32_t>(std::clamp<int64_t>(
        absl::ToInt64Microseconds(m.rtt), 0, int64_t{UINT32_MAX})));
  }
  return list.SerializeAsString();
}

absl::StatusOr<std::vector<MemberInfo>> DecodeMemberList(std::string_view body,
                                                         absl::Time now,
                                                         const Limits& limits) {
  wire::MemberList list;
  if (!list.ParseFromArray(body.data(), static_cast<int>(body.size())))
    return absl::InvalidArgumentError("the member list does not decode");
  if (static_cast<size_t>(list.members_size()) > limits.max_members)
    return absl::InvalidArgumentError(
        absl::StrCat("the member list has ", list.members_size(),
                     " members, over the limit of ", limits.max_members));
  std::vector<MemberInfo> out;
  out.reserve(list.members_size());
  WireError error;
  for (const wire::MemberListEntry& e : list.members()) {
    if (!CheckMemberName(e.name(), "a member's name", limits, &error) ||
        !CheckMemberAddr(e.addr(), "a member's address", limits, &error))
      return absl::InvalidArgumentError(error.message);
    if (e.meta().size() > limits.max_meta_bytes)
      return absl::InvalidArgumentError("a member's metadata is too large");
    if (!wire::MemberState_IsValid(e.state()))
      return absl::InvalidArgumentError("a member's state is unknown");
    MemberInfo m;
    m.name = e.name();
    m.addr = e.addr();
    m.state = static_cast<MemberState>(e.state());
    m.incarnation = e.incarnation();
    m.meta = e.meta();
    m.life = e.life();
    if (e.reachability() > static_cast<uint32_t>(Reachability::kTcpOnly) ||
        e.last_change() > static_cast<uint32_t>(EventType::kRestarted))
      return absl::InvalidArgumentError(
          "a member's reachability or last change is unknown");
    m.reachability = static_cast<Reachability>(e.reachability());
    m.last_change = static_cast<EventType>(e.last_change());
    m.state_changed =
        now - absl::Milliseconds(static_cast<int64_t>(
                  std::min<uint64_t>(e.age_ms(), uint64_t{1} << 50)));
    m.rtt = absl::Microseconds(e.rtt_us());
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace roster::core

namespace roster {

std::string MembersRequest(std::string_view label, const Keyring* keyring) {
  return core::SealStream(wire::STREAM_KIND_MEMBERS, {}, label, keyring);
}

absl::StatusOr<std::vector<MemberInfo>> ReadMembersReply(std::string_view frame,
                                                         std::string_view label,
                                                         const Keyring* keyring,
                                                         absl::Time now,
                                                         const Limits& limits) {
  std::string opened;
  auto reply = core::OpenStream(frame, label, SIZE_MAX, keyring, &opened);
  if (!reply.ok())
    return absl::DataLossError(
        absl::StrCat("the reply could not be read (", reply.error.message,
                     "; are --label and --keyring the cluster's?)"));
  if (reply.value.kind == wire::STREAM_KIND_ERROR)
    return absl::FailedPreconditionError(
        absl::StrCat("refused: ", core::PrintableRefusal(reply.value.body)));
  if (reply.value.kind != wire::STREAM_KIND_OK)
    return absl::DataLossError("unexpected reply");
  auto members = core::DecodeMemberList(reply.value.body, now, limits);
  if (!members.ok()) return absl::DataLossError(members.status().message());
  return members;
}

}  // namespace roster
