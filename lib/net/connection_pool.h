// The outbound connections that application messages and requests share
// (Node::SendTo, Node::Request): a few per peer, each carrying one call
// after another, so that a stream of messages costs a handful of
// connections instead of one each (and as many sockets in TIME-WAIT).
//
// A call goes out on an idle connection to its peer, or on a new one while
// the peer has fewer than max_per_peer, or waits for one to be free. Each
// call has its own deadline: when it passes, the call fails with
// DeadlineExceeded, and a connection it was sent on is closed (its reply
// may still come, and must not be taken for the next call's). A
// connection unused for idle_timeout is closed, and so is one whose peer
// closes it or sends what no call asked for. A call sent on a reused
// connection that the peer closes before any byte of the reply (it had
// closed it as idle, or it is a build that serves one request per
// connection) is sent once more, on a new connection.
//
// Single-threaded: everything runs on the loop's thread. The pool decides
// nothing about the protocol; the frames are the core's, unopened here.
#ifndef ROSTER_NET_CONNECTION_POOL_H_
#define ROSTER_NET_CONNECTION_POOL_H_

#include <netinet/in.h>
#include <uv.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/close_group.h"
#include "roster/counters.h"

namespace roster::net {

struct PoolOptions {
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration idle_timeout = absl::Seconds(15);
  size_t max_per_peer = 2;
  // Calls waiting for a connection to one peer; past it a call fails at
  // once with ResourceExhausted.
  size_t max_waiting_per_peer = 4096;
  size_t max_frame_bytes = 32 << 20;
};

class ConnectionPool {
 public:
  // The reply frame (after its length prefix), or why there is none.
  using Done = std::function<void(absl::StatusOr<std::string> frame)>;

  ConnectionPool(uv_loop_t* loop, PoolOptions options, NetCounters* counters);
  ~ConnectionPool();  // after CloseAll() has completed
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Sends `request` (length prefix included) to `to`, named `peer`
  // ("HOST:PORT"), and hands `done` the reply, or why there is none within
  // `timeout`: DeadlineExceeded when it passed, Unavailable when the peer
  // could not be reached or closed the connection, ResourceExhausted when
  // too many calls wait for it, DataLoss when the reply declares more than
  // max_frame_bytes, Cancelled at shutdown. `done` is called exactly
  // once, and never from inside Call() unless the pool is closing.
  void Call(const sockaddr_storage& to, const std::string& peer,
            std::string request, absl::Duration timeout, Done done);
  // Closes the idle connections to `peer` and forgets it once the calls
  // under way have ended: for a member that failed or left.
  void ClosePeer(const std::string& peer);
  // Fails every call with Cancelled and closes every connection; `closed`
  // runs once every handle has closed.
  void CloseAll(std::function<void()> closed);

  struct Conn;
  struct Pending;
  struct Peer;

 private:
  friend struct Conn;
  // Gives waiting calls of `peer` a connection, while one is free or may
  // be opened.
  void Dispatch(Peer* peer);
  void Open(Peer* peer, std::unique_ptr<Pending> call);
  // `conn` is closing: no longer one of its peer's.
  void Detach(Conn* conn);
  void Forget(Conn* conn);
  void ArmSweep();
  void Sweep();
  // Drops `peer` once nothing is left of it.
  void MaybeErase(Peer* peer);
  uint64_t now_ms() const { return uv_now(loop_); }

  uv_loop_t* loop_;
  PoolOptions options_;
  NetCounters* counters_;
  absl::flat_hash_map<std::string, std::unique_ptr<Peer>> peers_;
  // Calls refused on arrival, failed on the sweep's next turn.
  std::vector<std::unique_ptr<Pending>> refused_;
  // The earliest deadline among waiting calls, on one timer.
  uv_timer_t sweep_;
  CloseGroup closer_;  // the sweep timer and every connection

 public:
  char scratch_[64 * 1024];  // read buffer, used between alloc and read
};

}  // namespace roster::net

#endif  // ROSTER_NET_CONNECTION_POOL_H_
