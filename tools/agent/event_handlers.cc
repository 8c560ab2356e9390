#include "tools/agent/event_handlers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "roster/tags.h"

extern char** environ;

namespace roster::tools {
namespace {

// Debian's abseil keeps absl::string_view a class of its own (roster/types.h).
absl::string_view Av(std::string_view s) { return {s.data(), s.size()}; }

// ---------------------------------------------------------------- parsing

struct FilterName {
  std::string_view text;
  EventFilter::Kind kind;
};

constexpr FilterName kFilterNames[] = {
    {"*", EventFilter::Kind::kAll},
    {"member-join", EventFilter::Kind::kMemberJoin},
    {"member-leave", EventFilter::Kind::kMemberLeave},
    {"member-failed", EventFilter::Kind::kMemberFailed},
    {"member-update", EventFilter::Kind::kMemberUpdate},
    {"member-restart", EventFilter::Kind::kMemberRestart},
    {"user", EventFilter::Kind::kUser},
    {"query", EventFilter::Kind::kQuery},
};

constexpr char kFilterList[] =
    "member-join, member-leave, member-failed, member-update, "
    "member-restart, user, user:NAME, query, query:NAME or *";

absl::StatusOr<EventFilter> ParseFilter(std::string_view text,
                                        std::string_view spec) {
  EventFilter filter;
  std::string_view kind = text;
  const size_t colon = text.find(':');
  if (colon != std::string_view::npos) {
    kind = text.substr(0, colon);
    filter.name = std::string(text.substr(colon + 1));
    if (kind != "user" && kind != "query") {
      return absl::InvalidArgumentError(absl::StrCat(
          "event handler \"", Av(spec), "\": filter \"", Av(text),
          "\": only user: and query: take a name; want ", kFilterList));
    }
    if (filter.name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("event handler \"", Av(spec), "\": filter \"", Av(text),
                       "\" names no ", Av(kind), "; want ", Av(kind), ":NAME"));
    }
  }
  for (const FilterName& f : kFilterNames) {
    if (f.text == kind) {
      filter.kind = f.kind;
      return filter;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("event handler \"", Av(spec), "\": unknown filter \"",
                   Av(text), "\"; want ", kFilterList,
                   " (a program holding '=' needs a filter: \"*=PROGRAM\")"));
}

std::optional<EventFilter::Kind> KindOf(EventType type) {
  switch (type) {
    case EventType::kJoined:
      return EventFilter::Kind::kMemberJoin;
    case EventType::kLeft:
      return EventFilter::Kind::kMemberLeave;
    case EventType::kFailed:
      return EventFilter::Kind::kMemberFailed;
    case EventType::kUpdated:
      return EventFilter::Kind::kMemberUpdate;
    case EventType::kRestarted:
      return EventFilter::Kind::kMemberRestart;
    case EventType::kSuspected:
    case EventType::kRecovered:
    case EventType::kSelfSuspected:
    case EventType::kSelfFailed:
      break;
  }
  return std::nullopt;
}

bool SelectsMembership(const HandlerSpec& spec, EventFilter::Kind kind) {
  for (const EventFilter& f : spec.filters) {
    if (f.kind == EventFilter::Kind::kAll || f.kind == kind) return true;
  }
  return false;
}

bool SelectsNamed(const HandlerSpec& spec, EventFilter::Kind kind,
                  std::string_view name) {
  for (const EventFilter& f : spec.filters) {
    if (f.kind == EventFilter::Kind::kAll) return true;
    if (f.kind == kind && (f.name.empty() || f.name == name)) return true;
  }
  return false;
}

// Whether the handler can run for anything but a query, and so needs a
// worker.
bool NeedsWorker(const HandlerSpec& spec) {
  for (const EventFilter& f : spec.filters) {
    if (f.kind != EventFilter::Kind::kQuery) return true;
  }
  return false;
}

// ------------------------------------------------------------- formatting

// A field of a stdin line: tabs and newlines would break the line's shape.
std::string EscapeField(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        out += c;
    }
  }
  return out;
}

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

// ---------------------------------------------------------------- running

// strsignal's buffer is shared between threads; glibc's table is not.
const char* SignalName(int signal) {
  const char* name = sigabbrev_np(signal);
  return name != nullptr ? name : "unknown";
}

