// The agent's event handlers (tools/agent/event_handlers.h), running real
// sh programs from a temporary directory: what they are told, which events
// select them, queries answered from stdout, and every bound (time, output,
// queue) holding with the agent's threads never held up; then two Nodes on
// loopback whose user event, query and joins reach the handlers.
#include "tools/agent/event_handlers.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "roster/events.h"
#include "roster/member.h"
#include "roster/node.h"
#include "roster/tags.h"
#include "test/common/wait_until.h"
#include "test/net/net_cluster.h"

namespace roster::tools {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr absl::Duration kWait = absl::Seconds(20);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in(ReadFile(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Whether process `pid` has ended: gone, or a zombie waiting for a parent
// (in a container, the init that inherits it may never reap).
bool Ended(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const size_t paren = line.rfind(')');
  return paren == std::string::npos || line.size() < paren + 3 ||
         line[paren + 2] == 'Z';
}

// The processes whose parent is this test, zombies included: none once the
// handlers are idle, if every child was reaped.
std::vector<pid_t> Children() {
  std::vector<pid_t> children;
  const pid_t self = getpid();
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return children;
  while (dirent* e = readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(atoi(e->d_name));
    if (pid <= 0) continue;
    std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
    std::string line;
    if (!std::getline(stat, line)) continue;
    const size_t paren = line.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(line.substr(paren + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == self) children.push_back(pid);
  }
  closedir(proc);
  return children;
}

// Log lines, safe to read from the test thread.
struct LogLines {
  std::mutex mu;
  std::vector<std::pair<LogLevel, std::string>> lines;

  std::function<void(LogLevel, std::string_view)> Sink() {
    return [this](LogLevel level, std::string_view line) {
      std::lock_guard<std::mutex> lock(mu);
      lines.emplace_back(level, std::string(line));
    };
  }
  // Lines at `level` holding `text`.
  size_t Count(LogLevel level, const std::string& text) {
    std::lock_guard<std::mutex> lock(mu);
    size_t n = 0;
    for (const auto& [l, line] : lines) {
      n += l == level && line.find(text) != std::string::npos;
    }
    return n;
  }
  bool AnyNewline() {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& [l, line] : lines) {
      if (line.find('\n') != std::string::npos) return true;
    }
    return false;
  }
};

class EventHandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The tests compare the ROSTER_ variables a run sees with those set
    // for it; ones this process inherited (scripts/test exports
    // ROSTER_DEPS_INSTALLED) would reach every run too.
    std::vector<std::string> inherited;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view entry(*e);
      if (entry.starts_with("ROSTER_"))
        inherited.emplace_back(entry.substr(0, entry.find('=')));
    }
    for (const std::string& name : inherited) unsetenv(name.c_str());
    char tmpl[] = "/tmp/event_handlers_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // Appends "EVENT USER-EVENT-NAME FIRST-FIELDS" to the file named by $1:
    // what it ran for, and the first field of each stdin line.
    Script("record.sh",
           "names=$(cut -f1 | tr '\\n' ' ')\n"
           "echo \"$ROSTER_EVENT ${ROSTER_USER_EVENT:-}: $names\" >> \"$1\"\n");
    // A gate the tests open: each run waits for one line written to it.
    ASSERT_EQ(mkfifo(Path("gate").c_str(), 0600), 0);
    // Read and write, so that opening never blocks and readers never see
    // the end of it.
    gate_ = open(Path("gate").c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(gate_, 0);
  }

  void TearDown() override {
    if (handlers_) {
      handlers_->Shutdown();
      // Every run ends one way, and is counted so.
      const EventHandlerCounters c = handlers_->counters();
      EXPECT_EQ(c.runs, c.succeeded + c.failed + c.timed_out + c.cancelled +
                            c.spawn_failed);
    }
    handlers_.reset();
    EXPECT_THAT(Children(), IsEmpty());
    if (gate_ >= 0) close(gate_);
    std::filesystem::remove_all(dir_);
  }

  std::string Path(const std::string& name) const {
    return absl::StrCat(dir_, "/", name);
  }

  // Writes an sh script into the temporary directory; returns the command
  // that runs it.
  std::string Script(const std::string& name, const std::string& body) {
    std::ofstream(Path(name)) << "#!/bin/sh\n" << body;
    return absl::StrCat("sh ", Path(name));
  }

  // Lets `n` runs waiting at the gate through.
  void Open(int n) {
    const std::string lines = [n] {
      std::string s;
      for (int i = 0; i < n; ++i) s += "go\n";
      return s;
    }();
    ASSERT_EQ(write(gate_, lines.data(), lines.size()),
              static_cast<ssize_t>(lines.size()));
  }

  EventHandlers::Options Options(const std::vector<std::string>& specs) {
    EventHandlers::Options options;
    for (const std::string& s : specs) {
      absl::StatusOr<HandlerSpec> spec = ParseHandlerSpec(s);
      EXPECT_TRUE(spec.ok()) << spec.status();
      if (spec.ok()) options.handlers.push_back(*spec);
    }
    options.self.name = "agent-1";
    options.self.addr = "127.0.0.1:7946";
    options.self.life = 42;
    options.self.meta = *EncodeTags({{"role", "web"}, {"dc-name", "eu 1"}});
    options.on_log = log_.Sink();
    return options;
  }

  void Start(EventHandlers::Options options) {
    auto handlers = EventHandlers::Create(std::move(options));
    ASSERT_TRUE(handlers.ok()) << handlers.status();
    handlers_ = *std::move(handlers);
  }

  static Event MemberEvent(EventType type, const std::string& name,
                           std::string meta = "") {
    Event e;
    e.type = type;
    e.member.name = name;
    e.member.addr = "10.0.0.2:7946";
    e.member.state = MemberState::kAlive;
    e.member.meta = std::move(meta);
    return e;
  }

  static UserEvent User(const std::string& name, std::string payload = "") {
    UserEvent e;
    e.name = name;
    e.payload = std::move(payload);
    e.origin = "n3";
    e.ltime = 17;
    return e;
  }

  static QueryRequest Query(const std::string& name, std::string payload,
                            absl::Duration within = absl::Seconds(20)) {
    QueryRequest q;
    q.name = name;
    q.payload = std::move(payload);
    q.origin = "n3";
    q.ltime = 5;
    q.deadline = absl::Now() + within;
    return q;
  }

  std::string dir_;
  int gate_ = -1;
  LogLines log_;
  std::unique_ptr<EventHandlers> handlers_;
};

// ------------------------------------------------------------------ specs

TEST(ParseHandlerSpecTest, FiltersAndPrograms) {
  auto all = ParseHandlerSpec("./handler.sh arg");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(all->filters, ElementsAre(EventFilter{}));
  EXPECT_EQ(all->program, "./handler.sh arg");
  EXPECT_EQ(all->text, "./handler.sh arg");

  auto some = ParseHandlerSpec(
      "member-join,member-leave,member-failed,member-update,member-restart,"
      "user,user:deploy,query,query:load,*=h.sh");
  ASSERT_TRUE(some.ok()) << some.status();
  using K = EventFilter::Kind;
  EXPECT_THAT(
      some->filters,
      ElementsAre(
          EventFilter{K::kMemberJoin, ""}, EventFilter{K::kMemberLeave, ""},
          EventFilter{K::kMemberFailed, ""}, EventFilter{K::kMemberUpdate, ""},
          EventFilter{K::kMemberRestart, ""}, EventFilter{K::kUser, ""},
          EventFilter{K::kUser, "deploy"}, EventFilter{K::kQuery, ""},
          EventFilter{K::kQuery, "load"}, EventFilter{K::kAll, ""}));
  EXPECT_EQ(some->program, "h.sh");

  // The first '=' ends the filters; the program may hold more.
  auto eq = ParseHandlerSpec("*=FOO=1 ./h.sh");
  ASSERT_TRUE(eq.ok()) << eq.status();
  EXPECT_EQ(eq->program, "FOO=1 ./h.sh");
  // A name may hold ':' itself.
  auto colon = ParseHandlerSpec("user:a:b=h.sh");
  ASSERT_TRUE(colon.ok()) << colon.status();
  EXPECT_THAT(colon->filters, ElementsAre(EventFilter{K::kUser, "a:b"}));
}

TEST(ParseHandlerSpecTest, BadSpecsAreOneLineErrorsNamingThePart) {
  const std::pair<std::string, std::string> cases[] = {
      {"member-joined=h.sh", "\"member-joined\""},
      {"FOO=1 ./h.sh", "*=PROGRAM"},
      {"user:=h.sh", "\"user:\""},
      {"query:=h.sh", "\"query:\""},
      {"member-join:x=h.sh", "\"member-join:x\""},
      {"member-join,,user=h.sh", "empty filter"},
      {"=h.sh", "empty filter"},
      {"member-join=", "no program"},
      {"user=   ", "no program"},
      {"", "no program"},
  };
  for (const auto& [spec, part] : cases) {
    absl::StatusOr<HandlerSpec> parsed = ParseHandlerSpec(spec);
    ASSERT_FALSE(parsed.ok()) << spec;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message(parsed.status().message());
    EXPECT_THAT(message, HasSubstr(part)) << spec;
    EXPECT_THAT(message, HasSubstr(absl::StrCat("\"", spec, "\""))) << spec;
    EXPECT_THAT(message, Not(HasSubstr("\n"))) << spec;
  }
}

TEST(ParseHandlerSpecTest, EventNamesAndMemberLines) {
  EXPECT_EQ(HandlerEventName(EventType::kJoined), "member-join");
  EXPECT_EQ(HandlerEventName(EventType::kLeft), "member-leave");
  EXPECT_EQ(HandlerEventName(EventType::kFailed), "member-failed");
  EXPECT_EQ(HandlerEventName(EventType::kUpdated), "member-update");
  EXPECT_EQ(HandlerEventName(EventType::kRestarted), "member-restart");
  EXPECT_EQ(HandlerEventName(EventType::kSuspected), std::nullopt);
  EXPECT_EQ(HandlerEventName(EventType::kRecovered), std::nullopt);
  EXPECT_EQ(HandlerEventName(EventType::kSelfSuspected), std::nullopt);
  EXPECT_EQ(HandlerEventName(EventType::kSelfFailed), std::nullopt);

  MemberInfo m;
  m.name = "n2";
  m.addr = "10.0.0.2:7946";
  m.state = MemberState::kLeft;
  m.meta = *EncodeTags({{"role", "db"}, {"note", "a\tb\\c"}});
  EXPECT_EQ(MemberLine(m),
            "n2\t10.0.0.2:7946\tleft\tnote=a\\tb\\\\c,role=db\n");
  m.meta = "not tags";
  m.name = "odd\nname";
  EXPECT_EQ(MemberLine(m), "odd\\nname\t10.0.0.2:7946\tleft\t\n");
}

TEST(EventHandlersCreateTest, BadOptionsAreRefused) {
  EventHandlers::Options options;
  options.timeout = absl::ZeroDuration();
  EXPECT_EQ(EventHandlers::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.timeout = absl::Seconds(1);
  options.max_queued_events = 0;
  EXPECT_EQ(EventHandlers::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.max_queued_events = 1;
  options.handlers.push_back(HandlerSpec{{EventFilter{}}, " ", " "});
  EXPECT_EQ(EventHandlers::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ------------------------------------------------------------ what it sees

TEST_F(EventHandlersTest, MembershipEventEnvironmentAndStdin) {
  // Inherited: kept, except the names a run sets itself.
  setenv("ROSTER_QUERY_NAME", "stale", 1);
  setenv("ROSTER_TEST_KEPT", "1", 1);
  const std::string dump =
      Script("dump.sh",
             "env | grep '^ROSTER_' | sort > \"$1.env\"\ncat > \"$1.stdin\"\n");
  Start(Options({absl::StrCat("member-join=", dump, " ", Path("out"))}));
  unsetenv("ROSTER_QUERY_NAME");
  unsetenv("ROSTER_TEST_KEPT");

  handlers_->OnEvent(MemberEvent(
      EventType::kJoined, "n2", *EncodeTags({{"role", "db"}, {"rack", "r2"}})));
  ASSERT_TRUE(handlers_->WaitIdle(kWait));
  EXPECT_THAT(
      Lines(Path("out.env")),
      ElementsAre("ROSTER_EVENT=member-join", "ROSTER_SELF_ADDR=127.0.0.1:7946",
                  "ROSTER_SELF_LIFE=42", "ROSTER_SELF_NAME=agent-1",
                  "ROSTER_TAG_DC_NAME=eu 1", "ROSTER_TAG_ROLE=web",
                  "ROSTER_TEST_KEPT=1"));
  EXPECT_EQ(ReadFile(Path("out.stdin")),
            "n2\t10.0.0.2:7946\talive\track=r2,role=db\n");

  // SetSelf reaches the next run.
  MemberInfo self;
  self.name = "agent-1";
  self.addr = "10.1.1.1:8000";
  self.life = 7;
  handlers_->SetSelf(self);
  handlers_->OnEvent(MemberEvent(EventType::kJoined, "n4"));
  ASSERT_TRUE(handlers_->WaitIdle(kWait));
  EXPECT_THAT(
      Lines(Path("out.env")),
      ElementsAre("ROSTER_EVENT=member-join", "ROSTER_SELF_ADDR=10.1.1.1:8000",
                  "ROSTER_SELF_LIFE=7", "ROSTER_SELF_NAME=agent-1",
                  "ROSTER_TEST_KEPT=1"));  // as it was at Create
  EXPECT_EQ(handlers_->counters().succeeded, 2u);
}

TEST_F(EventHandlersTest, UserEventEnvironmentAndPayload) {
  const std::string dump = Script(
      "dump.sh",
      "env | grep '^ROSTER_' | grep -v '^ROSTER_SELF\\|^ROSTER_TAG' | sort "
      "> \"$1.env\"\ncat > \"$1.stdin\"\n");
  Start(Options({absl::StrCat("user:deploy=", dump, " ", Path("out"))}));

  handlers_->OnUserEvent(User("other", "x"));  // not selected
  handlers_->OnUserEvent(User("deploy", "v7"));
  ASSERT_TRUE(handlers_->WaitIdle(kWait));
  EXPECT_THAT(Lines(Path("out.env")),
              ElementsAre("ROSTER_EVENT=user", "ROSTER_USER_EVENT=deploy",
                          "ROSTER_USER_LTIME=17", "ROSTER_USER_ORIGIN=n3"));
  // A newline is added, as Serf adds one, but not to a payload ending in
  // one.
  EXPECT_EQ(ReadFile(Path("out.stdin")), "v7\n");
  handlers_->OnUserEvent(User("deploy", "a\nb\n"));
  ASSERT_TRUE(handlers_->WaitIdle(kWait));
  EXPECT_EQ(ReadFile(Path("out.stdin")), "a\nb\n");
  handlers_->OnUserEvent(User("deploy", ""));
  ASSERT_TRUE(handlers_->WaitIdle(kWait));
  EXPECT_EQ(ReadFile(Path("out.stdin")), "");
  EXPECT_EQ(handlers_->counters().runs, 3u);
}

TEST_F(EventHandlersTest, FiltersSelectTheRightEvents) {
  auto rec = [&](const std::string& filter, const std::string& file) {
    return absl::StrCat(filter, "=sh ", Path("record.sh"), " ", Path(file));
  };
  Start(Options({rec("member-join,member-failed", "h0"), rec("user", "h1"),
                 rec("user:deploy", "h2"), rec("*", "h3"), rec("query", "h4"),
                 rec("member-restart,member-update", "h5"),
                 absl::StrCat("sh ", Path("record.sh"), " ", Path("h6"))}));

  handlers_->OnEvent(MemberEvent(EventType::kJoined, "a"));
  handlers_->OnEvent(MemberEvent(EventType::kLeft, "b"));
  handlers_->OnEvent(MemberEvent(EventType::kFailed, "c"));
  // No handler runs for these, "*" included: Serf has no such events.
  handlers_->OnEvent(MemberEvent(EventType::kSuspected, "d"));
  handlers_->OnEvent(MemberEvent(EventType::kRecovered, "d"));
  handlers_->OnEvent(MemberEvent(EventType::kSelfSuspected, "agent-1"));
  handlers_->OnEvent(MemberEvent(EventType::kSelfFailed, "agent-1"));
  handlers_->OnEvent(MemberEvent(EventType::kUpdated, "e"));
  handlers_->OnEvent(MemberEvent(EventType::kRestarted, "f"));
  handlers_->OnUserEvent(User("deploy", "p1"));
  handlers_->OnUserEvent(User("other", "p2"));
  ASSERT_TRUE(handlers_->WaitIdle(kWait));

  EXPECT_THAT(Lines(Path("h0")),
              ElementsAre("member-join : a ", "member-failed : c "));
  EXPECT_THAT(Lines(Path("h1")),
              ElementsAre("user deploy: p1 ", "user other: p2 "));
  EXPECT_THAT(Lines(Path("h2")), ElementsAre("user deploy: p1 "));
  const auto everything =
      ElementsAre("member-join : a ", "member-leave : b ", "member-failed : c ",
                  "member-update : e ", "member-restart : f ",
                  "user deploy: p1 ", "user other: p2 ");
  EXPECT_THAT(Lines(Path("h3")), everything);
  EXPECT_THAT(Lines(Path("h4")), IsEmpty());
  EXPECT_THAT(Lines(Path("h5")),
              ElementsAre("member-update : e ", "member-restart : f "));
  EXPECT_THAT(Lines(Path("h6")), everything);  // no filter is "*"
  EXPECT_EQ(handlers_->counters(4).runs, 0u);
  EXPECT_EQ(handlers_->counters().runs, 2u + 2 + 1 + 7 + 0 + 2 + 7);
  EXPECT_EQ(handlers_->counters().failed, 0u);
}

TEST_F(EventHandlersTest, MembersOfOneTypeWaitingTogetherShareARun) {
  const std::string gated = Script(
      "gated.sh", absl::StrCat("echo started >> ", Path("started"),
                               "\nread x < ", Path("gate"), "\nsh ",
                               Path("record.sh"), " ", Path("out"), "\n"));
  Start(Options({absl::StrCat("member-join,member-leave=", gated)}));
  handlers_->OnEvent(MemberEvent(EventType::kJoined, "a"));
  ASSERT_TRUE(
      WaitUntil([&] { return Lines(Path("started")).size() == 1; }, kWait));
  // The worker waits at the gate with "a"; these queue behind it.
  handlers_->OnEvent(MemberEvent(EventType::kJoined, "b"));
  handlers_->OnEvent(MemberEvent(EventType::kJoined, "c"));
  handlers_->OnEvent(MemberEvent(EventType::kLeft, "d"));
  handlers_->OnEvent(MemberEvent(EventType::kJoined, "e"));
  Open(4);
  ASSERT_TRUE(handlers_->WaitIdle(kWait));
  EXPECT_THAT(Lines(Path("out")),
              ElementsAre("member-join : a ", "member-join : b c ",
                          "member-leave : d ", "member-join : e "));
  EXPECT_EQ(handlers_->counters().events_queued, 5u);
  EXPECT_EQ(handlers_->counters().runs, 4u);
}

// ------------------------------------------------------------------ queries

TEST_F(EventHandlersTest, AQueryIsAnsweredFromStdout) {
  const std::string answer = Script(
      "answer.sh",
      "printf '%s %s %s %s from %s: %s' \"$ROSTER_EVENT\" "
      "\"$ROSTER_QUERY_NAME\" \"$ROSTER_QUERY_LTIME\" \"$ROSTER_QUERY_ORIGIN\" "
      "\"$ROSTER_SELF_NAME\" \"$(cat)\"\n");
  // The first selected handler writes nothing, so the next one answers; a
  // user event's handler is no query's.
  Start(Options({"query=true",
                 absl::StrCat("user=sh ", Path("record.sh"), " ", Path("u")),
                 absl::StrCat("query:load=", answer), "query=echo late"}));
  EXPECT_EQ(handlers_->OnQuery(Query("load", "p1")),
            "query load 5 n3 from agent-1: p1");
  EXPECT_EQ(handlers_->counters(0).runs, 1u);
  EXPECT_EQ(handlers_->counters(1).runs, 0u);
  EXPECT_EQ(handlers_->counters(2).queries_answered, 1u);
  EXPECT_EQ(handlers_->counters(3).runs, 0u);  // answered before it
  // Another name: the catch-all answers, byte for byte (its newline too).
  EXPECT_EQ(handlers_->OnQuery(Query("other", "")), "late\n");
  EXPECT_EQ(handlers_->counters().queries_answered, 2u);
}

TEST_F(EventHandlersTest, NoAnswerFromAFailureOrNoHandler) {
  Start(Options(
      {"query:fail=echo partial; exit 1", "query:quiet=echo to stderr >&2"}));
  EXPECT_EQ(handlers_->OnQuery(Query("fail", "")), std::nullopt);
  EXPECT_EQ(handlers_->OnQuery(Query("quiet", "")), std::nullopt);
  EXPECT_EQ(handlers_->OnQuery(Query("none", "")), std::nullopt);
  EXPECT_EQ(handlers_->counters().runs, 2u);
  EXPECT_EQ(handlers_->counters().failed, 1u);
  EXPECT_EQ(handlers_->counters().queries_answered, 0u);
  EXPECT_EQ(log_.Count(LogLevel::kWarning, "exited with status 1"), 1u);
}

TEST_F(EventHandlersTest, TooLargeOutputGivesNoAnswer) {
  EventHandlers::Options options =
      Options({"query:big=head -c 101 /dev/zero | tr '\\0' x",
               "query:fits=head -c 100 /dev/zero | tr '\\0' x"});
  options.max_query_response_bytes = 100;
  Start(std::move(options));
  EXPECT_EQ(handlers_->OnQuery(Query("big", "")), std::nullopt);
  EXPECT_EQ(handlers_->OnQuery(Query("fits", "")), std::string(100, 'x'));
  EXPECT_EQ(handlers_->counters(0).query_responses_too_large, 1u);
  EXPECT_EQ(handlers_->counters(0).queries_answered, 0u);
  EXPECT_EQ(handlers_->counters(1).queries_answered, 1u);
  EXPECT_EQ(log_.Count(LogLevel::kWarning, "101 bytes is over the limit"), 1u);
}

TEST_F(EventHandlersTest, AQueryIsBoundedByItsDeadline) {
  EventHandlers::Options options = Options({"query=sleep 1000"});
  options.timeout = absl::Seconds(60);
  Start(std::move(options));
  const absl::Time start = absl::Now();
  EXPECT_EQ(handlers_->OnQuery(Query("q", "", absl::Milliseconds(300))),
            std::nullopt);
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(300));
  EXPECT_LT(took, absl::Seconds(30));  // the deadline, not the timeout
  EXPECT_EQ(handlers_->counters().timed_out, 1u);
  EXPECT_THAT(Children(), IsEmpty());

  // Past its deadline already: nothing runs.
  EXPECT_EQ(handlers_->OnQuery(Query("q", "", -absl::Seconds(1))),
            std::nullopt);
  EXPECT_EQ(handlers_->counters().queries_expired, 1u);
  EXPECT_EQ(handlers_->counters().runs, 1u);
}

// ------------------------------------------------------------------- bounds

TEST_F(EventHandlersTest, AHangingHandlerDelaysOnlyItself) {
  const std::string gated = Script(
      "gated.sh", absl::StrCat("read x < ", Path("gate"), "\nsh ",
                               Path("record.sh"), " ", Path("slow"), "\n"));
  Start(Options(
      {absl::StrCat("user=", gated),
       absl::StrCat("user=sh ", Path("record.sh"), " ", Path("fast"))}));
  // The slow handler cannot finish until the gate opens, so returning at
  // all shows these calls did not wait for it.
  handlers_->OnUserEvent(User("e1"));
  handlers_->OnUserEvent(User("e2"));
  ASSERT_TRUE(
      WaitUntil([&] { return Lines(Path("fast")).size() == 2; }, kWait));
  EXPECT_THAT(Lines(Path("slow")), IsEmpty());
  EXPECT_FALSE(handlers_->WaitIdle(absl::ZeroDuration()));
  Open(2);
  ASSERT_TRUE(handlers_->WaitIdle(kWait));
  EXPECT_THAT(Lines(Path("slow")), ElementsAre("user e1: ", "user e2: "));
}

TEST_F(EventHandlersTest, AHandlerPastItsTimeoutIsKilledWithItsGroup) {
  const std::string hang = Script(
      "hang.sh", absl::StrCat("if [ \"$ROSTER_USER_EVENT\" = hang ]; then\n"
                              "  sleep 1000 &\n  echo $! > ",
                              Path("sleep.pid"), "\n  wait\nfi\nsh ",
                              Path("record.sh"), " ", Path("out"), "\n"));
  EventHandlers::Options options = Options({absl::StrCat("user=", hang)});
  options.timeout = absl::Milliseconds(500);
  Start(std::move(options));
  const absl::Time start = absl::Now();
  handlers_->OnUserEvent(User("hang"));
  handlers_->OnUserEvent(User("next"));
  ASSERT_TRUE(WaitUntil([&] { return !Lines(Path("out")).empty(); }, kWait));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(500));
  EXPECT_THAT(Lines(Path("out")), ElementsAre("user next: "));
  ASSERT_TRUE(handlers_->WaitIdle(kWait));
  EXPECT_EQ(handlers_->counters().timed_out, 1u);
  EXPECT_EQ(handlers_->counters().succeeded, 1u);
  EXPECT_EQ(log_.Count(LogLevel::kWarning, "killed with its process group"),
            1u);
  // The shell's own child died with it.
  const pid_t sleeper =
      static_cast<pid_t>(atoi(ReadFile(Path("sleep.pid")).c_str()));
  ASSERT_GT(sleeper, 0);
  EXPECT_TRUE(WaitUntil([&] { return Ended(sleeper); }, kWait));
  EXPECT_THAT(Children(), IsEmpty());
}

// A run lasts while the shell or anything holding its stdout or stderr
// does: a background process that keeps them is killed with the group at
// the timeout; one that let them go is the handler's own business.
TEST_F(EventHandlersTest, BackgroundProcessesAndTheRunsEnd) {
  EventHandlers::Options options = Options(
      {absl::StrCat("user:held=sleep 1000 & echo $! > ", Path("held.pid")),
       absl::StrCat("user:detached=sleep 1000 >/dev/null 2>&1 & echo $! > ",
                    Path("detached.pid"))});
  options.timeout = absl::Milliseconds(300);
  Start(std::move(options));
  handlers_->OnUserEvent(User("held"));
  handlers_->OnUserEvent(User("detached"));
  ASSERT_TRUE(handlers_->WaitIdle(kWait));
  EXPECT_EQ(handlers_->counters(0).timed_out, 1u);
  EXPECT_EQ(handlers_->counters(1).succeeded, 1u);
  const pid_t held =
      static_cast<pid_t>(atoi(ReadFile(Path("held.pid")).c_str()));
  const pid_t detached =
      static_cast<pid_t>(atoi(ReadFile(Path("detached.pid")).c_str()));
  ASSERT_GT(held, 0);
  ASSERT_GT(detached, 0);
  EXPECT_TRUE(WaitUntil([&] { return Ended(held); }, kWait));
  EXPECT_FALSE(Ended(detached));
  kill(detached, SIGKILL);
  EXPECT_TRUE(WaitUntil([&] { return Ended(detached); }, kWait));
}

TEST_F(EventHandlersTest, FailuresAreCountedAndLogged) {
  Start(Options({"user:exit=echo oops >&2; exit 3", "user:kill=kill -TERM $$",
                 "user:ok=true"}));
  handlers_->OnUserEvent(User("exit"));
  handlers_->OnUserEvent(User("kill"));
  handlers_->OnUserEvent(User("ok"));
  ASSERT_TRUE(handlers_->WaitIdle(kWait));
  EXPECT_EQ(handlers_->counters().failed, 2u);
  EXPECT_EQ(handlers_->counters(0).failed, 1u);
  EXPECT_EQ(handlers_->counters(1).failed, 1u);
  EXPECT_EQ(handlers_->counters(2).succeeded, 1u);
  EXPECT_EQ(log_.Count(LogLevel::kWarning, "exited with status 3"), 1u);
  EXPECT_EQ(log_.Count(LogLevel::kWarning, "stderr: oops"), 1u);
  EXPECT_EQ(log_.Count(LogLevel::kWarning, "killed by signal 15 (TERM)"), 1u);
  EXPECT_FALSE(log_.AnyNewline());
}

TEST_F(EventHandlersTest, QueueOverflowIsCountedNotUnbounded) {
  const std::string gated =
      Script("gated.sh", absl::StrCat("echo started >> ", Path("started"),
                                      "\nread x < ", Path("gate"), "\n"));
  EventHandlers::Options options = Options({absl::StrCat("user=", gated)});
  options.max_queued_events = 4;
  Start(std::move(options));
  handlers_->OnUserEvent(User("e0"));
  ASSERT_TRUE(
      WaitUntil([&] { return Lines(Path("started")).size() == 1; }, kWait));
  for (int i = 1; i <= 10; ++i) {
    handlers_->OnUserEvent(User(absl::StrCat("e", i)));
  }
  EXPECT_EQ(handlers_->counters().events_queued, 5u);
  EXPECT_EQ(handlers_->counters().events_dropped, 6u);
  EXPECT_EQ(log_.Count(LogLevel::kWarning, "queue full"), 1u);  // once
  Open(5);
  ASSERT_TRUE(handlers_->WaitIdle(kWait));
  EXPECT_EQ(handlers_->counters().runs, 5u);
  // Accepted again, with a word on what was lost.
  handlers_->OnUserEvent(User("e11"));
  EXPECT_EQ(log_.Count(LogLevel::kWarning, "dropped 6 events"), 1u);
  Open(1);
  ASSERT_TRUE(handlers_->WaitIdle(kWait));
  EXPECT_EQ(handlers_->counters().runs, 6u);
}

TEST_F(EventHandlersTest, OutputIsBoundedAndNoted) {
  EventHandlers::Options options =
      Options({"user=head -c 1048576 /dev/zero; head -c 5000 /dev/zero >&2",
               "query=head -c 1048576 /dev/zero"});
  options.max_output_bytes = 1024;
  Start(std::move(options));
  handlers_->OnUserEvent(User("e"));
  ASSERT_TRUE(handlers_->WaitIdle(kWait));
  EXPECT_EQ(handlers_->counters(0).succeeded, 1u);
  EXPECT_EQ(handlers_->counters(0).output_truncated, 1u);
  EXPECT_EQ(log_.Count(LogLevel::kWarning,
                       "wrote 1048576 bytes to stdout and 5000 to stderr"),
            1u);
  EXPECT_EQ(handlers_->OnQuery(Query("q", "")), std::nullopt);
  EXPECT_EQ(handlers_->counters(1).query_responses_too_large, 1u);
}

TEST_F(EventHandlersTest, AHandlerThatReadsNoStdinDoesNotHurtTheAgent) {
  // Far more than a pipe holds: writing the rest after it has exited fails
  // with EPIPE, which must not be a SIGPIPE for the test's process.
  Start(Options({"user=exit 0", "query=echo ok"}));
  handlers_->OnUserEvent(User("e", std::string(4 << 20, 'p')));
  ASSERT_TRUE(handlers_->WaitIdle(kWait));
  EXPECT_EQ(handlers_->counters(0).succeeded, 1u);
  EXPECT_EQ(handlers_->OnQuery(Query("q", std::string(4 << 20, 'p'))), "ok\n");
}

TEST_F(EventHandlersTest, ShutdownKillsRunsAndDropsWhatWaits) {
  const std::string hang = Script(
      "hang.sh",
      absl::StrCat("sleep 1000 &\necho $! > ", Path("sleep.pid"), "\nwait\n"));
  EventHandlers::Options options = Options({absl::StrCat("user=", hang)});
  options.timeout = absl::Seconds(600);
  Start(std::move(options));
  handlers_->OnUserEvent(User("e1"));
  handlers_->OnUserEvent(User("e2"));
  handlers_->OnUserEvent(User("e3"));
  ASSERT_TRUE(
      WaitUntil([&] { return !ReadFile(Path("sleep.pid")).empty(); }, kWait));
  const pid_t sleeper =
      static_cast<pid_t>(atoi(ReadFile(Path("sleep.pid")).c_str()));
  handlers_->Shutdown();
  EXPECT_EQ(handlers_->counters().cancelled, 1u);
  EXPECT_EQ(handlers_->counters().events_dropped, 2u);
  EXPECT_TRUE(WaitUntil([&] { return Ended(sleeper); }, kWait));
  EXPECT_THAT(Children(), IsEmpty());
  // Later calls do nothing.
  handlers_->OnUserEvent(User("e4"));
  EXPECT_EQ(handlers_->OnQuery(Query("q", "")), std::nullopt);
  EXPECT_EQ(handlers_->counters().runs, 1u);
  handlers_->Shutdown();  // again
}

// ------------------------------------------------------------------ loopback

// Two Nodes whose handlers are an agent's: a join, a user event and a query
// reach them through on_event, on_user_event and on_query.
TEST_F(EventHandlersTest, TwoNodesOnLoopbackRunTheirHandlers) {
  const std::string answer =
      Script("answer.sh",
             "printf 'load of %s: %s' \"$ROSTER_SELF_NAME\" "
             "\"$(cat)\"\n");
  std::vector<std::unique_ptr<EventHandlers>> handlers;
  auto tune = [&](NodeConfig& c) {
    const std::string name = c.swim.name;
    EventHandlers::Options options =
        Options({absl::StrCat("member-join,user:deploy=sh ", Path("record.sh"),
                              " ", Path(name)),
                 absl::StrCat("query:load=", answer)});
    options.self.name = name;
    options.self.meta = "";
    options.max_query_response_bytes = c.swim.limits.max_query_response_bytes;
    auto created = EventHandlers::Create(std::move(options));
    ASSERT_TRUE(created.ok()) << created.status();
    EventHandlers* h = created->get();
    handlers.push_back(*std::move(created));
    c.on_event = [h](const Event& e) { h->OnEvent(e); };
    c.on_user_event = [h](const UserEvent& e) { h->OnUserEvent(e); };
    c.on_query = [h](const QueryRequest& q) { return h->OnQuery(q); };
  };
  {
    Cluster cluster(2, tune);
    ASSERT_EQ(handlers.size(), 2u);
    for (int i = 0; i < 2; ++i) handlers[i]->SetSelf(cluster.node(i).Self());
    ASSERT_TRUE(cluster.JoinAll().ok());
    ASSERT_TRUE(WaitUntil([&] { return cluster.Converged(); }, kWait));
    ASSERT_TRUE(WaitUntil(
        [&] {
          const std::vector<std::string> lines = Lines(Path("n0"));
          return std::find(lines.begin(), lines.end(), "member-join : n1 ") !=
                 lines.end();
        },
        kWait));

    ASSERT_TRUE(cluster.node(1).UserEvent("deploy", "v7").ok());
    for (const char* name : {"n0", "n1"}) {
      EXPECT_TRUE(WaitUntil(
          [&] {
            const std::vector<std::string> lines = Lines(Path(name));
            return std::find(lines.begin(), lines.end(), "user deploy: v7 ") !=
                   lines.end();
          },
          kWait))
          << name;
    }

    QueryParams params;
    params.name = "load";
    params.payload = "how busy?";
    params.timeout = absl::Seconds(2);
    absl::StatusOr<QueryResult> result = cluster.node(0).Query(params);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_THAT(result->responses,
                UnorderedElementsAre(Pair("n0", "load of n0: how busy?"),
                                     Pair("n1", "load of n1: how busy?")));
  }  // the nodes stop before their handlers
  for (auto& h : handlers) {
    h->Shutdown();
    EXPECT_EQ(h->counters().failed, 0u);
    EXPECT_EQ(h->counters().queries_answered, 1u);
  }
}

}  // namespace
}  // namespace roster::tools
