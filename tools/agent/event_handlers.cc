#include "tools/agent/event_handlers.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "roster/tags.h"
#include "tools/agent/handler_process.h"

extern char** environ;

namespace roster::tools {

using handler_process::Fd;
using handler_process::Outcome;
using handler_process::RunProgram;
using handler_process::ScopedSigpipeBlock;
using handler_process::SignalName;
using handler_spec::Av;
using handler_spec::EscapeField;
using handler_spec::KindOf;
using handler_spec::NeedsWorker;
using handler_spec::SelectsMembership;
using handler_spec::SelectsNamed;

namespace {

// ------------------------------------------------------------- formatting

// An environment string ends at its first NUL, so a NUL inside a name or a
// tag would cut the value short without a word; they are dropped instead.
std::string EnvValue(std::string_view s) {
  std::string out(s);
  out.erase(std::remove(out.begin(), out.end(), '\0'), out.end());
  return out;
}

// Serf's rule: upper case, and every character a shell variable name
// cannot hold becomes '_'.
std::string TagEnvName(std::string_view key) {
  std::string name = "ROSTER_TAG_";
  for (char c : key) {
    const char u = absl::ascii_toupper(static_cast<unsigned char>(c));
    name += (absl::ascii_isalnum(static_cast<unsigned char>(u)) || u == '_')
                ? u
                : '_';
  }
  return name;
}

// The variables this file sets, and the families it sets: inherited ones
// by these names would tell a run about an event it is not running for.
bool IsReserved(std::string_view entry) {
  for (std::string_view prefix :
       {"ROSTER_EVENT=", "ROSTER_SELF_", "ROSTER_TAG_", "ROSTER_USER_",
        "ROSTER_QUERY_"}) {
    if (entry.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

std::string OneLine(std::string_view s, size_t limit) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  std::string out = EscapeField(s.substr(0, limit));
  if (s.size() > limit) out += "...";
  return out;
}

}  // namespace

// ------------------------------------------------------------------- Impl

class EventHandlers::Impl {
 public:
  explicit Impl(Options options) : options_(std::move(options)) {
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      if (!IsReserved(*e)) inherited_env_.emplace_back(*e);
    }
    for (HandlerSpec& spec : options_.handlers) {
      handlers_.push_back(std::make_unique<Handler>());
      handlers_.back()->spec = spec;
    }
  }

  ~Impl() { Shutdown(); }

  absl::Status Start() {
    cancel_fd_ = Fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!cancel_fd_.open()) {
      return absl::InternalError(
          absl::StrCat("event handlers: eventfd: ", strerror(errno)));
    }
    for (std::unique_ptr<Handler>& h : handlers_) {
      if (!NeedsWorker(h->spec)) continue;
      Handler* handler = h.get();
      h->worker = std::thread([this, handler] { Work(*handler); });
    }
    return absl::OkStatus();
  }

  void OnEvent(const Event& event) {
    const std::optional<EventFilter::Kind> kind = KindOf(event.type);
    if (!kind) return;
    Job job;
    job.membership = true;
    job.type = event.type;
    job.input = MemberLine(event.member);
    for (std::unique_ptr<Handler>& h : handlers_) {
      if (SelectsMembership(h->spec, *kind)) Enqueue(*h, job);
    }
  }

  void OnUserEvent(const UserEvent& event) {
    Job job;
    job.env = {
        absl::StrCat("ROSTER_EVENT=user"),
        absl::StrCat("ROSTER_USER_EVENT=", EnvValue(event.name)),
        absl::StrCat("ROSTER_USER_LTIME=", event.ltime),
        absl::StrCat("ROSTER_USER_ORIGIN=", EnvValue(event.origin)),
    };
    job.input = WithNewline(event.payload);
    job.what = absl::StrCat("user event \"", OneLine(event.name, 64), "\"");
    for (std::unique_ptr<Handler>& h : handlers_) {
      if (SelectsNamed(h->spec, EventFilter::Kind::kUser, event.name)) {
        Enqueue(*h, job);
      }
    }
  }

