//===- passes/simplify.h - algebraic simplification by named rewrite rules ===//
//
// `simplify` applies a table of named rewrite rules (STYLE 2.11; simplifyRules() lists
// them, passes/simplify.cpp holds the table) to every node, repeatedly, until nothing
// fires (at most kMaxSimplifyIterations sweeps), then removes dead nodes. With
// `--debug-only=simplify` each firing prints `simplify: mul-by-one on %12`.
//
// Numerics. By default every rule preserves results bitwise, as computed by the reference
// interpreter, including the sign of zero, infinities and NaN-ness (NaN sign and payload
// are not preserved: the text format does not keep them either). This decides:
//  - x + 0.0 -> x is NOT exact (-0.0 + 0.0 = +0.0); only x + (-0.0) -> x and integer
//    x + 0 -> x fold. x - 0.0 -> x is exact and folds.
//  - x * 0 -> 0 is wrong for NaN, inf and negative x; it folds for integers only.
//  - sum of a broadcast -> multiply by the count rounds differently (0.1 added ten times
//    is not 10 * 0.1); reduce_sum over no axes or over size-1 axes turns -0.0 into +0.0
//    (sums start from +0). They fold for integers only.
//  - exp(log x) -> x and log(exp x) -> x are not exact (rounding, overflow): no rule.
// PassOptions::fastMath opts in to the rules that are exact only up to the sign of zero,
// NaN/inf propagation or rounding, as XLA's algebraic simplifier does by default.
//
// Requires: verified IR. Guarantees: verified IR with the same results (bitwise, in
// strict mode); no rule of the table applies any more (unless the iteration bound was
// hit); no dead nodes; arguments and result aliases untouched.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "ir/builder.h"
#include "passes/pass.h"

namespace dlc {

/// What a rewrite sees: the function, a builder whose insertion point is the matched node
/// (and whose location is the node's), and the pass options.
struct RewriteContext {
  Function &f;
  Builder &b;
  const PassOptions &opts;
  bool fastMath() const { return opts.fastMath; }
};

/// Returns the value that replaces \p n (of n's type), built with ctx.b or already
/// existing, or null when the rule does not apply.
using RewriteFn = Value *(*)(RewriteContext &ctx, Node &n);

/// One named rewrite rule.
struct RewriteRule {
  std::string_view name;     ///< kebab-case, printed by --debug-only=simplify
  std::optional<OpKind> root;  ///< the kind of the matched node; nullopt: any kind
  std::string_view pattern;  ///< the rewrite and its conditions, for people
  RewriteFn rewrite;
};

/// The rule table, in the order rules are tried on each node.
std::span<const RewriteRule> simplifyRules();

/// Bound on the number of sweeps over a function.
inline constexpr int kMaxSimplifyIterations = 32;

/// Simplifies \p f; returns the number of rewrites applied.
size_t simplifyFunction(Function &f, const PassOptions &opts);

/// The `simplify` pass over every selected function.
Expected<bool> simplify(Module &m, const PassOptions &opts);

}  // namespace dlc
