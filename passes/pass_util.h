//===- passes/pass_util.h - small helpers shared by the passes -------------===//
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ir/ir.h"
#include "passes/pass.h"

namespace dlc {

/// The functions a pass applies to: the one `opts.function` names (an error when there
/// is none), or every function of \p m.
Expected<std::vector<Function *>> selectFunctions(Module &m, const PassOptions &opts);

/// How a value is spelled in debug output: `%name` when named, else `%N` with N its
/// position among the unnamed values, arguments first (the printer's numbering).
std::string valueLabel(const Function &f, const Value *v);

/// The splat value of \p v when it is defined by a `constant` whose elements are all
/// bitwise equal (a splat, or a dense constant that happens to be uniform).
std::optional<double> splatValue(const Value *v);
/// True when \p v is a splat constant whose value is \p c (compared bitwise, so 0.0 and
/// -0.0 differ).
bool isSplatOf(const Value *v, double c);
/// The node defining \p v when it has kind \p k, else null.
Node *defOf(const Value *v, OpKind k);

}  // namespace dlc
