// One member on loopback and its metrics, as an application that keeps
// its own prometheus-cpp registry would serialize them beside its own.
// Exits 0 if the exposition counts the member alive, 1 otherwise.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"
#include "roster/metrics.h"
#include "roster/node.h"

int main() {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter()
      .Name("app_requests_total")
      .Help("The application's own.")
      .Register(*registry)
      .Add({})
      .Increment();

  auto metrics = roster::Metrics::Create();
  auto config = roster::NodeConfig::ForProfile(roster::Profile::kLocal, "one",
                                               "127.0.0.1:0");
  metrics->Observe(config);
  auto node = roster::Node::Start(std::move(config));
  if (!node.ok()) {
    std::fprintf(stderr, "starting: %s\n", node.status().ToString().c_str());
    return 1;
  }
  metrics->Attach(node->get());

  std::vector<prometheus::MetricFamily> families = registry->Collect();
  for (auto& family : metrics->Collect()) families.push_back(family);
  const std::string text = prometheus::TextSerializer().Serialize(families);
  metrics->Attach(nullptr);
  std::fputs(text.c_str(), stdout);
  const bool ok =
      text.find("\napp_requests_total 1") != std::string::npos &&
      text.find("\nroster_members{state=\"alive\"} 1") != std::string::npos;
  if (!ok) std::fprintf(stderr, "the exposition lacks a family\n");
  return ok ? 0 : 1;
}
