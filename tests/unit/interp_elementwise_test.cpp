//===- tests/unit/interp_elementwise_test.cpp - interpreter: elementwise ops ===//
//
// Sources (constant, iota) and every elementwise op, in f32, f64 and the integer types
// where the op allows them, against hand-computed or closed-form values (the closed
// forms call the functions the spec names: the C library for f64, and for f32 exp, log,
// tanh and sigmoid the default math mode's approximations of ir/approx_math.h).
//
//===----------------------------------------------------------------------===//
#include <climits>
#include <type_traits>

#include "ir/approx_math.h"

#include "interp_test_util.h"

namespace dlc::test {
namespace {

class InterpElementwise : public InterpTest {};

constexpr int32_t kI32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kI32Max = std::numeric_limits<int32_t>::max();
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();

INTERP_TEST(InterpElementwise, ConstantSplatAndDense, OpKind::Constant) {
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Constant, {}, f32({2, 2}), ConstantAttrs{{1, 2, 3, 4}}), {2, 2},
                              {1, 2, 3, 4}));
  EXPECT_TRUE(
      tensorEq<double>(runOp(OpKind::Constant, {}, f64({3}), ConstantAttrs{{2.5}}), {3}, {2.5, 2.5, 2.5}));
  // Conversion as `cast`: truncation toward zero for integers, x != 0 for i1.
  EXPECT_TRUE(
      tensorEq<int32_t>(runOp(OpKind::Constant, {}, i32({2}), ConstantAttrs{{-1.9, 2.9}}), {2}, {-1, 2}));
  EXPECT_TRUE(
      tensorEq<uint8_t>(runOp(OpKind::Constant, {}, i1({3}), ConstantAttrs{{0, 2, -1}}), {3}, {0, 1, 1}));
  EXPECT_TRUE(tensorEq<int64_t>(runOp(OpKind::Constant, {}, i64({1}), ConstantAttrs{{9007199254740992.0}}),
                                {1}, {int64_t{1} << 53}));
  // f32 rounds the double to nearest.
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Constant, {}, f32({}), ConstantAttrs{{0.1}}), {}, {0.1f}));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Constant, {}, f32({0, 3}), ConstantAttrs{{7}}), {0, 3}, {}));
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Constant, {}, f64({0}), ConstantAttrs{{}}), {0}, {}));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Constant, {}, f32({2}), ConstantAttrs{{kInf, kNan}}), {2},
                              {kInfF, kNanF}));
  EXPECT_EQ(opError(OpKind::Constant, {}, f32({3}), ConstantAttrs{{1, 2}}),
            "'constant' has 2 value(s) for the 3 element(s) of f32[3]");
}

INTERP_TEST(InterpElementwise, Iota, OpKind::Iota) {
  EXPECT_TRUE(
      tensorEq<float>(runOp(OpKind::Iota, {}, f32({2, 3}), IotaAttrs{1}), {2, 3}, {0, 1, 2, 0, 1, 2}));
  EXPECT_TRUE(
      tensorEq<int32_t>(runOp(OpKind::Iota, {}, i32({2, 3}), IotaAttrs{0}), {2, 3}, {0, 0, 0, 1, 1, 1}));
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Iota, {}, f64({4}), IotaAttrs{0}), {4}, {0, 1, 2, 3}));
  EXPECT_TRUE(tensorEq<int64_t>(runOp(OpKind::Iota, {}, i64({1, 0}), IotaAttrs{0}), {1, 0}, {}));
  EXPECT_EQ(opError(OpKind::Iota, {}, f32({2, 3}), IotaAttrs{2}),
            "'iota' dim 2 is not a dimension of f32[2,3]");
  EXPECT_EQ(opError(OpKind::Iota, {}, f32({}), IotaAttrs{0}), "'iota' dim 0 is not a dimension of f32[]");
}

