//===- passes/simplify_rules.h - the rewrite functions of simplify's table ===//
//
// Internal to dl_passes. Each function implements one row of the rule table in
// passes/simplify.cpp, where its name, root op and pattern are listed; the comment on
// each declaration gives the rewrite and why it is exact.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "passes/simplify.h"

namespace dlc::rules {

// Folding (simplify_arith.cpp).
Value *constantFold(RewriteContext &c, Node &n);       ///< all operands constant -> constant

// Arithmetic identities (simplify_arith.cpp).
Value *mulByOne(RewriteContext &c, Node &n);           ///< x*1, 1*x -> x
Value *mulByNegOne(RewriteContext &c, Node &n);        ///< x*-1, -1*x -> neg x
Value *mulByZero(RewriteContext &c, Node &n);          ///< x*0 -> 0 (integers; floats: fast-math)
Value *negMulNeg(RewriteContext &c, Node &n);          ///< (-x)*(-y) -> x*y
Value *addZero(RewriteContext &c, Node &n);            ///< x+(-0.0), integer x+0 -> x (x+0.0: fast-math)
Value *subZero(RewriteContext &c, Node &n);            ///< x-(+0.0), integer x-0 -> x
Value *subSelf(RewriteContext &c, Node &n);            ///< x-x -> 0 (integers; floats: fast-math)
Value *subOfNeg(RewriteContext &c, Node &n);           ///< x-(-y) -> x+y
Value *addOfNeg(RewriteContext &c, Node &n);           ///< x+(-y), (-y)+x -> x-y
Value *divByOne(RewriteContext &c, Node &n);           ///< x/1 -> x
Value *divByPowerOfTwo(RewriteContext &c, Node &n);    ///< x/2^k -> x*2^-k
Value *negOfNeg(RewriteContext &c, Node &n);           ///< -(-x) -> x
Value *negIntoConstant(RewriteContext &c, Node &n);    ///< -(x*k) -> x*(-k), -(x/k), -(k/x) likewise
Value *absOfNeg(RewriteContext &c, Node &n);           ///< |-x| -> |x|
Value *absOfAbs(RewriteContext &c, Node &n);           ///< ||x|| -> |x|
Value *maxMinSelf(RewriteContext &c, Node &n);         ///< max(x,x), min(x,x) -> x
Value *powOne(RewriteContext &c, Node &n);             ///< pow(x,1) -> x
Value *selectConstantPredicate(RewriteContext &c, Node &n);  ///< select(true,a,b) -> a ...
Value *selectSameArms(RewriteContext &c, Node &n);     ///< select(p,a,a) -> a
Value *selectToCast(RewriteContext &c, Node &n);       ///< select(p, 1, 0) -> cast p
Value *castToSameType(RewriteContext &c, Node &n);     ///< cast x to its own dtype -> x

// Data movement and reductions (simplify_shape.cpp).
Value *transposeIdentity(RewriteContext &c, Node &n);      ///< transpose(x, iota) -> x
Value *transposeOfTranspose(RewriteContext &c, Node &n);   ///< compose the permutations
Value *transposeOfBroadcast(RewriteContext &c, Node &n);   ///< permute the broadcast instead
Value *reshapeSameShape(RewriteContext &c, Node &n);       ///< reshape x to its shape -> x
Value *reshapeOfReshape(RewriteContext &c, Node &n);       ///< reshape(reshape x) -> reshape x
Value *reshapeOfUnitBroadcast(RewriteContext &c, Node &n); ///< reshape(broadcast of 1 element)
Value *broadcastIdentity(RewriteContext &c, Node &n);      ///< broadcast x to its shape -> x
Value *broadcastOfBroadcast(RewriteContext &c, Node &n);   ///< compose the dims maps
Value *broadcastOfSplat(RewriteContext &c, Node &n);       ///< broadcast(splat c) -> splat c
Value *reshapeOfSplat(RewriteContext &c, Node &n);         ///< reshape(splat c) -> splat c
Value *reduceUnitAxes(RewriteContext &c, Node &n);         ///< reduce over no/size-1 axes -> reshape
Value *reduceSumOfBroadcast(RewriteContext &c, Node &n);   ///< sum of copies -> x * count
Value *sliceFull(RewriteContext &c, Node &n);              ///< slice taking everything -> x
Value *concatSingle(RewriteContext &c, Node &n);           ///< concat(x) -> x
Value *padNothing(RewriteContext &c, Node &n);             ///< pad by zero widths -> x
Value *matmulOfTranspose(RewriteContext &c, Node &n);      ///< fold a last-two-dims transpose into the flag

}  // namespace dlc::rules
