//===- tests/unit/codegen_math_test.cpp - the vectorized f32 math functions -===//
//
// MathMode::Vector (the default): exp, log, tanh and sigmoid as IR approximations, the
// twins of ir/approx_math.h. On ~1.5M f32 inputs that step through every exponent, sign,
// denormals, infinities and NaNs, plus dense samples of the ranges where the functions
// are not saturated, the JIT's results (host, AVX2 and generic targets; 1 and 2 threads)
// are bitwise equal to the interpreter's in the same mode, and within the bounds of
// ir/approx_math.h of glibc (the interpreter in MathMode::Libm). The test prints the
// measured maximum.
//
//===----------------------------------------------------------------------===//
#include <bit>
#include <cmath>
#include <regex>

#include "codegen/emit.h"
#include "codegen/target.h"
#include "codegen_cases.h"
#include "ir/interpreter.h"
#include "runtime/executable.h"

namespace dlc::test {
namespace {

struct MathCase {
  OpKind kind;
  int64_t bound;
  double lo, hi;  ///< the interesting range, sampled densely
};

const MathCase kMathCases[] = {
    {OpKind::Exp, kVectorExpUlp, -104, 89},
    {OpKind::Log, kVectorLogUlp, 0, 10},
    {OpKind::Tanh, kVectorTanhUlp, -10, 10},
    {OpKind::Sigmoid, kVectorSigmoidUlp, -90, 20},
};

/// Every 4096th bit pattern (all signs and exponents, NaNs, infinities, denormals),
/// every float within 4096 ULP of exp's overflow and underflow bounds and of their
/// negations (sigmoid's; the IR clamps just outside them and selects nothing), and 2^19
/// uniform samples of [lo, hi).
std::vector<float> sweep(double lo, double hi) {
  std::vector<float> v;
  for (uint64_t bits = 0; bits < (uint64_t{1} << 32); bits += 4096) v.push_back(std::bit_cast<float>(static_cast<uint32_t>(bits)));
  for (double edge : {ApproxConst::kExpHi, ApproxConst::kExpLo, -ApproxConst::kExpHi, -ApproxConst::kExpLo}) {
    const uint32_t at = std::bit_cast<uint32_t>(static_cast<float>(edge));
    for (uint32_t d = 0; d <= 4096; ++d) {
      v.push_back(std::bit_cast<float>(at + d));
      v.push_back(std::bit_cast<float>(at - d));
    }
  }
  Rng r(3);
  for (int i = 0; i < (1 << 19); ++i) v.push_back(static_cast<float>(r.uniform(lo, hi)));
  for (float s : {0.0f, -0.0f, 1.0f, -1.0f, 0.625f, -0.625f, 88.72283935546875f, -103.97208404541015625f,
                  std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::min()})
    v.push_back(s);
  return v;
}

class VectorMath : public ::testing::TestWithParam<MathCase> {};

TEST_P(VectorMath, WithinStatedUlpOfLibm) {
  const MathCase &mc = GetParam();
  std::vector<float> xs = sweep(mc.lo, mc.hi);
  const Shape s{static_cast<int64_t>(xs.size())};
  auto f = singleOp(mc.kind, {f32(s)});
  ASSERT_TRUE(f);
  std::vector<HostTensor> in = {HostTensor::fromVector<float>(s, xs)};
  InterpreterOptions libm;
  libm.math = MathMode::Libm;
  Expected<std::vector<HostTensor>> want = interpret(*f, in, libm);
  ASSERT_TRUE(want);
  Expected<std::vector<HostTensor>> reference = interpret(*f, in);  // MathMode::Vector
  ASSERT_TRUE(reference);
  for (const TestTarget &t : testTargets()) {
    std::span<const float> g;
    std::vector<HostTensor> got;
    for (int threads : {1, 2}) {
      ExecutableOptions o;
      o.codegen = t.opts;
      o.codegen.math = MathMode::Vector;
      o.codegen.threads = threads;
      o.keepDenormals = true;
      Expected<std::unique_ptr<Executable>> ex = Executable::compile(*f, o);
      ASSERT_TRUE(ex) << ex.error().str();
      Expected<std::vector<HostTensor>> r = (*ex)->run(in);
      ASSERT_TRUE(r);
      // Bitwise the interpreter's on every target and thread count (any NaN equals any
      // NaN: LLVM does not promise NaN signs and payloads, e.g. of 1 + NaN).
      EXPECT_TRUE(sameElements((*r)[0], (*reference)[0]))
          << mnemonic(mc.kind) << " on " << t.name << ", " << threads << " thread(s)";
      got = std::move(*r);
    }
    g = got[0].data<float>();
    std::span<const float> w = (*want)[0].data<float>();
    int64_t worst = 0;
    size_t worstAt = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      if (std::isnan(w[i]) || std::isnan(g[i])) {
        EXPECT_TRUE(std::isnan(w[i]) && std::isnan(g[i])) << mnemonic(mc.kind) << "(" << xs[i] << ") = " << g[i]
                                                          << ", libm " << w[i];
        continue;
      }
      if (std::isinf(w[i]) || std::isinf(g[i])) {
        EXPECT_EQ(g[i], w[i]) << mnemonic(mc.kind) << "(" << xs[i] << ")";
        continue;
      }
      const int64_t d = ulpDistance(g[i], w[i]);
      if (d > worst) worst = d, worstAt = i;
    }
    std::cout << "  " << mnemonic(mc.kind) << " on " << t.name << ": max error " << worst << " ulp at x = "
              << xs[worstAt] << " (bound " << mc.bound << ")\n";
    EXPECT_LE(worst, mc.bound) << mnemonic(mc.kind) << "(" << xs[worstAt] << ") = " << g[worstAt] << ", libm "
                               << w[worstAt];
  }
}

INSTANTIATE_TEST_SUITE_P(F32, VectorMath, ::testing::ValuesIn(kMathCases),
                         [](const ::testing::TestParamInfo<MathCase> &p) {
                           return std::string(mnemonic(p.param.kind));
                         });

TEST(VectorMath, MatchesAcrossTargetsAndThreads) {
  // Random shapes through the usual harness: bitwise the interpreter's, 1 == 2 threads.
  Rng r(11);
  for (const MathCase &mc : kMathCases)
    for (int i = 0; i < 2; ++i) {
      InputStyle style;
      style.lo = mc.lo;
      style.hi = mc.hi;
      JitCase c = opCase(r, mc.kind, {f32(r.shape(r.uniformInt(1, 3)))}, NoAttrs{}, {}, style);
      c.math = MathMode::Vector;
      checkJitCase(c);
      c.math = MathMode::Libm;
      checkJitCase(c);
    }
}

TEST(VectorMath, VectorizesAtFullWidth) {
  // The default mode: no option needed.
  Expected<TargetInfo> host = resolveTarget({});
  ASSERT_TRUE(host);
  const std::string vec = fmt::format("<{} x float>", host->vectorBits / 32);
  for (const MathCase &mc : kMathCases) {
    auto f = singleOp(mc.kind, {f32({1000})});
    CodegenOptions o;
    Expected<std::string> ir = emitKernels(*f, EmitKind::LlvmOptimized, o);
    ASSERT_TRUE(ir) << ir.error().str();
    EXPECT_NE(ir->find(vec), std::string::npos) << mnemonic(mc.kind) << " is not vectorized:\n" << *ir;
    // Intrinsics (fabs, copysign) are instructions; a call of anything else is libm.
    EXPECT_FALSE(std::regex_search(*ir, std::regex("call .*@[a-z]+f?\\(")))
        << mnemonic(mc.kind) << " calls a scalar function:\n" << *ir;
  }
}

}  // namespace
}  // namespace dlc::test
