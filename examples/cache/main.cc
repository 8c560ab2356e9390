// roster-cache: one instance of the replicated cache (cache.h), with its
// clients' line protocol (server.h).
//
//   roster-cache --name NAME [--bind HOST:PORT] [--client HOST:PORT]
//                [--join SEED]... [--profile lan|wan|local] [--replicas N]
//
// Prints one line once it serves, "ready NAME roster=ADDR client=ADDR",
// then runs until SIGINT or SIGTERM (which leave the cluster gracefully).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cache.h"
#include "server.h"

namespace {

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr,
               "roster-cache: %s\n"
               "usage: roster-cache --name NAME [--bind HOST:PORT] "
               "[--client HOST:PORT] [--join SEED]... "
               "[--profile lan|wan|local] [--replicas N]\n",
               why.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  cache::Options options;
  std::string client = "127.0.0.1:0";
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--help") Usage("a replicated cache over roster");
    if (i + 1 >= argc) Usage("flag " + std::string(flag) + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--name") {
      options.name = value;
    } else if (flag == "--bind") {
      options.bind = value;
    } else if (flag == "--client") {
      client = value;
    } else if (flag == "--join") {
      options.seeds.push_back(value);
    } else if (flag == "--profile") {
      auto profile = roster::ParseProfile(value);
      if (!profile.ok()) Usage(std::string(profile.status().message()));
      options.profile = *profile;
    } else if (flag == "--replicas") {
      char* end = nullptr;
      const long n = std::strtol(value.c_str(), &end, 10);
      if (*end != '\0' || n < 1 || n > 16)
        Usage("--replicas takes a number from 1 to 16");
      options.replicas = static_cast<size_t>(n);
    } else {
      Usage("unknown flag " + std::string(flag));
    }
  }
  if (options.name.empty()) Usage("--name is required");

  // Signals are taken by sigwait below, not by a handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto instance = cache::Cache::Start(options);
  if (!instance.ok()) {
    std::fprintf(stderr, "roster-cache: %s\n",
                 instance.status().ToString().c_str());
    return 1;
  }
  auto server = cache::Server::Start(instance->get(), client);
  if (!server.ok()) {
    std::fprintf(stderr, "roster-cache: %s\n",
                 server.status().ToString().c_str());
    return 1;
  }
  std::printf("ready %s roster=%s client=%s\n", options.name.c_str(),
              (*instance)->addr().c_str(), (*server)->addr().c_str());
  std::fflush(stdout);

  int signal = 0;
  sigwait(&signals, &signal);
  server->reset();
  if (absl::Status s = (*instance)->Leave(); !s.ok())
    std::fprintf(stderr, "roster-cache: leave: %s\n", s.ToString().c_str());
  return 0;
}
