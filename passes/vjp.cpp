//===- passes/vjp.cpp - one vector-Jacobian product rule per op -----------===//
//
// The exhaustive switch of reverse-mode autodiff: there is no `default`, so a new op in
// ops.def without a rule is a build error (-Werror=switch). Notation in the comments:
// y is the node's result, g the cotangent of y, and each rule states the derivative it
// multiplies g by. Rules reuse forward results where that is cheaper (exp, tanh,
// sigmoid, sqrt, rsqrt, div, pow) and are built only from ops that are themselves
// differentiable or have a defined zero gradient, so the backward graph can be
// differentiated again.
//
// Ties. max/min split the cotangent evenly between equal operands (as JAX does); this
// keeps the gradient independent of the operand order of these commutative ops.
// reduce_max divides it evenly among all positions equal to the maximum. max_pool2d
// routes it to the first maximum of each window, as max_pool2d_grad is defined.
//
//===----------------------------------------------------------------------===//
#include "passes/vjp.h"

#include <algorithm>

namespace dlc::ad {
namespace {

/// The result dims of a reduction over \p axes of a rank-\p rank tensor, i.e. the dims a
/// broadcast of the reduced result back to the input maps onto.
std::vector<int64_t> keptDims(const std::vector<int64_t> &axes, int64_t rank) {
  std::vector<int64_t> kept;
  for (int64_t d = 0; d < rank; ++d)
    if (!std::binary_search(axes.begin(), axes.end(), d)) kept.push_back(d);
  return kept;
}

/// d/da max(a, b) = [a > b] + [a = b]/2 (for min: a < b); the rest goes to b.
void minMaxVjp(Builder &b, Value *a, Value *c, Value *g, CmpDir wins, std::span<const bool> needs,
               std::vector<Value *> &out) {
  Value *zero = b.splatLike(0.0, g);
  Value *half = b.mul(g, b.splatLike(0.5, g));
  Value *win = b.compare(a, c, wins), *tie = b.compare(a, c, CmpDir::Eq);
  Value *ga = b.select(win, g, b.select(tie, half, zero));
  if (needs[0]) out[0] = ga;
  if (needs[1]) out[1] = b.sub(g, ga);
}

/// d(A B) = dA B + A dB with A = op(a), B = op(b) (op: the transpose flags), so
/// dA = G B^T and dB = A^T G; a stored transposed receives the transpose of its part.
void matmulVjp(Builder &b, Value *a, Value *c, Value *g, const MatMulAttrs &at, std::span<const bool> needs,
               std::vector<Value *> &out) {
  if (needs[0])
    out[0] = at.transposeA ? b.matmul(c, g, at.transposeB, true)     // a = A^T: da = B G^T
                           : b.matmul(g, c, false, !at.transposeB);  // da = G B^T
  if (needs[1])
    out[1] = at.transposeB ? b.matmul(g, a, true, at.transposeA)     // b = B^T: db = G^T A
                           : b.matmul(a, g, !at.transposeA, false);  // db = A^T G
}

}  // namespace

Expected<std::vector<Value *>> vjp(Builder &b, Node &n, Value *g, std::span<const bool> needs) {
  std::vector<Value *> out(n.numOperands(), nullptr);
  Value *y = n.result();
  Value *x = n.numOperands() ? n.operand(0) : nullptr;  // sources have no operands
  auto in = [&](size_t i) { return n.operand(i); };

  switch (n.kind()) {
  // Sources and piecewise-constant ops: no gradient flows through them.
  case OpKind::Constant:
  case OpKind::Iota:
  case OpKind::Sign:
  case OpKind::Compare:
  case OpKind::StopGradient:
  case OpKind::OneHot: return out;

  // Elementwise, unary.
  case OpKind::Neg:  // d/dx -x = -1
    out[0] = b.neg(g);
    return out;
  case OpKind::Abs:  // d/dx |x| = sign(x)  (0 at x = 0)
    out[0] = b.mul(g, b.sign(x));
    return out;
  case OpKind::Exp:  // d/dx e^x = e^x = y
    out[0] = b.mul(g, y);
    return out;
  case OpKind::Log:  // d/dx log x = 1/x
    out[0] = b.div(g, x);
    return out;
  case OpKind::Tanh: {  // d/dx tanh x = 1 - tanh^2 x = 1 - y^2
    // One node-creating call per argument list: argument evaluation order is
    // unspecified, and the printed IR must not depend on the compiler.
    Value *ySq = b.mul(y, y);
    out[0] = b.mul(g, b.sub(b.splatLike(1.0, y), ySq));
    return out;
  }
  case OpKind::Sigmoid:  // d/dx s(x) = s(x) (1 - s(x)) = y (1 - y)
    out[0] = b.mul(g, b.mul(y, b.sub(b.splatLike(1.0, y), y)));
    return out;
  case OpKind::Sqrt:  // d/dx sqrt x = 1 / (2 sqrt x) = 1 / (2y)
    out[0] = b.div(g, b.mul(b.splatLike(2.0, y), y));
    return out;
  case OpKind::Rsqrt: {  // d/dx x^(-1/2) = -1/2 x^(-3/2) = -y^3 / 2
    Value *yCube = b.mul(y, b.mul(y, y));
    out[0] = b.mul(g, b.mul(b.splatLike(-0.5, y), yCube));
    return out;
  }
  case OpKind::Cast:  // d/dx cast(x) = 1 between float types; no gradient to or from integers
    if (isFloat(x->dtype()) && isFloat(y->dtype())) out[0] = b.cast(g, x->dtype());
    return out;

  // Elementwise, binary and ternary (operands have equal shapes; sumToShape is the
  // identity then and only guards rules against a future implicit broadcast).
  case OpKind::Add:  // d/da a+b = 1, d/db a+b = 1
    for (size_t i = 0; i < 2; ++i)
      if (needs[i]) out[i] = sumToShape(b, g, in(i)->shape());
    return out;
  case OpKind::Sub:  // d/da a-b = 1, d/db a-b = -1
    if (needs[0]) out[0] = sumToShape(b, g, in(0)->shape());
    if (needs[1]) out[1] = sumToShape(b, b.neg(g), in(1)->shape());
    return out;
  case OpKind::Mul:  // d/da a*b = b, d/db a*b = a
    if (needs[0]) out[0] = sumToShape(b, b.mul(g, in(1)), in(0)->shape());
    if (needs[1]) out[1] = sumToShape(b, b.mul(g, in(0)), in(1)->shape());
    return out;
  case OpKind::Div: {  // d/da a/b = 1/b, d/db a/b = -a/b^2 = -(1/b) y
    Value *ga = b.div(g, in(1));
    if (needs[0]) out[0] = sumToShape(b, ga, in(0)->shape());
    if (needs[1]) out[1] = sumToShape(b, b.neg(b.mul(ga, y)), in(1)->shape());
    return out;
  }
  case OpKind::Max:  // d/da max(a,b) = [a > b] + [a = b]/2, d/db = the rest
    minMaxVjp(b, in(0), in(1), g, CmpDir::Gt, needs, out);
    return out;
  case OpKind::Min:  // d/da min(a,b) = [a < b] + [a = b]/2, d/db = the rest
    minMaxVjp(b, in(0), in(1), g, CmpDir::Lt, needs, out);
    return out;
  case OpKind::Pow: {  // d/da a^b = b a^(b-1), d/db a^b = a^b log a  (taken as 0 at a = 0)
    Value *a = in(0), *e = in(1);
    if (needs[0]) out[0] = b.mul(g, b.mul(e, b.pow(a, b.sub(e, b.splatLike(1.0, e)))));
    if (needs[1]) {
      Value *one = b.splatLike(1.0, a);
      Value *safeA = b.select(b.compare(a, b.splatLike(0.0, a), CmpDir::Eq), one, a);
      out[1] = b.mul(g, b.mul(y, b.log(safeA)));
    }
    return out;
  }
  case OpKind::Select: {  // select(p, a, b): d/da = [p], d/db = [!p]; p is boolean
    Value *zero = b.splatLike(0.0, g);
    if (needs[1]) out[1] = b.select(in(0), g, zero);
    if (needs[2]) out[2] = b.select(in(0), zero, g);
    return out;
  }

  // Data movement: each rule is the transpose of a linear map.
  case OpKind::Broadcast:  // transpose of broadcast_in_dim: sum over the stretched dims
    out[0] = unbroadcastInDim(b, g, x->shape(), n.attrsAs<BroadcastAttrs>().dims);
    return out;
  case OpKind::Reshape:  // transpose of a reshape: reshape back
    out[0] = b.reshape(g, x->shape());
    return out;
  case OpKind::Transpose: {  // transpose of a permutation: the inverse permutation
    const auto &perm = n.attrsAs<TransposeAttrs>().perm;
    std::vector<int64_t> inv(perm.size());
    for (size_t i = 0; i < perm.size(); ++i)
      inv[perm[i]] = static_cast<int64_t>(i);
    out[0] = b.transpose(g, inv);
    return out;
  }
  case OpKind::Slice:  // transpose of a slice: scatter into zeros (a pad when unstrided)
    out[0] = scatterSlice(b, g, x->shape(), n.attrsAs<SliceAttrs>());
    return out;
  case OpKind::Concat: {  // transpose of concat: slice each operand's part back out
    const int64_t axis = n.attrsAs<ConcatAttrs>().axis;
    int64_t offset = 0;
    for (size_t i = 0; i < n.numOperands(); ++i) {
      const Shape &s = in(i)->shape();
      if (needs[i]) {
        std::vector<int64_t> start(s.size(), 0), limit(g->shape());
        start[axis] = offset;
        limit[axis] = offset + s[axis];
        out[i] = b.slice(g, start, limit);
      }
      offset += s[axis];
    }
    return out;
  }
  case OpKind::Pad: {  // transpose of pad: slice the interior back out (the pad value is constant)
    const auto &a = n.attrsAs<PadAttrs>();
    std::vector<int64_t> limit(a.low.size());
    for (size_t d = 0; d < limit.size(); ++d)
      limit[d] = a.low[d] + x->shape()[d];
    out[0] = b.slice(g, a.low, limit);
    return out;
  }

  // Reductions.
  case OpKind::ReduceSum: {  // d/dx_i sum x = 1: broadcast g back over the reduced axes
    const auto &axes = n.attrsAs<ReduceAttrs>().axes;
    out[0] = b.broadcast(g, x->shape(), keptDims(axes, x->rank()));
    return out;
  }
  case OpKind::ReduceMax: {  // d/dx_i max x = [x_i = max] / #{j : x_j = max}  (ties share)
    const auto &axes = n.attrsAs<ReduceAttrs>().axes;
    const std::vector<int64_t> kept = keptDims(axes, x->rank());
    Value *isMax = b.compare(x, b.broadcast(y, x->shape(), kept), CmpDir::Eq);
    Value *zero = b.splatLike(0.0, x);
    Value *mask = b.select(isMax, b.splatLike(1.0, x), zero);
    Value *share = b.div(g, b.reduceSum(mask, axes));
    out[0] = b.mul(mask, b.broadcast(share, x->shape(), kept));
    return out;
  }

  // Contractions, convolution and pooling. The gradient ops are linear in each operand;
  // their VJPs are the other members of the same family (for conv: <conv(x, w), dy> =
  // <x, conv2d_input_grad(dy, w)> = <w, conv2d_filter_grad(x, dy)>).
  case OpKind::MatMul:  // d(AB) = dA B + A dB
    matmulVjp(b, in(0), in(1), g, n.attrsAs<MatMulAttrs>(), needs, out);
    return out;
  case OpKind::Conv2d: {  // dx = conv2d_input_grad(g, w), dw = conv2d_filter_grad(x, g)
    const auto &a = n.attrsAs<ConvAttrs>();
    if (needs[0]) out[0] = b.conv2dInputGrad(g, in(1), a, in(0)->type());
    if (needs[1]) out[1] = b.conv2dFilterGrad(in(0), g, a, in(1)->type());
    return out;
  }
  case OpKind::Conv2dInputGrad: {  // y = I(dy, w): d(dy) = conv2d(g, w), dw = conv2d_filter_grad(g, dy)
    const auto &a = n.attrsAs<ConvAttrs>();
    if (needs[0]) out[0] = b.conv2d(g, in(1), a);
    if (needs[1]) out[1] = b.conv2dFilterGrad(g, in(0), a, in(1)->type());
    return out;
  }
  case OpKind::Conv2dFilterGrad: {  // y = F(x, dy): dx = conv2d_input_grad(dy, g), d(dy) = conv2d(x, g)
    const auto &a = n.attrsAs<ConvAttrs>();
    if (needs[0]) out[0] = b.conv2dInputGrad(in(1), g, a, in(0)->type());
    if (needs[1]) out[1] = b.conv2d(in(0), g, a);
    return out;
  }
  case OpKind::MaxPool2d:  // d/dx_i = [x_i is the first max of the window]: max_pool2d_grad
    out[0] = b.maxPool2dGrad(x, g, n.attrsAs<PoolAttrs>());
    return out;
  case OpKind::MaxPool2dGrad:  // linear in dy: d(dy) = g gathered at each window's argmax;
                               // piecewise constant in x: dx = 0 (no gradient)
    if (needs[1]) out[1] = gatherAtWindowArgmax(b, in(0), g, n.attrsAs<PoolAttrs>());
    return out;
  case OpKind::AvgPool2d:  // transpose of averaging: avg_pool2d_grad spreads g evenly
    out[0] = b.avgPool2dGrad(g, n.attrsAs<PoolAttrs>(), x->type());
    return out;
  case OpKind::AvgPool2dGrad:  // transpose of avg_pool2d_grad: avg_pool2d
    out[0] = b.avgPool2d(g, n.attrsAs<PoolAttrs>());
    return out;
  }
  DL_UNREACHABLE("covered switch");
}

}  // namespace dlc::ad
