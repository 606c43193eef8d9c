//===- ir/parser.h - the text format, parsing side ---------------------------===//
#pragma once

#include <string>
#include <string_view>

#include "ir/diagnostic.h"
#include "ir/ir.h"

namespace dlc {

/// Parses a module from \p text; diagnostics are located in \p fileName. Parsing checks
/// syntax, names (definition before use, no duplicates) and attribute spelling; call
/// verify() for the type and shape rules.
Expected<Module> parseModule(std::string_view text, std::string_view fileName);
/// Reads and parses a file; `-` reads standard input.
Expected<Module> parseFile(const std::string &path);

}  // namespace dlc
