// The operator's commands against running agents on loopback: three
// agents driven through join, members, event, query, tags, info, rtt,
// monitor, keys, force-leave and leave, with event handlers firing and a
// snapshot rejoin after kill -9; the RPC refusing what it must (a wrong
// token, garbage, a hostile request) and the --config file.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "test/common/wait_until.h"
#include "test/tools/roster_process.h"

namespace {

using nlohmann::json;
using roster::WaitUntil;
using namespace roster::test_tools;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// A directory of its own for each test, removed after it.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(absl::StrCat(std::filesystem::temp_directory_path().string(),
                           "/roster-", name, "-", getpid())) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// `roster COMMAND --rpc RPC ARGS`: its exit status and output.
std::pair<int, std::string> Ctl(const std::string& command,
                                const std::string& rpc,
                                const std::string& args = "") {
  return RunRoster(absl::StrCat(command, " --rpc ", rpc, " ", args));
}

json Parse(const std::string& out) {
  return json::parse(out, nullptr, /*allow_exceptions=*/false);
}

std::string RpcOf(Agent& agent) {
  std::string rpc;
  EXPECT_TRUE(WaitUntil([&] { return !(rpc = agent.Rpc()).empty(); },
                        absl::Seconds(10)))
      << agent.err();
  return rpc;
}

std::string NewKey() {
  auto [status, out] = RunRoster("keygen");
  EXPECT_EQ(status, 0) << out;
  return std::string(absl::StripAsciiWhitespace(out));
}

class ThreeAgentsTest : public ::testing::Test {
 protected:
  ThreeAgentsTest() : dir_("agents") {}

  // Agent i, with handlers that write what they see under dir_, its own
  // keyring file, and a snapshot file; `join` empty joins nothing.
  std::unique_ptr<Agent> Start(int i, const std::string& join) {
    const std::string me = absl::StrCat("a", i);
    const std::string d = dir_.path();
    std::vector<std::string> args = {
        "--name",
        me,
        "--bind",
        "127.0.0.1:0",
        "--profile",
        "local",
        "--meta",
        i == 0 ? "role=seed" : "role=web",
        "--keyring",
        absl::StrCat(d, "/", me, ".keyring"),
        "--snapshot",
        absl::StrCat(d, "/", me, ".snapshot"),
        "--event-handler",
        absl::StrCat("member-join=cat >> ", d, "/", me, ".joins"),
        "--event-handler",
        absl::StrCat("user:deploy=cat > ", d, "/", me, ".deploy.tmp && env > ",
                     d, "/", me, ".deploy.env && mv ", d, "/", me,
                     ".deploy.tmp ", d, "/", me, ".deploy"),
        "--event-handler",
        "query:whoami=echo \"$ROSTER_SELF_NAME $ROSTER_TAG_ROLE\""};
    if (!join.empty()) args.insert(args.end(), {"--join", join});
    return std::make_unique<Agent>(args);
  }

  void SetUp() override {
    key_ = NewKey();
    for (int i = 0; i < 3; ++i) {
      const std::string ring = absl::StrCat(dir_.path(), "/a", i, ".keyring");
      Write(ring, key_ + "\n");
      chmod(ring.c_str(), 0600);
    }
    for (int i = 0; i < 3; ++i) {
      agents_.push_back(Start(i, ""));
      rpc_.push_back(RpcOf(*agents_.back()));
    }
    seed_ = agents_[0]->Addr();
  }

  // Every agent's table lists `n` members alive.
  bool AllSee(int n) {
    for (const std::string& rpc : rpc_) {
      auto [status, out] = Ctl("members", rpc, "--json --status alive");
      if (status != 0 || static_cast<int>(MembersByName(out).size()) != n)
        return false;
    }
    return true;
  }

  TempDir dir_;
  std::string key_;
  std::vector<std::unique_ptr<Agent>> agents_;
  std::vector<std::string> rpc_;
  std::string seed_;
};

