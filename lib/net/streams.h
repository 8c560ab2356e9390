// TCP for roster: one request and one reply per connection (see stream.h),
// outbound and inbound, each bounded in time and size.
//
// Outbound, an exchange connects (connect_timeout), writes its request and
// reads one length-prefixed reply. Inbound, a connection must deliver one
// whole request; the handler's reply is written and the connection closed.
// Either way a connection that makes no progress for idle_timeout, or that
// lasts longer than stream_timeout, is closed and counted; a declared
// length over max_frame_bytes closes it at once; past max_inbound streams,
// or past max_inbound_bytes declared by all of them, new ones are closed.
// Single-threaded: everything runs on the loop's thread.
#ifndef ROSTER_NET_STREAMS_H_
#define ROSTER_NET_STREAMS_H_

#include <netinet/in.h>
#include <uv.h>

#include <functional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/close_group.h"
#include "roster/counters.h"

namespace roster::net {

struct StreamOptions {
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration idle_timeout = absl::Seconds(5);
  absl::Duration stream_timeout = absl::Seconds(10);
  size_t max_frame_bytes = 32 << 20;
  size_t max_inbound = 128;
  // What all inbound requests in progress may declare together.
  size_t max_inbound_bytes = 64 << 20;
  // Inbound connections from a peer ("HOST:PORT") this refuses are closed
  // at once, before they count against the limits above. Unset: all.
  std::function<bool(const std::string& peer)> admit;
};

class Streams {
 public:
  // The reply frame (after its length prefix), or why there is none.
  using Done = std::function<void(absl::StatusOr<std::string> frame)>;
  // Given the peer's address and the request frame, returns the reply to
  // write (length prefix included), or "" to close without one.
  using Handler =
      std::function<std::string(const std::string& peer, std::string_view)>;

  Streams(uv_loop_t* loop, StreamOptions options, NetCounters* counters);
  ~Streams();  // after CloseAll() has completed

  // Listens on `fd`, a bound TCP socket that Streams now owns.
  absl::Status Listen(uv_os_sock_t fd, Handler handler);
  // Sends `request` (length prefix included) to `to`. `done` is called
  // exactly once, never from inside Exchange().
  void Exchange(const sockaddr_storage& to, std::string request, Done done);
  // Closes the listener and every connection (pending exchanges fail with
  // Cancelled); `closed` runs once every handle has closed.
  void CloseAll(std::function<void()> closed);

  struct Conn;

 private:
  friend struct Conn;
  void Forget(Conn* conn);
  static void OnConnection(uv_stream_t* server, int status);

  uv_loop_t* loop_;
  StreamOptions options_;
  NetCounters* counters_;
  Handler handler_;
  uv_tcp_t listener_;
  bool listener_open_ = false;
  size_t inbound_ = 0;
  uint64_t inbound_bytes_ = 0;
  absl::flat_hash_set<Conn*> conns_;
  CloseGroup closer_;  // the listener and every connection

 public:
  char scratch_[64 * 1024];  // read buffer, used between alloc and read
};

// uv's error as text a person can act on ("connection refused").
std::string UvError(int code);

}  // namespace roster::net

#endif  // ROSTER_NET_STREAMS_H_
