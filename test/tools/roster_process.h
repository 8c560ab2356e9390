// Running `roster` as scripts do, for the tests of the command line: a
// command to completion, or an agent as a child process whose output is
// read as it comes.
#ifndef ROSTER_TEST_TOOLS_ROSTER_PROCESS_H_
#define ROSTER_TEST_TOOLS_ROSTER_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace roster::test_tools {

inline const char* const kRoster = ROSTER_BIN;

// Runs `roster args...` to completion: its exit status and stdout+stderr.
inline std::pair<int, std::string> RunRoster(const std::string& args) {
  std::string out;
  FILE* p = popen(absl::StrCat(kRoster, " ", args, " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// A `roster` child process with its stdout and stderr captured.
class RosterProcess {
 public:
  // Runs `roster args...`.
  explicit RosterProcess(std::vector<std::string> args) {
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      dup2(err[1], 2);
      close(out[0]);
      close(err[0]);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(kRoster));
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(kRoster, argv.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    out_ = out[0];
    err_ = err[0];
    fcntl(out_, F_SETFL, O_NONBLOCK);
    fcntl(err_, F_SETFL, O_NONBLOCK);
  }
  ~RosterProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(out_);
    close(err_);
  }

  // Reads what is available without blocking.
  void Drain() {
    char buf[4096];
    ssize_t n;
    while ((n = read(out_, buf, sizeof(buf))) > 0) stdout_.append(buf, n);
    while ((n = read(err_, buf, sizeof(buf))) > 0) stderr_.append(buf, n);
  }
  // The address of its RPC from "RPC on ADDR", once printed.
  std::string Rpc() {
    Drain();
    const std::string key = "RPC on ";
    size_t at = stderr_.find(key);
    if (at == std::string::npos) return "";
    size_t end = stderr_.find('\n', at);
    if (end == std::string::npos) return "";
    return stderr_.substr(at + key.size(), end - at - key.size());
  }
  int pid() const { return pid_; }
  // The address from "listening on ADDR (", once printed.
  std::string Addr() {
    Drain();
    const std::string key = "listening on ";
    size_t at = stderr_.find(key);
    if (at == std::string::npos) return "";
    size_t end = stderr_.find(' ', at + key.size());
    if (end == std::string::npos) return "";
    return stderr_.substr(at + key.size(), end - at - key.size());
  }
  void Signal(int sig) { kill(pid_, sig); }
  // The exit status once the process has exited, or -1.
  int Poll() {
    if (exited_) return status_;
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    }
    return exited_ ? status_ : -1;
  }
  const std::string& out() {
    Drain();
    return stdout_;
  }
  const std::string& err() {
    Drain();
    return stderr_;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
  bool exited_ = false;
  int status_ = -1;
  std::string stdout_, stderr_;
};

// The members `roster members --json` printed, by name; none when `out`
// A `roster agent` child process. Many agents share the host: each takes
// an RPC port of its own unless `args` names one.
class Agent : public RosterProcess {
 public:
  explicit Agent(std::vector<std::string> args)
      : RosterProcess(WithAgent(std::move(args))) {}

 private:
  static std::vector<std::string> WithAgent(std::vector<std::string> args) {
    if (std::find(args.begin(), args.end(), "--rpc") == args.end()) {
      args.push_back("--rpc");
      args.push_back("127.0.0.1:0");
    }
    args.insert(args.begin(), "agent");
    return args;
  }
};

// is not that JSON.
inline std::map<std::string, nlohmann::json> MembersByName(
    const std::string& out) {
  std::map<std::string, nlohmann::json> by_name;
  const auto json = nlohmann::json::parse(out, nullptr, false);
  if (!json.is_object() || !json.contains("members") ||
      !json["members"].is_array())
    return by_name;
  for (const auto& m : json["members"]) by_name[m.value("name", "")] = m;
  return by_name;
}

inline int CountState(const std::string& out, const std::string& state) {
  int n = 0;
  for (const auto& [name, m] : MembersByName(out)) n += m["state"] == state;
  return n;
}

inline int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1))
    ++n;
  return n;
}

}  // namespace roster::test_tools

#endif  // ROSTER_TEST_TOOLS_ROSTER_PROCESS_H_
