// The cache's clients: a line protocol over TCP, one request per line.
//
//   PUT KEY VALUE    ->  OK N (copies written)    | ERR why
//   GET KEY          ->  VALUE V                   | MISSING | ERR why
//   KEYS             ->  KEYS N, then the N keys held here, one per line
//   MEMBERS          ->  MEMBERS N, then "NAME ADDR STATE RTT_MS" lines
//
// KEY has no spaces; VALUE is the rest of the line. A line over the limit,
// an unknown command or a malformed one gets ERR and the connection goes
// on; past the limit on connections a new one gets ERR and is closed.
#ifndef ROSTER_CACHE_SERVER_H_
#define ROSTER_CACHE_SERVER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "cache.h"

namespace cache {

class Server {
 public:
  // Listens on `addr` ("127.0.0.1:PORT"; port 0 picks one).
  static absl::StatusOr<std::unique_ptr<Server>> Start(Cache* cache,
                                                       const std::string& addr);
  ~Server();
  const std::string& addr() const { return addr_; }

 private:
  Server(Cache* cache, int fd, std::string addr)
      : cache_(cache), listen_fd_(fd), addr_(std::move(addr)) {}
  void AcceptLoop();
  void Serve(int fd);
  std::string Answer(const std::string& line);

  static constexpr size_t kMaxLine = 1 << 20;
  static constexpr size_t kMaxConnections = 64;
  Cache* const cache_;
  const int listen_fd_;
  const std::string addr_;
  std::atomic<bool> stopping_{false};
  // The connections being served, each on a thread of its own; the
  // destructor shuts them and waits for their threads to finish.
  std::mutex mu_;
  std::condition_variable ended_;
  std::set<int> open_fds_;  // guarded by mu_
  std::thread acceptor_;
};

}  // namespace cache

#endif  // ROSTER_CACHE_SERVER_H_