TEST_F(ThreeAgentsTest, EveryCommandWorksAndHandlersFire) {
  // join: the two others join the first by command, not by flag.
  for (int i = 1; i < 3; ++i) {
    auto [status, out] = Ctl("join", rpc_[i], seed_);
    ASSERT_EQ(status, 0) << out;
    EXPECT_TRUE(absl::StartsWith(out, "joined")) << out;
  }
  ASSERT_TRUE(WaitUntil([&] { return AllSee(3); }, absl::Seconds(20)));
  // A member-join handler saw the others, one stdin line each.
  EXPECT_TRUE(WaitUntil(
      [&] {
        const std::string joins = Slurp(dir_.path() + "/a0.joins");
        return absl::StrContains(joins, "a1\t") &&
               absl::StrContains(joins, "a2\t");
      },
      absl::Seconds(10)))
      << Slurp(dir_.path() + "/a0.joins");

  // members: filters by state, name and tag, as a table or JSON.
  {
    auto [status, out] =
        Ctl("members", rpc_[0], "--json --name 'a[12]' --tag role=we");
    ASSERT_EQ(status, 0) << out;
    auto members = MembersByName(out);
    EXPECT_EQ(members.size(), 2u) << out;
    EXPECT_EQ(members.count("a0"), 0u) << out;
    auto [table_status, table] = Ctl("members", rpc_[0], "--tag role=seed");
    EXPECT_EQ(table_status, 0);
    EXPECT_TRUE(absl::StartsWith(table, "NAME")) << table;
    EXPECT_EQ(Count(table, "\n"), 2) << table;
  }

  // monitor: a stream of the agent's events, until it is stopped.
  auto monitor_process = std::make_unique<RosterProcess>(
      std::vector<std::string>{"monitor", "--rpc", rpc_[0]});
  ASSERT_TRUE(WaitUntil(
      [&] { return absl::StrContains(monitor_process->out(), "\"monitor\""); },
      absl::Seconds(10)))
      << monitor_process->out();

  // event: every agent's user:deploy handler gets the payload and the
  // event's name in its environment.
  {
    auto [status, out] = Ctl("event", rpc_[1], "deploy v42");
    ASSERT_EQ(status, 0) << out;
    for (int i = 0; i < 3; ++i) {
      const std::string file = absl::StrCat(dir_.path(), "/a", i, ".deploy");
      EXPECT_TRUE(
          WaitUntil([&] { return Slurp(file) == "v42\n"; }, absl::Seconds(10)))
          << "a" << i << ": " << Slurp(file);
      const std::string env = Slurp(file + ".env");
      EXPECT_TRUE(absl::StrContains(env, "ROSTER_EVENT=user")) << env;
      EXPECT_TRUE(absl::StrContains(env, "ROSTER_USER_EVENT=deploy")) << env;
      EXPECT_TRUE(absl::StrContains(env, absl::StrCat("ROSTER_SELF_NAME=a", i)))
          << env;
    }
  }
  // ... and the monitor streamed it.
  EXPECT_TRUE(WaitUntil(
      [&] { return absl::StrContains(monitor_process->out(), "\"deploy\""); },
      absl::Seconds(10)))
      << monitor_process->out();
  monitor_process.reset();

  // query: each member's handler answers from its stdout.
  {
    auto [status, out] = Ctl("query", rpc_[2], "whoami --ack --json");
    ASSERT_EQ(status, 0) << out;
    std::istringstream lines(out);
    std::string line, last;
    int acks = 0;
    while (std::getline(lines, line)) {
      if (absl::StrContains(line, "\"ack\"")) ++acks;
      last = line;
    }
    EXPECT_EQ(acks, 3) << out;
    const json result = Parse(last);
    ASSERT_TRUE(result.is_object()) << out;
    std::set<std::string> answers;
    for (const auto& r : result["responses"])
      answers.insert(r["payload"].get<std::string>());
    EXPECT_EQ(answers,
              (std::set<std::string>{"a0 seed\n", "a1 web\n", "a2 web\n"}))
        << out;
    EXPECT_TRUE(result["missing_responses"].empty()) << out;
  }
  // A query of named members asks only those.
  {
    auto [status, out] =
        Ctl("query", rpc_[0], "whoami --node a1 --timeout 2 --json");
    ASSERT_EQ(status, 0) << out;
    std::string last = out.substr(out.rfind('{', out.rfind("\"expected\"")));
    const json result = Parse(last);
    EXPECT_EQ(result["expected"], json::array({"a1"})) << out;
  }

  // tags: set and delete, seen by the others and by the handlers.
  {
    auto [status, out] = Ctl("tags", rpc_[2], "--set zone=eu --delete role");
    ASSERT_EQ(status, 0) << out;
    EXPECT_EQ(out, "zone=eu\n");
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto members =
              MembersByName(Ctl("members", rpc_[0], "--json").second);
          return members["a2"]["meta"] == json({{"zone", "eu"}});
        },
        absl::Seconds(10)));
  }

  // info: identity, readiness, counters.
  {
    auto [status, out] = Ctl("info", rpc_[0], "--json");
    ASSERT_EQ(status, 0) << out;
    const json info = Parse(out);
    EXPECT_EQ(info["name"], "a0");
    EXPECT_EQ(info["ready"], true);
    EXPECT_EQ(info["members"]["alive"], 3);
    EXPECT_GT(info["counters"]["probes"].get<int>(), 0) << out;
    EXPECT_GE(info["event_handlers"]["runs"].get<int>(), 2) << out;
    EXPECT_NE(info["life"].get<uint64_t>(), 0u);
    auto [ready, ready_out] = Ctl("info", rpc_[0], "--ready");
    EXPECT_EQ(ready, 0) << ready_out;
  }

  // rtt: the coordinates' estimate, once a probe has been answered.
  {
    std::string out;
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto [status, text] = Ctl("rtt", rpc_[0], "a1 --json");
          out = text;
          return status == 0;
        },
        absl::Seconds(20)))
        << out;
    const json rtt = Parse(out);
    EXPECT_GT(rtt["rtt_ms"].get<double>(), 0) << out;
    auto [status, missing] = Ctl("rtt", rpc_[0], "nobody");
    EXPECT_EQ(status, 1) << missing;
  }

  // keys: a rotation at every member through queries, the keyring files
  // following, and nobody failing on the way.
  {
    const std::string fresh = NewKey();
    auto [install, install_out] = Ctl("keys", rpc_[0], "--install " + fresh);
    ASSERT_EQ(install, 0) << install_out;
    auto [use, use_out] = Ctl("keys", rpc_[1], "--use " + fresh);
    ASSERT_EQ(use, 0) << use_out;
    auto [remove, remove_out] = Ctl("keys", rpc_[2], "--remove " + key_);
    ASSERT_EQ(remove, 0) << remove_out;
    auto [list, list_out] = Ctl("keys", rpc_[0], "--list --json");
    ASSERT_EQ(list, 0) << list_out;
    const json listed = Parse(list_out);
    for (int i = 0; i < 3; ++i) {
      const json& answer = listed["members"][absl::StrCat("a", i)];
      EXPECT_EQ(answer["keys"], json::array({fresh})) << list_out;
      EXPECT_EQ(Slurp(absl::StrCat(dir_.path(), "/a", i, ".keyring")),
                fresh + "\n");
    }
    EXPECT_TRUE(AllSee(3));
    // Removing the primary is refused at every member: exit 1.
    auto [bad, bad_out] = Ctl("keys", rpc_[0], "--remove " + fresh);
    EXPECT_EQ(bad, 1) << bad_out;
  }

  // kill -9 and a restart with no --join: back through the snapshot file,
  // as a restart.
  {
    kill(agents_[1]->pid(), SIGKILL);
    agents_[1]->Poll();
    ASSERT_TRUE(
        WaitUntil([&] { return agents_[1]->Poll() >= 0; }, absl::Seconds(5)));
    agents_[1] = Start(1, "");
    rpc_[1] = RpcOf(*agents_[1]);
    EXPECT_TRUE(WaitUntil(
        [&] {
          return absl::StrContains(
              agents_[0]->out(), "{\"event\":\"restarted\",\"member\":\"a1\"");
        },
        absl::Seconds(10)))
        << agents_[0]->out();
    EXPECT_TRUE(WaitUntil([&] { return AllSee(3); }, absl::Seconds(10)));
  }

  // force-leave: a member killed is failed, then left, then pruned.
  {
    auto [alive, alive_out] = Ctl("force-leave", rpc_[0], "a2");
    EXPECT_EQ(alive, 1) << alive_out;  // refused: it is alive
    kill(agents_[2]->pid(), SIGKILL);
    ASSERT_TRUE(WaitUntil(
        [&] {
          auto members =
              MembersByName(Ctl("members", rpc_[0], "--json").second);
          return members["a2"].value("state", "") == "dead";
        },
        absl::Seconds(20)));
    auto [status, out] = Ctl("force-leave", rpc_[0], "--prune a2");
    ASSERT_EQ(status, 0) << out;
    EXPECT_TRUE(WaitUntil(
        [&] {
          return MembersByName(Ctl("members", rpc_[1], "--json").second)
                     .count("a2") == 0;
        },
        absl::Seconds(10)));
  }

  // leave: the agent leaves, answers, and exits 0; the other sees it left.
  {
    auto [status, out] = Ctl("leave", rpc_[1]);
    ASSERT_EQ(status, 0) << out;
    ASSERT_TRUE(
        WaitUntil([&] { return agents_[1]->Poll() >= 0; }, absl::Seconds(15)));
    EXPECT_EQ(agents_[1]->Poll(), 0) << agents_[1]->err();
    EXPECT_TRUE(WaitUntil(
        [&] {
          auto members =
              MembersByName(Ctl("members", rpc_[0], "--json").second);
          return members["a1"].value("state", "") == "left";
        },
        absl::Seconds(10)));
  }
}