/// Runs a unary op on f32 and f64 inputs \p x and checks it against \p ref applied per
/// element in the input's own type.
template <class Ref> void checkUnaryFloat(InterpTest &t, OpKind k, const std::vector<double> &x, Ref ref) {
  std::vector<float> xf(x.begin(), x.end()), wantF;
  std::vector<double> wantD;
  for (float v : xf)
    wantF.push_back(ref(v));
  for (double v : x)
    wantD.push_back(ref(v));
  const Shape s{static_cast<int64_t>(x.size())};
  EXPECT_TRUE(tensorEq<float>(t.runOp(k, {f32t(s, xf)}, f32(s), NoAttrs{}), s, wantF)) << mnemonic(k);
  EXPECT_TRUE(tensorEq<double>(t.runOp(k, {f64t(s, x)}, f64(s), NoAttrs{}), s, wantD)) << mnemonic(k);
}

INTERP_TEST(InterpElementwise, FloatUnaryOpsClosedForm, OpKind::Exp, OpKind::Log, OpKind::Tanh,
            OpKind::Sigmoid, OpKind::Sqrt, OpKind::Rsqrt) {
  const std::vector<double> x{0.0, -0.0, 0.5, 1.0, -1.0, 2.0, 4.0, -3.25, 88.0, -100.0, kInf, -kInf, kNan};
  checkUnaryFloat(*this, OpKind::Exp, x, []<class T>(T v) -> T {
    if constexpr (std::is_same_v<T, float>) return approxExp(v); else return std::exp(v);
  });
  checkUnaryFloat(*this, OpKind::Log, x, []<class T>(T v) -> T {
    if constexpr (std::is_same_v<T, float>) return approxLog(v); else return std::log(v);
  });
  checkUnaryFloat(*this, OpKind::Tanh, x, []<class T>(T v) -> T {
    if constexpr (std::is_same_v<T, float>) return approxTanh(v); else return std::tanh(v);
  });
  checkUnaryFloat(*this, OpKind::Sigmoid, x, []<class T>(T v) -> T {
    if constexpr (std::is_same_v<T, float>) return approxSigmoid(v); else return T(1) / (T(1) + std::exp(-v));
  });
  checkUnaryFloat(*this, OpKind::Sqrt, x, []<class T>(T v) { return std::sqrt(v); });
  checkUnaryFloat(*this, OpKind::Rsqrt, x, []<class T>(T v) { return T(1) / std::sqrt(v); });
}

INTERP_TEST(InterpElementwise, FloatUnaryOpsHandValues, OpKind::Exp, OpKind::Log, OpKind::Tanh,
            OpKind::Sigmoid, OpKind::Sqrt, OpKind::Rsqrt) {
  const Shape s{5};
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Exp, {f32t(s, {0, -kInfF, kInfF, kNanF, -0.0f})}, f32(s)), s,
                              {1, 0, kInfF, kNanF, 1}));
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Log, {f64t(s, {1, 0, -1, kInf, kNan})}, f64(s)), s,
                               {0, -kInf, kNan, kInf, kNan}));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Tanh, {f32t(s, {0, -0.0f, kInfF, -kInfF, kNanF})}, f32(s)), s,
                              {0, -0.0f, 1, -1, kNanF}));
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Sigmoid, {f64t(s, {0, kInf, -kInf, -1000, kNan})}, f64(s)), s,
                               {0.5, 1, 0, 0, kNan}));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Sqrt, {f32t(s, {4, 0, -0.0f, -1, kInfF})}, f32(s)), s,
                              {2, 0, -0.0f, kNanF, kInfF}));
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Rsqrt, {f64t(s, {4, 0.25, 0, kInf, -1})}, f64(s)), s,
                               {0.5, 2, kInf, 0, kNan}));
  // Scalars and empty tensors.
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Sqrt, {f32t({}, {9})}, f32({})), {}, {3}));
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Exp, {f64t({2, 0}, {})}, f64({2, 0})), {2, 0}, {}));
}

INTERP_TEST(InterpElementwise, FloatOnlyOpsRejectIntegers) {
  for (OpKind k : {OpKind::Exp, OpKind::Log, OpKind::Tanh, OpKind::Sigmoid, OpKind::Sqrt, OpKind::Rsqrt})
    EXPECT_EQ(opError(k, {i32t({1}, {1})}, i32({1})),
              fmt::format("'{}' does not accept i32 operands", mnemonic(k)));
  EXPECT_EQ(opError(OpKind::Pow, {i32t({1}, {2}), i32t({1}, {3})}, i32({1})),
            "'pow' does not accept i32 operands");
  EXPECT_EQ(opError(OpKind::Neg, {i1t({1}, {1})}, i1({1})), "'neg' does not accept i1 operands");
  EXPECT_EQ(opError(OpKind::Add, {i1t({1}, {1}), i1t({1}, {1})}, i1({1})),
            "'add' does not accept i1 operands");
}

