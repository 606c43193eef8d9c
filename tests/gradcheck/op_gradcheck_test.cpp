//===- tests/gradcheck/op_gradcheck_test.cpp - gradient checks from ops.def ===//
//
// One test per op of ops.def, generated from the table (STYLE 2.3): every op without
// kNoGrad is probed (probes.h) and its gradient checked against central differences in
// f64, and its Hessian-vector product (grad-of-grad) against central differences of the
// gradient. A separate test fails when an op that claims a gradient has no probe.
//
//===----------------------------------------------------------------------===//
#include <gtest/gtest.h>

#include <cmath>

#include "tests/gradcheck/probes.h"

namespace dlc::gradcheck {
namespace {

constexpr double kFirstOrderTol = 1e-6;
constexpr double kSecondOrderTol = 1e-6;
constexpr double kHvpEps = 1e-5;

std::vector<OpKind> differentiableOps() {
  std::vector<OpKind> out;
  for (int i = 0; i < kNumOps; ++i)
    if (!hasTrait(opKindAt(i), kNoGrad)) out.push_back(opKindAt(i));
  return out;
}

std::string opName(const ::testing::TestParamInfo<OpKind> &info) { return std::string(mnemonic(info.param)); }

TEST(OpTable, EveryOpWithAGradientHasAProbe) {
  for (int i = 0; i < kNumOps; ++i) {
    OpKind k = opKindAt(i);
    if (hasTrait(k, kNoGrad))
      EXPECT_TRUE(probesFor(k).empty()) << mnemonic(k) << " is kNoGrad but has a probe";
    else
      EXPECT_FALSE(probesFor(k).empty()) << mnemonic(k) << " has a gradient rule but no gradient-check probe";
  }
}

TEST(Harness, DetectsAWrongGradient) {
  // A negative control: an error of 1e-5 in one coordinate, and a NaN, must fail the
  // tolerance; exact agreement and rounding-level noise must not.
  const std::vector<double> numeric{0.5, -0.25, 1e-12, 2.0};
  const std::vector<std::string> labels{"a", "b", "c", "d"};
  std::vector<double> wrong = numeric;
  wrong[1] *= 1 + 1e-5;
  EXPECT_GT(compareValues(wrong, numeric, labels).maxRel, kFirstOrderTol);
  EXPECT_EQ(compareValues(wrong, numeric, labels).worst, "b: analytic -0.2500025 vs numeric -0.25");
  wrong = numeric;
  wrong[2] = NAN;
  EXPECT_GT(compareValues(wrong, numeric, labels).maxRel, kFirstOrderTol);
  std::vector<double> close = numeric;
  close[3] += 1e-12;
  close[2] = 0.0;  // a near-zero component is held to the gradient's scale
  EXPECT_LE(compareValues(close, numeric, labels).maxRel, kFirstOrderTol);
}

class VjpCheck : public ::testing::TestWithParam<OpKind> {};

TEST_P(VjpCheck, MatchesCentralDifferences) {
  for (const Probe &p : probesFor(GetParam())) {
    SCOPED_TRACE(p.name);
    Rng rng(0x5eed + static_cast<uint64_t>(GetParam()));
    Module m;
    buildProbeFunction(m, p, rng);
    std::vector<HostTensor> inputs = probeInputs(p, rng);
    std::vector<std::string> wrt;
    for (const ProbeArg &a : p.args)
      wrt.push_back(a.name);
    ErrorStats s = checkGradients(m, "probe", inputs, wrt, {.eps = p.eps});
    EXPECT_LE(s.maxRel, kFirstOrderTol) << "worst: " << s.worst;
    EXPECT_GT(s.count, 0);
    fmt::print("[gradcheck] {:32} first order:  max rel err {:.2e} over {} coordinates\n", p.name, s.maxRel,
               s.count);
  }
}

TEST_P(VjpCheck, HessianVectorProductMatchesCentralDifferences) {
  for (const Probe &p : probesFor(GetParam())) {
    SCOPED_TRACE(p.name);
    Rng rng(0xbeef + static_cast<uint64_t>(GetParam()));
    Module m;
    buildProbeFunction(m, p, rng);
    std::vector<HostTensor> inputs = probeInputs(p, rng);
    std::vector<std::string> wrt;
    for (const ProbeArg &a : p.args)
      wrt.push_back(a.name);
    const double eps = GetParam() == OpKind::Cast ? p.eps : kHvpEps;
    ErrorStats s = checkHvp(m, "probe", inputs, wrt, {.eps = eps});
    EXPECT_LE(s.maxRel, kSecondOrderTol) << "worst: " << s.worst;
    fmt::print("[gradcheck] {:32} second order: max rel err {:.2e} over {} coordinates\n", p.name, s.maxRel,
               s.count);
  }
}

INSTANTIATE_TEST_SUITE_P(AllOps, VjpCheck, ::testing::ValuesIn(differentiableOps()), opName);

}  // namespace
}  // namespace dlc::gradcheck
