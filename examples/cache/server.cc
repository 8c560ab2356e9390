#include "server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace cache {
namespace {

bool WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(Cache* cache,
                                                      const std::string& addr) {
  const size_t colon = addr.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  int port = -1;
  if (colon != std::string::npos) {
    try {
      port = std::stoi(addr.substr(colon + 1));
    } catch (...) {
      port = -1;
    }
  }
  if (colon == std::string::npos || port < 0 || port > 65535 ||
      inet_pton(AF_INET, addr.substr(0, colon).c_str(), &sa.sin_addr) != 1)
    return absl::InvalidArgumentError("client address '" + addr +
                                      "' is not IPV4:PORT");
  sa.sin_port = htons(static_cast<uint16_t>(port));
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(std::strerror(errno));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
      listen(fd, 64) != 0) {
    const std::string why = std::strerror(errno);
    close(fd);
    return absl::UnavailableError("client address " + addr + ": " + why);
  }
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  std::unique_ptr<Server> server(new Server(
      cache, fd,
      addr.substr(0, colon) + ":" + std::to_string(ntohs(sa.sin_port))));
  Server* s = server.get();
  server->acceptor_ = std::thread([s] { s->AcceptLoop(); });
  return server;
}

Server::~Server() {
  stopping_ = true;
  shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  close(listen_fd_);
  std::unique_lock<std::mutex> lock(mu_);
  for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
  ended_.wait(lock, [&] { return open_fds_.empty(); });
}

void Server::AcceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (open_fds_.size() >= kMaxConnections) {
        WriteAll(fd, "ERR too many connections\n");
        close(fd);
        continue;
      }
      open_fds_.insert(fd);
    }
    std::thread([this, fd] {
      Serve(fd);
      std::lock_guard<std::mutex> lock(mu_);
      close(fd);
      open_fds_.erase(fd);
      ended_.notify_all();
    }).detach();
  }
}

void Server::Serve(int fd) {
  std::string buffer;
  char chunk[4096];
  bool discarding = false;  // the rest of a line over the limit
  for (;;) {
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    buffer.append(chunk, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = buffer.find('\n', start)) != std::string::npos;
         start = nl + 1) {
      if (discarding) {
        discarding = false;
        continue;
      }
      std::string line = buffer.substr(start, nl - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!WriteAll(fd, Answer(line))) return;
    }
    buffer.erase(0, start);
    if (buffer.size() > kMaxLine) {
      if (!discarding && !WriteAll(fd, "ERR line too long\n")) return;
      discarding = true;
      buffer.clear();
    }
  }
}

std::string Server::Answer(const std::string& line) {
  const size_t sp = line.find(' ');
  const std::string cmd = line.substr(0, sp);
  const std::string rest = sp == std::string::npos ? "" : line.substr(sp + 1);
  if (cmd == "PUT") {
    const size_t sp2 = rest.find(' ');
    if (rest.empty() || sp2 == 0) return "ERR usage: PUT KEY VALUE\n";
    auto written =
        cache_->Put(rest.substr(0, sp2),
                    sp2 == std::string::npos ? "" : rest.substr(sp2 + 1));
    if (!written.ok())
      return "ERR " + std::string(written.status().message()) + "\n";
    return "OK " + std::to_string(*written) + "\n";
  }
  if (cmd == "GET") {
    if (rest.empty() || rest.find(' ') != std::string::npos)
      return "ERR usage: GET KEY\n";
    auto value = cache_->Get(rest);
    if (absl::IsNotFound(value.status())) return "MISSING\n";
    if (!value.ok())
      return "ERR " + std::string(value.status().message()) + "\n";
    return "VALUE " + *value + "\n";
  }
  if (cmd == "KEYS" && rest.empty()) {
    std::ostringstream out;
    auto keys = cache_->LocalKeys();
    out << "KEYS " << keys.size() << "\n";
    for (const std::string& k : keys) out << k << "\n";
    return out.str();
  }
  if (cmd == "MEMBERS" && rest.empty()) {
    std::ostringstream out;
    auto members = cache_->LiveMembers();
    out << "MEMBERS " << members.size() << "\n";
    for (const roster::MemberInfo& m : members)
      out << m.name << " " << m.addr << " " << roster::MemberStateName(m.state)
          << " " << absl::ToDoubleMilliseconds(m.rtt) << "\n";
    return out.str();
  }
  return "ERR unknown command (PUT, GET, KEYS, MEMBERS)\n";
}

}  // namespace cache
