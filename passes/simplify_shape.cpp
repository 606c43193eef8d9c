//===- passes/simplify_shape.cpp - simplify's data-movement and reduction rules ===//
//
// Data movement is exact by nature: composing or removing permutations, reshapes and
// broadcasts moves the same elements. Reductions are where exactness needs care: sums
// start from +0, so summing a single -0.0 gives +0.0, and a sum of k copies of x is not
// k * x after rounding; those rules fold floats only with fast-math.
//
//===----------------------------------------------------------------------===//
#include <algorithm>

#include "passes/pass_util.h"
#include "passes/simplify_rules.h"

namespace dlc::rules {
namespace {

bool isIdentityPerm(const std::vector<int64_t> &perm) {
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int64_t>(i)) return false;
  return true;
}

bool strictlyIncreasing(const std::vector<int64_t> &v) {
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] <= v[i - 1]) return false;
  return true;
}

/// True when \p perm swaps the last two dims and keeps the others.
bool swapsLastTwo(const std::vector<int64_t> &perm) {
  const size_t r = perm.size();
  if (r < 2) return false;
  for (size_t i = 0; i + 2 < r; ++i)
    if (perm[i] != static_cast<int64_t>(i)) return false;
  return perm[r - 2] == static_cast<int64_t>(r - 1) && perm[r - 1] == static_cast<int64_t>(r - 2);
}

/// Reductions that start from +0 change -0.0 to +0.0: exact for integers and for
/// reduce_max (which starts from -inf), otherwise fast-math.
bool reductionIsExactCopy(const RewriteContext &c, const Node &n) {
  return n.kind() == OpKind::ReduceMax || isInteger(n.type().dtype) || c.fastMath();
}

}  // namespace

Value *transposeIdentity(RewriteContext &, Node &n) {
  return isIdentityPerm(n.attrsAs<TransposeAttrs>().perm) ? n.operand(0) : nullptr;
}

Value *transposeOfTranspose(RewriteContext &c, Node &n) {
  Node *inner = defOf(n.operand(0), OpKind::Transpose);
  if (!inner) return nullptr;
  // result dim i = inner dim outer[i] = x dim inner[outer[i]].
  const auto &p1 = inner->attrsAs<TransposeAttrs>().perm;
  const auto &p2 = n.attrsAs<TransposeAttrs>().perm;
  std::vector<int64_t> perm(p2.size());
  for (size_t i = 0; i < p2.size(); ++i) perm[i] = p1[static_cast<size_t>(p2[i])];
  Value *x = inner->operand(0);
  return isIdentityPerm(perm) ? x : c.b.transpose(x, perm);
}

