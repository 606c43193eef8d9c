//===- bench/runner.h - compiling and timing one variant of a case ----------===//
//
// runVariant compiles a BenchCase fused or unfused (ExecutableOptions::plan.fuse), runs
// it once to keep its outputs (for the fused/unfused difference), then times repeated
// runs in place (Executable::runInPlace: no allocation or copy per run). timeCompile
// measures W6: W1's training step from graph construction to an Executable, cold (a forked child with an empty in-memory cache and no disk cache) and
// warm (the same process, every kernel already compiled). LLVM-free.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <vector>

#include "bench/measure.h"
#include "bench/workloads.h"
#include "runtime/executable.h"

namespace dlc::bench {

struct VariantResult {
  std::string variant;  ///< "fused" or "unfused"
  Timing timing;
  WorkCounts work;
  double compileMs = 0;
  int threads = 1;
  std::vector<HostTensor> outputs;  ///< of the first run
  /// With ExecutableOptions::profile: per kernel, the time of the timed runs.
  std::vector<KernelTime> profile;
};

/// \p exe's plan.fuse is overridden by \p fuse.
Expected<VariantResult> runVariant(const BenchCase &c, bool fuse, const ExecutableOptions &exe,
                                   const RepeatOptions &repeat);

/// W6: `cold` runs each repetition in a fresh forked process (nothing compiled yet, no
/// disk cache); otherwise one untimed compile fills the cache and the timed ones hit it.
/// Call the cold measurement before anything starts threads in this process.
Expected<Timing> timeCompile(bool cold, int64_t batch, bool fuse, const ExecutableOptions &exe,
                             const RepeatOptions &repeat);

}  // namespace dlc::bench
