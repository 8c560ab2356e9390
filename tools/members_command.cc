// `roster members`: the member list of a running agent (through its RPC)
// or of any member (at its HOST:PORT, over the cluster's own TCP), as a
// table or JSON, filtered by state, name and tags.
#include "tools/members_command.h"

#include <re2/re2.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "roster/node.h"
#include "roster/tags.h"
#include "tools/cli_common.h"
#include "tools/keys.h"

namespace roster::tools {
namespace {

std::string Ago(absl::Duration d) {
  if (d < absl::Seconds(1)) return "just now";
  if (d < absl::Minutes(2))
    return absl::StrCat(absl::ToInt64Seconds(d), "s ago");
  if (d < absl::Hours(2)) return absl::StrCat(absl::ToInt64Minutes(d), "m ago");
  return absl::StrCat(absl::ToInt64Hours(d), "h ago");
}

// `rows` as columns two spaces apart, the first row the header.
std::string Columns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size())
        line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

struct MembersOptions {
  RpcFlags rpc;
  std::string addr;  // HOST:PORT of a member; empty: through the RPC
  std::string label;
  std::string keyring;
  double timeout = 5;
  std::vector<std::string> states;
  std::string name_regex;
  std::vector<std::string> tag_filters;  // KEY=REGEX
};

// The member list from the member's own JSON shape (MemberJson) back to
// rows: the RPC path and the HOST:PORT path print alike.
absl::StatusOr<std::vector<Json>> Fetch(const MembersOptions& o) {
  std::vector<Json> members;
  if (o.addr.empty()) {
    auto result = CallAgent(o.rpc, "members", Json::object());
    if (!result.ok()) return result.status();
    if (!result->contains("members") || !(*result)["members"].is_array())
      return absl::UnavailableError("the agent's answer holds no members");
    for (const Json& m : (*result)["members"]) members.push_back(m);
    return members;
  }
  auto keyring = LoadKeyring(o.keyring, "");
  // A keyring file that cannot be used is a bad flag value.
  if (!keyring.ok())
    return absl::InvalidArgumentError(keyring.status().message());
  auto list =
      QueryMembers(o.addr, o.label, absl::Seconds(o.timeout), keyring->get());
  if (!list.ok()) return list.status();
  const absl::Time now = absl::Now();
  for (const MemberInfo& m : *list) members.push_back(MemberJson(m, now));
  return members;
}

struct Filter {
  std::vector<std::string> states;
  std::unique_ptr<RE2> name;
  std::vector<std::pair<std::string, std::unique_ptr<RE2>>> tags;
};

absl::StatusOr<std::unique_ptr<RE2>> Regex(const std::string& pattern,
                                           const char* flag) {
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_unique<RE2>(pattern, options);
  if (!re->ok())
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " '", pattern, "': ", re->error()));
  return re;
}

absl::StatusOr<Filter> MakeFilter(const MembersOptions& o) {
  Filter f;
  for (const std::string& s : o.states) {
    if (s != "alive" && s != "suspect" && s != "dead" && s != "left")
      return absl::InvalidArgumentError(absl::StrCat(
          "--status '", s, "' is none of alive, suspect, dead, left"));
    f.states.push_back(s);
  }
  if (!o.name_regex.empty()) {
    auto re = Regex(o.name_regex, "--name");
    if (!re.ok()) return re.status();
    f.name = std::move(*re);
  }
  for (const std::string& kv : o.tag_filters) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return absl::InvalidArgumentError(
          absl::StrCat("--tag '", kv, "' is not KEY=REGEX"));
    auto re = Regex(kv.substr(eq + 1), "--tag");
    if (!re.ok()) return re.status();
    f.tags.emplace_back(kv.substr(0, eq), std::move(*re));
  }
  return f;
}

bool Matches(const Filter& f, const Json& m) {
  const std::string state = m.value("state", "");
  if (!f.states.empty() &&
      std::find(f.states.begin(), f.states.end(), state) == f.states.end())
    return false;
  if (f.name && !RE2::PartialMatch(m.value("name", ""), *f.name)) return false;
  for (const auto& [key, re] : f.tags) {
    const Json& meta = m.contains("meta") ? m["meta"] : Json::object();
    if (!meta.is_object() || !meta.contains(key) || !meta[key].is_string() ||
        !RE2::PartialMatch(meta[key].get<std::string>(), *re))
      return false;
  }
  return true;
}

std::string TableOf(const std::vector<Json>& members) {
  std::vector<std::vector<std::string>> rows = {{"NAME", "ADDRESS", "STATE",
                                                 "INCARNATION", "REACHABLE",
                                                 "RTT", "META", "CHANGED"}};
  for (const Json& m : members) {
    std::vector<std::string> tags;
    for (const auto& [k, v] : m["meta"].items())
      tags.push_back(k.empty() ? v.get<std::string>()
                               : absl::StrCat(k, "=", v.get<std::string>()));
    const Json& rtt = m["rtt_ms"];
    rows.push_back(
        {m["name"].get<std::string>(), m["addr"].get<std::string>(),
         m["state"].get<std::string>(), m["incarnation"].dump(),
         m["reachability"].get<std::string>(),
         rtt.is_number() ? absl::StrFormat("%.1fms", rtt.get<double>())
                         : std::string("-"),
         absl::StrJoin(tags, ","),
         absl::StrCat(m["last_change"].get<std::string>(), " ",
                      Ago(absl::Seconds(m["changed_s_ago"].get<double>())))});
  }
  return Columns(rows);
}

int RunMembers(const MembersOptions& o) {
  auto filter = MakeFilter(o);
  if (!filter.ok()) return Failure("members", filter.status());
  auto members = Fetch(o);
  if (!members.ok()) return Failure("members", members.status());
  std::vector<Json> shown;
  for (Json& m : *members)
    if (Matches(*filter, m)) shown.push_back(std::move(m));
  if (o.rpc.json) {
    std::printf("%s\n", rpc::Dump(Json{{"members", shown}}).c_str());
  } else {
    std::fputs(TableOf(shown).c_str(), stdout);
  }
  return kExitOk;
}

}  // namespace

std::string Table(const std::vector<MemberInfo>& members) {
  std::vector<Json> rows;
  const absl::Time now = absl::Now();
  for (const MemberInfo& m : members) rows.push_back(MemberJson(m, now));
  return TableOf(rows);
}

void AddMembersCommand(CLI::App& app, std::function<int()>& run) {
  auto o = std::make_shared<MembersOptions>();
  CLI::App* c = app.add_subcommand(
      "members", "List the members, from the agent or from HOST:PORT");
  AddRpcFlags(*c, o->rpc, true);
  c->add_option("addr", o->addr,
                "HOST:PORT of any member (instead of the agent's --rpc)");
  c->add_option("--label", o->label, "the cluster's label (with HOST:PORT)");
  c->add_option("--keyring", o->keyring, "keyring FILE (with HOST:PORT)");
  c->add_option("--timeout", o->timeout, "seconds (with HOST:PORT)")
      ->check(CLI::Range(0.1, 3600.0));
  c->add_option("--status", o->states,
                "only members in this state: alive, suspect, dead, left")
      ->allow_extra_args(false);
  c->add_option("--name", o->name_regex, "only names matching REGEX");
  c->add_option("--tag", o->tag_filters,
                "only tag KEY matching REGEX: KEY=REGEX")
      ->allow_extra_args(false);
  c->callback([&run, o] { run = [o] { return RunMembers(*o); }; });
}

}  // namespace roster::tools