// SIGPIPE would kill the agent when a handler exits without reading all of
// its stdin; blocked, the write fails with EPIPE instead. The signal then
// stays pending on this thread, and is taken back before the thread's mask
// is restored, unless something else had raised it before.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &old_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~ScopedSigpipeBlock() {
    if (sigismember(&old_, SIGPIPE) == 1) return;  // blocked before: keep it
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      const struct timespec zero = {0, 0};
      while (sigtimedwait(&pipe, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t old_;
  bool was_pending_ = false;
};

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Close();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  int get() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// A pipe whose ends are never 0, 1 or 2 (the child's dup2 onto those would
// otherwise be a no-op that leaves close-on-exec set when the agent runs
// with one of them closed), both close-on-exec.
bool MakePipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  for (int& fd : fds) {
    if (fd < 3) {
      const int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
      close(fd);
      fd = moved;
    }
  }
  read_end = Fd(fds[0]);
  write_end = Fd(fds[1]);
  return read_end.open() && write_end.open();
}

void SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

struct Outcome {
  enum class End { kExited, kSignaled, kTimedOut, kCancelled, kSpawnFailed };
  End end = End::kSpawnFailed;
  int code = 0;  // the exit status, or the signal
  std::string out;
  std::string err;
  size_t out_bytes = 0;  // all that was written, kept or not
  size_t err_bytes = 0;
  std::string spawn_error;
  absl::Duration elapsed;
};

// Keeps what fits of a read in `kept` and counts all of it.
void Absorb(std::string& kept, size_t& total, size_t cap, const char* data,
            size_t n) {
  total += n;
  if (kept.size() < cap) kept.append(data, std::min(n, cap - kept.size()));
}

// Runs `/bin/sh -c program` in a process group of its own with `env`,
// writes `input` to its stdin, and reads its stdout and stderr (at most
// `cap` bytes of each kept) until it has exited and both are closed, or
// until `limit` passes or `cancel_fd` turns readable: then the whole group is
// killed. Reaps the child before returning, whatever happened.
Outcome RunProgram(const std::string& program,
                   const std::vector<std::string>& env,
                   const std::string& input, size_t cap, absl::Duration limit,
                   int cancel_fd) {
  Outcome outcome;
  // The steady clock: a step of the wall clock must not kill a run early
  // or let one run on.
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + absl::ToChronoNanoseconds(limit);
  Fd in_r, in_w, out_r, out_w, err_r, err_w;
  if (!MakePipe(in_r, in_w) || !MakePipe(out_r, out_w) ||
      !MakePipe(err_r, err_w)) {
    outcome.spawn_error = absl::StrCat("pipe: ", strerror(errno));
    return outcome;
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  // The agent's sockets and files are no business of a handler, and one
  // inherited without close-on-exec would outlive the agent in it.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own group, so that a timeout kills what it started too; default
  // signals and an empty mask, whatever the agent's threads block.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
                                      POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);

  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  char sh[] = "/bin/sh";
  char dash_c[] = "-c";
  char* argv[] = {sh, dash_c, const_cast<char*>(program.c_str()), nullptr};

  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, sh, &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (spawned != 0) {
    outcome.spawn_error = absl::StrCat("/bin/sh: ", strerror(spawned));
    return outcome;
  }
  in_r.Close();
  out_w.Close();
  err_w.Close();
  SetNonBlocking(in_w.get());
  SetNonBlocking(out_r.get());
  SetNonBlocking(err_r.get());
  if (input.empty()) in_w.Close();
  // Readable when the child exits; without it (a kernel before 5.3) the
  // loop looks every 20 ms instead.
  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));

  size_t written = 0;
  bool exited = false;
  char buf[16384];
  outcome.end = Outcome::End::kExited;
  while (!exited || out_r.open() || err_r.open()) {
    const Clock::time_point now = Clock::now();
    if (now >= deadline) {
      outcome.end = Outcome::End::kTimedOut;
      break;
    }
    pollfd fds[5];
    int n = 0;
    const int cancel_i = n;
    fds[n++] = {cancel_fd, POLLIN, 0};
    const int in_i = in_w.open() ? n : -1;
    if (in_i >= 0) fds[n++] = {in_w.get(), POLLOUT, 0};
    const int out_i = out_r.open() ? n : -1;
    if (out_i >= 0) fds[n++] = {out_r.get(), POLLIN, 0};
    const int err_i = err_r.open() ? n : -1;
    if (err_i >= 0) fds[n++] = {err_r.get(), POLLIN, 0};
    const int pid_i = !exited && pidfd.open() ? n : -1;
    if (pid_i >= 0) fds[n++] = {pidfd.get(), POLLIN, 0};
    int64_t wait_ms = absl::ToInt64Milliseconds(
        absl::Ceil(absl::FromChrono(deadline - now), absl::Milliseconds(1)));
    if (!exited && !pidfd.open()) wait_ms = std::min<int64_t>(wait_ms, 20);
    wait_ms = std::clamp<int64_t>(wait_ms, 1, INT_MAX);
    if (poll(fds, n, static_cast<int>(wait_ms)) < 0) {
      if (errno == EINTR) continue;
      outcome.end = Outcome::End::kCancelled;  // cannot wait: give up on it
      break;
    }
    if (fds[cancel_i].revents != 0) {
      outcome.end = Outcome::End::kCancelled;
      break;
    }
    if (in_i >= 0 && fds[in_i].revents != 0) {
      const ssize_t w = write(in_w.get(), input.data() + written,
                              std::min<size_t>(input.size() - written, 65536));
      if (w > 0) written += static_cast<size_t>(w);
      // EPIPE: it stopped reading, which is its right.
      if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
          written == input.size()) {
        in_w.Close();
      }
    }
    for (auto [index, fd, kept, total] :
         {std::tuple(out_i, &out_r, &outcome.out, &outcome.out_bytes),
          std::tuple(err_i, &err_r, &outcome.err, &outcome.err_bytes)}) {
      if (index < 0 || fds[index].revents == 0) continue;
      const ssize_t r = read(fd->get(), buf, sizeof(buf));
      if (r > 0) {
        Absorb(*kept, *total, cap, buf, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        fd->Close();
      }
    }
    if (!exited && (pid_i < 0 || fds[pid_i].revents != 0)) {
      // WNOWAIT leaves it a zombie, which keeps its pid, and so the group's
      // id, from being reused until the kill below cannot miss.
      siginfo_t info{};
      if (waitid(P_PID, static_cast<id_t>(pid), &info,
                 WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == pid) {
        exited = true;
      }
    }
  }
  if (outcome.end != Outcome::End::kExited) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);  // in case it left the group
  }
  in_w.Close();
  out_r.Close();
  err_r.Close();
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  outcome.elapsed = absl::FromChrono(Clock::now() - start);
  if (outcome.end == Outcome::End::kExited) {
    if (WIFSIGNALED(status)) {
      outcome.end = Outcome::End::kSignaled;
      outcome.code = WTERMSIG(status);
    } else {
      outcome.code = WEXITSTATUS(status);
    }
  }
  return outcome;
}

}  // namespace

