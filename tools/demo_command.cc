// `roster demo`: a cluster of N members in this process on 127.0.0.1 that
// forms, loses a member without a leave and reports how long each member
// took to declare it failed.
#include "tools/demo_command.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "roster/node.h"
#include "tools/cli_common.h"
#include "tools/members_command.h"

namespace roster::tools {
namespace {

struct DemoOptions {
  int nodes = 5;
  std::string profile = "local";
};

int RunDemo(const DemoOptions& o) {
  auto parsed = ParseProfile(o.profile);
  if (!parsed.ok())
    return Complain("demo", kExitUsage,
                    absl::StrCat("--profile: ", parsed.status().message()));
  const Profile profile = *parsed;
  const int count = o.nodes;
  const int victim = count - 1;
  const std::string victim_name = absl::StrCat("n", victim);

  std::mutex mu;
  absl::Time killed_at = absl::InfiniteFuture();
  std::vector<double> detections;
  std::vector<std::unique_ptr<Node>> nodes;
  std::printf(
      "roster demo: %d members on 127.0.0.1, %s profile, all joining "
      "through n0\n",
      count, std::string(ProfileName(profile)).c_str());
  const absl::Time start = absl::Now();
  for (int i = 0; i < count; ++i) {
    NodeConfig c =
        NodeConfig::ForProfile(profile, absl::StrCat("n", i), "127.0.0.1:0");
    const std::string me = c.swim.name;
    c.on_event = [&, me](const Event& e) {
      if (e.member.name != victim_name) return;
      std::lock_guard<std::mutex> lock(mu);
      if (killed_at == absl::InfiniteFuture()) return;
      double after = absl::ToDoubleSeconds(absl::Now() - killed_at);
      if (e.type == EventType::kSuspected) {
        std::printf("  %-4s suspects %s after %.2f s\n", me.c_str(),
                    victim_name.c_str(), after);
      } else if (e.type == EventType::kFailed) {
        std::printf("  %-4s declared %s failed after %.2f s\n", me.c_str(),
                    victim_name.c_str(), after);
        detections.push_back(after);
      }
      std::fflush(stdout);
    };
    auto node = Node::Start(std::move(c));
    if (!node.ok())
      return Complain("demo", kExitFailed, node.status().message());
    nodes.push_back(std::move(*node));
  }
  for (int i = 1; i < count; ++i) {
    if (auto s = nodes[i]->Join({nodes[0]->addr()}); !s.ok())
      return Complain("demo", kExitFailed, s.message());
  }
  auto wait_for = [&](auto done, absl::Duration limit) {
    const absl::Time deadline = absl::Now() + limit;
    while (!done()) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(20));
    }
    return true;
  };
  bool formed = wait_for(
      [&] {
        for (auto& node : nodes)
          if (node->NumAlive() != static_cast<size_t>(count)) return false;
        return true;
      },
      absl::Seconds(60));
  if (!formed)
    return Complain("demo", kExitFailed,
                    "the cluster did not form within 60 s");
  std::printf("formed in %.2f s; n0 sees:\n\n%s\n",
              absl::ToDoubleSeconds(absl::Now() - start),
              Table(nodes[0]->Members()).c_str());

  std::printf("killing %s at %s without a leave\n", victim_name.c_str(),
              nodes[victim]->addr().c_str());
  std::fflush(stdout);
  {
    std::lock_guard<std::mutex> lock(mu);
    killed_at = absl::Now();
  }
  nodes[victim]->Shutdown();
  bool detected = wait_for(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return detections.size() == static_cast<size_t>(count - 1);
      },
      absl::Seconds(120));
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!detected) {
      return Complain(
          "demo", kExitFailed,
          absl::StrCat("only ", detections.size(), " of ", count - 1,
                       " members detected the failure "
                       "within 120 s"));
    }
    std::sort(detections.begin(), detections.end());
    std::printf(
        "every member declared %s failed: first after %.2f s, "
        "median %.2f s, last %.2f s\n\nfinal view of n0:\n\n%s",
        victim_name.c_str(), detections.front(),
        detections[detections.size() / 2], detections.back(),
        Table(nodes[0]->Members(MemberFilter::kAll)).c_str());
  }
  for (auto& node : nodes) node->Shutdown();
  return kExitOk;
}

}  // namespace

void AddDemoCommand(CLI::App& app, std::function<int()>& run) {
  auto o = std::make_shared<DemoOptions>();
  CLI::App* c = app.add_subcommand(
      "demo", "Form a local cluster, kill a member, report the detection");
  c->add_option("--nodes", o->nodes, "members, 2 to 200")
      ->check(CLI::Range(2, 200));
  c->add_option("--profile", o->profile, "lan, wan or local timings");
  c->callback([&run, o] { run = [o] { return RunDemo(*o); }; });
}

}  // namespace roster::tools