  std::optional<std::string> OnQuery(const QueryRequest& query) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return std::nullopt;
      ++queries_under_way_;
    }
    std::optional<std::string> answer = RunQuery(query);
    {
      std::lock_guard<std::mutex> lock(mu_);
      --queries_under_way_;
    }
    changed_.notify_all();
    return answer;
  }

  void SetSelf(MemberInfo self) {
    std::lock_guard<std::mutex> lock(mu_);
    options_.self = std::move(self);
  }

  bool WaitIdle(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    std::unique_lock<std::mutex> lock(mu_);
    while (!IdleLocked()) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return false;
      changed_.wait_for(lock, absl::ToChronoNanoseconds(left));
    }
    return true;
  }

  void Shutdown() {
    uint64_t abandoned = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      for (std::unique_ptr<Handler>& h : handlers_) {
        h->counters.events_dropped += h->queue.size();
        abandoned += h->queue.size();
        h->queue.clear();
      }
    }
    for (std::unique_ptr<Handler>& h : handlers_) h->wake.notify_all();
    if (cancel_fd_.open()) {
      const uint64_t one = 1;
      // An eventfd stays readable once written: every run, now or later,
      // sees it.
      (void)!write(cancel_fd_.get(), &one, sizeof(one));
    }
    for (std::unique_ptr<Handler>& h : handlers_) {
      if (h->worker.joinable()) h->worker.join();
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [this] { return queries_under_way_ == 0; });
    }
    if (abandoned > 0) {
      Log(LogLevel::kWarning,
          absl::StrCat("event handlers: ", abandoned,
                       " queued events dropped at shutdown"));
    }
  }

  EventHandlerCounters counters() const {
    EventHandlerCounters sum;
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::unique_ptr<Handler>& h : handlers_) {
      const EventHandlerCounters& c = h->counters;
      sum.events_queued += c.events_queued;
      sum.events_dropped += c.events_dropped;
      sum.runs += c.runs;
      sum.succeeded += c.succeeded;
      sum.failed += c.failed;
      sum.timed_out += c.timed_out;
      sum.cancelled += c.cancelled;
      sum.spawn_failed += c.spawn_failed;
      sum.output_truncated += c.output_truncated;
      sum.queries_answered += c.queries_answered;
      sum.query_responses_too_large += c.query_responses_too_large;
      sum.queries_expired += c.queries_expired;
    }
    return sum;
  }

  EventHandlerCounters counters(size_t handler) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (handler >= handlers_.size()) return {};
    return handlers_[handler]->counters;
  }

 private:
  // One run's worth of an event. Membership jobs carry their type and one
  // stdin line, so that jobs of one type can be merged into a single run.
  struct Job {
    bool membership = false;
    EventType type = EventType::kJoined;
    std::vector<std::string> env;  // the event's own variables
    std::string input;
    std::string what;  // for log lines; membership jobs name their type
  };

  struct Handler {
    HandlerSpec spec;
    std::deque<Job> queue;          // guarded by Impl::mu_
    bool busy = false;              // a worker run under way; mu_
    uint64_t dropping = 0;          // drops in the burst under way; mu_
    EventHandlerCounters counters;  // mu_
    std::condition_variable wake;
    std::thread worker;
  };

  static std::string WithNewline(std::string_view payload) {
    std::string s(payload);
    if (!s.empty() && s.back() != '\n') s += '\n';
    return s;
  }

  bool IdleLocked() const {
    for (const std::unique_ptr<Handler>& h : handlers_) {
      if (h->busy || !h->queue.empty()) return false;
    }
    return true;
  }

  void Enqueue(Handler& h, const Job& job) {
    std::string line;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      if (h.queue.size() >= options_.max_queued_events) {
        ++h.counters.events_dropped;
        if (h.dropping++ == 0) {
          line = absl::StrCat("event handler \"", h.spec.text,
                              "\": queue full (", options_.max_queued_events,
                              " events waiting); dropping events");
        }
      } else {
        if (h.dropping > 0) {
          line = absl::StrCat("event handler \"", h.spec.text, "\": dropped ",
                              h.dropping, " events while its queue was full");
          h.dropping = 0;
        }
        ++h.counters.events_queued;
        h.queue.push_back(job);
      }
    }
    h.wake.notify_one();
    if (!line.empty()) Log(LogLevel::kWarning, line);
  }

  void Work(Handler& h) {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    // For the whole thread: see ScopedSigpipeBlock.
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      h.wake.wait(lock, [&] { return stopped_ || !h.queue.empty(); });
      if (stopped_) return;
      Job job = std::move(h.queue.front());
      h.queue.pop_front();
      size_t members = 1;
      while (job.membership && !h.queue.empty() && h.queue.front().membership &&
             h.queue.front().type == job.type) {
        job.input += h.queue.front().input;
        h.queue.pop_front();
        ++members;
      }
      if (job.membership) {
        const std::string_view name = *HandlerEventName(job.type);
        job.env = {absl::StrCat("ROSTER_EVENT=", Av(name))};
        job.what = members == 1
                       ? std::string(name)
                       : absl::StrCat(Av(name), " (", members, " members)");
      }
      h.busy = true;
      std::vector<std::string> env = EnvLocked(job.env);
      lock.unlock();
      Run(h, job.what, env, job.input, options_.timeout,
          options_.max_output_bytes);
      lock.lock();
      h.busy = false;
      changed_.notify_all();
    }
  }

  std::optional<std::string> RunQuery(const QueryRequest& query) {
    const std::vector<std::string> vars = {
        "ROSTER_EVENT=query",
        absl::StrCat("ROSTER_QUERY_NAME=", EnvValue(query.name)),
        absl::StrCat("ROSTER_QUERY_LTIME=", query.ltime),
        absl::StrCat("ROSTER_QUERY_ORIGIN=", EnvValue(query.origin)),
    };
    const std::string input = WithNewline(query.payload);
    const std::string what =
        absl::StrCat("query \"", OneLine(query.name, 64), "\"");
    const size_t cap =
        std::max(options_.max_output_bytes, options_.max_query_response_bytes);
    ScopedSigpipeBlock no_sigpipe;
    for (std::unique_ptr<Handler>& h : handlers_) {
      if (!SelectsNamed(h->spec, EventFilter::Kind::kQuery, query.name)) {
        continue;
      }
      const absl::Time now = absl::Now();
      if (now >= query.deadline) {
        Count(*h, &EventHandlerCounters::queries_expired);
        Log(LogLevel::kWarning,
            absl::StrCat("event handler \"", h->spec.text, "\": ", Av(what),
                         " not run: its deadline passed ",
                         absl::FormatDuration(now - query.deadline), " ago"));
        return std::nullopt;
      }
      std::vector<std::string> env;
      {
        std::lock_guard<std::mutex> lock(mu_);
        env = EnvLocked(vars);
      }
      std::optional<Outcome> outcome =
          Run(*h, what, env, input,
              std::min(options_.timeout, query.deadline - now), cap);
      if (!outcome || outcome->end != Outcome::End::kExited ||
          outcome->code != 0 || outcome->out_bytes == 0) {
        continue;
      }
      if (outcome->out_bytes > options_.max_query_response_bytes) {
        Count(*h, &EventHandlerCounters::query_responses_too_large);
        Log(LogLevel::kWarning,
            absl::StrCat(
                "event handler \"", h->spec.text, "\": ", what, " answer of ",
                outcome->out_bytes, " bytes is over the limit of ",
                options_.max_query_response_bytes, " bytes; no answer sent"));
        return std::nullopt;
      }
      Count(*h, &EventHandlerCounters::queries_answered);
      return std::move(outcome->out);
    }
    return std::nullopt;
  }

  // The environment of one run: the agent's own (as at Create, less the
  // variables set here), the identity, and the event's variables.
  std::vector<std::string> EnvLocked(const std::vector<std::string>& vars) {
    std::vector<std::string> env = inherited_env_;
    const MemberInfo& self = options_.self;
    env.push_back(absl::StrCat("ROSTER_SELF_NAME=", EnvValue(self.name)));
    env.push_back(absl::StrCat("ROSTER_SELF_ADDR=", EnvValue(self.addr)));
    env.push_back(absl::StrCat("ROSTER_SELF_LIFE=", self.life));
    if (std::optional<std::map<std::string, std::string>> tags =
            DecodeTags(self.meta)) {
      std::map<std::string, std::string> by_name;  // first key wins a clash
      for (const auto& [key, value] : *tags) {
        by_name.emplace(TagEnvName(key), EnvValue(value));
      }
      for (const auto& [name, value] : by_name) {
        env.push_back(absl::StrCat(name, "=", value));
      }
    }
    env.insert(env.end(), vars.begin(), vars.end());
    return env;
  }

  void Count(Handler& h, uint64_t EventHandlerCounters::*counter) {
    std::lock_guard<std::mutex> lock(mu_);
    ++(h.counters.*counter);
  }

  // Runs one program and counts and logs how it went; nullopt after
  // Shutdown, when nothing was started.
  std::optional<Outcome> Run(Handler& h, std::string_view what,
                             const std::vector<std::string>& env,
                             const std::string& input, absl::Duration limit,
                             size_t cap) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return std::nullopt;
      ++h.counters.runs;
    }
    Outcome o =
        RunProgram(h.spec.program, env, input, cap, limit, cancel_fd_.get());
    const std::string who =
        absl::StrCat("event handler \"", h.spec.text, "\" (", Av(what), ")");
    const bool truncated =
        o.out_bytes > o.out.size() || o.err_bytes > o.err.size();
    std::string stderr_note;
    if (!o.err.empty()) stderr_note = "; stderr: " + OneLine(o.err, 256);
    const std::string after =
        absl::FormatDuration(absl::Trunc(o.elapsed, absl::Milliseconds(1)));
    {
      std::lock_guard<std::mutex> lock(mu_);
      EventHandlerCounters& c = h.counters;
      switch (o.end) {
        case Outcome::End::kExited:
          ++(o.code == 0 ? c.succeeded : c.failed);
          break;
        case Outcome::End::kSignaled:
          ++c.failed;
          break;
        case Outcome::End::kTimedOut:
          ++c.timed_out;
          break;
        case Outcome::End::kCancelled:
          ++c.cancelled;
          break;
        case Outcome::End::kSpawnFailed:
          ++c.spawn_failed;
          break;
      }
      if (truncated) ++c.output_truncated;
    }
    switch (o.end) {
      case Outcome::End::kExited:
        if (o.code != 0) {
          Log(LogLevel::kWarning,
              absl::StrCat(who, ": exited with status ", o.code, " after ",
                           after, stderr_note));
        }
        break;
      case Outcome::End::kSignaled:
        Log(LogLevel::kWarning,
            absl::StrCat(who, ": killed by signal ", o.code, " (",
                         SignalName(o.code), ") after ", after, stderr_note));
        break;
      case Outcome::End::kTimedOut:
        Log(LogLevel::kWarning,
            absl::StrCat(who, ": still running after ", after,
                         ", killed with its process group", stderr_note));
        break;
      case Outcome::End::kCancelled:
        Log(LogLevel::kInfo,
            absl::StrCat(who, ": killed at shutdown after ", after));
        break;
      case Outcome::End::kSpawnFailed:
        Log(LogLevel::kError,
            absl::StrCat(who, ": could not start: ", o.spawn_error));
        break;
    }
    if (truncated) {
      Log(LogLevel::kWarning,
          absl::StrCat(who, ": wrote ", o.out_bytes, " bytes to stdout and ",
                       o.err_bytes, " to stderr; kept the first ", cap,
                       " of each"));
    }
    if (!o.out.empty()) {
      Log(LogLevel::kDebug,
          absl::StrCat(who, " stdout: ", OneLine(o.out, o.out.size())));
    }
    if (!o.err.empty()) {
      Log(LogLevel::kDebug,
          absl::StrCat(who, " stderr: ", OneLine(o.err, o.err.size())));
    }
    return o;
  }

  void Log(LogLevel level, std::string_view line) {
    if (!options_.on_log) return;
    std::lock_guard<std::mutex> lock(log_mu_);
    options_.on_log(level, line);
  }

  Options options_;  // self guarded by mu_; the rest fixed
  std::vector<std::string> inherited_env_;
  std::vector<std::unique_ptr<Handler>> handlers_;
  Fd cancel_fd_;

  mutable std::mutex mu_;
  std::condition_variable changed_;  // a run ended, a query returned
  bool stopped_ = false;
  int queries_under_way_ = 0;

  std::mutex log_mu_;  // one line at a time to on_log
};

