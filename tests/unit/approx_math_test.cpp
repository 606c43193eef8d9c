//===- tests/unit/approx_math_test.cpp - the reference f32 approximations ---===//
//
// ir/approx_math.h: approxExp, approxLog, approxTanh and approxSigmoid (MathMode::Vector,
// the default of the interpreter and the backend) against glibc over a whole-range sweep
// -- every 251st bit pattern (all signs and exponents, denormals, infinities, NaNs) plus
// dense samples where the functions are not saturated -- within the stated ULP bounds,
// with NaN and inf exactly where glibc has them. The interpreter uses them in the
// default mode and glibc in MathMode::Libm. (codegen_math_test.cpp checks the JIT.)
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <bit>
#include <cmath>
#include <iostream>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "ir/approx_math.h"
#include "ir/builder.h"
#include "ir/interpreter.h"

namespace dlc::test {
namespace {

struct RefCase {
  const char *name;
  float (*approx)(float);
  float (*libm)(float);
  int64_t bound;
  double lo, hi;  ///< sampled densely
};

float libmExp(float x) { return std::exp(x); }
float libmLog(float x) { return std::log(x); }
float libmTanh(float x) { return std::tanh(x); }
float libmSigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

const RefCase kRefCases[] = {
    {"exp", approxExp, libmExp, kVectorExpUlp, -104, 89},
    {"log", approxLog, libmLog, kVectorLogUlp, 0, 10},
    {"tanh", approxTanh, libmTanh, kVectorTanhUlp, -10, 10},
    {"sigmoid", approxSigmoid, libmSigmoid, kVectorSigmoidUlp, -90, 20},
};

int64_t ulps(float a, float b) {
  auto key = [](float x) {
    int32_t i = std::bit_cast<int32_t>(x);
    return i < 0 ? static_cast<int64_t>(INT32_MIN) - i : static_cast<int64_t>(i);
  };
  int64_t d = key(a) - key(b);
  return d < 0 ? -d : d;
}

class ApproxMath : public ::testing::TestWithParam<RefCase> {};

TEST_P(ApproxMath, WithinStatedUlpOfLibm) {
  const RefCase &c = GetParam();
  int64_t worst = 0, checked = 0;
  float worstAt = 0;
  auto check = [&](float x) {
    const float got = c.approx(x), want = c.libm(x);
    ++checked;
    if (std::isnan(got) || std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got) && std::isnan(want)) << c.name << "(" << x << ") = " << got << ", libm " << want;
      return;
    }
    if (std::isinf(got) || std::isinf(want)) {
      EXPECT_EQ(got, want) << c.name << "(" << x << ")";
      return;
    }
    const int64_t d = ulps(got, want);
    if (d > worst) worst = d, worstAt = x;
  };
  for (uint64_t bits = 0; bits < (uint64_t{1} << 32); bits += 251) check(std::bit_cast<float>(static_cast<uint32_t>(bits)));
  std::mt19937_64 g(7);
  std::uniform_real_distribution<double> u(c.lo, c.hi);
  for (int i = 0; i < (1 << 20); ++i) check(static_cast<float>(u(g)));
  for (float s : {0.0f, -0.0f, 1.0f, -1.0f, 0.625f, -0.625f, 20.0f, 88.72283935546875f, 88.72284f,
                  -103.97208404541015625f, -103.9721f, std::numeric_limits<float>::denorm_min(),
                  std::numeric_limits<float>::min(), std::numeric_limits<float>::max(),
                  std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()})
    check(s);
  std::cout << "  " << c.name << ": max error " << worst << " ulp at x = " << worstAt << " over " << checked
            << " inputs (bound " << c.bound << ")\n";
  EXPECT_LE(worst, c.bound) << c.name << "(" << worstAt << ") = " << c.approx(worstAt) << ", libm "
                            << c.libm(worstAt);
}

/// Every one of the 2^32 f32 inputs (the figures of docs/codegen.md). Minutes of CPU per
/// function, so disabled by default: run it with `build/tests/dlc_unit_tests
/// --gtest_also_run_disabled_tests --gtest_filter='F32/ApproxMath.DISABLED_Exhaustive*/tanh'`.
TEST_P(ApproxMath, DISABLED_ExhaustiveWithinStatedUlp) {
  const RefCase &c = GetParam();
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  struct Part {
    int64_t worst = 0;
    float worstAt = 0;
    uint64_t mismatches = 0;  ///< NaN or inf where glibc has none, or the other way
    uint64_t hist[5] = {};    ///< inputs 0, 1, 2, 3, >= 4 ULP away
  };
  std::vector<Part> parts(threads);
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      Part &p = parts[t];
      for (uint64_t bits = t; bits < (uint64_t{1} << 32); bits += threads) {
        const float x = std::bit_cast<float>(static_cast<uint32_t>(bits));
        const float got = c.approx(x), want = c.libm(x);
        if (std::isnan(got) || std::isnan(want) || std::isinf(got) || std::isinf(want)) {
          const bool same = std::isnan(got) ? std::isnan(want) : got == want;
          p.mismatches += same ? 0 : 1;
          continue;
        }
        const int64_t d = ulps(got, want);
        ++p.hist[std::min<int64_t>(d, 4)];
        if (d > p.worst) p.worst = d, p.worstAt = x;
      }
    });
  for (std::thread &t : pool) t.join();
  Part all;
  for (const Part &p : parts) {
    if (p.worst > all.worst) all.worst = p.worst, all.worstAt = p.worstAt;
    all.mismatches += p.mismatches;
    for (int k = 0; k < 5; ++k) all.hist[k] += p.hist[k];
  }
  std::cout << "  " << c.name << ": max error " << all.worst << " ulp at x = " << all.worstAt
            << " over all 2^32 inputs (bound " << c.bound << "); inputs 0/1/2/3/>=4 ulp away: " << all.hist[0] << " / "
            << all.hist[1] << " / " << all.hist[2] << " / " << all.hist[3] << " / " << all.hist[4] << "\n";
  EXPECT_EQ(all.mismatches, 0u) << c.name << ": NaN or inf where glibc has none, or the other way";
  EXPECT_LE(all.worst, c.bound) << c.name << "(" << all.worstAt << ") = " << c.approx(all.worstAt) << ", libm "
                                << c.libm(all.worstAt);
}

