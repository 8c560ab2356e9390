// The `roster` command line as scripts use it: agent processes on
// loopback, `roster members --json`, graceful leave on SIGTERM, and one-line
// errors with exit status 2 for bad input.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "test/common/wait_until.h"
#include "test/tools/roster_process.h"

using roster::WaitUntil;
using namespace roster::test_tools;

namespace {

// The LAN profile (the default).
TEST(CliTest, FiveAgentsFormAClusterAndOneLeavesOnSigterm) {
  std::vector<std::unique_ptr<Agent>> agents;
  agents.push_back(std::make_unique<Agent>(std::vector<std::string>{
      "--name", "a0", "--bind", "127.0.0.1:0", "--meta", "role=seed"}));
  std::string seed;
  ASSERT_TRUE(WaitUntil([&] { return !(seed = agents[0]->Addr()).empty(); },
                        absl::Seconds(10)))
      << agents[0]->err();
  for (int i = 1; i < 5; ++i) {
    agents.push_back(std::make_unique<Agent>(
        std::vector<std::string>{"--name", absl::StrCat("a", i), "--bind",
                                 "127.0.0.1:0", "--join", seed}));
  }
  for (auto& a : agents) {
    ASSERT_TRUE(
        WaitUntil([&] { return !a->Addr().empty(); }, absl::Seconds(10)))
        << a->err();
  }

  std::string json;
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto [status, out] =
            RunRoster(absl::StrCat("members ", seed, " --json"));
        json = out;
        return status == 0 && CountState(out, "alive") == 5;
      },
      absl::Seconds(20)))
      << json;
  auto members = MembersByName(json);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(members.count(absl::StrCat("a", i)), 1u) << json;
  EXPECT_EQ(members["a0"]["meta"], nlohmann::json({{"role", "seed"}})) << json;
  // The seed's smoothed RTT to each member, once it has probed them all;
  // none to itself.
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto [status, out] =
            RunRoster(absl::StrCat("members ", seed, " --json"));
        json = out;
        int measured = 0, none = 0;
        for (const auto& [name, m] : MembersByName(out)) {
          measured += m["rtt_ms"].is_number();
          none += m["rtt_ms"].is_null();
        }
        return status == 0 && measured == 4 && none == 1;
      },
      absl::Seconds(20)))
      << json;
  // Any member answers, and each one's table comes to list everyone.
  for (auto& a : agents) {
    std::string table;
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto [status, out] = RunRoster(absl::StrCat("members ", a->Addr()));
          table = out;
          return status == 0 && Count(out, " alive ") == 5;
        },
        absl::Seconds(40)))
        << table;
    EXPECT_TRUE(absl::StrContains(table, " RTT ")) << table;
  }

  // SIGTERM: a graceful leave, exit 0, and "left" at the others.
  agents[4]->Signal(SIGTERM);
  ASSERT_TRUE(
      WaitUntil([&] { return agents[4]->Poll() >= 0; }, absl::Seconds(15)));
  EXPECT_EQ(agents[4]->Poll(), 0) << agents[4]->err();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(WaitUntil(
        [&] {
          auto [st, out] =
              RunRoster(absl::StrCat("members ", agents[i]->Addr(), " --json"));
          json = out;
          auto a4 = MembersByName(out)["a4"];
          return st == 0 && a4.value("addr", "") == agents[4]->Addr() &&
                 a4.value("state", "") == "left";
        },
        absl::Seconds(10)))
        << "a" << i << ": " << json << "\nits events:\n"
        << agents[i]->out() << "a4 said:\n"
        << agents[4]->err();
  }
  // The agents printed it as an event line.
  ASSERT_TRUE(WaitUntil(
      [&] {
        return absl::StrContains(agents[0]->out(),
                                 "{\"event\":\"left\",\"member\":\"a4\"");
      },
      absl::Seconds(5)))
      << agents[0]->out();
  EXPECT_TRUE(absl::StrContains(agents[0]->out(),
                                "{\"event\":\"joined\",\"member\":\"a1\","))
      << agents[0]->out();

  for (int i = 0; i < 4; ++i) agents[i]->Signal(SIGINT);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(
        WaitUntil([&] { return agents[i]->Poll() >= 0; }, absl::Seconds(15)));
    EXPECT_EQ(agents[i]->Poll(), 0) << agents[i]->err();
  }
}

