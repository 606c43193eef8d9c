//===- bench/micro/gemm_bench.cpp - the generated GEMM at W1's shapes -------===//
#include "bench/micro/micro_util.h"

namespace dlc::micro {
namespace {

// Args: M, N, K, transA, transB (C[M,N] = op(A) op(B)).
void BM_Gemm(benchmark::State &s) {
  const int64_t m = s.range(0), n = s.range(1), k = s.range(2);
  const bool ta = s.range(3) != 0, tb = s.range(4) != 0;
  runFunction(s, [&](Graph &g) {
    Tensor a = g.input("a", ta ? f32({k, m}) : f32({m, k}));
    Tensor b = g.input("b", tb ? f32({n, k}) : f32({k, n}));
    return matmul(a, b, ta, tb);
  });
}

BENCHMARK(BM_Gemm)
    ->ArgNames({"M", "N", "K", "tA", "tB"})
    ->Args({128, 512, 784, 0, 1})
    ->Args({128, 512, 512, 0, 1})
    ->Args({128, 10, 512, 0, 1})
    ->Args({128, 512, 10, 0, 0})
    ->Args({10, 512, 128, 1, 0})
    ->Args({128, 512, 512, 0, 0})
    ->Args({512, 512, 128, 1, 0})
    ->Args({512, 784, 128, 1, 0})
    ->Args({1024, 1024, 1024, 0, 0})
    ->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace dlc::micro
