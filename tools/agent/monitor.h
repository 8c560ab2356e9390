// The agent's logs and events, fanned out to each `roster monitor`: every
// watcher has a queue of its own, bounded, so a slow one loses its oldest
// lines (counted, and told) and never slows the agent or another watcher.
#ifndef ROSTER_TOOLS_AGENT_MONITOR_H_
#define ROSTER_TOOLS_AGENT_MONITOR_H_

#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "roster/runtime.h"  // LogLevel
#include "tools/rpc/rpc_protocol.h"

namespace roster::tools {

class Monitor {
 public:
  static constexpr size_t kQueueLines = 4096;

  class Watcher {
   public:
    explicit Watcher(LogLevel level) : level_(level) {}
    // The lines queued since the last call, oldest first; a line
    // {"dropped": N} leads them when N lines were lost.
    std::vector<rpc::Json> Take();

   private:
    friend class Monitor;
    const LogLevel level_;
    std::mutex mu_;
    std::deque<rpc::Json> lines_ ABSL_GUARDED_BY(mu_);
    uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  };

  // A watcher of logs at `level` and above, and of every event, until
  // Unwatch.
  std::shared_ptr<Watcher> Watch(LogLevel level);
  void Unwatch(const std::shared_ptr<Watcher>& watcher);

  // Offers a log line, or an event's line (every watcher takes it).
  void Log(LogLevel level, std::string_view message);
  void Event(rpc::Json line);

 private:
  void Offer(const rpc::Json& line, LogLevel level);
  std::mutex mu_;
  std::list<std::shared_ptr<Watcher>> watchers_ ABSL_GUARDED_BY(mu_);
};

// "debug", "info", "warning" (or "warn"), "error"; nullopt otherwise.
std::optional<LogLevel> ParseLogLevel(std::string_view name);

}  // namespace roster::tools

#endif  // ROSTER_TOOLS_AGENT_MONITOR_H_
