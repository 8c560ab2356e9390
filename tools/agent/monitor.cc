#include "tools/agent/monitor.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace roster::tools {

std::vector<rpc::Json> Monitor::Watcher::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<rpc::Json> out;
  if (dropped_ > 0) out.push_back({{"dropped", dropped_}});
  dropped_ = 0;
  out.insert(out.end(), std::make_move_iterator(lines_.begin()),
             std::make_move_iterator(lines_.end()));
  lines_.clear();
  return out;
}

std::shared_ptr<Monitor::Watcher> Monitor::Watch(LogLevel level) {
  auto watcher = std::make_shared<Watcher>(level);
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.push_back(watcher);
  return watcher;
}

void Monitor::Unwatch(const std::shared_ptr<Watcher>& watcher) {
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.remove(watcher);
}

void Monitor::Log(LogLevel level, std::string_view message) {
  Offer({{"log", std::string(message)},
         {"level", std::string(LogLevelName(level))},
         {"at", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                 absl::UTCTimeZone())}},
        level);
}

void Monitor::Event(rpc::Json line) { Offer(line, LogLevel::kError); }

void Monitor::Offer(const rpc::Json& line, LogLevel level) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& watcher : watchers_) {
    if (level < watcher->level_) continue;
    std::lock_guard<std::mutex> watcher_lock(watcher->mu_);
    if (watcher->lines_.size() >= kQueueLines) {
      watcher->lines_.pop_front();
      ++watcher->dropped_;
    }
    watcher->lines_.push_back(line);
  }
}

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warning" || name == "warn") return LogLevel::kWarning;
  if (name == "error") return LogLevel::kError;
  return std::nullopt;
}

}  // namespace roster::tools