TEST(CliTest, BadInputIsOneLineAndExitStatusTwo) {
  for (const char* args :
       {"agent --name x --bind nowhere", "agent --bind 127.0.0.1:0",
        "agent --name x --bind 127.0.0.1:0 --join foo",
        "agent --name x --bind 127.0.0.1:0 --profile fast",
        "agent --name x --bind 127.0.0.1:0 --meta novalue",
        "agent --name x --bind 127.0.0.1:0 --dns-server nope",
        "agent --name x --bind 127.0.0.1:0 --frobnicate", "members nonsense",
        "demo --nodes 0", "frob"}) {
    auto [status, out] = RunRoster(args);
    EXPECT_EQ(status, 2) << args << ": " << out;
    EXPECT_EQ(Count(out, "\n"), 1) << args << ": " << out;
    EXPECT_TRUE(absl::StartsWith(out, "roster")) << args << ": " << out;
  }
  // A member that is not there: a clear error, a non-zero exit.
  auto [status, out] = RunRoster("members 127.0.0.1:1");
  EXPECT_EQ(status, 1) << out;
  EXPECT_TRUE(absl::StrContains(out, "127.0.0.1:1: connection refused")) << out;
}

TEST(CliTest, AnAgentOnATakenPortSaysSo) {
  Agent first({"--name", "p0", "--bind", "127.0.0.1:0", "--profile", "local"});
  std::string addr;
  ASSERT_TRUE(WaitUntil([&] { return !(addr = first.Addr()).empty(); },
                        absl::Seconds(10)));
  auto [status, out] =
      RunRoster(absl::StrCat("agent --name p1 --profile local --bind ", addr));
  EXPECT_EQ(status, 1) << out;
  EXPECT_TRUE(absl::StrContains(out, "already in use")) << out;
  first.Signal(SIGTERM);
  ASSERT_TRUE(WaitUntil([&] { return first.Poll() >= 0; }, absl::Seconds(10)));
  EXPECT_EQ(first.Poll(), 0);
}

TEST(CliTest, DemoRunsAndReportsTheDetection) {
  auto [status, out] = RunRoster("demo --nodes 4");
  EXPECT_EQ(status, 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "every member declared n3 failed")) << out;
  EXPECT_EQ(Count(out, "declared n3 failed after"), 3) << out;
}

// Writes a keyring file readable by its owner only.
void WriteKeyring(const std::string& path,
                  const std::vector<std::string>& keys) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0) << path;
  const std::string text = absl::StrCat(absl::StrJoin(keys, "\n"), "\n");
  ASSERT_EQ(write(fd, text.data(), text.size()),
            static_cast<ssize_t>(text.size()));
  close(fd);
}

