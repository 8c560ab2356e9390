// The printable names of the public enums.
#include "roster/counters.h"
#include "roster/member.h"
#include "roster/runtime.h"

namespace roster {

std::string_view MemberStateName(MemberState state) {
  switch (state) {
    case MemberState::kAlive:
      return "alive";
    case MemberState::kSuspect:
      return "suspect";
    case MemberState::kDead:
      return "dead";
    case MemberState::kLeft:
      return "left";
  }
  return "unknown";
}

std::string_view ReachabilityName(Reachability reachability) {
  switch (reachability) {
    case Reachability::kUdp:
      return "udp";
    case Reachability::kTcpOnly:
      return "tcp-only";
  }
  return "unknown";
}

std::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kJoined:
      return "joined";
    case EventType::kUpdated:
      return "updated";
    case EventType::kSuspected:
      return "suspected";
    case EventType::kRecovered:
      return "recovered";
    case EventType::kFailed:
      return "failed";
    case EventType::kLeft:
      return "left";
    case EventType::kRestarted:
      return "restarted";
    case EventType::kSelfSuspected:
      return "self-suspected";
    case EventType::kSelfFailed:
      return "self-failed";
  }
  return "unknown";
}

std::string_view DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kMalformed:
      return "malformed";
    case DropReason::kTooLarge:
      return "too_large";
    case DropReason::kBadVersion:
      return "bad_version";
    case DropReason::kBadChecksum:
      return "bad_checksum";
    case DropReason::kWrongLabel:
      return "wrong_label";
    case DropReason::kWrongTarget:
      return "wrong_target";
    case DropReason::kUnknownAck:
      return "unknown_ack";
    case DropReason::kAddressConflict:
      return "address_conflict";
    case DropReason::kTableFull:
      return "table_full";
    case DropReason::kQueueFull:
      return "queue_full";
    case DropReason::kOverloaded:
      return "overloaded";
    case DropReason::kUndecryptable:
      return "undecryptable";
    case DropReason::kPlaintext:
      return "plaintext";
    case DropReason::kNotAdmitted:
      return "not_admitted";
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "unknown";
}

uint64_t Counters::total_drops() const {
  uint64_t total = 0;
  for (uint64_t d : drops) total += d;
  return total;
}

}  // namespace roster
