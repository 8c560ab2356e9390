// Micro-benchmarks of the core's hot paths: framing, decoding, filling a
// datagram from the broadcast queue, and a simulated cluster second.
#include <string>

#include "benchmark/benchmark.h"
#include "core/broadcast_queue.h"
#include "core/wire/codec.h"
#include "core/wire/decode.h"
#include "core/wire/frame.h"
#include "sim/simulation.h"

namespace roster {
namespace {

std::string SamplePayload() {
  std::string payload;
  for (int i = 0; i < 20; ++i) {
    wire::Message m;
    wire::Alive* a = m.mutable_alive();
    a->set_name("node-" + std::to_string(i));
    a->set_addr("10.0.0." + std::to_string(i) + ":7946");
    a->set_incarnation(i);
    a->set_meta("zone=eu-west-1a");
    payload += core::EncodeMessageEntry(m);
  }
  return payload;
}

void BM_SealFrame(benchmark::State& state) {
  const std::string payload = SamplePayload();
  for (auto _ : state) {
    benchmark::DoNotOptimize(core::SealFrame(payload, "prod"));
  }
  state.SetBytesProcessed(state.iterations() * payload.size());
}
BENCHMARK(BM_SealFrame);

void BM_OpenAndDecode(benchmark::State& state) {
  const std::string frame = core::SealFrame(SamplePayload(), "prod");
  const Limits limits;
  for (auto _ : state) {
    auto payload = core::OpenFrame(frame, "prod", limits.max_packet_bytes);
    auto packet = core::DecodePacket(payload.value, limits);
    benchmark::DoNotOptimize(packet.value.messages_size());
  }
  state.SetBytesProcessed(state.iterations() * frame.size());
}
BENCHMARK(BM_OpenAndDecode);

// What Swim does with a datagram: the canonical fast path into views.
void BM_OpenAndRead(benchmark::State& state) {
  const std::string frame = core::SealFrame(SamplePayload(), "prod");
  const Limits limits;
  core::PacketReader reader;
  core::WireError error;
  for (auto _ : state) {
    auto payload = core::OpenFrame(frame, "prod", limits.max_packet_bytes);
    benchmark::DoNotOptimize(reader.Read(payload.value, limits, &error));
  }
  state.SetBytesProcessed(state.iterations() * frame.size());
}
BENCHMARK(BM_OpenAndRead);

void BM_QueueFill(benchmark::State& state) {
  const int entries = static_cast<int>(state.range(0));
  core::BroadcastQueue queue;
  std::string out;
  for (auto _ : state) {
    state.PauseTiming();
    for (int i = 0; i < entries; ++i) {
      queue.Push("node-" + std::to_string(i), std::string(40 + i % 20, 'x'));
    }
    state.ResumeTiming();
    while (!queue.empty()) {
      out.clear();
      queue.Fill(1380, 8, &out);
    }
  }
}
BENCHMARK(BM_QueueFill)->Arg(100)->Arg(1000);

void BM_SimulatedSecond(benchmark::State& state) {
  sim::Simulation sim(sim::SimOptions::WithSeed(1));
  sim.AddCluster(static_cast<int>(state.range(0)), 0);
  sim.RunFor(absl::Seconds(300));  // converged, join news drained
  for (auto _ : state) {
    sim.RunFor(absl::Seconds(1));
  }
  state.counters["members"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_SimulatedSecond)
    ->Arg(100)
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace roster

BENCHMARK_MAIN();
