// DNS seeds against a real DNS server: the test starts Debian's dnsmasq on
// a free loopback port with A, AAAA and SRV records, and members on
// 127.0.0.1 (and ::1 where there is one) join through dns: and srv: seeds.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "roster/node.h"
#include "test/common/wait_until.h"

namespace roster {
namespace {

// A port free for UDP and TCP on 127.0.0.1 (at the time of asking).
int FreePort() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool UdpPortTaken(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool taken = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0;
  close(fd);
  return taken;
}

const char* Dnsmasq() {
  for (const char* path : {"/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return nullptr;
}

// dnsmasq answering for *.test only, from its command line and a hosts
// file that Reload() makes it read again.
class DnsServer {
 public:
  explicit DnsServer(std::vector<std::string> records) {
    char dir[] = "/tmp/roster-dns-XXXXXX";
    if (mkdtemp(dir) == nullptr) return;
    dir_ = dir;
    // Started as root, dnsmasq rereads the hosts file as nobody.
    chmod(dir, 0755);
    hosts_ = dir_ + "/hosts";
    std::ofstream(hosts_) << "";
    port_ = FreePort();
    std::vector<std::string> args = {
        Dnsmasq(),
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--no-poll",
        "--no-negcache",
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        absl::StrCat("--port=", port_),
        "--pid-file=",
        "--local=/test/",
        absl::StrCat("--addn-hosts=", hosts_),
        "--log-facility=/dev/null",
    };
    for (auto& r : records) args.push_back(r);
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    up_ = WaitUntil([&] { return UdpPortTaken(port_); }, absl::Seconds(10));
  }
  ~DnsServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (!hosts_.empty()) unlink(hosts_.c_str());
    if (!dir_.empty()) rmdir(dir_.c_str());
  }
  bool up() const { return up_; }
  std::string addr() const { return absl::StrCat("127.0.0.1:", port_); }
  // Replaces the hosts file ("ADDRESS NAME" lines) and rereads it.
  void SetHosts(const std::string& lines) {
    std::ofstream(hosts_) << lines;
    kill(pid_, SIGHUP);
  }

 private:
  std::string dir_, hosts_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool up_ = false;
};

NodeConfig Config(const std::string& name, const std::string& bind,
                  const std::string& dns) {
  NodeConfig c = NodeConfig::ForProfile(Profile::kLocal, name, bind);
  c.swim.probe_interval = absl::Milliseconds(250);
  c.swim.probe_timeout = absl::Milliseconds(120);
  c.swim.gossip_interval = absl::Milliseconds(50);
  c.swim.retransmit_mult = 4;
  c.swim.reconnect_interval = absl::Milliseconds(500);
  c.dns_server = dns;
  return c;
}

std::unique_ptr<Node> StartNode(const std::string& name,
                                const std::string& bind,
                                const std::string& dns = "") {
  auto node = Node::Start(Config(name, bind, dns));
  EXPECT_TRUE(node.ok()) << node.status();
  return node.ok() ? std::move(*node) : nullptr;
}

class DnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Dnsmasq() == nullptr) GTEST_SKIP() << "dnsmasq is not installed";
  }
};

TEST_F(DnsTest, ANameSeedJoinsEveryAddressRecord) {
  // Two members that do not know each other, on the same port of 127.0.0.1
  // and ::1; one name with an A and an AAAA record for them.
  const int port = FreePort();
  auto v4 = StartNode("v4", absl::StrCat("127.0.0.1:", port));
  auto v6 = Node::Start(Config("v6", absl::StrCat("[::1]:", port), ""));
  const bool have_v6 = v6.ok();
  DnsServer dns({have_v6 ? "--host-record=seeds.test,127.0.0.1,::1"
                         : "--host-record=seeds.test,127.0.0.1"});
  ASSERT_TRUE(dns.up());
  auto joiner = StartNode("joiner", "127.0.0.1:0", dns.addr());
  ASSERT_TRUE(v4 && joiner);
  absl::Status s = joiner->Join({absl::StrCat("dns:seeds.test:", port)});
  ASSERT_TRUE(s.ok()) << s;
  // Join returns at the first address's answer; the other's push-pull goes
  // on, and then the joiner has both tables. (Its IPv4 socket cannot then
  // probe the IPv6 member; a mixed cluster binds "[::]:PORT", which this
  // test avoids.)
  EXPECT_TRUE(WaitUntil([&] { return joiner->Lookup("v4").has_value(); },
                        absl::Seconds(5)));
  if (have_v6) {
    ASSERT_TRUE(WaitUntil([&] { return joiner->Lookup("v6").has_value(); },
                          absl::Seconds(5)))
        << "the AAAA record was not joined";
    EXPECT_EQ(joiner->Lookup("v6")->addr, absl::StrCat("[::1]:", port));
  }
  EXPECT_TRUE(
      WaitUntil([&] { return v4->NumAlive() >= 2; }, absl::Seconds(10)));
  EXPECT_GE(joiner->counters().net.dns_lookups, 1u);
}

