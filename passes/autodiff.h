//===- passes/autodiff.h - reverse-mode automatic differentiation ---------===//
//
// gradients() appends the backward graph of a value to its function; the `autodiff`
// pass (differentiate) turns a loss function into one that also returns the gradients.
// The per-op rules are in passes/vjp.cpp. The backward graph is ordinary IR built only
// from differentiable ops, so gradients() can be applied to values computed from
// gradients (grad-of-grad, Hessian-vector products).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <span>
#include <vector>

#include "ir/builder.h"
#include "passes/pass.h"

namespace dlc {

/// Builds, with \p b, the gradients d(sum(seed * y)) / dw for each w in \p wrt.
///
/// Requires: \p y and every w are values of b.function(), y is floating-point, and new
/// nodes go after y's definition (b appends at the end by default). \p seed, when given,
/// has y's type; when null it is 1 and y must be a floating-point scalar.
/// Guarantees: returns one value per w, of w's type, in order; the function's existing
/// nodes and results are untouched. Nodes are walked in reverse program order from y and
/// fan-out cotangents are summed. A w that y does not depend on through floating-point
/// values gets a zero splat constant; integer and i1 values carry no gradient. Backward
/// nodes take the location of the forward node they differentiate.
/// Errors: a w (or y) that is not floating-point, e.g. "cannot differentiate with
/// respect to '%y': i32[128] is not a floating-point type"; a seed of the wrong type; a
/// VJP rule that cannot be expressed (none today: every op of ops.def has one). Nodes
/// built before an error stay in the function, unused (dce removes them).
Expected<std::vector<Value *>> gradients(Builder &b, Value *y, std::span<Value *const> wrt,
                                         Value *seed = nullptr);

/// The `autodiff` pass. Rewrites each function of \p m (or only opts.function) to return
/// (loss, d loss / d arg...) for the arguments named in opts.wrt (default: every
/// floating-point argument), in argument order.
///
/// Requires: verified IR; every selected function returns exactly one floating-point
/// scalar (the loss); every name in opts.wrt is a floating-point argument of it.
/// Guarantees: verified IR; the forward nodes are kept, the backward nodes are appended,
/// the gradient results are named `d_<arg>` where the name is free, result aliases are
/// cleared. Returns true when some function was changed.
/// Errors: "autodiff needs a scalar floating-point result; @f returns f32[4]", an unknown
/// or non-floating-point argument in opts.wrt, an unknown opts.function.
Expected<bool> differentiate(Module &m, const PassOptions &opts);

}  // namespace dlc
