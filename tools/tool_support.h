//===- tools/tool_support.h - helpers shared by the dlc subcommands --------===//
//
// Reading an input file, --split-input-file, parse-and-verify, and printing diagnostics
// with the offending source line. Only the tools see llvm::cl and raw_ostream.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <llvm/Support/CommandLine.h>
#include <llvm/Support/raw_ostream.h>

#include "ir/diagnostic.h"
#include "ir/ir.h"

namespace dlc::tool {

/// The category of every dlc option; `--help` hides LLVM's own options.
llvm::cl::OptionCategory &dlcCategory();

/// An input file: its contents and the name diagnostics use for it (`<stdin>` for `-`).
struct Source {
  std::string name;
  std::string text;
};

/// Reads \p path, or standard input for `-`.
Expected<Source> readSource(const std::string &path);

/// Splits \p text at lines that read `// -----`. Each piece is padded with the newlines
/// that precede it, so its line numbers are those of the whole file.
std::vector<std::string> splitInput(std::string_view text);

/// Parses \p text (named \p name in diagnostics) and verifies the module.
Expected<Module> parseAndVerify(std::string_view text, const std::string &name);

/// A file read, parsed and verified.
struct LoadedModule {
  Source source;
  Module module;
};

/// Reads, parses and verifies \p path (`-` for standard input). On failure prints the
/// diagnostics to stderr and returns nullopt: the command then exits with 1.
std::optional<LoadedModule> loadModule(const std::string &path);

/// Prints each diagnostic and note as `file:line:col: error: message`, followed by the
/// source line and a caret when the location lies in \p src.
void printDiagnostics(llvm::raw_ostream &os, const Error &err, const Source &src);

}  // namespace dlc::tool