TEST_F(DnsTest, SrvSeedJoinsEveryTargetAtItsPort) {
  auto a = StartNode("a", "127.0.0.1:0");
  auto b = StartNode("b", "127.0.0.1:0");
  ASSERT_TRUE(a && b);
  auto port = [](const std::string& addr) {
    return addr.substr(addr.rfind(':') + 1);
  };
  DnsServer dns({"--host-record=a.test,127.0.0.1",
                 "--host-record=b.test,127.0.0.1",
                 absl::StrCat("--srv-host=_roster._udp.cluster.test,a.test,",
                              port(a->addr())),
                 absl::StrCat("--srv-host=_roster._udp.cluster.test,b.test,",
                              port(b->addr()))});
  ASSERT_TRUE(dns.up());
  auto joiner = StartNode("joiner", "127.0.0.1:0", dns.addr());
  absl::Status s = joiner->Join({"srv:_roster._udp.cluster.test"});
  ASSERT_TRUE(s.ok()) << s;
  // a and b never met: only the joiner's two push-pulls connect them.
  EXPECT_TRUE(WaitUntil(
      [&] {
        return joiner->NumAlive() == 3 && a->NumAlive() == 3 &&
               b->NumAlive() == 3;
      },
      absl::Seconds(10)));
}

TEST_F(DnsTest, NamesThatDoNotResolveAreNamed) {
  DnsServer dns({"--host-record=real.test,127.0.0.1"});
  ASSERT_TRUE(dns.up());
  auto node = StartNode("n", "127.0.0.1:0", dns.addr());
  absl::Status s =
      node->Join({"dns:missing.test:7946", "srv:_roster._udp.missing.test"});
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  EXPECT_NE(s.message().find("dns:missing.test:7946"), absl::string_view::npos)
      << s;
  EXPECT_NE(s.message().find("srv:_roster._udp.missing.test"),
            absl::string_view::npos)
      << s;
  EXPECT_NE(s.message().find("Domain name not found"), absl::string_view::npos)
      << s;
  EXPECT_GE(node->counters().net.dns_failures, 2u);
  // Still up, still alone.
  EXPECT_EQ(node->NumAlive(), 1u);
}

TEST_F(DnsTest, ChangedRecordsAreFoundOnRetry) {
  DnsServer dns({});
  ASSERT_TRUE(dns.up());
  auto target = StartNode("target", "127.0.0.1:0");
  const std::string port = target->addr().substr(target->addr().rfind(':') + 1);
  auto alone = StartNode("alone", "127.0.0.1:0", dns.addr());
  // Nothing there yet: the join fails, and the node keeps retrying.
  absl::Status s = alone->Join({absl::StrCat("dns:later.test:", port)});
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(alone->NumAlive(), 1u);
  // The record appears; a retry resolves the name again and joins.
  dns.SetHosts("127.0.0.1 later.test\n");
  EXPECT_TRUE(WaitUntil(
      [&] { return alone->NumAlive() == 2 && target->NumAlive() == 2; },
      absl::Seconds(10)))
      << "the changed record was not found on retry";
}

TEST_F(DnsTest, AnUnreachableDnsServerIsReported) {
  const int port = FreePort();  // nobody answers there
  auto node = StartNode("n", "127.0.0.1:0", absl::StrCat("127.0.0.1:", port));
  absl::Status s = node->Join({"dns:anything.test:7946"});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("dns:anything.test:7946"), absl::string_view::npos)
      << s;
}

}  // namespace
}  // namespace roster