Value *transposeOfBroadcast(RewriteContext &c, Node &n) {
  Node *bc = defOf(n.operand(0), OpKind::Broadcast);
  if (!bc) return nullptr;
  // x dim j -> broadcast dim dims[j] -> result dim inv[dims[j]]; legal when increasing.
  const auto &perm = n.attrsAs<TransposeAttrs>().perm;
  std::vector<int64_t> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inv[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  std::vector<int64_t> dims;
  for (int64_t d : bc->attrsAs<BroadcastAttrs>().dims) dims.push_back(inv[static_cast<size_t>(d)]);
  if (!strictlyIncreasing(dims)) return nullptr;
  return c.b.broadcast(bc->operand(0), n.type().shape, dims);
}

Value *reshapeSameShape(RewriteContext &, Node &n) {
  return n.operand(0)->shape() == n.type().shape ? n.operand(0) : nullptr;
}

Value *reshapeOfReshape(RewriteContext &c, Node &n) {
  Node *inner = defOf(n.operand(0), OpKind::Reshape);
  return inner ? c.b.reshape(inner->operand(0), n.type().shape) : nullptr;
}

Value *reshapeOfUnitBroadcast(RewriteContext &c, Node &n) {
  Node *bc = defOf(n.operand(0), OpKind::Broadcast);
  if (!bc || bc->operand(0)->type().numElements() != 1) return nullptr;
  Value *scalar = c.b.reshape(bc->operand(0), {});
  return c.b.broadcast(scalar, n.type().shape, {});
}

Value *broadcastIdentity(RewriteContext &, Node &n) {
  // Same shape means same rank, and strictly increasing dims of full rank are the identity.
  return n.operand(0)->shape() == n.type().shape ? n.operand(0) : nullptr;
}

Value *broadcastOfBroadcast(RewriteContext &c, Node &n) {
  Node *inner = defOf(n.operand(0), OpKind::Broadcast);
  if (!inner) return nullptr;
  const auto &d1 = inner->attrsAs<BroadcastAttrs>().dims;
  const auto &d2 = n.attrsAs<BroadcastAttrs>().dims;
  std::vector<int64_t> dims;  // x dim i -> inner dim d1[i] -> result dim d2[d1[i]]
  for (int64_t d : d1) dims.push_back(d2[static_cast<size_t>(d)]);
  return c.b.broadcast(inner->operand(0), n.type().shape, dims);
}

Value *broadcastOfSplat(RewriteContext &c, Node &n) {
  std::optional<double> v = splatValue(n.operand(0));
  return v ? c.b.constant(*v, n.type()) : nullptr;
}

Value *reshapeOfSplat(RewriteContext &c, Node &n) {
  std::optional<double> v = splatValue(n.operand(0));
  return v ? c.b.constant(*v, n.type()) : nullptr;
}

Value *reduceUnitAxes(RewriteContext &c, Node &n) {
  // Each output reduces exactly one element: max(-inf, x) = x; 0 + x = x except x = -0.
  const Shape &xs = n.operand(0)->shape();
  for (int64_t a : n.attrsAs<ReduceAttrs>().axes)
    if (xs[static_cast<size_t>(a)] != 1) return nullptr;
  if (!reductionIsExactCopy(c, n)) return nullptr;
  return c.b.reshape(n.operand(0), n.type().shape);
}

Value *reduceSumOfBroadcast(RewriteContext &c, Node &n) {
  // reduce_sum(broadcast(x, dims), axes) where every reduced axis is new or stretched
  // from 1 adds `count` copies of each x element: x * count (integers wrap alike; floats
  // round differently, so fast-math only).
  Node *bc = defOf(n.operand(0), OpKind::Broadcast);
  if (!bc || !(isInteger(n.type().dtype) || c.fastMath())) return nullptr;
  const Value *x = bc->operand(0);
  const auto &dims = bc->attrsAs<BroadcastAttrs>().dims;
  const auto &axes = n.attrsAs<ReduceAttrs>().axes;
  const Shape &full = bc->type().shape;
  auto reduced = [&](int64_t d) { return std::binary_search(axes.begin(), axes.end(), d); };
  int64_t count = 1;
  for (int64_t a : axes) count *= full[static_cast<size_t>(a)];
  Shape kept;               // x's shape without the (size-1) dims that are reduced
  std::vector<int64_t> to;  // where each kept x dim lands in the result
  for (size_t i = 0; i < dims.size(); ++i) {
    if (reduced(dims[i])) {
      if (x->shape()[i] != 1) return nullptr;  // a real dim of x is summed
      continue;
    }
    kept.push_back(x->shape()[i]);
    to.push_back(dims[i] - std::count_if(axes.begin(), axes.end(), [&](int64_t a) { return a < dims[i]; }));
  }
  Value *v = c.b.reshape(bc->operand(0), kept);
  if (kept != n.type().shape) v = c.b.broadcast(v, n.type().shape, to);
  if (count == 1) return v;
  return c.b.mul(v, c.b.constant(static_cast<double>(count), n.type()));
}

Value *sliceFull(RewriteContext &, Node &n) {
  const auto &start = n.attrsAs<SliceAttrs>().start;
  if (std::any_of(start.begin(), start.end(), [](int64_t s) { return s != 0; })) return nullptr;
  return n.operand(0)->shape() == n.type().shape ? n.operand(0) : nullptr;
}

Value *concatSingle(RewriteContext &, Node &n) { return n.numOperands() == 1 ? n.operand(0) : nullptr; }

Value *padNothing(RewriteContext &, Node &n) {
  const auto &a = n.attrsAs<PadAttrs>();
  auto zero = [](int64_t w) { return w == 0; };
  return std::all_of(a.low.begin(), a.low.end(), zero) && std::all_of(a.high.begin(), a.high.end(), zero)
             ? n.operand(0)
             : nullptr;
}

Value *matmulOfTranspose(RewriteContext &c, Node &n) {
  // Reading an operand through the transpose flag multiplies the same elements in the
  // same k order, so the result is bitwise the same.
  MatMulAttrs a = n.attrsAs<MatMulAttrs>();
  Value *lhs = n.operand(0), *rhs = n.operand(1);
  if (Node *t = defOf(lhs, OpKind::Transpose); t && swapsLastTwo(t->attrsAs<TransposeAttrs>().perm)) {
    lhs = t->operand(0);
    a.transposeA = !a.transposeA;
  } else if (Node *u = defOf(rhs, OpKind::Transpose); u && swapsLastTwo(u->attrsAs<TransposeAttrs>().perm)) {
    rhs = u->operand(0);
    a.transposeB = !a.transposeB;
  } else {
    return nullptr;
  }
  return c.b.matmul(lhs, rhs, a.transposeA, a.transposeB);
}

}  // namespace dlc::rules
