//===- tests/unit/codegen_ops_test.cpp - every op: JIT == interpreter -------===//
//
// For every op of ops.def, random cases (codegen_cases.h) compiled for the host, AVX2
// and generic targets, on 1 and 2 threads, must match the reference interpreter bitwise
// (transcendentals included: the JIT calls the same libm as the interpreter). The
// switch below is exhaustive, so a new op without JIT tests breaks the build; the test
// also fails if an op's generator returns no case.
//
//===----------------------------------------------------------------------===//
#include "codegen_cases.h"

namespace dlc::test {
namespace {

std::vector<JitCase> casesFor(OpKind k, Rng &r) {
  switch (k) {
  case OpKind::Constant: return constantCases(r);
  case OpKind::Iota: return iotaCases(r);
  case OpKind::Neg:
  case OpKind::Abs:
  case OpKind::Sign:
  case OpKind::Exp:
  case OpKind::Log:
  case OpKind::Tanh:
  case OpKind::Sigmoid:
  case OpKind::Sqrt:
  case OpKind::Rsqrt:
  case OpKind::StopGradient: return unaryCases(k, r);
  case OpKind::Cast: return castCases(r);
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Max:
  case OpKind::Min:
  case OpKind::Pow: return binaryCases(k, r);
  case OpKind::Compare: return compareCases(r);
  case OpKind::Select: return selectCases(r);
  case OpKind::Broadcast: return broadcastCases(r);
  case OpKind::Reshape: return reshapeCases(r);
  case OpKind::Transpose: return transposeCases(r);
  case OpKind::Slice: return sliceCases(r);
  case OpKind::Concat: return concatCases(r);
  case OpKind::Pad: return padCases(r);
  case OpKind::ReduceSum:
  case OpKind::ReduceMax: return reduceCases(k, r);
  case OpKind::MatMul: return matmulCases(r);
  case OpKind::Conv2d:
  case OpKind::Conv2dInputGrad:
  case OpKind::Conv2dFilterGrad: return convCases(k, r);
  case OpKind::MaxPool2d:
  case OpKind::MaxPool2dGrad:
  case OpKind::AvgPool2d:
  case OpKind::AvgPool2dGrad: return poolCases(k, r);
  case OpKind::OneHot: return oneHotCases(r);
  }
  return {};
}

class JitOp : public ::testing::TestWithParam<int> {};

TEST_P(JitOp, MatchesInterpreter) {
  const OpKind k = opKindAt(GetParam());
  Rng r(0x5eed0000u + static_cast<uint64_t>(GetParam()));
  std::vector<JitCase> cases = casesFor(k, r);
  ASSERT_FALSE(cases.empty()) << "op '" << mnemonic(k) << "' has no JIT test";
  for (const JitCase &c : cases) {
    checkJitCase(c);
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(AllOps, JitOp, ::testing::Range(0, kNumOps),
                         [](const ::testing::TestParamInfo<int> &p) {
                           return std::string(mnemonic(opKindAt(p.param)));
                         });

}  // namespace
}  // namespace dlc::test