INTERP_TEST(InterpElementwise, NegAbsSign, OpKind::Neg, OpKind::Abs, OpKind::Sign) {
  const Shape s{6};
  const HostTensor xf = f32t(s, {1.5f, -2, 0, -0.0f, kInfF, kNanF});
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Neg, {xf}, f32(s)), s, {-1.5f, 2, -0.0f, 0, -kInfF, kNanF}));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Abs, {xf}, f32(s)), s, {1.5f, 2, 0, 0, kInfF, kNanF}));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Sign, {xf}, f32(s)), s, {1, -1, 0, -0.0f, 1, kNanF}));
  const HostTensor xd = f64t(s, {0.25, -1e300, 0, -0.0, -kInf, kNan});
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Neg, {xd}, f64(s)), s, {-0.25, 1e300, -0.0, 0, kInf, kNan}));
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Abs, {xd}, f64(s)), s, {0.25, 1e300, 0, 0, kInf, kNan}));
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Sign, {xd}, f64(s)), s, {1, -1, 0, -0.0, -1, kNan}));
  // Integers wrap: -INT_MIN == INT_MIN and |INT_MIN| == INT_MIN.
  const Shape si{5};
  const HostTensor xi = i32t(si, {5, -3, 0, kI32Min, kI32Max});
  EXPECT_TRUE(tensorEq<int32_t>(runOp(OpKind::Neg, {xi}, i32(si)), si, {-5, 3, 0, kI32Min, -kI32Max}));
  EXPECT_TRUE(tensorEq<int32_t>(runOp(OpKind::Abs, {xi}, i32(si)), si, {5, 3, 0, kI32Min, kI32Max}));
  EXPECT_TRUE(tensorEq<int32_t>(runOp(OpKind::Sign, {xi}, i32(si)), si, {1, -1, 0, -1, 1}));
  const HostTensor xl = i64t({3}, {kI64Min, -7, 0});
  EXPECT_TRUE(tensorEq<int64_t>(runOp(OpKind::Neg, {xl}, i64({3})), {3}, {kI64Min, 7, 0}));
  EXPECT_TRUE(tensorEq<int64_t>(runOp(OpKind::Abs, {xl}, i64({3})), {3}, {kI64Min, 7, 0}));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Neg, {f32t({}, {2})}, f32({})), {}, {-2}));
}

INTERP_TEST(InterpElementwise, StopGradientIsTheIdentity, OpKind::StopGradient) {
  const Shape s{6};
  const HostTensor xf = f32t(s, {1.5f, -2, 0, -0.0f, kInfF, kNanF});
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::StopGradient, {xf}, f32(s)), s, {1.5f, -2, 0, -0.0f, kInfF, kNanF}));
  const HostTensor xi = i32t({3}, {kI32Min, -7, kI32Max});
  EXPECT_TRUE(tensorEq<int32_t>(runOp(OpKind::StopGradient, {xi}, i32({3})), {3}, {kI32Min, -7, kI32Max}));
  EXPECT_EQ(opError(OpKind::StopGradient, {i1t({1}, {1})}, i1({1})), "'stop_gradient' does not accept i1 operands");
}

