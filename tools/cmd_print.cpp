//===- tools/cmd_print.cpp - `dlc print`: parse, verify and print IR --------===//
//
// Prints a .dlc file in canonical form: every attribute spelled out, unnamed values
// renumbered, comments dropped. `dlc print f | dlc print -` equals `dlc print f`.
//
//===----------------------------------------------------------------------===//
#include "ir/printer.h"
#include "tools/tool_support.h"

namespace dlc::tool {

namespace cl = llvm::cl;

cl::SubCommand printCommand("print", "Parse and verify a .dlc file, then print it in canonical form");

namespace {
cl::opt<std::string> inputPath(cl::Positional, cl::Required, cl::desc("<input .dlc file, or - for stdin>"),
                               cl::sub(printCommand), cl::cat(dlcCategory()));
}  // namespace

int runPrint() {
  std::optional<LoadedModule> input = loadModule(inputPath);
  if (!input) return 1;
  llvm::outs() << printModule(input->module);
  return 0;
}

}  // namespace dlc::tool
