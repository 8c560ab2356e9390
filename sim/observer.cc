#include "sim/observer.h"

#include <algorithm>
#include <cmath>

namespace roster::sim {

Distribution Distribution::Of(std::vector<double> samples) {
  Distribution d;
  d.count = samples.size();
  if (samples.empty()) return d;
  std::sort(samples.begin(), samples.end());
  auto rank = [&](double q) {
    size_t i = static_cast<size_t>(std::ceil(q * samples.size()));
    return samples[std::clamp<size_t>(i, 1, samples.size()) - 1];
  };
  d.p50 = rank(0.50);
  d.p99 = rank(0.99);
  d.max = samples.back();
  double sum = 0;
  for (double s : samples) sum += s;
  d.mean = sum / samples.size();
  return d;
}

Observer::Observer(Simulation& sim) : sim_(sim), start_(sim.now()) {
  sim_.on_event = [this](int observer, const Event& event) {
    OnEvent(observer, event);
  };
}

void Observer::Crash(int node) {
  sim_.Crash(node);
  Crashed c;
  c.node = node;
  c.at = sim_.now();
  c.declared.assign(sim_.size(), false);
  crashes_.push_back(std::move(c));
}

Observer::Crashed* Observer::FindCrashed(const std::string& name) {
  for (Crashed& c : crashes_) {
    if (c.open && sim_.name(c.node) == name) return &c;
  }
  return nullptr;
}

void Observer::MarkLeft(int node) {
  if (left_.size() <= static_cast<size_t>(node)) left_.resize(node + 1);
  left_[node] = true;
}

void Observer::Restarted(int node) {
  for (Crashed& c : crashes_) {
    if (c.node == node) c.open = false;
  }
  if (static_cast<size_t>(node) < left_.size()) left_[node] = false;
}

void Observer::MarkImpaired(int node) { impaired_[sim_.name(node)] = node; }

void Observer::Healed() {
  heal_started_ = sim_.now();
  healed_s_.reset();
}

std::vector<double> Observer::crash_times() const {
  std::vector<double> out;
  for (const Crashed& c : crashes_)
    out.push_back(absl::ToDoubleSeconds(c.at - start_));
  return out;
}

std::vector<double> Observer::detection_times() const {
  std::vector<double> out;
  for (const Crashed& c : crashes_) {
    if (c.first_dead)
      out.push_back(absl::ToDoubleSeconds(*c.first_dead - start_));
  }
  return out;
}

// Exact for clusters up to a few thousand members; beyond, by counts (each
// running member sees as many alive as are running, and none suspect).
bool Observer::AllSeeAllAlive() const {
  // Members that left are gone from the cluster even if still running.
  std::vector<bool> live(sim_.size());
  size_t count = 0;
  for (size_t i = 0; i < sim_.size(); ++i) {
    live[i] =
        sim_.running(i) && sim_.swim(i).Self().state != MemberState::kLeft;
    count += live[i] ? 1 : 0;
  }
  const bool exact = sim_.size() <= 2000;
  for (size_t o = 0; o < sim_.size(); ++o) {
    if (!live[o]) continue;
    Swim& swim = sim_.swim(o);
    if (swim.Count(MemberState::kAlive) < count) return false;
    if (!exact) {
      if (swim.Count(MemberState::kSuspect) != 0) return false;
      continue;
    }
    for (size_t s = 0; s < sim_.size(); ++s) {
      if (!live[s] || s == o) continue;
      auto view = swim.Lookup(sim_.name(s));
      if (!view || view->state != MemberState::kAlive) return false;
    }
  }
  return true;
}

size_t Observer::RunningCount() const {
  size_t n = 0;
  for (size_t i = 0; i < sim_.size(); ++i) n += sim_.running(i) ? 1 : 0;
  return n;
}

void Observer::OnEvent(int observer, const Event& event) {
  ++events_;
  if (event.type == EventType::kRestarted) ++restarted_events_;
  if (event.type == EventType::kSelfSuspected) ++self_suspected_events_;
  if (event.type == EventType::kSelfFailed) ++self_failed_events_;
  const bool suspect = event.type == EventType::kSuspected;
  const bool dead = event.type == EventType::kFailed;
  if (!suspect && !dead) return;
  Crashed* c = FindCrashed(event.member.name);
  if (c == nullptr) {
    (suspect ? false_suspicions_ : false_deaths_) += 1;
    if (dead) {
      if (impaired_.contains(event.member.name)) ++false_deaths_of_impaired_;
    }
    return;
  }
  const absl::Time now = sim_.now();
  if (suspect) {
    if (!c->first_suspect) c->first_suspect = now;
    return;
  }
  if (!c->first_dead) c->first_dead = now;
  if (c->declared.size() < sim_.size()) c->declared.resize(sim_.size());
  if (!c->declared[observer]) {
    c->declared[observer] = true;
    ++c->declared_count;
  }
  if (!c->all_dead) {
    // Every member still running, and not gone by leaving, has declared it.
    bool all = true;
    for (size_t i = 0; i < sim_.size() && all; ++i) {
      const bool left = i < left_.size() && left_[i];
      if (sim_.running(i) && !left && !c->declared[i]) all = false;
    }
    if (all) c->all_dead = now;
  }
}

void Observer::Sample() {
  if (heal_started_ && !healed_s_ && AllSeeAllAlive()) {
    healed_s_ = absl::ToDoubleSeconds(sim_.now() - *heal_started_);
  }
  if (join_converged_s_) return;
  const size_t running = RunningCount();
  for (size_t i = 0; i < sim_.size(); ++i) {
    if (sim_.running(i) && sim_.swim(i).NumAlive() != running) return;
  }
  join_converged_s_ = absl::ToDoubleSeconds(sim_.now() - start_);
}

namespace {

template <typename Pick>
Distribution Measure(const auto& crashes, Pick pick) {
  std::vector<double> samples;
  for (const auto& c : crashes) {
    auto t = pick(c);
    if (t) samples.push_back(absl::ToDoubleSeconds(*t - c.at));
  }
  return Distribution::Of(std::move(samples));
}

}  // namespace

Distribution Observer::suspect_first_s() const {
  return Measure(crashes_, [](const Crashed& c) { return c.first_suspect; });
}
Distribution Observer::detect_first_s() const {
  return Measure(crashes_, [](const Crashed& c) { return c.first_dead; });
}
Distribution Observer::detect_all_s() const {
  return Measure(crashes_, [](const Crashed& c) { return c.all_dead; });
}

Distribution Observer::suspect_to_dead_s() const {
  std::vector<double> samples;
  for (const Crashed& c : crashes_) {
    if (c.first_suspect && c.first_dead)
      samples.push_back(
          absl::ToDoubleSeconds(*c.first_dead - *c.first_suspect));
  }
  return Distribution::Of(std::move(samples));
}

size_t Observer::detected_by_all() const {
  size_t n = 0;
  for (const Crashed& c : crashes_) n += c.all_dead ? 1 : 0;
  return n;
}

}  // namespace roster::sim