INTERP_TEST(InterpElementwise, AddSub, OpKind::Add, OpKind::Sub) {
  const Shape s{5};
  EXPECT_TRUE(tensorEq<float>(
      runOp(OpKind::Add, {f32t(s, {1, 0.1f, kInfF, kInfF, -0.0f}), f32t(s, {2, 0.2f, -kInfF, 1, -0.0f})},
            f32(s)),
      s, {3, 0.1f + 0.2f, kNanF, kInfF, -0.0f}));
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Add, {f64t({2}, {0.1, 1e16}), f64t({2}, {0.2, 1})}, f64({2})),
                               {2}, {0.30000000000000004, 1e16}));
  EXPECT_TRUE(
      tensorEq<int32_t>(runOp(OpKind::Add, {i32t({3}, {kI32Max, -5, 7}), i32t({3}, {1, 3, -7})}, i32({3})),
                        {3}, {kI32Min, -2, 0}));
  EXPECT_TRUE(
      tensorEq<float>(runOp(OpKind::Sub, {f32t({3}, {5, 0, kInfF}), f32t({3}, {3, 0, kInfF})}, f32({3})), {3},
                      {2, 0, kNanF}));
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Sub, {f64t({2}, {1, -0.0}), f64t({2}, {0.75, 0})}, f64({2})),
                               {2}, {0.25, -0.0}));
  EXPECT_TRUE(tensorEq<int32_t>(runOp(OpKind::Sub, {i32t({2}, {kI32Min, 7}), i32t({2}, {1, 10})}, i32({2})),
                                {2}, {kI32Max, -3}));
  EXPECT_TRUE(tensorEq<int64_t>(runOp(OpKind::Add, {i64t({1}, {kI64Max}), i64t({1}, {1})}, i64({1})), {1},
                                {kI64Min}));
  // Scalars and empty tensors.
  EXPECT_TRUE(
      tensorEq<float>(runOp(OpKind::Add, {f32t({}, {1.5f}), f32t({}, {2.25f})}, f32({})), {}, {3.75f}));
  EXPECT_TRUE(
      tensorEq<float>(runOp(OpKind::Sub, {f32t({0, 3}, {}), f32t({0, 3}, {})}, f32({0, 3})), {0, 3}, {}));
}

INTERP_TEST(InterpElementwise, MulDiv, OpKind::Mul, OpKind::Div) {
  EXPECT_TRUE(
      tensorEq<float>(runOp(OpKind::Mul, {f32t({4}, {2, -3, 0, kInfF}), f32t({4}, {4, 5, -1, 0})}, f32({4})),
                      {4}, {8, -15, -0.0f, kNanF}));
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Mul, {f64t({2}, {0.1, 1e200}), f64t({2}, {3, 1e200})}, f64({2})),
                               {2}, {0.1 * 3, kInf}));
  // 65536 * 65536 == 2^32 wraps to 0.
  EXPECT_TRUE(tensorEq<int32_t>(runOp(OpKind::Mul, {i32t({2}, {65536, -7}), i32t({2}, {65536, 6})}, i32({2})),
                                {2}, {0, -42}));
  EXPECT_TRUE(
      tensorEq<float>(runOp(OpKind::Div, {f32t({5}, {1, 1, -1, 0, 7}), f32t({5}, {4, 0, 0, 0, 2})}, f32({5})),
                      {5}, {0.25f, kInfF, -kInfF, kNanF, 3.5f}));
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Div, {f64t({2}, {1, 1}), f64t({2}, {3, -0.0})}, f64({2})), {2},
                               {1.0 / 3.0, -kInf}));
  // Integer division truncates toward zero; x / 0 == 0; INT_MIN / -1 == INT_MIN.
  EXPECT_TRUE(tensorEq<int32_t>(
      runOp(OpKind::Div, {i32t({6}, {7, -7, 7, 5, kI32Min, kI32Min}), i32t({6}, {2, 2, 0, -1, -1, 1})},
            i32({6})),
      {6}, {3, -3, 0, -5, kI32Min, kI32Min}));
  EXPECT_TRUE(tensorEq<int64_t>(runOp(OpKind::Div, {i64t({2}, {kI64Min, 9}), i64t({2}, {-1, 0})}, i64({2})),
                                {2}, {kI64Min, 0}));
}