// Bad input to every command: one line, exit 2; an agent that is not
// there: exit 1.
TEST(AgentCliTest, BadFlagsAndValuesAreOneLineAndExitTwo) {
  for (const char* args : {
           "join",
           "join --rpc nowhere 127.0.0.1:1",
           "force-leave",
           "event",
           "event --bogus x",
           "query",
           "query x --timeout 0",
           "query x --timeout abc",
           "query x --relay-factor 9",
           "tags --set novalue",
           "rtt",
           "keys",
           "keys --list --install x",
           "members --status sleeping",
           "members --name '('",
           "members --tag novalue",
           "monitor --level chatty",
           "info --frob",
           "leave extra",
           "agent --name x --bind 127.0.0.1:0 --rpc 0.0.0.0:0",
           "agent --name x --bind 127.0.0.1:0 --rpc nonsense",
           "agent --name x --bind 127.0.0.1:0 --event-handler bogus=x",
           "agent --name x --bind 127.0.0.1:0 --log-level loud",
           "agent --name x --bind 127.0.0.1:0 --rpc-token-file /nonexistent",
       }) {
    auto [status, out] = RunRoster(args);
    EXPECT_EQ(status, 2) << args << ": " << out;
    EXPECT_EQ(Count(out, "\n"), 1) << args << ": " << out;
    EXPECT_TRUE(absl::StartsWith(out, "roster")) << args << ": " << out;
  }
  for (const char* command :
       {"join 127.0.0.1:2", "leave", "force-leave x", "event e", "query q",
        "tags", "monitor", "info", "info --ready", "rtt a", "keys --list",
        "members"}) {
    auto [status, out] = RunRoster(absl::StrCat(command, " --rpc 127.0.0.1:1"));
    EXPECT_EQ(status, 1) << command << ": " << out;
    EXPECT_TRUE(absl::StrContains(out, "no agent at 127.0.0.1:1")) << out;
  }
  for (const char* command : {"agent", "members", "join", "query", "keys"}) {
    auto [status, out] = RunRoster(absl::StrCat(command, " --help"));
    EXPECT_EQ(status, 0) << command << ": " << out;
    EXPECT_TRUE(absl::StrContains(out, "Usage")) << out;
  }
}

