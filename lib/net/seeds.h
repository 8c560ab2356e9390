// Seeds: where a node looks for its cluster, and their resolution.
//
//   HOST:PORT, [V6]:PORT   an address, or a host name resolved like dns:
//   dns:NAME:PORT          every A and AAAA record of NAME, at PORT
//   srv:NAME               every SRV record of NAME (e.g.
//                          _roster._udp.cache.example), each target's A
//                          and AAAA records at the record's port
//
// Names go through c-ares on the node's loop, against the system's
// resolver configuration or one DNS server given as HOST:PORT.
#ifndef ROSTER_NET_SEEDS_H_
#define ROSTER_NET_SEEDS_H_

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/close_group.h"
#include "roster/counters.h"

struct ares_channeldata;

namespace roster::net {

struct SeedSpec {
  enum class Kind { kAddress, kDns, kSrv };
  Kind kind = Kind::kAddress;
  std::string text;  // as given, for messages
  std::string host;  // kAddress: the normalized address; else the name
  uint16_t port = 0;
};
absl::StatusOr<SeedSpec> ParseSeed(std::string_view text);
// A DNS server override, "HOST:PORT" with an IP literal host.
absl::Status ValidateDnsServer(std::string_view text);

class Resolver {
 public:
  struct Result {
    std::string seed;                // SeedSpec::text
    std::vector<std::string> addrs;  // "HOST:PORT", IP literals
    absl::Status status;             // why there are none
  };
  using Done = std::function<void(std::vector<Result>)>;

  Resolver(uv_loop_t* loop, std::string dns_server, NetCounters* counters);
  ~Resolver();  // after Close() has completed

  // Resolves every seed; `done` gets one result per seed, in order. It may
  // run before Resolve() returns when there is no name to look up.
  void Resolve(const std::vector<SeedSpec>& seeds, Done done);
  // Cancels lookups in flight (their seeds fail with Cancelled); `closed`
  // runs once every handle has closed.
  void Close(std::function<void()> closed);

 private:
  struct Batch;
  struct Lookup;
  struct Poll;

  absl::Status EnsureChannel();
  void LookupAddrs(std::shared_ptr<Batch> batch, size_t index,
                   const std::string& name, uint16_t port);
  void LookupSrv(std::shared_ptr<Batch> batch, size_t index,
                 const std::string& name);
  void UpdateTimer();
  static void SockState(void* data, int fd, int readable, int writable);
  static void ClosePoll(Poll* poll);

  uv_loop_t* loop_;
  std::string dns_server_;
  NetCounters* counters_;
  ares_channeldata* channel_ = nullptr;
  uv_timer_t timer_;
  bool timer_open_ = false;
  absl::flat_hash_map<int, Poll*> polls_;
  CloseGroup closer_;  // the timer and the polls
};

}  // namespace roster::net

#endif  // ROSTER_NET_SEEDS_H_
