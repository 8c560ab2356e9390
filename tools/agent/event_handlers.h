// Event handlers for `roster agent` (--event-handler [FILTER=]PROGRAM), run
// as Serf's agent runs its event scripts: a program started through
// `/bin/sh -c` for each membership event, user event or query its filters
// select, told the event in environment variables and on stdin; a query's
// answer is what the program writes to stdout. doc/event_handlers.md is the
// operator's page.
//
//   auto handlers = roster::tools::EventHandlers::Create(std::move(options));
//   config.on_event = [h](const Event& e) { h->OnEvent(e); };
//   config.on_user_event = [h](const UserEvent& e) { h->OnUserEvent(e); };
//   config.on_query = [h](const QueryRequest& q) { return h->OnQuery(q); };
//
// Threads. Membership and user events are queued and run by a worker thread
// per handler, one run after another, so that a slow or hanging handler
// delays only its own later runs, never the caller (the node's delivery
// thread) nor the other handlers. A query runs on the thread that calls
// OnQuery (the node's handlers' thread), because its answer is the return
// value. Every run is bounded in time and its child process is always
// reaped. Every public method is safe to call from any thread.
#ifndef ROSTER_TOOLS_AGENT_EVENT_HANDLERS_H_
#define ROSTER_TOOLS_AGENT_EVENT_HANDLERS_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "roster/events.h"
#include "roster/member.h"
#include "roster/runtime.h"            // LogLevel
#include "tools/agent/handler_spec.h"  // HandlerSpec, ParseHandlerSpec

namespace roster::tools {

// What the handlers have done, since Create: events, or runs (one program,
// for one event, several members of one type, or one query).
struct EventHandlerCounters {
  uint64_t events_queued = 0;  // events accepted for a worker's queue
  // Events refused because the handler's queue held max_queued_events,
  // and events still queued at Shutdown, which never run.
  uint64_t events_dropped = 0;
  // Runs begun, queries included; each ends as one of the next five.
  uint64_t runs = 0;
  uint64_t succeeded = 0;     // exited 0 within their time
  uint64_t failed = 0;        // exited non-zero, or killed by a signal
  uint64_t timed_out = 0;     // killed at their time bound
  uint64_t cancelled = 0;     // killed by Shutdown
  uint64_t spawn_failed = 0;  // /bin/sh could not be started
  // Runs whose stdout or stderr went past max_output_bytes (the rest was
  // read and discarded).
  uint64_t output_truncated = 0;
  // Queries: answered (stdout given as the response), and given no answer
  // because stdout was over max_query_response_bytes, or because the
  // query's deadline had passed before a handler could start.
  uint64_t queries_answered = 0;
  uint64_t query_responses_too_large = 0;
  uint64_t queries_expired = 0;

  bool operator==(const EventHandlerCounters&) const = default;
};

class EventHandlers {
 public:
  struct Options {
    std::vector<HandlerSpec> handlers;
    // The agent's own identity, for ROSTER_SELF_NAME, ROSTER_SELF_ADDR,
    // ROSTER_SELF_LIFE and ROSTER_TAG_<KEY> (from its meta's tags); SetSelf
    // replaces it, as once the node has started and knows its address.
    MemberInfo self;
    // Each run is killed (SIGKILL to its process group) past this; a query
    // is also bounded by its own deadline. Positive.
    absl::Duration timeout = absl::Seconds(10);
    // Events waiting for one handler's worker; past this, new ones are
    // dropped and counted. At least 1.
    size_t max_queued_events = 1024;
    // Kept of each run's stdout and of its stderr, for the log; the rest
    // is read and discarded. At least 1.
    size_t max_output_bytes = 64 << 10;
    // The largest query answer: the node's
    // Config::limits.max_query_response_bytes. Larger stdout gives none.
    size_t max_query_response_bytes = 1024;
    // Lines for the operator: each run that fails, times out or could not
    // start (warning), each run's output (debug), queue overflow (warning,
    // once per burst of drops). Called one line at a time, from the workers
    // and from OnQuery's caller; no trailing newline. It must not call
    // Shutdown or destroy this object (a worker cannot join itself). May be
    // unset.
    std::function<void(LogLevel, std::string_view)> on_log;
  };

  // Starts a worker per handler that can run for a membership or user
  // event. InvalidArgument for a bad option (naming it), or a handler with
  // no program; Internal if a thread or descriptor cannot be had.
  static absl::StatusOr<std::unique_ptr<EventHandlers>> Create(Options options);
  // Shutdown().
  ~EventHandlers();
  EventHandlers(const EventHandlers&) = delete;
  EventHandlers& operator=(const EventHandlers&) = delete;

  // Queues `event` for every handler whose filters select it, and returns
  // at once. Members of one type queued back to back for one handler are
  // given to it in one run (one stdin line each), as Serf coalesces them.
  void OnEvent(const Event& event);
  // Queues `event` for every handler whose filters select it (stdin: the
  // payload, with a newline added if it has none, as Serf does), and
  // returns at once.
  void OnUserEvent(const UserEvent& event);
  // Runs the handlers whose filters select `query`, in the order given, on
  // this thread, each bounded by the timeout and by query.deadline, until
  // one exits 0 with output on stdout: that output, byte for byte, is the
  // answer, if it is at most max_query_response_bytes. nullopt when none
  // answers (no handler selected it, none wrote anything, each failed or
  // timed out, the output was too large, the deadline had passed, or
  // after Shutdown).
  std::optional<std::string> OnQuery(const QueryRequest& query);

  // Replaces the identity the next runs are told.
  void SetSelf(MemberInfo self);

  // Waits until every queue is empty and no worker is running a program,
  // or `timeout` passes: false then. For a test, or an agent draining
  // before it exits.
  bool WaitIdle(absl::Duration timeout);

  // Stops: queued events are dropped (counted), running programs are killed
  // and reaped, the workers are joined; later calls do nothing (OnQuery
  // gives nullopt). A query under way on another thread is killed too, and
  // this waits for it to return. Idempotent. Destroy this object only once
  // nothing can call it any more (after the node has shut down).
  void Shutdown();

  // The sum over every handler, and one handler's (by its index in
  // Options::handlers; zeros for an index past them).
  EventHandlerCounters counters() const;
  EventHandlerCounters counters(size_t handler) const;

 private:
  class Impl;
  explicit EventHandlers(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace roster::tools

#endif  // ROSTER_TOOLS_AGENT_EVENT_HANDLERS_H_
