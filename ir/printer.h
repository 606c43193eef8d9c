//===- ir/printer.h - the text format, printing side ------------------------===//
#pragma once

#include <string>

#include "ir/ir.h"

namespace dlc {

/// Prints \p m in the text format; `parseModule(printModule(m))` prints identically.
std::string printModule(const Module &m);
/// Prints one function.
std::string printFunction(const Function &f);

}  // namespace dlc
