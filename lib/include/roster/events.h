// User events and queries: the layer Serf builds on membership.
//
// A user event is a named payload every member delivers once, ordered by a
// Lamport clock; a query asks every member (or those a filter selects) for
// an acknowledgement and a response, and the querier hears each as it
// comes and a summary at its deadline. Both ride the gossip of datagrams
// (roster::Swim::UserEvent, Swim::Query; roster::Node::UserEvent,
// Node::Query), and both need protocol version 2 on both sides.
#ifndef ROSTER_EVENTS_H_
#define ROSTER_EVENTS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "roster/types.h"  // the API's string, status and time types

namespace roster {

struct UserEvent {
  std::string name;
  std::string payload;
  std::string origin;  // the member that sent it
  uint64_t ltime = 0;  // its Lamport time on the origin's event clock
  // The origin asked for coalescing: this is the latest event of its name
  // within the receiver's Config::user_event_coalesce_window.
  bool coalesce = false;
};

// A query's selection by tag (roster/tags.h): members whose tag `key`
// matches `regex` (RE2 syntax, anywhere in the value: anchor it with ^ and
// $ for a whole match). A member without the tag does not match.
struct TagFilter {
  std::string key;
  std::string regex;
};

struct QueryParams {
  std::string name;
  std::string payload;
  // Only these members, by name (empty: every member) ...
  std::vector<std::string> nodes;
  // ... and only those whose tags match every filter.
  std::vector<TagFilter> tags;
  // Ask each selected member to acknowledge the query on arrival, before
  // its handler answers.
  bool request_ack = false;
  // Each answer also goes through this many other members chosen at
  // random, which pass it on (Serf's relay factor): an answer then
  // survives the loss of its direct datagram. At most 5.
  int relay_factor = 0;
  // How long the querier waits for answers, and members answer. Zero:
  // Serf's default, gossip_interval * 16 * ceil(log10(n + 1)).
  absl::Duration timeout = absl::ZeroDuration();
};

// A query as a member's handler sees it.
struct QueryRequest {
  std::string name;
  std::string payload;
  std::string origin;  // the querier
  uint64_t ltime = 0;  // on the querier's query clock
  // When an answer given later is no longer sent.
  absl::Time deadline;
};

// A handler's answer: the response, or nullopt for none (the query was
// acknowledged, if asked, either way). Called once; later calls are
// ignored.
using QueryAnswer = std::function<void(std::optional<std::string> response)>;

// What a query got, at its deadline.
struct QueryResult {
  uint64_t token = 0;  // as given to Swim::Query
  // The members the filter selected when the query went out (alive or
  // suspect, this member included), sorted by name.
  std::vector<std::string> expected;
  // Acknowledgements and responses in the order they arrived, once per
  // member (a member that joined after the query went out may be among
  // them).
  std::vector<std::string> acks;
  std::vector<std::pair<std::string, std::string>> responses;  // from, payload
  // Expected members with no acknowledgement (only when one was asked),
  // and with no response, sorted by name.
  std::vector<std::string> missing_acks;
  std::vector<std::string> missing_responses;
};

// The Lamport clocks a member keeps, for a member restored after a
// restart (the snapshot file) to go on from where it was.
struct LamportClocks {
  uint64_t event = 0;
  uint64_t query = 0;
};

}  // namespace roster

#endif  // ROSTER_EVENTS_H_
