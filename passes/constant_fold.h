//===- passes/constant_fold.h - constant folding with the reference interpreter ===//
//
// A node whose operands are all `constant`s is evaluated by the reference interpreter
// (ir/interpreter.h evaluateOp), so folding is bitwise what the program would compute.
//  - Splat operands give splat results of any size without materialising them:
//    elementwise ops are evaluated on one element; broadcast/reshape/transpose/slice of a
//    splat is that splat; reduce_sum/reduce_max of a splat evaluate one reduction of the
//    reduced length (same additions in the same order); matmul of splats one dot product.
//  - Otherwise a node is folded when its result has at most `maxDenseElements`
//    elements (and its operands at most `maxOperandElements`), into a dense constant, or
//    a splat when all its elements are bitwise equal.
// `iota` is never folded (it is the compact spelling of its value); i64 results beyond
// 2^53 are not folded (constants hold doubles).
// Requires: nodes in topological order. Guarantees: results bitwise unchanged; each
// folded node is replaced by a `constant` (keeping its name and location) and erased,
// together with operand constants left without users.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <optional>

#include "passes/pass.h"

namespace dlc {

/// Size limits of constant folding.
struct FoldLimits {
  int64_t maxDenseElements = 4096;
  int64_t maxOperandElements = int64_t{1} << 20;
  /// Longest reduction (or dot product) evaluated for splat operands.
  int64_t maxSplatReduction = int64_t{1} << 24;
};

/// The value of \p n as constant attributes, when its operands are all constants and it
/// folds within \p limits; nullopt otherwise.
std::optional<ConstantAttrs> tryFoldNode(const Node &n, const FoldLimits &limits = {});

/// Folds \p n: inserts the constant before it and redirects every use to it, without
/// erasing \p n. Returns the constant's value, or null when \p n does not fold.
Value *foldNodeInPlace(Function &f, Node &n, const FoldLimits &limits = {});

/// Folds every foldable node of \p f (chains fold in one sweep); returns the count.
size_t foldConstants(Function &f, const FoldLimits &limits = {});

/// The `constant-fold` pass over every selected function.
Expected<bool> foldConstants(Module &m, const PassOptions &opts);

}  // namespace dlc