INSTANTIATE_TEST_SUITE_P(F32, ApproxMath, ::testing::ValuesIn(kRefCases),
                         [](const ::testing::TestParamInfo<RefCase> &p) { return std::string(p.param.name); });

TEST(ApproxMath, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(approxExp(-inf), 0.0f);
  EXPECT_EQ(approxExp(inf), inf);
  EXPECT_EQ(approxExp(0.0f), 1.0f);
  EXPECT_EQ(approxExp(89.0f), inf);
  EXPECT_EQ(approxExp(-104.0f), 0.0f);
  EXPECT_EQ(approxLog(0.0f), -inf);
  EXPECT_EQ(approxLog(-0.0f), -inf);
  EXPECT_EQ(approxLog(1.0f), 0.0f);
  EXPECT_EQ(approxLog(inf), inf);
  EXPECT_TRUE(std::isnan(approxLog(-1.0f)));
  EXPECT_TRUE(std::isnan(approxLog(-inf)));
  EXPECT_EQ(approxTanh(inf), 1.0f);
  EXPECT_EQ(approxTanh(-inf), -1.0f);
  EXPECT_TRUE(std::signbit(approxTanh(-0.0f)));
  EXPECT_EQ(approxSigmoid(inf), 1.0f);
  EXPECT_EQ(approxSigmoid(-inf), 0.0f);
  // A NaN input comes back unchanged (payload and sign).
  const float payload = std::bit_cast<float>(0xFFC01234u);
  for (float (*fn)(float) : {approxExp, approxLog, approxTanh}) {
    EXPECT_EQ(std::bit_cast<uint32_t>(fn(payload)), 0xFFC01234u);
    EXPECT_TRUE(std::isnan(fn(nan)));
  }
  EXPECT_TRUE(std::isnan(approxSigmoid(nan)));
}

/// The interpreter computes f32 exp/log/tanh/sigmoid with the approximations by default
/// and with glibc in MathMode::Libm; f64 always with the C library.
TEST(ApproxMath, InterpreterFollowsTheMathMode) {
  const std::vector<float> xs = {-50.5f, -3.25f, -0.3f, 0.0f, 1e-3f, 0.7f, 2.5f, 9.75f, 42.0f};
  const Shape s{static_cast<int64_t>(xs.size())};
  struct Op {
    OpKind kind;
    float (*approx)(float);
    float (*libm)(float);
  };
  for (const Op &op : {Op{OpKind::Exp, approxExp, libmExp}, Op{OpKind::Log, approxLog, libmLog},
                       Op{OpKind::Tanh, approxTanh, libmTanh}, Op{OpKind::Sigmoid, approxSigmoid, libmSigmoid}}) {
    Function f("f");
    Value *x = f.addArg(TensorType{DType::F32, s}, "x");
    Builder b(f);
    f.setResults({b.create(op.kind, {x})});
    std::vector<HostTensor> in = {HostTensor::fromVector<float>(s, xs)};
    for (MathMode mode : {MathMode::Vector, MathMode::Libm}) {
      InterpreterOptions o;
      o.math = mode;
      Expected<std::vector<HostTensor>> r = interpret(f, in, o);
      ASSERT_TRUE(r) << r.error().str();
      for (size_t i = 0; i < xs.size(); ++i) {
        const float want = mode == MathMode::Vector ? op.approx(xs[i]) : op.libm(xs[i]);
        const float got = (*r)[0].data<float>()[i];
        EXPECT_TRUE(std::bit_cast<uint32_t>(got) == std::bit_cast<uint32_t>(want) || (std::isnan(got) && std::isnan(want)))
            << mnemonic(op.kind) << "(" << xs[i] << "): " << got << " vs " << want;
      }
    }
    // The default is the approximation.
    Expected<std::vector<HostTensor>> d = interpret(f, in);
    ASSERT_TRUE(d);
    EXPECT_EQ(std::bit_cast<uint32_t>((*d)[0].data<float>()[4]), std::bit_cast<uint32_t>(op.approx(xs[4])));
  }
}

}  // namespace
}  // namespace dlc::test