absl::StatusOr<HandlerSpec> ParseHandlerSpec(std::string_view spec) {
  HandlerSpec parsed;
  parsed.text = std::string(spec);
  std::string_view program = spec;
  const size_t eq = spec.find('=');
  if (eq != std::string_view::npos) {
    const std::string_view filters = spec.substr(0, eq);
    program = spec.substr(eq + 1);
    for (absl::string_view piece : absl::StrSplit(Av(filters), ',')) {
      const std::string_view f(piece.data(), piece.size());
      if (f.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("event handler \"", Av(spec),
                         "\": empty filter before '='; want ", kFilterList));
      }
      absl::StatusOr<EventFilter> filter = ParseFilter(f, spec);
      if (!filter.ok()) return filter.status();
      parsed.filters.push_back(*std::move(filter));
    }
  } else {
    parsed.filters.push_back(EventFilter{});
  }
  if (absl::StripAsciiWhitespace(Av(program)).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("event handler \"", Av(spec), "\" has no program"));
  }
  parsed.program = std::string(program);
  return parsed;
}

std::optional<std::string_view> HandlerEventName(EventType type) {
  const std::optional<EventFilter::Kind> kind = KindOf(type);
  if (!kind) return std::nullopt;
  for (const FilterName& f : kFilterNames) {
    if (f.kind == *kind) return f.text;
  }
  return std::nullopt;
}

std::string MemberLine(const MemberInfo& member) {
  std::string tags;
  if (std::optional<std::map<std::string, std::string>> decoded =
          DecodeTags(member.meta)) {
    tags = absl::StrJoin(*decoded, ",", absl::PairFormatter("="));
  }
  return absl::StrCat(EscapeField(member.name), "\t", EscapeField(member.addr),
                      "\t", Av(MemberStateName(member.state)), "\t",
                      EscapeField(tags), "\n");
}

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
