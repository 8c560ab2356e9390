// Running one handler's program, whatever the event: the part of the event
// handlers that deals with processes, pipes and signals, so that the
// queues, threads and counters (tools/agent/event_handlers.h) need know
// nothing of them beyond an Outcome. A handler is someone else's program:
// it may hang, flood its output, leave children behind or stop reading its
// stdin, and none of that may hurt the agent.
#ifndef ROSTER_TOOLS_AGENT_HANDLER_PROCESS_H_
#define ROSTER_TOOLS_AGENT_HANDLER_PROCESS_H_

#include <signal.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

// A named namespace, not an anonymous one: EventHandlers::Impl holds these
// types as fields, which GCC's -Wsubobject-linkage refuses for types of an
// anonymous namespace once a unity build puts its source in another file.
namespace roster::tools::handler_process {

// The abbreviation of `signal` ("KILL", "TERM"), or "unknown".
// strsignal's buffer is shared between threads; glibc's table is not.
const char* SignalName(int signal);

// SIGPIPE would kill the agent when a handler exits without reading all of
// its stdin; blocked, the write fails with EPIPE instead. The signal then
// stays pending on this thread, and is taken back before the thread's mask
// is restored, unless something else had raised it before.
class ScopedSigpipeBlock {
 public:
  // Blocks SIGPIPE on the calling thread.
  ScopedSigpipeBlock();
  // Takes back a SIGPIPE raised since, and restores the thread's mask.
  ~ScopedSigpipeBlock();
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t old_;
  bool was_pending_ = false;
};

// Owns a file descriptor (-1 for none), and closes it when destroyed.
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
  // Closes the descriptor, if one is held; then holds none.
  void Close();

 private:
  int fd_ = -1;
};

// How one run of a program went.
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

// Runs `/bin/sh -c program` in a process group of its own with `env`,
// writes `input` to its stdin, and reads its stdout and stderr (at most
// `cap` bytes of each kept) until it has exited and both are closed, or
// until `limit` passes or `cancel_fd` turns readable: then the whole group is
// killed. Reaps the child before returning, whatever happened.
Outcome RunProgram(const std::string& program,
                   const std::vector<std::string>& env,
                   const std::string& input, size_t cap, absl::Duration limit,
                   int cancel_fd);

}  // namespace roster::tools::handler_process

#endif  // ROSTER_TOOLS_AGENT_HANDLER_PROCESS_H_
