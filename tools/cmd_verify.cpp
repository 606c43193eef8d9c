//===- tools/cmd_verify.cpp - `dlc verify`: check a .dlc file ----------------===//
//
// Without flags: silent with exit code 0 for valid IR, or the diagnostics on stderr and
// exit code 1. With --verify-diagnostics the diagnostics are instead compared with the
// file's `expected-error {{...}}` annotations (verify_diagnostics.h); with
// --split-input-file each `// -----`-separated piece is checked on its own.
//
//===----------------------------------------------------------------------===//
#include "tools/tool_support.h"
#include "tools/verify_diagnostics.h"

namespace dlc::tool {

namespace cl = llvm::cl;

cl::SubCommand verifyCommand("verify", "Check that a .dlc file parses and verifies; report diagnostics");

namespace {
cl::opt<std::string> inputPath(cl::Positional, cl::Required, cl::desc("<input .dlc file, or - for stdin>"),
                               cl::sub(verifyCommand), cl::cat(dlcCategory()));
cl::opt<bool> verifyDiagnostics(
    "verify-diagnostics",
    cl::desc("Match the diagnostics against the 'expected-error {{...}}' annotations in the file's "
             "comments instead of printing them; exit 1 on any difference"),
    cl::sub(verifyCommand), cl::cat(dlcCategory()));
cl::opt<bool> splitInputFile(
    "split-input-file",
    cl::desc("Split the input at '// -----' lines and check each piece on its own "
             "(line numbers stay those of the whole file)"),
    cl::sub(verifyCommand), cl::cat(dlcCategory()));
}  // namespace

int runVerify() {
  Expected<Source> src = readSource(inputPath);
  if (!src) {
    printDiagnostics(llvm::errs(), src.error(), {});
    return 1;
  }
  std::vector<std::string> chunks;
  if (splitInputFile)
    chunks = splitInput(src->text);
  else
    chunks.push_back(src->text);
  bool ok = true;
  for (const std::string &chunk : chunks) {
    Expected<Module> m = parseAndVerify(chunk, src->name);
    const std::vector<Diagnostic> none;
    const std::vector<Diagnostic> &diags = m ? none : m.error().diagnostics();
    if (verifyDiagnostics) {
      ok &= checkExpectedDiagnostics(chunk, src->name, diags, llvm::errs());
    } else if (!m) {
      printDiagnostics(llvm::errs(), m.error(), *src);
      ok = false;
    }
  }
  return ok ? 0 : 1;
}

}  // namespace dlc::tool
