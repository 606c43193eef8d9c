//===- bench/micro/micro_util.h - one function through Executable, timed ----===//
//
// Google Benchmark microbenchmarks for kernel development (not run by the tests).
// A fixture compiles a small function once (fused or unfused) and the benchmark loop
// times Executable::run; bytes and FLOPs come from bench/measure.h so the report shows
// GB/s and FLOP/s per kernel.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <benchmark/benchmark.h>

#include <functional>
#include <memory>

#include "bench/measure.h"
#include "frontend/graph.h"
#include "runtime/executable.h"

namespace dlc::micro {

/// Builds a one-output function with \p build on a fresh graph and times its runs on
/// seeded random inputs; reports bytes/s (arguments + results) and FLOP/s. Register with
/// UseRealTime(): kernels run on the pool's threads, so the caller's CPU time says little.
inline void runFunction(benchmark::State &state, const std::function<Tensor(Graph &)> &build, bool fuse = true,
                        MathMode math = MathMode::Vector) {
  Graph g("micro", {.recordLocations = false});
  Tensor out = build(g);
  Expected<Model> m = g.finish(out);
  if (!m) {
    state.SkipWithError(m.error().str().c_str());
    return;
  }
  ExecutableOptions opts;
  opts.plan.fuse = fuse;
  opts.codegen.math = math;
  Expected<std::unique_ptr<Executable>> ex = Executable::compile(*m->function, opts);
  if (!ex) {
    state.SkipWithError(ex.error().str().c_str());
    return;
  }
  const bench::WorkCounts w = bench::countWork(*m->function, opts.plan);
  std::vector<HostTensor> inputs = bench::randomArguments(*m->function, 1);
  for (auto _ : state) {
    Expected<std::vector<HostTensor>> r = (*ex)->run(inputs);
    if (!r) {
      state.SkipWithError(r.error().str().c_str());
      return;
    }
    benchmark::DoNotOptimize(r->front().raw());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * w.minBytes);
  state.counters["FLOP/s"] = benchmark::Counter(static_cast<double>(w.flops) * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
  state.counters["kernels"] = static_cast<double>(w.kernels);
}

}  // namespace dlc::micro
