//===- tests/unit/codegen_cases_elementwise.cpp - cases: sources, elementwise ===//
#include "codegen_cases.h"

namespace dlc::test {

JitCase opCase(Rng &r, OpKind k, const std::vector<TensorType> &argTypes, Attrs attrs,
               std::optional<TensorType> given, const InputStyle &style) {
  JitCase c;
  c.fn = singleOp(k, argTypes, std::move(attrs), std::move(given));
  std::string types;
  for (const TensorType &t : argTypes) {
    c.inputs.push_back(r.tensor(t, style));
    types += (types.empty() ? "" : ", ") + typeString(t);
  }
  c.label = fmt::format("{}({})", mnemonic(k), types);
  return c;
}

namespace {

const std::vector<DType> kNumeric = {DType::F32, DType::F64, DType::I32, DType::I64};
const std::vector<DType> kFloats = {DType::F32, DType::F64};
const std::vector<DType> kAll = {DType::F32, DType::F64, DType::I32, DType::I64, DType::I1};

/// Shapes every elementwise op is tried on: a scalar, a vector that is no multiple of
/// 16, and random shapes of rank 1-4.
std::vector<Shape> elementwiseShapes(Rng &r) {
  return {Shape{}, Shape{67}, r.shape(2), r.shape(r.uniformInt(1, 4))};
}

InputStyle unaryStyle(OpKind k) {
  InputStyle s;
  s.special = 0.1;
  if (k == OpKind::Exp) {  // overflow, and underflow into denormals
    s.lo = -110, s.hi = 110, s.special = 0.03;
  } else if (k == OpKind::Log || k == OpKind::Sqrt || k == OpKind::Rsqrt) {
    s.lo = 0, s.hi = 50;
  } else if (k == OpKind::Tanh || k == OpKind::Sigmoid) {
    s.lo = -30, s.hi = 30, s.special = 0.03;
  }
  return s;
}

}  // namespace

std::vector<JitCase> constantCases(Rng &r) {
  std::vector<JitCase> cases;
  for (DType d : kAll) {
    Shape s = r.shape(r.uniformInt(0, 3));
    cases.push_back(opCase(r, OpKind::Constant, {}, ConstantAttrs{{r.uniform(-1e3, 1e3)}}, TensorType{d, s}));
    std::vector<double> values;
    for (int64_t i = 0; i < numElements(s).value_or(0); ++i)
      values.push_back(r.coin(0.1) ? std::numeric_limits<double>::infinity() : r.uniform(-3e9, 3e9));
    cases.push_back(opCase(r, OpKind::Constant, {}, ConstantAttrs{values}, TensorType{d, s}));
  }
  return cases;
}

std::vector<JitCase> iotaCases(Rng &r) {
  std::vector<JitCase> cases;
  for (DType d : kNumeric) {
    Shape s = r.shape(r.uniformInt(1, 4));
    cases.push_back(opCase(r, OpKind::Iota, {}, IotaAttrs{r.uniformInt(0, static_cast<int64_t>(s.size()) - 1)},
                           TensorType{d, s}));
  }
  return cases;
}

std::vector<JitCase> unaryCases(OpKind k, Rng &r) {
  const bool numeric = k == OpKind::Neg || k == OpKind::Abs || k == OpKind::Sign || k == OpKind::StopGradient;
  std::vector<JitCase> cases;
  const bool transcendental = k == OpKind::Exp || k == OpKind::Log || k == OpKind::Tanh || k == OpKind::Sigmoid;
  for (DType d : numeric ? kNumeric : kFloats)
    for (const Shape &s : elementwiseShapes(r)) {
      cases.push_back(opCase(r, k, {TensorType{d, s}}, NoAttrs{}, {}, unaryStyle(k)));
      if (transcendental) {  // the opt-in libm mode too (the default is MathMode::Vector)
        JitCase c = opCase(r, k, {TensorType{d, s}}, NoAttrs{}, {}, unaryStyle(k));
        c.math = MathMode::Libm;
        c.label += " (libm)";
        cases.push_back(std::move(c));
      }
    }
  return cases;
}

std::vector<JitCase> castCases(Rng &r) {
  std::vector<JitCase> cases;
  for (DType from : kAll)
    for (DType to : kAll) {
      InputStyle style;
      style.wide = true;
      style.special = 0.1;
      style.intLo = -5;
      style.intHi = 5;
      Shape s = r.shape(r.uniformInt(1, 3));
      cases.push_back(opCase(r, OpKind::Cast, {TensorType{from, s}}, NoAttrs{}, TensorType{to, s}, style));
    }
  return cases;
}

std::vector<JitCase> binaryCases(OpKind k, Rng &r) {
  std::vector<JitCase> cases;
  for (DType d : k == OpKind::Pow ? kFloats : kNumeric)
    for (const Shape &s : elementwiseShapes(r)) {
      InputStyle style;
      style.ties = k != OpKind::Div && r.coin(0.3);  // max/min ties, x - x, pow with integer exponents
      style.special = 0.05;
      if (k == OpKind::Pow) style.lo = -4, style.hi = 4;
      cases.push_back(opCase(r, k, {TensorType{d, s}, TensorType{d, s}}, NoAttrs{}, {}, style));
    }
  return cases;
}

std::vector<JitCase> compareCases(Rng &r) {
  std::vector<JitCase> cases;
  for (CmpDir dir : {CmpDir::Eq, CmpDir::Ne, CmpDir::Lt, CmpDir::Le, CmpDir::Gt, CmpDir::Ge})
    for (DType d : kAll) {
      InputStyle style;
      style.ties = true;
      style.special = 0.1;
      style.intLo = -3;
      style.intHi = 3;
      Shape s = r.shape(r.uniformInt(0, 3));
      cases.push_back(opCase(r, OpKind::Compare, {TensorType{d, s}, TensorType{d, s}}, CompareAttrs{dir}, {}, style));
    }
  return cases;
}

std::vector<JitCase> selectCases(Rng &r) {
  std::vector<JitCase> cases;
  for (DType d : kAll)
    for (const Shape &s : elementwiseShapes(r))
      cases.push_back(opCase(r, OpKind::Select, {TensorType{DType::I1, s}, TensorType{d, s}, TensorType{d, s}}));
  return cases;
}

}  // namespace dlc::test