// The RPC takes only what doc/rpc.md says, from whoever holds the token.
TEST(AgentCliTest, TheRpcRefusesAWrongTokenAndHostileRequests) {
  TempDir dir("rpc");
  const std::string token_file = dir.path() + "/token";
  Write(token_file, "0123456789abcdef0123\n");
  const std::string wrong_file = dir.path() + "/wrong";
  Write(wrong_file, "not-the-token-at-all\n");
  Agent agent({"--name", "t", "--bind", "127.0.0.1:0", "--profile", "local",
               "--rpc-token-file", token_file});
  const std::string rpc = RpcOf(agent);
  {
    auto [status, out] = Ctl("info", rpc);
    EXPECT_EQ(status, 1) << out;
    EXPECT_TRUE(absl::StrContains(out, "token")) << out;
    auto [wrong, wrong_out] = Ctl("info", rpc, "--token-file " + wrong_file);
    EXPECT_EQ(wrong, 1) << wrong_out;
    auto [right, right_out] = Ctl("info", rpc, "--token-file " + token_file);
    EXPECT_EQ(right, 0) << right_out;
    setenv("ROSTER_RPC_TOKEN", "0123456789abcdef0123", 1);
    auto [env, env_out] = Ctl("info", rpc);
    unsetenv("ROSTER_RPC_TOKEN");
    EXPECT_EQ(env, 0) << env_out;
  }
  // Raw lines: garbage, a request of the wrong shape, a field of the wrong
  // type, a line too long. Each gets an error line or a closed connection,
  // and the agent answers the next call.
  const int port = std::stoi(rpc.substr(rpc.rfind(':') + 1));
  auto raw = [&](const std::string& bytes) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string reply;
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
      size_t sent = 0;
      while (sent < bytes.size()) {
        ssize_t n =
            send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      shutdown(fd, SHUT_WR);
      char buf[4096];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) reply.append(buf, n);
    }
    close(fd);
    return reply;
  };
  const std::string token = "\"token\":\"0123456789abcdef0123\"";
  EXPECT_TRUE(absl::StrContains(raw("garbage\n"), "INVALID_ARGUMENT"));
  EXPECT_TRUE(absl::StrContains(raw("[1,2,3]\n"), "INVALID_ARGUMENT"));
  EXPECT_TRUE(absl::StrContains(
      raw(absl::StrCat("{\"command\":\"nope\",", token, "}\n")),
      "no command 'nope'"));
  EXPECT_TRUE(
      absl::StrContains(raw(absl::StrCat("{\"command\":\"event\",", token,
                                         ",\"args\":{\"name\":5}}\n")),
                        "INVALID_ARGUMENT"));
  EXPECT_TRUE(
      absl::StrContains(raw(absl::StrCat("{\"command\":\"event\",", token,
                                         ",\"args\":{\"name\":\"",
                                         std::string(4096, 'x'), "\"}}\n")),
                        "INVALID_ARGUMENT"));
  (void)raw(std::string(1 << 20, 'x'));  // no newline: refused, closed
  auto [after, after_out] =
      Ctl("info", rpc, "--json --token-file " + token_file);
  EXPECT_EQ(after, 0) << after_out;
  const json info = Parse(after_out);
  EXPECT_EQ(info["name"], "t");
  // Each refusal was counted: 2 without the token, 4 raw lines that are
  // no request (the 2 bad arguments are calls that failed).
  EXPECT_EQ(info["rpc"]["refused"].get<int>(), 6) << after_out;
  EXPECT_EQ(info["rpc"]["unauthorized"].get<int>(), 2) << after_out;
}

