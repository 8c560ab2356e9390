// The agent's side of the control protocol (rpc_protocol.h): a listener
// and a thread per connection, at most Options::max_connections of them,
// each running one command's handler. A handler may block (a query waits
// for its deadline, monitor for its client to leave); the protocol never
// waits for one, as handlers only call roster::Node.
#ifndef ROSTER_TOOLS_RPC_RPC_SERVER_H_
#define ROSTER_TOOLS_RPC_RPC_SERVER_H_

#include <atomic>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "roster/runtime.h"  // LogLevel
#include "tools/rpc/line_socket.h"
#include "tools/rpc/rpc_protocol.h"

namespace roster::tools::rpc {

// What a handler has of the call it answers.
class Call {
 public:
  explicit Call(LineSocket* socket, const std::atomic<bool>* stopping)
      : socket_(socket), stopping_(stopping) {}
  // Sends one {"stream": line}; false once the client is gone (the handler
  // should then return).
  bool Stream(const Json& line) const;
  // Waits at most `wait`; true when the client has gone or the server is
  // stopping, so a streaming handler knows to end.
  bool Ended(absl::Duration wait) const;
  // Runs `then` once the reply is written (a leave that ends the agent
  // answers first).
  void AfterReply(std::function<void()> then) {
    after_reply_ = std::move(then);
  }

 private:
  friend class Server;
  std::function<void()> after_reply_;
  LineSocket* socket_;
  const std::atomic<bool>* stopping_;
};

// A command: from the request's "args" (an object, maybe empty) to the
// result object, or an error status the client reports.
using Handler = std::function<absl::StatusOr<Json>(const Json& args, Call&)>;

struct ServerCounters {
  uint64_t calls = 0;             // requests answered, errors too
  uint64_t refused = 0;           // bad line, unknown command, bad token
  uint64_t unauthorized = 0;      // of those, a missing or wrong token
  uint64_t over_connections = 0;  // turned away past max_connections
};

class Server {
 public:
  struct Options {
    std::string addr = kDefaultAddr;
    // When set, every request must carry it as "token"; required for an
    // address other than loopback.
    std::string token;
    size_t max_connections = 32;
    // How long a client may take to send its request line.
    absl::Duration request_timeout = absl::Seconds(10);
    std::function<void(LogLevel, std::string_view)> log;
  };

  // Listens on options.addr: InvalidArgument for a bad address or a
  // non-loopback one without a token, Unavailable when it cannot bind.
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      Options options, std::map<std::string, Handler> handlers);
  // Stops: ends every connection (streaming handlers see Ended) and joins
  // every thread.
  ~Server();

  // The address it listens on, with the port the system chose for 0.
  const std::string& addr() const { return addr_; }
  ServerCounters counters() const;

 private:
  Server(Options options, std::map<std::string, Handler> handlers, int fd,
         std::string addr);
  struct Connection {
    std::unique_ptr<LineSocket> socket;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  void AcceptLoop();
  void Serve(Connection* connection);
  void Refuse(LineSocket& socket, const absl::Status& status,
              bool unauthorized);
  void Log(LogLevel level, std::string_view message) const;

  const Options options_;
  const std::map<std::string, Handler> handlers_;
  const int listen_fd_;
  int wake_fds_[2] = {-1, -1};  // a pipe that ends AcceptLoop's poll
  const std::string addr_;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;

  mutable std::mutex mu_;
  std::list<Connection> connections_ ABSL_GUARDED_BY(mu_);
  ServerCounters counters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace roster::tools::rpc

#endif  // ROSTER_TOOLS_RPC_RPC_SERVER_H_
