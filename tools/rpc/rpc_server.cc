#include "tools/rpc/rpc_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace roster::tools::rpc {

bool Call::Stream(const Json& line) const {
  if (stopping_->load()) return false;
  return socket_->WriteLine(Dump(Json{{"stream", line}})).ok();
}

bool Call::Ended(absl::Duration wait) const {
  if (stopping_->load()) return true;
  return socket_->PeerClosed(wait) || stopping_->load();
}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    Options options, std::map<std::string, Handler> handlers) {
  auto endpoint = ParseEndpoint(options.addr);
  if (!endpoint.ok()) return endpoint.status();
  if (!endpoint->loopback && options.token.empty())
    return absl::InvalidArgumentError(absl::StrCat(
        "--rpc ", options.addr,
        " is not a loopback address: it needs --rpc-token-file, so that only "
        "those holding the token control the agent"));
  sockaddr_storage storage{};
  socklen_t len = ToSockaddr(*endpoint, &storage);
  const bool v6 = storage.ss_family == AF_INET6;
  const int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return absl::UnavailableError(
        absl::StrCat("socket: ", std::strerror(errno)));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), len) != 0 ||
      listen(fd, 64) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("--rpc ", options.addr, ": ", std::strerror(error)));
  }
  getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &len);
  const int port =
      v6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port)
         : ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  std::string addr = v6 ? absl::StrCat("[", endpoint->host, "]:", port)
                        : absl::StrCat(endpoint->host, ":", port);
  std::unique_ptr<Server> server(
      new Server(std::move(options), std::move(handlers), fd, addr));
  if (pipe2(server->wake_fds_, O_CLOEXEC) != 0)
    return absl::UnavailableError(absl::StrCat("pipe: ", std::strerror(errno)));
  server->accept_thread_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  return server;
}

Server::Server(Options options, std::map<std::string, Handler> handlers, int fd,
               std::string addr)
    : options_(std::move(options)),
      handlers_(std::move(handlers)),
      listen_fd_(fd),
      addr_(std::move(addr)) {}

Server::~Server() {
  stopping_ = true;
  if (wake_fds_[1] >= 0) {
    const char byte = 0;
    (void)!write(wake_fds_[1], &byte, 1);
  }
  if (accept_thread_.joinable()) accept_thread_.join();
  std::list<Connection> connections;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Connection& c : connections_) c.socket->Shutdown();
    connections.splice(connections.end(), connections_);
  }
  for (Connection& c : connections) c.thread.join();
  close(listen_fd_);
  for (int fd : wake_fds_)
    if (fd >= 0) close(fd);
}

ServerCounters Server::counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

void Server::Log(LogLevel level, std::string_view message) const {
  if (options_.log) options_.log(level, message);
}

void Server::AcceptLoop() {
  while (!stopping_) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_fds_[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0) continue;
    if (stopping_ || (p[1].revents & POLLIN)) return;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    auto socket = std::make_unique<LineSocket>(fd);
    std::lock_guard<std::mutex> lock(mu_);
    // Threads that ended are joined here, so a long-lived agent keeps none.
    for (auto it = connections_.begin(); it != connections_.end();) {
      if (it->done) {
        it->thread.join();
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
    if (connections_.size() >= options_.max_connections) {
      ++counters_.over_connections;
      (void)socket->WriteLine(Dump(ErrorLine(absl::ResourceExhaustedError(
          absl::StrCat("the agent serves at most ", options_.max_connections,
                       " connections at once")))));
      continue;
    }
    Connection& c = connections_.emplace_back();
    c.socket = std::move(socket);
    c.thread = std::thread([this, &c] { Serve(&c); });
  }
}

void Server::Refuse(LineSocket& socket, const absl::Status& status,
                    bool unauthorized) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++counters_.refused;
    if (unauthorized) ++counters_.unauthorized;
  }
  Log(LogLevel::kWarning, absl::StrCat("rpc: refused: ", status.message()));
  (void)socket.WriteLine(Dump(ErrorLine(status)));
}

void Server::Serve(Connection* connection) {
  LineSocket& socket = *connection->socket;
  // However the call ends, the client sees the connection close at once
  // (not when the thread is next reaped) and the thread is marked for
  // reaping.
  struct Finish {
    Connection* c;
    ~Finish() {
      c->socket->Shutdown();
      c->done = true;
    }
  } finish{connection};
  auto line = socket.ReadLine(absl::Now() + options_.request_timeout);
  if (!line.ok()) {
    if (!absl::IsOutOfRange(line.status()))
      Refuse(socket,
             absl::InvalidArgumentError(
                 absl::StrCat("no request line: ", line.status().message())),
             false);
    return;
  }
  const Json request = Json::parse(*line, nullptr, /*allow_exceptions=*/false);
  if (!request.is_object() || !request.contains("command") ||
      !request["command"].is_string()) {
    Refuse(socket,
           absl::InvalidArgumentError(
               "a request is a JSON object with a \"command\" string"),
           false);
    return;
  }
  if (!options_.token.empty()) {
    const auto token = request.find("token");
    const bool ok =
        token != request.end() && token->is_string() &&
        token->get_ref<const std::string&>().size() == options_.token.size() &&
        sodium_memcmp(token->get_ref<const std::string&>().data(),
                      options_.token.data(), options_.token.size()) == 0;
    if (!ok) {
      Refuse(socket,
             absl::PermissionDeniedError(
                 "the agent needs its RPC token (--token-file or "
                 "ROSTER_RPC_TOKEN), and this request has none or another"),
             true);
      return;
    }
  }
  const std::string& command = request["command"].get_ref<const std::string&>();
  auto handler = handlers_.find(command);
  if (handler == handlers_.end()) {
    Refuse(socket,
           absl::InvalidArgumentError(
               absl::StrCat("the agent has no command '", command, "'")),
           false);
    return;
  }
  Json args = request.contains("args") ? request["args"] : Json::object();
  if (!args.is_object()) {
    Refuse(socket, absl::InvalidArgumentError("\"args\" must be an object"),
           false);
    return;
  }
  Call call(&socket, &stopping_);
  absl::StatusOr<Json> result = absl::UnknownError("");
  try {
    result = handler->second(args, call);
  } catch (const Json::exception& e) {
    // A field of the wrong type: the request's fault, not the agent's.
    result = absl::InvalidArgumentError(
        absl::StrCat("bad arguments to '", command, "': ", e.what()));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++counters_.calls;
  }
  (void)socket.WriteLine(Dump(result.ok() ? Json{{"result", *result}}
                                          : ErrorLine(result.status())));
  if (call.after_reply_) call.after_reply_();
}

}  // namespace roster::tools::rpc
