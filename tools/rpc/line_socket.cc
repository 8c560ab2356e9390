#include "tools/rpc/line_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/util/string_view.h"

namespace roster::tools::rpc {
namespace {

// Milliseconds poll() waits for `deadline`, -1 for ever.
int PollMillis(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
  return ms < 0 ? 0 : static_cast<int>(std::min<int64_t>(ms, 1 << 30));
}

std::string Errno(std::string_view what) {
  return absl::StrCat(util::ToAbsl(what), ": ", std::strerror(errno));
}

}  // namespace

LineSocket::~LineSocket() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<std::unique_ptr<LineSocket>> LineSocket::Connect(
    const Endpoint& to, absl::Duration timeout) {
  sockaddr_storage storage{};
  const socklen_t len = ToSockaddr(to, &storage);
  const bool v6 = storage.ss_family == AF_INET6;
  const std::string where = v6 ? absl::StrCat("[", to.host, "]:", to.port)
                               : absl::StrCat(to.host, ":", to.port);
  int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(Errno("socket"));
  auto sock = std::make_unique<LineSocket>(fd);
  const int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&storage), len) != 0) {
    if (errno != EINPROGRESS)
      return absl::UnavailableError(
          absl::StrCat("no agent at ", where, ": ", std::strerror(errno)));
    pollfd p{fd, POLLOUT, 0};
    const int ready = poll(&p, 1, PollMillis(absl::Now() + timeout));
    if (ready == 0)
      return absl::UnavailableError(
          absl::StrCat("no agent at ", where, ": no answer within ",
                       absl::FormatDuration(timeout)));
    int error = 0;
    socklen_t error_len = sizeof(error);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_len);
    if (ready < 0 || error != 0)
      return absl::UnavailableError(absl::StrCat(
          "no agent at ", where, ": ", std::strerror(error ? error : errno)));
  }
  fcntl(fd, F_SETFL, flags);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return sock;
}

absl::StatusOr<std::string> LineSocket::ReadLine(absl::Time deadline) {
  while (true) {
    const size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    if (buffer_.size() > kMaxLineBytes)
      return absl::ResourceExhaustedError(
          absl::StrCat("a line over ", kMaxLineBytes, " bytes"));
    pollfd p{fd_, POLLIN, 0};
    const int ready = poll(&p, 1, PollMillis(deadline));
    if (ready == 0) return absl::DeadlineExceededError("no line in time");
    if (ready < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(Errno("poll"));
    }
    char chunk[16384];
    const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n == 0) return absl::OutOfRangeError("the connection was closed");
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return absl::UnavailableError(Errno("recv"));
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

absl::Status LineSocket::WriteLine(std::string_view line) {
  std::string out(line);
  out.push_back('\n');
  size_t sent = 0;
  while (sent < out.size()) {
    const ssize_t n =
        send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(Errno("send"));
    }
    sent += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

bool LineSocket::PeerClosed(absl::Duration wait) {
  pollfd p{fd_, POLLIN | POLLRDHUP, 0};
  const int ready = poll(&p, 1, PollMillis(absl::Now() + wait));
  if (ready <= 0) return ready < 0 && errno != EINTR;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLIN)) != 0;
}

void LineSocket::Shutdown() { shutdown(fd_, SHUT_RDWR); }

}  // namespace roster::tools::rpc
