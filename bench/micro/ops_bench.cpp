//===- bench/micro/ops_bench.cpp - per-op kernels through Executable --------===//
#include "bench/micro/micro_util.h"

namespace dlc::micro {
namespace {

// Arg: number of elements.
void BM_Add(benchmark::State &s) {
  runFunction(s, [&](Graph &g) { return g.input("a", f32({s.range(0)})) + g.input("b", f32({s.range(0)})); });
}
void BM_Mul(benchmark::State &s) {
  runFunction(s, [&](Graph &g) { return g.input("a", f32({s.range(0)})) * g.input("b", f32({s.range(0)})); });
}
void BM_Relu(benchmark::State &s) {
  runFunction(s, [&](Graph &g) { return relu(g.input("x", f32({s.range(0)}))); });
}
void BM_ReduceSumRows(benchmark::State &s) {
  runFunction(s, [&](Graph &g) { return sum(g.input("x", f32({s.range(0) / 1000, 1000})), 1); });
}
void BM_ReduceSumAll(benchmark::State &s) {
  runFunction(s, [&](Graph &g) { return sum(g.input("x", f32({s.range(0)}))); });
}
void BM_Transpose(benchmark::State &s) {
  runFunction(s, [&](Graph &g) { return transpose(g.input("x", f32({s.range(0) / 1024, 1024}))); });
}
void BM_BroadcastAdd(benchmark::State &s) {
  runFunction(s, [&](Graph &g) {
    return g.input("x", f32({s.range(0) / 512, 512})) + g.input("b", f32({512}));
  });
}
void BM_Softmax(benchmark::State &s) {
  runFunction(s, [&](Graph &g) {
    Tensor x = g.input("x", f32({s.range(0) / 1000, 1000}));
    Tensor e = exp(x - max(x, 1, true));
    return e / sum(e, 1, true);
  });
}
void BM_Conv2d(benchmark::State &s) {
  runFunction(s, [&](Graph &g) {
    ConvAttrs a;
    a.padding = {2, 2};
    return conv2d(g.input("x", f32({64, 32, 14, 14})), g.input("w", f32({64, 32, 5, 5})), a);
  });
}
void BM_MaxPool(benchmark::State &s) {
  runFunction(s, [&](Graph &g) { return maxPool2d(g.input("x", f32({64, 32, 28, 28}))); });
}

BENCHMARK(BM_Add)->Arg(1 << 16)->Arg(1 << 24)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Mul)->Arg(1 << 24)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Relu)->Arg(1 << 16)->Arg(1 << 24)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_ReduceSumRows)->Arg(4096000)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_ReduceSumAll)->Arg(1 << 24)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Transpose)->Arg(1 << 20)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_BroadcastAdd)->Arg(1 << 20)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Softmax)->Arg(4096000)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Conv2d)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MaxPool)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace dlc::micro
