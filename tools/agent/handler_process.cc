#include "tools/agent/handler_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace roster::tools::handler_process {

// ---------------------------------------------------------------- running

namespace {

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

// Keeps what fits of a read in `kept` and counts all of it.
void Absorb(std::string& kept, size_t& total, size_t cap, const char* data,
            size_t n) {
  total += n;
  if (kept.size() < cap) kept.append(data, std::min(n, cap - kept.size()));
}

}  // namespace

const char* SignalName(int signal) {
  const char* name = sigabbrev_np(signal);
  return name != nullptr ? name : "unknown";
}

ScopedSigpipeBlock::ScopedSigpipeBlock() {
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, &old_);
  sigset_t pending;
  sigpending(&pending);
  was_pending_ = sigismember(&pending, SIGPIPE) == 1;
}

ScopedSigpipeBlock::~ScopedSigpipeBlock() {
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

void Fd::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

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

}  // namespace roster::tools::handler_process
