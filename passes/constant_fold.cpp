//===- passes/constant_fold.cpp - constant folding with the interpreter ----===//
#include "passes/constant_fold.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "ir/interpreter.h"
#include "ir/reduce_order.h"
#include "passes/pass_util.h"

namespace dlc {
namespace {

/// The tensor a `constant` node stands for.
HostTensor constantTensor(const Node &c) {
  const std::vector<double> &vals = c.attrsAs<ConstantAttrs>().values;
  if (vals.size() == 1) return HostTensor::full(c.type(), vals[0]);
  HostTensor t(c.type());
  for (int64_t i = 0; i < t.numElements(); ++i) t.setDouble(i, vals[static_cast<size_t>(i)]);
  return t;
}

/// A scalar or 1-D tensor of \p n copies of \p v.
HostTensor splatTensor(DType d, Shape s, double v) { return HostTensor::full(TensorType{d, std::move(s)}, v); }

/// \p v rounded to \p d (what a splat constant of that dtype holds).
double roundTo(DType d, double v) { return HostTensor::full(TensorType{d, {}}, v).getDouble(0); }

bool sameBits(double a, double b) { return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b); }

/// Constant attributes holding \p t: a splat when all elements are bitwise equal. Null
/// when an i64 element is not exactly representable as a double.
std::optional<ConstantAttrs> toConstant(const HostTensor &t) {
  ConstantAttrs out;
  out.values.reserve(static_cast<size_t>(t.numElements()));
  bool uniform = true;
  for (int64_t i = 0; i < t.numElements(); ++i) {
    double v = t.getDouble(i);
    if (t.dtype() == DType::I64 && static_cast<int64_t>(v) != t.data<int64_t>()[i]) return std::nullopt;
    if (i > 0 && !sameBits(v, out.values[0])) uniform = false;
    out.values.push_back(v);
  }
  // erase, not resize(1): GCC 12's -Warray-bounds misreads resize's growth path here.
  if (uniform && !out.values.empty()) out.values.erase(out.values.begin() + 1, out.values.end());
  return out;
}

/// Evaluates \p k on \p operands with result type \p type; nullopt on any error (an
/// ill-typed node is left for the verifier to report).
std::optional<HostTensor> evaluate(OpKind k, const Attrs &attrs, const TensorType &type,
                                   const std::vector<HostTensor> &operands) {
  std::vector<const HostTensor *> ptrs;
  for (const HostTensor &t : operands) ptrs.push_back(&t);
  Expected<HostTensor> r = evaluateOp(k, attrs, type, ptrs);
  if (!r) return std::nullopt;
  return std::move(*r);
}

/// Length of the reduction of a reduce node (product of the reduced extents).
int64_t reductionLength(const Node &n) {
  int64_t len = 1;
  for (int64_t a : n.attrsAs<ReduceAttrs>().axes) len *= n.operand(0)->shape()[static_cast<size_t>(a)];
  return len;
}

/// Folds \p n whose operands are the splats \p v, producing a splat; nullopt when the op
/// has no splat rule (the dense path may still fold it).
std::optional<ConstantAttrs> foldSplat(const Node &n, const std::vector<double> &v,
                                       const FoldLimits &limits) {
  const DType outType = n.type().dtype;
  auto splat = [](double x) { return ConstantAttrs{{x}}; };
  if (hasTrait(n.kind(), kElementwise)) {
    // Elementwise ops are shape-independent: evaluate one element.
    std::vector<HostTensor> ops;
    for (size_t i = 0; i < v.size(); ++i) ops.push_back(splatTensor(n.operand(i)->dtype(), {}, v[i]));
    std::optional<HostTensor> r = evaluate(n.kind(), n.attrs(), TensorType{outType, {}}, ops);
    if (!r) return std::nullopt;
    return splat(r->getDouble(0));
  }
  switch (n.kind()) {
  case OpKind::Broadcast:
  case OpKind::Reshape:
  case OpKind::Transpose:
  case OpKind::Slice: return splat(v[0]);
  case OpKind::Concat:
    for (double x : v)
      if (!sameBits(x, v[0])) return std::nullopt;
    return splat(v[0]);
  case OpKind::Pad:
    if (!sameBits(roundTo(outType, n.attrsAs<PadAttrs>().value), roundTo(outType, v[0])))
      return std::nullopt;
    return splat(v[0]);
  case OpKind::ReduceSum:
  case OpKind::ReduceMax: {
    // Every output reduces `len` equal elements from the same start value in the same
    // order, so one reduction of that length in that order gives every output bitwise:
    // x[len] over axis 0 for a contiguous reduction (the canonical order of
    // ir/reduce_order.h), x[len,2] over axis 0 (row-major) for the others.
    const int64_t len = reductionLength(n);
    if (len > limits.maxSplatReduction) return std::nullopt;
    const bool contiguous = isContiguousReduction(n.operand(0)->shape(), n.attrsAs<ReduceAttrs>().axes);
    std::vector<HostTensor> ops{splatTensor(n.operand(0)->dtype(), contiguous ? Shape{len} : Shape{len, 2}, v[0])};
    std::optional<HostTensor> r = evaluate(n.kind(), ReduceAttrs{{0}}, TensorType{outType, contiguous ? Shape{} : Shape{2}}, ops);
    if (!r) return std::nullopt;
    return splat(r->getDouble(0));
  }
  case OpKind::MatMul: {
    // Every output is the same dot product of length K (accumulated from 0, k ascending).
    const auto &mm = n.attrsAs<MatMulAttrs>();
    const Shape &a = n.operand(0)->shape();
    if (a.size() < 2) return std::nullopt;
    const int64_t k = mm.transposeA ? a[a.size() - 2] : a[a.size() - 1];
    if (k > limits.maxSplatReduction) return std::nullopt;
    std::vector<HostTensor> ops{splatTensor(n.operand(0)->dtype(), {1, k}, v[0]),
                                splatTensor(n.operand(1)->dtype(), {k, 1}, v[1])};
    std::optional<HostTensor> r = evaluate(n.kind(), MatMulAttrs{}, TensorType{outType, {1, 1}}, ops);
    if (!r) return std::nullopt;
    return splat(r->getDouble(0));
  }
  case OpKind::Constant:
  case OpKind::Iota:
  case OpKind::Neg:
  case OpKind::Abs:
  case OpKind::Sign:
  case OpKind::Exp:
  case OpKind::Log:
  case OpKind::Tanh:
  case OpKind::Sigmoid:
  case OpKind::Sqrt:
  case OpKind::Rsqrt:
  case OpKind::Cast:
  case OpKind::StopGradient:
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Max:
  case OpKind::Min:
  case OpKind::Pow:
  case OpKind::Compare:
  case OpKind::Select:  // elementwise: handled above
  case OpKind::Conv2d:
  case OpKind::Conv2dInputGrad:
  case OpKind::Conv2dFilterGrad:
  case OpKind::MaxPool2d:
  case OpKind::MaxPool2dGrad:
  case OpKind::AvgPool2d:
  case OpKind::AvgPool2dGrad:
  case OpKind::OneHot: return std::nullopt;  // dense path only
  }
  DL_UNREACHABLE("covered switch");
}

}  // namespace

