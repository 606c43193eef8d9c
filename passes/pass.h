//===- passes/pass.h - the pass interface ----------------------------------===//
//
// A pass is one function that rewrites a Module in place and returns whether it changed
// anything (STYLE 2.4). Passes are named in passes/passes.def; the pipeline runs any
// list of them, verifying and printing between steps.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdio>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ir/diagnostic.h"
#include "ir/ir.h"
#include "passes/optimizer_config.h"

namespace dlc {

/// Options every pass may read. Fields are typed; a pass documents the ones it uses.
struct PassOptions {
  /// Restrict the pass to this function (empty: every function it applies to).
  std::string function;
  /// autodiff: names of the arguments to differentiate with respect to (empty: every
  /// floating-point argument).
  std::vector<std::string> wrt;
  /// Pass names whose debug output is wanted (`--debug-only=simplify,fuse`).
  std::set<std::string, std::less<>> debugOnly;
  /// Where debug output goes.
  std::FILE *debugStream = stderr;
  /// simplify: also apply rewrites that are exact only up to the sign of zero, NaN/inf
  /// propagation or rounding (x + 0 -> x, x * 0 -> 0, sum of a broadcast -> multiply).
  /// Off by default: strict numerics, every rewrite preserves results bitwise.
  bool fastMath = false;
  /// train-step: the loss function, optimizer, parameters, clipping
  /// (passes/optimizer_config.h).
  TrainStepOptions trainStep;

  bool debugEnabled(std::string_view pass) const { return debugOnly.count(pass) != 0; }
};

/// A pass rewrites \p m in place; returns true if it changed anything.
using PassFn = Expected<bool> (*)(Module &m, const PassOptions &opts);

}  // namespace dlc
