//===- passes/dce.h - dead code elimination --------------------------------===//
//
// Every op is pure, so a node whose result reaches no function result is dead.
// Requires: nothing (works on any function whose nodes are in topological order).
// Guarantees: every remaining node contributes to a result; arguments are kept, even
// unused ones (they are the function's signature); program order is otherwise unchanged.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "passes/pass.h"

namespace dlc {

/// Removes the dead nodes of \p f; returns how many were removed.
size_t eliminateDeadNodes(Function &f);

/// The `dce` pass: eliminateDeadNodes on every selected function.
Expected<bool> eliminateDeadCode(Module &m, const PassOptions &opts);

}  // namespace dlc
