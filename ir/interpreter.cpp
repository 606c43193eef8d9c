//===- ir/interpreter.cpp - the reference interpreter: driver, elementwise ops ===//
//
// interpret() checks the arguments against the signature, evaluates the nodes in program
// order and frees every value after its last use. evaluateOp() checks what all ops share
// (operand count, attribute struct, a representable result type) and dispatches in the
// one exhaustive switch over OpKind. Elementwise ops are evaluated here; the other
// families live in interpreter_data.cpp and interpreter_nn.cpp.
//
//===----------------------------------------------------------------------===//
#include "ir/interpreter.h"

#include <cmath>
#include <unordered_map>

#include "ir/interpreter_kernels.h"

namespace dlc {
namespace interp {
namespace {

/// Checks that operand \p i has exactly the result type (same-type elementwise ops).
Expected<void> expectResultType(const OpCtx &c, size_t i) {
  if (c.operand(i).type() != c.type)
    return c.error("operand {} has type {}, but the result type is {}", i, c.operand(i).type(), c.type);
  return {};
}

/// y = f(x) elementwise, for element types in domain D.
template <Domain D, class F> Result mapUnary(const OpCtx &c, F f) {
  if (auto ok = expectResultType(c, 0); !ok) return ok.takeError();
  const HostTensor &x = c.operand(0);
  return dispatchDType(x.dtype(), [&]<class T>() -> Result {
    if constexpr (!kInDomain<D, T>) {
      return c.error("does not accept {} operands", x.dtype());
    } else {
      HostTensor out(c.type);
      std::span<const T> src = x.data<T>();
      std::span<T> dst = out.data<T>();
      for (size_t i = 0; i < src.size(); ++i)
        dst[i] = static_cast<T>(f(src[i]));
      return out;
    }
  });
}

/// z = f(x, y) elementwise on operands of the result type, for element types in domain D.
template <Domain D, class F> Result mapBinary(const OpCtx &c, F f) {
  if (auto ok = expectResultType(c, 0); !ok) return ok.takeError();
  if (auto ok = expectResultType(c, 1); !ok) return ok.takeError();
  return dispatchDType(c.type.dtype, [&]<class T>() -> Result {
    if constexpr (!kInDomain<D, T>) {
      return c.error("does not accept {} operands", c.type.dtype);
    } else {
      HostTensor out(c.type);
      std::span<const T> a = c.operand(0).data<T>(), b = c.operand(1).data<T>();
      std::span<T> dst = out.data<T>();
      for (size_t i = 0; i < a.size(); ++i)
        dst[i] = static_cast<T>(f(a[i], b[i]));
      return out;
    }
  });
}

/// exp, log, tanh and sigmoid (1 / (1 + e^-x)) in \p math: f32 in MathMode::Vector uses
/// the approximations of ir/approx_math.h, everything else the C library.
template <class T> T mathExp(MathMode math, T x) {
  if constexpr (std::is_same_v<T, float>)
    if (math == MathMode::Vector) return approxExp(x);
  return std::exp(x);
}
template <class T> T mathLog(MathMode math, T x) {
  if constexpr (std::is_same_v<T, float>)
    if (math == MathMode::Vector) return approxLog(x);
  return std::log(x);
}
template <class T> T mathTanh(MathMode math, T x) {
  if constexpr (std::is_same_v<T, float>)
    if (math == MathMode::Vector) return approxTanh(x);
  return std::tanh(x);
}
template <class T> T mathSigmoid(MathMode math, T x) {
  if constexpr (std::is_same_v<T, float>)
    if (math == MathMode::Vector) return approxSigmoid(x);
  return T(1) / (T(1) + std::exp(-x));
}

template <class T> T signOf(T x) {
  if (x > T(0)) return T(1);
  if (x < T(0)) return static_cast<T>(-1);
  return x;  // +-0 and NaN
}

template <class T> bool compareWith(CmpDir d, T a, T b) {
  switch (d) {
  case CmpDir::Eq: return a == b;
  case CmpDir::Ne: return a != b;
  case CmpDir::Lt: return a < b;
  case CmpDir::Le: return a <= b;
  case CmpDir::Gt: return a > b;
  case CmpDir::Ge: return a >= b;
  }
  DL_UNREACHABLE("bad comparison direction");
}

Result evalCompare(const OpCtx &c) {
  const HostTensor &a = c.operand(0), &b = c.operand(1);
  if (a.type() != b.type()) return c.error("operand types differ: {} vs {}", a.type(), b.type());
  if (c.type != TensorType{DType::I1, a.shape()})
    return c.error("result type {} should be {}", c.type, TensorType{DType::I1, a.shape()});
  CmpDir dir = c.attrsAs<CompareAttrs>().dir;
  HostTensor out(c.type);
  std::span<uint8_t> dst = out.data<uint8_t>();
  dispatchDType(a.dtype(), [&]<class T>() {
    std::span<const T> x = a.data<T>(), y = b.data<T>();
    for (size_t i = 0; i < x.size(); ++i)
      dst[i] = compareWith(dir, x[i], y[i]) ? 1 : 0;
  });
  return out;
}

Result evalSelect(const OpCtx &c) {
  const HostTensor &p = c.operand(0);
  if (p.type() != TensorType{DType::I1, c.type.shape})
    return c.error("predicate type {} should be {}", p.type(), TensorType{DType::I1, c.type.shape});
  if (auto ok = expectResultType(c, 1); !ok) return ok.takeError();
  if (auto ok = expectResultType(c, 2); !ok) return ok.takeError();
  HostTensor out(c.type);
  dispatchDType(c.type.dtype, [&]<class T>() {
    std::span<const uint8_t> pred = p.data<uint8_t>();
    std::span<const T> a = c.operand(1).data<T>(), b = c.operand(2).data<T>();
    std::span<T> dst = out.data<T>();
    for (size_t i = 0; i < dst.size(); ++i)
      dst[i] = pred[i] ? a[i] : b[i];
  });
  return out;
}

Result evalCast(const OpCtx &c) {
  const HostTensor &x = c.operand(0);
  if (x.shape() != c.type.shape)
    return c.error("operand shape {} differs from the result shape {}", shapeString(x.shape()),
                   shapeString(c.type.shape));
  // Same dtype: a copy (castTo would round i64 through double).
  if (x.dtype() == c.type.dtype) return x;
  return x.castTo(c.type.dtype);
}

}  // namespace
}  // namespace interp

Expected<HostTensor> evaluateOp(OpKind k, const Attrs &attrs, const TensorType &type,
                                std::span<const HostTensor *const> operands, const Location &loc, MathMode math) {
  using namespace interp;
  const OpCtx c{k, attrs, type, operands, loc, math};
  const int arity = opInfo(k).arity;
  if (arity >= 0 && operands.size() != static_cast<size_t>(arity))
    return c.error("expects {} operand(s), got {}", arity, operands.size());
  if (arity < 0 && operands.empty()) return c.error("expects at least one operand");
  for (const HostTensor *t : operands)
    DL_ASSERT(t != nullptr, "null operand value");
  if (!attrsMatchKind(k, attrs)) return c.error("has attributes of another op");
  std::optional<int64_t> count = numElements(type.shape);
  if (!count || *count > INT64_MAX / dtypeSize(type.dtype))
    return c.error("result type {} has a negative extent or is too large", type);

  // Float math is written with std:: overloads so that f32 stays in float.
  switch (k) {
  case OpKind::Constant: return evalConstant(c);
  case OpKind::Iota: return evalIota(c);
  case OpKind::Neg: return mapUnary<Domain::Numeric>(c, [](auto x) { return arithNeg(x); });
  case OpKind::Abs: return mapUnary<Domain::Numeric>(c, [](auto x) { return arithAbs(x); });
  case OpKind::Sign: return mapUnary<Domain::Numeric>(c, [](auto x) { return signOf(x); });
  case OpKind::Exp: return mapUnary<Domain::Float>(c, [&](auto x) { return mathExp(math, x); });
  case OpKind::Log: return mapUnary<Domain::Float>(c, [&](auto x) { return mathLog(math, x); });
  case OpKind::Tanh: return mapUnary<Domain::Float>(c, [&](auto x) { return mathTanh(math, x); });
  case OpKind::Sigmoid:  // 1 / (1 + e^-x)
    return mapUnary<Domain::Float>(c, [&](auto x) { return mathSigmoid(math, x); });
  case OpKind::Sqrt: return mapUnary<Domain::Float>(c, [](auto x) { return std::sqrt(x); });
  case OpKind::Rsqrt:  // 1 / sqrt(x)
    return mapUnary<Domain::Float>(c, []<class T>(T x) { return T(1) / std::sqrt(x); });
  case OpKind::Cast: return evalCast(c);
  case OpKind::StopGradient: return mapUnary<Domain::Numeric>(c, [](auto x) { return x; });
  case OpKind::Add: return mapBinary<Domain::Numeric>(c, [](auto a, auto b) { return arithAdd(a, b); });
  case OpKind::Sub: return mapBinary<Domain::Numeric>(c, [](auto a, auto b) { return arithSub(a, b); });
  case OpKind::Mul: return mapBinary<Domain::Numeric>(c, [](auto a, auto b) { return arithMul(a, b); });
  case OpKind::Div: return mapBinary<Domain::Numeric>(c, [](auto a, auto b) { return arithDiv(a, b); });
  case OpKind::Max: return mapBinary<Domain::Numeric>(c, [](auto a, auto b) { return arithMax(a, b); });
  case OpKind::Min: return mapBinary<Domain::Numeric>(c, [](auto a, auto b) { return arithMin(a, b); });
  case OpKind::Pow: return mapBinary<Domain::Float>(c, [](auto a, auto b) { return std::pow(a, b); });
  case OpKind::Compare: return evalCompare(c);
  case OpKind::Select: return evalSelect(c);
  case OpKind::Broadcast: return evalBroadcast(c);
  case OpKind::Reshape: return evalReshape(c);
  case OpKind::Transpose: return evalTranspose(c);
  case OpKind::Slice: return evalSlice(c);
  case OpKind::Concat: return evalConcat(c);
  case OpKind::Pad: return evalPad(c);
  case OpKind::ReduceSum: return evalReduceSum(c);
  case OpKind::ReduceMax: return evalReduceMax(c);
  case OpKind::MatMul: return evalMatMul(c);
  case OpKind::Conv2d: return evalConv2d(c);
  case OpKind::Conv2dInputGrad: return evalConv2dInputGrad(c);
  case OpKind::Conv2dFilterGrad: return evalConv2dFilterGrad(c);
  case OpKind::MaxPool2d: return evalMaxPool2d(c);
  case OpKind::MaxPool2dGrad: return evalMaxPool2dGrad(c);
  case OpKind::AvgPool2d: return evalAvgPool2d(c);
  case OpKind::AvgPool2dGrad: return evalAvgPool2dGrad(c);
  case OpKind::OneHot: return evalOneHot(c);
  }
  DL_UNREACHABLE("covered switch");
}

Expected<HostTensor> evaluateNode(const Node &n, std::span<const HostTensor *const> operands, MathMode math) {
  if (operands.size() != n.numOperands())
    return makeError(n.diagLoc(), "'{}' has {} operand(s), but {} value(s) were given", n.mnemonic(),
                     n.numOperands(), operands.size());
  return evaluateOp(n.kind(), n.attrs(), n.type(), operands, n.diagLoc(), math);
}

Expected<std::vector<HostTensor>> interpret(const Function &f, std::span<const HostTensor> args) {
  return interpret(f, args, InterpreterOptions{});
}

/// `argument 2 ('%w1')`, or `argument 2` for an unnamed argument (1-based).
static std::string describeArg(const Function &f, size_t i) {
  const std::string &name = f.arg(i)->name();
  if (name.empty()) return fmt::format("argument {}", i + 1);
  return fmt::format("argument {} ('%{}')", i + 1, name);
}

Expected<std::vector<HostTensor>> interpret(const Function &f, std::span<const HostTensor> args,
                                            const InterpreterOptions &opts) {
  const Location &funcLoc = f.parsedLoc.isKnown() ? f.parsedLoc : f.loc;
  if (args.size() != f.numArgs())
    return makeError(funcLoc, "'@{}' expects {} argument(s), got {}", f.name(), f.numArgs(), args.size());
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i].type() != f.arg(i)->type())
      return makeError(funcLoc, "{} expects {}, got {}", describeArg(f, i), f.arg(i)->type(), args[i].type());

  // Where each value lives: arguments in `args`, node results in `values` (by node index).
  const size_t numNodes = f.numNodes();
  std::vector<HostTensor> values(numNodes);
  std::unordered_map<const Value *, const HostTensor *> env;
  std::unordered_map<const Value *, size_t> nodeIndex;
  for (size_t i = 0; i < args.size(); ++i)
    env[f.arg(i)] = &args[i];
  for (size_t i = 0; i < numNodes; ++i)
    nodeIndex[f.nodes()[i]->result()] = i;

  // lastUse[i]: the node after which value i is dead; kKeep for function results.
  constexpr size_t kKeep = static_cast<size_t>(-1);
  std::vector<size_t> lastUse(numNodes);
  for (size_t i = 0; i < numNodes; ++i)
    lastUse[i] = i;
  for (size_t i = 0; i < numNodes; ++i)
    for (const Value *op : f.nodes()[i]->operands())
      if (auto it = nodeIndex.find(op); it != nodeIndex.end() && lastUse[it->second] < i)
        lastUse[it->second] = i;
  for (const Value *r : f.results())
    if (auto it = nodeIndex.find(r); it != nodeIndex.end()) lastUse[it->second] = kKeep;

  std::vector<const HostTensor *> operands;
  for (size_t i = 0; i < numNodes; ++i) {
    const Node &n = *f.nodes()[i];
    operands.clear();
    for (size_t j = 0; j < n.numOperands(); ++j) {
      auto it = env.find(n.operand(j));
      if (n.operand(j) == nullptr || it == env.end())
        return makeError(n.diagLoc(), "'{}' operand {} is not defined before its use", n.mnemonic(), j);
      operands.push_back(it->second);
    }
    Expected<HostTensor> v = evaluateOp(n.kind(), n.attrs(), n.type(), operands, n.diagLoc(), opts.math);
    if (!v) return v.takeError();
    if (v->type() != n.type())  // every kernel builds its result from n.type()
      DL_UNREACHABLE("interpreter kernel produced a value of the wrong type");
    values[i] = std::move(*v);
    env[n.result()] = &values[i];
    if (opts.onNode) opts.onNode(n, values[i]);

    // Free the values whose last use this node was.
    if (lastUse[i] == i) values[i] = HostTensor();
    for (const Value *op : n.operands())
      if (auto it = nodeIndex.find(op); it != nodeIndex.end() && lastUse[it->second] == i)
        values[it->second] = HostTensor();
  }

  std::vector<HostTensor> results;
  results.reserve(f.results().size());
  for (size_t r = 0; r < f.results().size(); ++r) {
    auto it = env.find(f.results()[r]);
    if (it == env.end()) return makeError(funcLoc, "'@{}' result {} is not defined", f.name(), r);
    results.push_back(*it->second);
  }
  return results;
}

}  // namespace dlc