INTERP_TEST(InterpElementwise, MaxMinPropagateNaN, OpKind::Max, OpKind::Min) {
  const Shape s{6};
  const HostTensor a = f32t(s, {1, 5, kNanF, 2, -0.0f, 0}), b = f32t(s, {3, 2, 1, kNanF, 0, -0.0f});
  // Ties (including +0 vs -0) return the first operand.
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Max, {a, b}, f32(s)), s, {3, 5, kNanF, kNanF, -0.0f, 0}));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Min, {a, b}, f32(s)), s, {1, 2, kNanF, kNanF, -0.0f, 0}));
  const HostTensor ad = f64t({3}, {-kInf, kNan, 4}), bd = f64t({3}, {-1e308, -kInf, kInf});
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Max, {ad, bd}, f64({3})), {3}, {-1e308, kNan, kInf}));
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Min, {ad, bd}, f64({3})), {3}, {-kInf, kNan, 4}));
  const HostTensor ai = i32t({3}, {kI32Min, 3, -1}), bi = i32t({3}, {0, -3, -1});
  EXPECT_TRUE(tensorEq<int32_t>(runOp(OpKind::Max, {ai, bi}, i32({3})), {3}, {0, 3, -1}));
  EXPECT_TRUE(tensorEq<int32_t>(runOp(OpKind::Min, {ai, bi}, i32({3})), {3}, {kI32Min, -3, -1}));
  // relu as max(x, 0) on a scalar.
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Max, {f32t({}, {-2}), f32t({}, {0})}, f32({})), {}, {0}));
}

INTERP_TEST(InterpElementwise, Pow, OpKind::Pow) {
  const Shape s{7};
  const std::vector<float> a{2, 4, 0, -8, 2, 1, -2}, b{10, 0.5f, 0, 1.0f / 3.0f, -1, kNanF, 3};
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Pow, {f32t(s, a), f32t(s, b)}, f32(s)), s,
                              {1024, 2, 1, kNanF, 0.5f, 1, -8}));
  std::vector<float> wantF;
  for (size_t i = 0; i < a.size(); ++i)
    wantF.push_back(std::pow(a[i], b[i]));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Pow, {f32t(s, a), f32t(s, b)}, f32(s)), s, wantF));
  EXPECT_TRUE(
      tensorEq<double>(runOp(OpKind::Pow, {f64t({3}, {2, 10, 0}), f64t({3}, {0.5, -2, -1})}, f64({3})), {3},
                       {std::pow(2.0, 0.5), std::pow(10.0, -2.0), kInf}));
}

INTERP_TEST(InterpElementwise, CompareAllDirections, OpKind::Compare) {
  const Shape s{5};
  const HostTensor a = f32t(s, {1, 2, 3, kNanF, 1}), b = f32t(s, {2, 2, 1, 1, kNanF});
  auto cmp = [&](const HostTensor &x, const HostTensor &y, CmpDir d) {
    return runOp(OpKind::Compare, {x, y}, i1(x.shape()), CompareAttrs{d});
  };
  // NaN compares false except `ne`.
  EXPECT_TRUE(tensorEq<uint8_t>(cmp(a, b, CmpDir::Eq), s, {0, 1, 0, 0, 0}));
  EXPECT_TRUE(tensorEq<uint8_t>(cmp(a, b, CmpDir::Ne), s, {1, 0, 1, 1, 1}));
  EXPECT_TRUE(tensorEq<uint8_t>(cmp(a, b, CmpDir::Lt), s, {1, 0, 0, 0, 0}));
  EXPECT_TRUE(tensorEq<uint8_t>(cmp(a, b, CmpDir::Le), s, {1, 1, 0, 0, 0}));
  EXPECT_TRUE(tensorEq<uint8_t>(cmp(a, b, CmpDir::Gt), s, {0, 0, 1, 0, 0}));
  EXPECT_TRUE(tensorEq<uint8_t>(cmp(a, b, CmpDir::Ge), s, {0, 1, 1, 0, 0}));
  const HostTensor ad = f64t({3}, {-0.0, kInf, kNan}), bd = f64t({3}, {0, kInf, kNan});
  EXPECT_TRUE(tensorEq<uint8_t>(cmp(ad, bd, CmpDir::Eq), {3}, {1, 1, 0}));
  EXPECT_TRUE(tensorEq<uint8_t>(cmp(ad, bd, CmpDir::Ne), {3}, {0, 0, 1}));
  const HostTensor ai = i32t({3}, {-1, 5, 5}), bi = i32t({3}, {0, 5, -5});
  EXPECT_TRUE(tensorEq<uint8_t>(cmp(ai, bi, CmpDir::Lt), {3}, {1, 0, 0}));
  EXPECT_TRUE(tensorEq<uint8_t>(cmp(ai, bi, CmpDir::Ge), {3}, {0, 1, 1}));
  EXPECT_TRUE(tensorEq<uint8_t>(cmp(i1t({2}, {0, 1}), i1t({2}, {1, 1}), CmpDir::Eq), {2}, {0, 1}));
  EXPECT_TRUE(tensorEq<uint8_t>(cmp(i64t({}, {kI64Max}), i64t({}, {kI64Max - 1}), CmpDir::Gt), {}, {1}));
  EXPECT_EQ(opError(OpKind::Compare, {a, b}, f32(s), CompareAttrs{CmpDir::Eq}),
            "'compare' result type f32[5] should be i1[5]");
}

