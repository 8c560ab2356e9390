// roster-messages: the data path between two members on 127.0.0.1. Measures
// Node::SendTo (and Node::Request) throughput and latency, one caller and
// several at once, and counts the sockets left in TIME-WAIT on the
// receiver's port after the sequential run (what a connection per message
// costs the kernel).
//
//   roster-messages --messages 4000 --callers 4 --payload 64
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "roster/node.h"
#include "tools/flags.h"

namespace roster::bench {
namespace {

constexpr char kUsage[] =
    "usage: roster-messages [--messages N] [--callers C] [--payload BYTES]\n";

struct Options {
  int messages = 4000;
  int callers = 4;
  size_t payload = 64;
};

absl::StatusOr<Options> Parse(int argc, char** argv) {
  tools::Flags flags({"messages", "callers", "payload"}, {"help"});
  if (auto s = flags.Parse(argc, argv); !s.ok()) return s;
  if (flags.Has("help")) return absl::CancelledError(kUsage);
  if (!flags.positional().empty())
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", flags.positional()[0], "'"));
  auto messages = flags.GetInt("messages", 4000, 1, 10'000'000);
  auto callers = flags.GetInt("callers", 4, 1, 64);
  auto payload = flags.GetInt("payload", 64, 0, 1 << 20);
  for (const absl::Status& s :
       {messages.status(), callers.status(), payload.status()}) {
    if (!s.ok()) return s;
  }
  return Options{static_cast<int>(*messages), static_cast<int>(*callers),
                 static_cast<size_t>(*payload)};
}

// Sockets in TIME-WAIT with `port` at either end, as ss sees them.
int TimeWaitOn(const std::string& addr) {
  const std::string port = addr.substr(addr.rfind(':') + 1);
  const std::string command =
      absl::StrCat("ss -Htan state time-wait '( sport = :", port,
                   " or dport = :", port, " )' | wc -l");
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return -1;
  int n = -1;
  if (fscanf(p, "%d", &n) != 1) n = -1;
  pclose(p);
  return n;
}

// One call, timed; false when it failed (the run stops there).
using Call = std::function<absl::Status()>;

struct Run {
  std::string what;
  int callers = 0;
  int calls = 0;
  int failures = 0;
  absl::Status first_failure;
  absl::Duration wall;
  std::vector<double> latencies_us;
};

Run Measure(std::string what, int callers, int calls, const Call& call) {
  Run run;
  run.what = std::move(what);
  run.callers = callers;
  run.calls = calls;
  std::vector<std::vector<double>> latencies(callers);
  std::vector<absl::Status> failures(callers);
  std::vector<int> failed(callers, 0);
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int c = 0; c < callers; ++c) {
    threads.emplace_back([&, c] {
      const int mine = calls / callers + (c < calls % callers ? 1 : 0);
      latencies[c].reserve(mine);
      for (int i = 0; i < mine; ++i) {
        const absl::Time t0 = absl::Now();
        absl::Status s = call();
        latencies[c].push_back(absl::ToDoubleMicroseconds(absl::Now() - t0));
        if (!s.ok()) {
          if (failed[c]++ == 0) failures[c] = s;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  run.wall = absl::Now() - start;
  for (int c = 0; c < callers; ++c) {
    run.latencies_us.insert(run.latencies_us.end(), latencies[c].begin(),
                            latencies[c].end());
    run.failures += failed[c];
    if (!failures[c].ok() && run.first_failure.ok())
      run.first_failure = failures[c];
  }
  std::sort(run.latencies_us.begin(), run.latencies_us.end());
  return run;
}

double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1));
  return sorted[i];
}

void Print(const Run& r) {
  std::printf("| %-8s | %2d | %6d | %9.0f | %8.0f | %8.0f | %d |\n",
              r.what.c_str(), r.callers, r.calls,
              r.calls / absl::ToDoubleSeconds(r.wall),
              Percentile(r.latencies_us, 0.50),
              Percentile(r.latencies_us, 0.99), r.failures);
  if (!r.first_failure.ok())
    std::printf("  first failure: %s\n", r.first_failure.ToString().c_str());
}

int Main(int argc, char** argv) {
  auto options = Parse(argc, argv);
  if (!options.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(options.status().message()).c_str());
    return absl::IsCancelled(options.status()) ? 0 : 2;
  }
  std::atomic<uint64_t> received{0};
  auto config = [&](const char* name) {
    NodeConfig c = NodeConfig::ForProfile(Profile::kLan, name, "127.0.0.1:0");
    c.on_message = [&](std::string_view, std::string_view) { ++received; };
    c.on_request = [](std::string_view,
                      std::string_view payload) -> absl::StatusOr<std::string> {
      return std::string(payload);
    };
    return c;
  };
  auto receiver = Node::Start(config("receiver"));
  auto sender = Node::Start(config("sender"));
  if (!receiver.ok() || !sender.ok()) {
    std::fprintf(stderr, "start: %s %s\n", receiver.status().ToString().c_str(),
                 sender.status().ToString().c_str());
    return 1;
  }
  if (absl::Status s = (*sender)->Join({(*receiver)->addr()}); !s.ok()) {
    std::fprintf(stderr, "join: %s\n", s.ToString().c_str());
    return 1;
  }
  Node& from = **sender;
  const std::string payload(options->payload, 'x');
  const std::string receiver_addr = (*receiver)->addr();
  const int time_wait_before = TimeWaitOn(receiver_addr);

  std::printf("%d calls each, %zu-byte payloads, 127.0.0.1, LAN profile\n\n",
              options->messages, options->payload);
  std::printf(
      "| call     | callers | calls | calls/s | p50 us | p99 us | failed |\n"
      "|---|---|---|---|---|---|---|\n");
  auto send = [&] { return from.SendTo("receiver", payload); };
  Print(Measure("SendTo", 1, options->messages, send));
  const int time_wait_after = TimeWaitOn(receiver_addr);
  Print(Measure("SendTo", options->callers, options->messages, send));
  auto request = [&] {
    return from.Request("receiver", payload, absl::Seconds(10)).status();
  };
  Print(Measure("Request", 1, options->messages, request));
  Print(Measure("Request", options->callers, options->messages, request));
  NodeCounters counters = from.counters();
  std::printf(
      "\nTIME-WAIT sockets on the receiver's port: %d before, %d after the "
      "sequential SendTo run\n",
      time_wait_before, time_wait_after);
  std::printf("sender: streams_opened %llu\n",
              static_cast<unsigned long long>(counters.net.streams_opened));
  std::printf(
      "sender: message_connections_opened %llu, message_connections_reused "
      "%llu\n",
      static_cast<unsigned long long>(counters.net.message_connections_opened),
      static_cast<unsigned long long>(counters.net.message_connections_reused));
  std::printf("receiver: messages handled %llu\n",
              static_cast<unsigned long long>(received.load()));
  return 0;
}

}  // namespace
}  // namespace roster::bench

int main(int argc, char** argv) { return roster::bench::Main(argc, argv); }
