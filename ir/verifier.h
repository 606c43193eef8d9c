//===- ir/verifier.h - structural and type checks of the IR ---------------===//
//
// The verifier checks what every pass may assume: operand counts match ops.def, every
// attribute struct matches its op, result types equal what shape inference computes,
// operands are defined before use (SSA dominance in program order), names are unique,
// results and aliases are well-formed. It reports every problem it finds, each located.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/diagnostic.h"
#include "ir/ir.h"

namespace dlc {

/// Verifies one function; the Error holds one diagnostic per problem.
Expected<void> verify(const Function &f);
/// Verifies every function and checks that function names are unique.
Expected<void> verify(const Module &m);

}  // namespace dlc
