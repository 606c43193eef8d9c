//===- bench/micro/vector_math_bench.cpp - exp, log, tanh, sigmoid kernels --===//
//
// Each transcendental over 2^22 elements, with the C library (--math=libm: scalar
// calls) and with the vectorized approximations (MathMode::Vector, the default).
//
//===----------------------------------------------------------------------===//
#include "bench/micro/micro_util.h"

namespace dlc::micro {
namespace {

constexpr int64_t kN = int64_t{1} << 22;

MathMode mode(const benchmark::State &s) { return s.range(0) ? MathMode::Vector : MathMode::Libm; }

template <Tensor (*Op)(const Tensor &, SrcLoc)> void BM_Unary(benchmark::State &s) {
  runFunction(s, [](Graph &g) { return Op(g.input("x", f32({kN})), SrcLoc::current()); }, true, mode(s));
}

void BM_GeluAsWritten(benchmark::State &s) {
  runFunction(
      s,
      [](Graph &g) {
        Tensor x = g.input("x", f32({kN}));
        return 0.5 * x * (1.0 + tanh(0.7978845608 * (x + 0.044715 * (x * x * x))));
      },
      true, mode(s));
}

BENCHMARK(BM_Unary<dlc::exp>)->Name("BM_Exp")->ArgName("vector")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Unary<dlc::log>)->Name("BM_Log")->ArgName("vector")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Unary<dlc::tanh>)->Name("BM_Tanh")->ArgName("vector")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Unary<dlc::sigmoid>)->Name("BM_Sigmoid")->ArgName("vector")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_Unary<dlc::sqrt>)->Name("BM_Sqrt")->ArgName("vector")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_GeluAsWritten)->ArgName("vector")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace dlc::micro