std::optional<ConstantAttrs> tryFoldNode(const Node &n, const FoldLimits &limits) {
  if (n.kind() == OpKind::Constant || n.kind() == OpKind::Iota) return std::nullopt;
  std::optional<int64_t> outElems = numElements(n.type().shape);
  if (!outElems || *outElems == 0) return std::nullopt;
  for (const Value *op : n.operands())
    if (!defOf(op, OpKind::Constant)) return std::nullopt;

  std::vector<double> splats;
  for (const Value *op : n.operands()) {
    std::optional<double> s = splatValue(op);
    if (!s) break;
    splats.push_back(*s);
  }
  if (splats.size() == n.numOperands())
    if (std::optional<ConstantAttrs> c = foldSplat(n, splats, limits)) return c;

  if (*outElems > limits.maxDenseElements) return std::nullopt;
  std::vector<HostTensor> ops;
  for (const Value *op : n.operands()) {
    if (op->type().numElements() > limits.maxOperandElements) return std::nullopt;
    ops.push_back(constantTensor(*op->def()));
  }
  std::optional<HostTensor> r = evaluate(n.kind(), n.attrs(), n.type(), ops);
  if (!r) return std::nullopt;
  return toConstant(*r);
}

Value *foldNodeInPlace(Function &f, Node &n, const FoldLimits &limits) {
  std::optional<ConstantAttrs> c = tryFoldNode(n, limits);
  if (!c) return nullptr;
  Node *k = f.createNode(OpKind::Constant, {}, n.type(), std::move(*c), n.loc, &n);
  k->parsedLoc = n.parsedLoc;
  f.replaceAllUsesWith(n.result(), k->result());
  k->result()->setName(n.result()->name());
  n.result()->setName("");
  return k->result();
}

size_t foldConstants(Function &f, const FoldLimits &limits) {
  std::vector<Node *> order;
  for (const auto &n : f.nodes()) order.push_back(n.get());
  size_t folded = 0;
  for (Node *n : order) {
    if (!foldNodeInPlace(f, *n, limits)) continue;
    ++folded;
    std::vector<Node *> operandDefs;
    for (Value *op : n->operands())
      if (std::find(operandDefs.begin(), operandDefs.end(), op->def()) == operandDefs.end())
        operandDefs.push_back(op->def());
    f.eraseNode(n);
    // Operand constants precede n in program order, so `order` has visited them already.
    for (Node *d : operandDefs)
      if (!f.hasUses(d->result())) f.eraseNode(d);
  }
  return folded;
}

Expected<bool> foldConstants(Module &m, const PassOptions &opts) {
  DL_TRY(std::vector<Function *> funcs, selectFunctions(m, opts));
  bool changed = false;
  for (Function *f : funcs) changed |= foldConstants(*f) > 0;
  return changed;
}

}  // namespace dlc
