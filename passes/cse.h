//===- passes/cse.h - common subexpression elimination ---------------------===//
//
// Two nodes are the same expression when they have the same kind, the same operands (in
// the same order), the same result type and equal attributes (compared field by field
// through the attrs' `fields` visitor, doubles bitwise so that 0.0 and -0.0 constants
// stay apart). Commutativity is not exploited: max/min with NaN and the NaN payload of
// add/mul depend on operand order, and strict numerics keep results bitwise.
// Requires: nodes in topological order. Guarantees: no two nodes compute the same
// expression; the first occurrence (in program order) is kept, with its name and
// location; the duplicates are erased.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

#include "passes/pass.h"

namespace dlc {

/// A byte string that identifies \p a exactly (same string <=> equal fields, doubles
/// bitwise); used by CSE for hashing and equality.
std::string attrsKey(const Attrs &a);

/// Merges the common subexpressions of \p f; returns how many nodes were removed.
size_t eliminateCommonSubexpressions(Function &f);

/// The `cse` pass over every selected function.
Expected<bool> eliminateCommonSubexpressions(Module &m, const PassOptions &opts);

}  // namespace dlc
