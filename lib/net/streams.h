// TCP for roster (see stream.h): outbound one-shot exchanges, and the
// inbound side of every connection, each bounded in time and size.
//
// Outbound, an exchange connects (connect_timeout), writes its request and
// reads one length-prefixed reply. Inbound, a connection delivers a
// request; once the handler has answered (now, or later from the loop) the
// reply is written and the connection waits keep_alive for the next
// request, so a peer may send several in turn (one at a time: a request
// that arrives before the previous one's reply closes the connection).
// Either way a connection that makes no progress for idle_timeout within
// a request, or whose request has not arrived within stream_timeout, is
// closed and counted; a declared length over max_frame_bytes closes it at
// once; past max_inbound streams the connection idle longest between
// requests is closed to make room, or without one the new connection; past
// max_inbound_bytes declared by all requests being read, new ones are
// closed. Single-threaded: everything runs on the loop's thread.
#ifndef ROSTER_NET_STREAMS_H_
#define ROSTER_NET_STREAMS_H_

#include <netinet/in.h>
#include <uv.h>

#include <functional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
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
  // How long an inbound connection that has been answered waits for its
  // next request.
  absl::Duration keep_alive = absl::Seconds(30);
  // Inbound connections from a peer ("HOST:PORT") this refuses are closed
  // at once, before they count against the limits above. Unset: all.
  std::function<bool(const std::string& peer)> admit;
};

class Streams {
 public:
  // The reply frame (after its length prefix), or why there is none.
  using Done = std::function<void(absl::StatusOr<std::string> frame)>;
  // The reply to write (length prefix included), or "" to close without
  // one; with `keep_open` the connection then waits for another request.
  // Called at most once, on the loop thread, now or later; a reply given
  // after the connection has closed is dropped.
  using Respond = std::function<void(std::string reply, bool keep_open)>;
  // Given the peer's address and a request frame, answers through
  // `respond`.
  using Handler = std::function<void(const std::string& peer,
                                     std::string_view frame, Respond respond)>;

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
  // Closes the inbound connection idle longest between requests; false
  // when none is.
  bool EvictIdle();
  void OnAnswer(uint64_t conn_id, uint64_t request, std::string reply,
                bool keep_open);

  uv_loop_t* loop_;
  StreamOptions options_;
  NetCounters* counters_;
  Handler handler_;
  uv_tcp_t listener_;
  bool listener_open_ = false;
  size_t inbound_ = 0;
  uint64_t inbound_bytes_ = 0;
  absl::flat_hash_set<Conn*> conns_;
  // Inbound connections by id, for answers that come later.
  absl::flat_hash_map<uint64_t, Conn*> inbound_by_id_;
  uint64_t next_conn_id_ = 1;
  CloseGroup closer_;  // the listener and every connection

 public:
  char scratch_[64 * 1024];  // read buffer, used between alloc and read
};

// uv's error as text a person can act on ("connection refused").
std::string UvError(int code);

// Writes `bytes` to `stream`, which owns nothing of them: each write keeps
// its own buffer and request, so one may start before the last has
// reported. `written` gets uv's status once they are in the kernel's
// hands (UV_ECANCELED if the handle closed first). A negative result is
// uv's error, and `written` is then not called.
int WriteOwned(uv_stream_t* stream, std::string bytes,
               void (*written)(uv_stream_t* stream, int status));

}  // namespace roster::net

#endif  // ROSTER_NET_STREAMS_H_