INTERP_TEST(InterpElementwise, Select, OpKind::Select) {
  const HostTensor p = i1t({4}, {1, 0, 1, 0});
  EXPECT_TRUE(tensorEq<float>(
      runOp(OpKind::Select, {p, f32t({4}, {1, 2, 3, 4}), f32t({4}, {10, 20, 30, kNanF})}, f32({4})), {4},
      {1, 20, 3, kNanF}));
  EXPECT_TRUE(tensorEq<int32_t>(
      runOp(OpKind::Select, {p, i32t({4}, {1, 2, 3, 4}), i32t({4}, {-1, -2, -3, -4})}, i32({4})), {4},
      {1, -2, 3, -4}));
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Select, {i1t({}, {0}), f64t({}, {1}), f64t({}, {2})}, f64({})),
                               {}, {2}));
  const HostTensor zeros(f32({4}));
  EXPECT_EQ(opError(OpKind::Select, {f32t({4}, {1, 0, 1, 0}), zeros, zeros}, f32({4})),
            "'select' predicate type f32[4] should be i1[4]");
}

INTERP_TEST(InterpElementwise, Cast, OpKind::Cast) {
  // float -> int: truncation toward zero, NaN -> 0, saturation.
  EXPECT_TRUE(tensorEq<int32_t>(
      runOp(OpKind::Cast, {f32t({7}, {1.7f, -1.7f, kNanF, 3e9f, -3e9f, 0.5f, kInfF})}, i32({7})), {7},
      {1, -1, 0, kI32Max, kI32Min, 0, kI32Max}));
  EXPECT_TRUE(tensorEq<int64_t>(runOp(OpKind::Cast, {f64t({3}, {1e19, -1e19, -2.5})}, i64({3})), {3},
                                {kI64Max, kI64Min, -2}));
  // -> i1 is x != 0 (NaN != 0).
  EXPECT_TRUE(
      tensorEq<uint8_t>(runOp(OpKind::Cast, {f32t({4}, {0, -0.0f, 2, kNanF})}, i1({4})), {4}, {0, 0, 1, 1}));
  EXPECT_TRUE(tensorEq<uint8_t>(runOp(OpKind::Cast, {i32t({3}, {0, -5, 1})}, i1({3})), {3}, {0, 1, 1}));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Cast, {i1t({2}, {1, 0})}, f32({2})), {2}, {1, 0}));
  EXPECT_TRUE(
      tensorEq<double>(runOp(OpKind::Cast, {i32t({2}, {kI32Min, 3})}, f64({2})), {2}, {-2147483648.0, 3}));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Cast, {f64t({2}, {0.1, 1e300})}, f32({2})), {2}, {0.1f, kInfF}));
  EXPECT_TRUE(
      tensorEq<double>(runOp(OpKind::Cast, {f32t({}, {0.1f})}, f64({})), {}, {static_cast<double>(0.1f)}));
  EXPECT_TRUE(tensorEq<int32_t>(runOp(OpKind::Cast, {i64t({3}, {kI64Max, kI64Min, -9})}, i32({3})), {3},
                                {kI32Max, kI32Min, -9}));
  // A same-type cast is exact even where double is not (2^53 + 1).
  const int64_t big = (int64_t{1} << 53) + 1;
  EXPECT_TRUE(tensorEq<int64_t>(runOp(OpKind::Cast, {i64t({1}, {big})}, i64({1})), {1}, {big}));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Cast, {f32t({0}, {})}, f32({0})), {0}, {}));
  EXPECT_EQ(opError(OpKind::Cast, {f32t({2}, {1, 2})}, i32({3})),
            "'cast' operand shape [2] differs from the result shape [3]");
}

}  // namespace
}  // namespace dlc::test
