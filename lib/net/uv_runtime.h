// roster::Runtime over libuv: the real clock, a seeded generator, a UDP
// socket for datagrams, TCP streams for every exchange, c-ares for seeds,
// and one libuv timer over a heap of the core's timers. It moves bytes:
// every frame it carries is the core's, unopened here.
//
// Single-threaded: every call, and every call into the Host, happens on
// the loop's thread.
#ifndef ROSTER_NET_UV_RUNTIME_H_
#define ROSTER_NET_UV_RUNTIME_H_

#include <netinet/in.h>
#include <uv.h>

#include <functional>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/close_group.h"
#include "net/connection_pool.h"
#include "net/seeds.h"
#include "net/stream.h"
#include "net/streams.h"
#include "roster/config.h"
#include "roster/counters.h"
#include "roster/runtime.h"

namespace roster::net {

class UvRuntime final : public Runtime {
 public:
  // What the runtime hands on.
  class Host {
   public:
    virtual ~Host() = default;
    virtual void OnPacket(std::string_view from, std::string_view bytes) = 0;
    virtual void OnTimer(const Timer& timer) = 0;
    // The outcome of a StartSync: the peer's reply frame or the error.
    virtual void OnSyncDone(const std::string& to,
                            absl::StatusOr<std::string> response) = 0;
    // An inbound request's frame; `reply` takes the reply's frame (empty:
    // close without one), now or later on the loop thread, and whether the
    // connection may carry another request (Swim::StreamReply's own).
    using StreamReply = std::function<void(std::string frame, bool keep_open)>;
    virtual void OnStream(const std::string& peer, std::string_view frame,
                          StreamReply reply) = 0;
    // The answer to a ResolveSeed.
    virtual void OnSeedResolved(
        const std::string& seed,
        const absl::StatusOr<std::vector<std::string>>& addrs) = 0;
  };

  struct Options {
    sockaddr_storage bind;  // port 0: any free port, the same for UDP and TCP
    StreamOptions streams;
    PoolOptions pool;        // SendTo and Request
    std::string dns_server;  // NodeConfig::dns_server
  };

  UvRuntime(uv_loop_t* loop, Options options, Host* host,
            NetCounters* counters);
  ~UvRuntime() override;

  // Binds UDP and TCP and starts receiving. The error says what to change.
  absl::Status Start();
  // The bound address (with the actual port).
  const sockaddr_storage& bound() const { return bound_; }

  absl::Time Now() override;
  uint64_t Random() override;
  void SendPacket(const std::string& to, std::string bytes) override;
  void StartSync(const std::string& to, std::string request) override;
  void After(absl::Duration delay, Timer timer) override;
  // DNS through c-ares for dns:, srv: and host-name seeds (net/seeds.h).
  bool ResolveSeed(const std::string& seed) override;

  // Sends the request `frame` to `to` ("HOST:PORT"). `done` gets the
  // reply's frame, or why there is none; it is never called from inside
  // Exchange().
  using Reply = std::function<void(absl::StatusOr<std::string>)>;
  void Exchange(const std::string& to, std::string_view frame, Reply done);
  // Sends the request `frame` to `to` on one of the pooled connections
  // (connection_pool.h), for a call with its own deadline.
  void Call(const std::string& to, std::string_view frame,
            absl::Duration timeout, Reply done);
  // The member at `to` failed or left: its idle pooled connections close.
  void ClosePooled(const std::string& to) { pool_.ClosePeer(to); }
  // Runs `fn` on the loop soon, outside the current call stack.
  void Defer(std::function<void()> fn);

  // Stops everything; `closed` runs once every handle has closed.
  void Close(std::function<void()> closed);

 private:
  struct Pending {
    uint64_t due_ms;
    uint64_t seq;
    Timer timer;
    bool operator>(const Pending& o) const {
      return due_ms != o.due_ms ? due_ms > o.due_ms : seq > o.seq;
    }
  };

  const sockaddr_storage* Resolve(const std::string& addr);
  // Resolve(), or nullptr with `done` (moved from) to be told, later, that
  // `to` is not an address.
  const sockaddr_storage* ResolveOrFail(const std::string& to, Reply& done);
  void ArmTimer();
  void OnTimerFired();
  void OnDatagram(ssize_t n, const uv_buf_t* buf, const sockaddr* from,
                  unsigned flags);

  uv_loop_t* loop_;
  Options options_;
  Host* host_;
  NetCounters* counters_;
  std::mt19937_64 rng_;
  sockaddr_storage bound_{};
  uv_udp_t udp_;
  uv_timer_t timer_;
  uv_timer_t defer_timer_;
  Streams streams_;
  ConnectionPool pool_;
  Resolver resolver_;
  // UDP, the two timers, the streams, the pool and the resolver.
  CloseGroup closer_;
  bool started_ = false;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>>
      timers_;
  uint64_t next_seq_ = 0;
  uint64_t armed_due_ = UINT64_MAX;
  std::vector<std::function<void()>> deferred_;
  absl::flat_hash_map<std::string, sockaddr_storage> addrs_;
  char recv_buf_[65536];
};

}  // namespace roster::net

#endif  // ROSTER_NET_UV_RUNTIME_H_
