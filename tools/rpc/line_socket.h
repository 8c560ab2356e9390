// A TCP socket that carries the control protocol's lines: newline-ended,
// bounded by kMaxLineBytes, with deadlines. Framing is done here once, for
// the agent's side and the commands' side alike.
#ifndef ROSTER_TOOLS_RPC_LINE_SOCKET_H_
#define ROSTER_TOOLS_RPC_LINE_SOCKET_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/rpc/rpc_protocol.h"

namespace roster::tools::rpc {

class LineSocket {
 public:
  explicit LineSocket(int fd) : fd_(fd) {}
  ~LineSocket();
  LineSocket(const LineSocket&) = delete;
  LineSocket& operator=(const LineSocket&) = delete;

  // Connects to `to` within `timeout`: Unavailable naming the address when
  // nothing answers there.
  static absl::StatusOr<std::unique_ptr<LineSocket>> Connect(
      const Endpoint& to, absl::Duration timeout);

  // The next line, without its newline, by `deadline`
  // (absl::InfiniteFuture() waits for ever). DeadlineExceeded past it,
  // OutOfRange when the peer closed first (at a line's start or within
  // one), ResourceExhausted for a line over kMaxLineBytes, Unavailable on
  // a socket error.
  absl::StatusOr<std::string> ReadLine(absl::Time deadline);
  // Writes `line` and a newline, all of it, or Unavailable (the peer is
  // gone; never SIGPIPE).
  absl::Status WriteLine(std::string_view line);
  // Whether the peer has closed its side (or sent bytes the protocol does
  // not expect), waiting at most `wait` to see it.
  bool PeerClosed(absl::Duration wait);
  // Ends the connection both ways; a thread blocked in ReadLine returns.
  void Shutdown();

  int fd() const { return fd_; }

 private:
  int fd_;
  std::string buffer_;  // bytes read past the last line
};

}  // namespace roster::tools::rpc

#endif  // ROSTER_TOOLS_RPC_LINE_SOCKET_H_
