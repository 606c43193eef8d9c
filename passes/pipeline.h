//===- passes/pipeline.h - the pass registry and the pipeline runner -------===//
//
// The registry is passes/passes.def; a pipeline is a list of its entries, run in order
// over one Module (STYLE 2.5). Between passes the runner can verify the module
// (`--verify-each`, and always in builds without NDEBUG), print it after chosen passes
// under a banner comment (so a dump stays re-parseable) and time every pass.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdio>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "passes/pass.h"

namespace dlc {

/// One registered pass: its CLI name (kebab-case) and its function.
struct PassEntry {
  std::string_view name;
  PassFn fn;
};

/// Every pass of passes.def, in file order.
std::span<const PassEntry> registeredPasses();
/// The pass called \p name, or null.
const PassEntry *lookupPass(std::string_view name);
/// Comma-separated list of every registered pass name ("dce, cse, ...").
std::string knownPassNames();
/// Parses `a,b,c` into registry entries; an unknown or empty name is an error that lists
/// the known passes.
Expected<std::vector<PassEntry>> parsePassPipeline(std::string_view list);

/// How runPipeline checks, prints and times the passes it runs.
struct PipelineOptions {
  /// Verify the module after each pass (always on when NDEBUG is not defined).
  bool verifyEach = false;
  /// Print the module after every pass.
  bool printAfterAll = false;
  /// Print the module after the passes with these names.
  std::set<std::string, std::less<>> printAfter;
  /// Time each pass and print a table at the end.
  bool timePasses = false;
  /// Options handed to every pass.
  PassOptions passOpts;
  /// Where `print-after` dumps go (after each: `// ----- IR after NAME -----`).
  std::FILE *dumpStream = stderr;
  /// Where the timing table goes.
  std::FILE *timingStream = stderr;
};

/// Runs \p passes over \p m in order. Stops at the first pass that fails or leaves the
/// module invalid; the error names the pass. Returns whether any pass changed \p m.
Expected<bool> runPipeline(Module &m, std::span<const PassEntry> passes, const PipelineOptions &o);

/// `// ----- IR after NAME -----` followed by the module text, on \p out.
void dumpModuleAfter(std::FILE *out, const Module &m, std::string_view passName);

}  // namespace dlc