// --config: every flag from TOML, the command line on top, and bad files
// refused in one line naming the place.
TEST(AgentCliTest, AConfigFileSetsTheFlagsAndBadOnesAreRefused) {
  TempDir dir("config");
  const std::string good = dir.path() + "/good.toml";
  Write(good,
        "name = \"from-file\"\nbind = \"127.0.0.1:0\"\nprofile = \"local\"\n"
        "meta = [\"role=cache\", \"zone=eu\"]\nrejoin_after_leave = true\n");
  {
    Agent agent({"--config", good});
    const std::string rpc = RpcOf(agent);
    auto [status, out] = Ctl("info", rpc, "--json");
    ASSERT_EQ(status, 0) << out << agent.err();
    const json info = Parse(out);
    EXPECT_EQ(info["name"], "from-file");
    EXPECT_EQ(info["meta"], json({{"role", "cache"}, {"zone", "eu"}}));
    EXPECT_EQ(info["config"]["profile"], "local");
  }
  {
    Agent agent({"--config", good, "--name", "from-flag"});
    const std::string rpc = RpcOf(agent);
    auto [status, out] = Ctl("info", rpc, "--json");
    ASSERT_EQ(status, 0) << out;
    EXPECT_EQ(Parse(out)["name"], "from-flag");
  }
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"name = \n", "line 1"},
      {"name = \"x\"\nbind = \"127.0.0.1:0\"\nbogus = 1\n", "'bogus'"},
      {"name = [\"x\", \"y\"]\nbind = \"127.0.0.1:0\"\n", "one value"},
      {"name = \"x\"\nbind = \"127.0.0.1:0\"\n[table]\nk = 1\n", "'table'"},
      {"name = \"x\"\nbind = \"127.0.0.1:0\"\nrejoin-after-leave = \"yes\"\n",
       "true or false"},
      {"name = \"x\"\nbind = \"127.0.0.1:0\"\nprofile = \"fast\"\n", "fast"},
  };
  for (const auto& [text, expected] : bad) {
    const std::string file = dir.path() + "/bad.toml";
    Write(file, text);
    auto [status, out] = RunRoster("agent --rpc 127.0.0.1:0 --config " + file);
    EXPECT_EQ(status, 2) << text << ": " << out;
    EXPECT_EQ(Count(out, "\n"), 1) << text << ": " << out;
    EXPECT_TRUE(absl::StrContains(out, expected)) << text << ": " << out;
  }
  auto [missing, missing_out] =
      RunRoster("agent --config " + dir.path() + "/none.toml");
  EXPECT_EQ(missing, 2) << missing_out;
}

}  // namespace
