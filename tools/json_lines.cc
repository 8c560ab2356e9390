#include "tools/json_lines.h"

#include "absl/time/clock.h"
#include "roster/tags.h"

namespace roster::tools {
namespace {

std::string Now() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                          absl::UTCTimeZone());
}

}  // namespace

Json MetaJson(const std::string& meta) {
  auto tags = DecodeTags(meta);
  if (!tags) return {{"", meta}};
  Json out = Json::object();
  for (const auto& [k, v] : *tags) out[k] = v;
  return out;
}

Json MemberJson(const MemberInfo& m, absl::Time now) {
  return {{"name", m.name},
          {"addr", m.addr},
          {"state", std::string(MemberStateName(m.state))},
          {"incarnation", m.incarnation},
          {"life", m.life},
          {"reachability", std::string(ReachabilityName(m.reachability))},
          {"meta", MetaJson(m.meta)},
          {"last_change", std::string(EventTypeName(m.last_change))},
          {"changed_s_ago", absl::ToDoubleSeconds(now - m.state_changed)},
          {"rtt_ms", m.rtt > absl::ZeroDuration()
                         ? Json(absl::ToDoubleMilliseconds(m.rtt))
                         : Json(nullptr)}};
}

Json EventJson(const Event& e) {
  return {
      {"event", std::string(EventTypeName(e.type))},
      {"member", e.member.name},
      {"addr", e.member.addr},
      {"incarnation", e.member.incarnation},
      {"life", e.member.life},
      {"reachability", std::string(ReachabilityName(e.member.reachability))},
      {"at", Now()}};
}

Json UserEventJson(const UserEvent& e) {
  return {{"event", "user"},    {"name", e.name},   {"payload", e.payload},
          {"origin", e.origin}, {"ltime", e.ltime}, {"coalesce", e.coalesce},
          {"at", Now()}};
}

Json QueryJson(const QueryRequest& q) {
  return {{"event", "query"},   {"name", q.name},   {"payload", q.payload},
          {"origin", q.origin}, {"ltime", q.ltime}, {"at", Now()}};
}

}  // namespace roster::tools