TEST(CliTest, KeyedAgentsRefuseOutsidersAndRotateKeysOnSighup) {
  char dir[] = "/tmp/roster-cli-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string ring = absl::StrCat(dir, "/ring");
  const std::string old_only = absl::StrCat(dir, "/old");
  const std::string new_only = absl::StrCat(dir, "/new");
  auto [made, made_out] = RunRoster(absl::StrCat("keygen --out ", ring));
  ASSERT_EQ(made, 0) << made_out;
  EXPECT_NE(RunRoster(absl::StrCat("keygen --out ", ring)).first, 0)
      << "a keyring is never overwritten";
  auto [printed, new_key] = RunRoster("keygen");
  ASSERT_EQ(printed, 0);
  new_key = std::string(absl::StripTrailingAsciiWhitespace(new_key));
  FILE* f = fopen(ring.c_str(), "r");
  ASSERT_NE(f, nullptr);
  char line[128] = {};
  ASSERT_NE(fgets(line, sizeof(line), f), nullptr);
  fclose(f);
  const std::string old_key(absl::StripTrailingAsciiWhitespace(line));
  WriteKeyring(old_only, {old_key});
  WriteKeyring(new_only, {new_key});

  std::vector<std::unique_ptr<Agent>> agents;
  std::string seed;
  for (int i = 0; i < 3; ++i) {
    std::vector<std::string> args = {"--name",    absl::StrCat("k", i),
                                     "--bind",    "127.0.0.1:0",
                                     "--keyring", ring};
    if (i > 0) args.insert(args.end(), {"--join", seed});
    agents.push_back(std::make_unique<Agent>(args));
    ASSERT_TRUE(WaitUntil([&] { return !agents[i]->Addr().empty(); },
                          absl::Seconds(10)))
        << agents[i]->err();
    if (i == 0) seed = agents[0]->Addr();
  }
  auto alive_with = [&](const std::string& keyring) {
    auto [status, out] = RunRoster(
        absl::StrCat("members ", seed, " --json --keyring ", keyring));
    return status == 0 && CountState(out, "alive") == 3;
  };
  ASSERT_TRUE(WaitUntil([&] { return alive_with(ring); }, absl::Seconds(20)));
  auto [plain, plain_out] = RunRoster(absl::StrCat("members ", seed));
  EXPECT_EQ(plain, 1) << plain_out;
  EXPECT_TRUE(absl::StrContains(plain_out, "--keyring")) << plain_out;

  // An agent without the key is refused at the door.
  Agent outsider({"--name", "x", "--bind", "127.0.0.1:0", "--keyring", new_only,
                  "--join", seed});
  EXPECT_TRUE(WaitUntil(
      [&] { return absl::StrContains(outsider.err(), "could not be read"); },
      absl::Seconds(10)))
      << outsider.err();

  // Rotation: install, make primary, remove; a SIGHUP to every agent each.
  int reloads = 0;
  for (const auto& keys : std::vector<std::vector<std::string>>{
           {old_key, new_key}, {new_key, old_key}, {new_key}}) {
    WriteKeyring(ring, keys);
    ++reloads;
    for (auto& a : agents) {
      a->Signal(SIGHUP);
      ASSERT_TRUE(WaitUntil(
          [&] { return Count(a->err(), "keyring reloaded") == reloads; },
          absl::Seconds(10)))
          << a->err();
    }
  }
  EXPECT_TRUE(
      WaitUntil([&] { return alive_with(new_only); }, absl::Seconds(10)));
  EXPECT_FALSE(alive_with(old_only));
  for (auto& a : agents) {
    EXPECT_FALSE(absl::StrContains(a->out(), "\"event\":\"failed\""))
        << a->out();
  }
  // A keyring file others may read is refused, with exit status 2.
  chmod(ring.c_str(), 0644);
  auto [open_status, open_out] =
      RunRoster(absl::StrCat("members ", seed, " --keyring ", ring));
  EXPECT_EQ(open_status, 2);
  EXPECT_TRUE(absl::StrContains(open_out, "chmod 600")) << open_out;
  for (const std::string& path : {ring, old_only, new_only})
    std::remove(path.c_str());
  rmdir(dir);
}

// `roster agent --snapshot FILE` killed with SIGKILL mid-run and started
// again with the same file and no --join: its peers see it back, as a
// restart, within 3 s.
TEST(CliTest, AnAgentKilledWithSigkillRejoinsThroughItsSnapshotFile) {
  const std::string dir =
      absl::StrCat(std::filesystem::temp_directory_path().string(),
                   "/roster-cli-snap-", getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/s1.snapshot";
  Agent s0({"--name", "s0", "--bind", "127.0.0.1:0", "--profile", "local"});
  std::string seed;
  ASSERT_TRUE(
      WaitUntil([&] { return !(seed = s0.Addr()).empty(); }, absl::Seconds(10)))
      << s0.err();
  auto first = std::make_unique<Agent>(std::vector<std::string>{
      "--name", "s1", "--bind", "127.0.0.1:0", "--profile", "local",
      "--snapshot", file, "--join", seed});
  // Written once it knows s0.
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::ifstream in(file);
        std::string bytes((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
        return absl::StrContains(bytes, seed);
      },
      absl::Seconds(10)))
      << first->err();
  first->Signal(SIGKILL);
  ASSERT_TRUE(WaitUntil([&] { return first->Poll() >= 0; }, absl::Seconds(5)));
  const absl::Time start = absl::Now();
  Agent again({"--name", "s1", "--bind", "127.0.0.1:0", "--profile", "local",
               "--snapshot", file});
  ASSERT_TRUE(WaitUntil(
      [&] {
        return absl::StrContains(s0.out(),
                                 "{\"event\":\"restarted\",\"member\":\"s1\"");
      },
      absl::Seconds(10)))
      << s0.out() << again.err();
  const absl::Duration took = absl::Now() - start;
  std::printf(
      "roster agent --snapshot, SIGKILLed and started again: its "
      "peer saw the restart %.0f ms after the start\n",
      absl::ToDoubleMilliseconds(took));
  EXPECT_LT(took, absl::Seconds(3));
  EXPECT_TRUE(absl::StrContains(again.err(), "restored from snapshot file"))
      << again.err();
  std::filesystem::remove_all(dir);
}

}  // namespace
