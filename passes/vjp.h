//===- passes/vjp.h - vector-Jacobian products of the primitive ops -------===//
//
// The per-op half of reverse-mode autodiff (passes/autodiff.h is the graph half). vjp()
// maps the cotangent of a node's result to the cotangents of its operands by building
// ordinary IR, so the backward graph can be printed, optimized and differentiated again.
// Internal to dl_passes (namespace dlc::ad); users call gradients().
//
//===----------------------------------------------------------------------===//
#pragma once

#include <span>
#include <vector>

#include "ir/builder.h"

namespace dlc::ad {

/// Builds, with \p b, the cotangents of the operands of \p n given the cotangent \p g of
/// its result (same type as the result). Returns one entry per operand: null where
/// \p needs[i] is false or where operand i has no gradient (integer or i1 operands, the
/// operands of kNoGrad ops, the pooled input of max_pool2d_grad, whose gradient is zero
/// almost everywhere). Every value it builds is computed only from differentiable ops or
/// ops with a defined zero gradient, so the result can be differentiated again. An Error
/// names an op whose rule cannot be expressed with the op set (none today).
Expected<std::vector<Value *>> vjp(Builder &b, Node &n, Value *g, std::span<const bool> needs);

/// Sums \p g down to \p shape, undoing a numpy-style broadcast (trailing dims aligned,
/// size-1 dims stretched): reduce_sum over the stretched dims, then reshape.
Value *sumToShape(Builder &b, Value *g, const Shape &shape);

/// The transpose of `broadcast x to g's shape with dims`: reduce_sum over the result dims
/// that x does not map to or that stretch a size-1 dim, then reshape to \p xShape.
Value *unbroadcastInDim(Builder &b, Value *g, const Shape &xShape, const std::vector<int64_t> &dims);

/// The transpose of `slice` with attributes \p a applied to a tensor of shape \p xShape:
/// scatters \p g to the sliced positions and zeros elsewhere, using only reshape, pad and
/// slice (a stride k spreads each element over k cells by padding an inserted size-1 dim).
Value *scatterSlice(Builder &b, Value *g, const Shape &xShape, const SliceAttrs &a);

/// The transpose of max_pool2d_grad(x, .) with attributes \p a: for every pooling window,
/// the element of \p c (shaped like \p x) at the window's first maximum of \p x, the same
/// routing max_pool2d_grad uses. Built from pad, slice, compare, select and arithmetic;
/// its gradient with respect to x is zero; with respect to c (derived through the slice
/// and select rules) it equals max_pool2d_grad(x, .).
Value *gatherAtWindowArgmax(Builder &b, Value *x, Value *c, const PoolAttrs &a);

}  // namespace dlc::ad