// ----------------------------------------------------------- EventHandlers

absl::StatusOr<std::unique_ptr<EventHandlers>> EventHandlers::Create(
    Options options) {
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("event handlers: timeout must be positive, not ",
                     absl::FormatDuration(options.timeout)));
  }
  if (options.max_queued_events < 1) {
    return absl::InvalidArgumentError(
        "event handlers: max_queued_events must be at least 1");
  }
  if (options.max_output_bytes < 1) {
    return absl::InvalidArgumentError(
        "event handlers: max_output_bytes must be at least 1");
  }
  for (const HandlerSpec& spec : options.handlers) {
    if (absl::StripAsciiWhitespace(spec.program).empty() ||
        spec.filters.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "event handler \"", spec.text, "\" has no program or no filter"));
    }
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  absl::Status started = impl->Start();
  if (!started.ok()) return started;
  return std::unique_ptr<EventHandlers>(new EventHandlers(std::move(impl)));
}

EventHandlers::EventHandlers(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

EventHandlers::~EventHandlers() { impl_->Shutdown(); }

void EventHandlers::OnEvent(const Event& event) { impl_->OnEvent(event); }

void EventHandlers::OnUserEvent(const UserEvent& event) {
  impl_->OnUserEvent(event);
}

std::optional<std::string> EventHandlers::OnQuery(const QueryRequest& query) {
  return impl_->OnQuery(query);
}

void EventHandlers::SetSelf(MemberInfo self) {
  impl_->SetSelf(std::move(self));
}

bool EventHandlers::WaitIdle(absl::Duration timeout) {
  return impl_->WaitIdle(timeout);
}

void EventHandlers::Shutdown() { impl_->Shutdown(); }

EventHandlerCounters EventHandlers::counters() const {
  return impl_->counters();
}

EventHandlerCounters EventHandlers::counters(size_t handler) const {
  return impl_->counters(handler);
}

}  // namespace roster::tools
