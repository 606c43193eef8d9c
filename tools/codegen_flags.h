//===- tools/codegen_flags.h - the target and numerics flags of dlc commands ===//
//
// `--target-cpu`, `--target-features`, `--opt-level`, `--fast-math`, `--math` for the commands
// that generate code (emit, run). Each command owns one CodegenFlags bound to its
// SubCommand; toOptions() turns the parsed flags into CodegenOptions. DiskCacheFlags:
// `--cache-dir`, `--no-disk-cache` and `--cache-stats` for the commands that keep
// compiled kernels between runs (run, train).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

#include <llvm/Support/CommandLine.h>
#include <llvm/Support/raw_ostream.h>

#include "codegen/jit.h"
#include "codegen/options.h"
#include "tools/tool_support.h"

namespace dlc::tool {

class CodegenFlags {
 public:
  explicit CodegenFlags(llvm::cl::SubCommand &sub)
      : cpu_("target-cpu", llvm::cl::desc("LLVM CPU to generate code for (default: the host's)"),
             llvm::cl::value_desc("cpu"), llvm::cl::sub(sub), llvm::cl::cat(dlcCategory())),
        features_("target-features",
                  llvm::cl::desc("Comma-separated feature overrides, e.g. -avx512f or +avx2,+fma"),
                  llvm::cl::value_desc("features"), llvm::cl::sub(sub), llvm::cl::cat(dlcCategory())),
        optLevel_("opt-level", llvm::cl::desc("LLVM optimization level 0-3 (default 2)"), llvm::cl::init(2),
                  llvm::cl::sub(sub), llvm::cl::cat(dlcCategory())),
        fastMath_("fast-math", llvm::cl::desc("Allow reassociation and FMA contraction (not bitwise reproducible)"),
                  llvm::cl::sub(sub), llvm::cl::cat(dlcCategory())),
        math_("math",
              llvm::cl::desc("How f32 exp, log, tanh, sigmoid are computed, by the JIT and by --interp alike"),
              llvm::cl::init(MathMode::Vector),
              llvm::cl::values(clEnumValN(MathMode::Vector, "vector",
                                          "dlc's approximations, vectorized (default; 1-4 ulp from glibc)"),
                               clEnumValN(MathMode::Libm, "libm", "the C library, scalar calls (slow in hot loops)")),
              llvm::cl::sub(sub), llvm::cl::cat(dlcCategory())) {}

  MathMode math() const { return math_; }

  CodegenOptions toOptions() const {
    CodegenOptions o;
    o.cpu = cpu_;
    o.features = features_;
    o.optLevel = static_cast<int>(optLevel_);
    o.fastMath = fastMath_;
    o.math = math_;
    return o;
  }

 private:
  llvm::cl::opt<std::string> cpu_, features_;
  llvm::cl::opt<unsigned> optLevel_;
  llvm::cl::opt<bool> fastMath_;
  llvm::cl::opt<MathMode> math_;
};

// Where compiled kernels persist between processes: the on-disk object cache
// (codegen/disk_cache.h), on by default in defaultCacheDir().
class DiskCacheFlags {
 public:
  explicit DiskCacheFlags(llvm::cl::SubCommand &sub)
      : dir_("cache-dir",
             llvm::cl::desc("Directory of the on-disk kernel cache (default: $DLC_CACHE_DIR, else ~/.cache/dlc)"),
             llvm::cl::value_desc("dir"), llvm::cl::sub(sub), llvm::cl::cat(dlcCategory())),
        off_("no-disk-cache", llvm::cl::desc("Keep compiled kernels in memory only"), llvm::cl::sub(sub),
             llvm::cl::cat(dlcCategory())),
        stats_("cache-stats", llvm::cl::desc("Print what the kernel caches did to stderr"), llvm::cl::sub(sub),
               llvm::cl::cat(dlcCategory())) {}

  /// The directory for CodegenOptions::cacheDir: --cache-dir, else defaultCacheDir();
  /// empty (no disk cache) with --no-disk-cache.
  std::string dir() const {
    if (off_) return {};
    return dir_.getNumOccurrences() ? std::string(dir_) : defaultCacheDir();
  }

  /// With --cache-stats: one line on stderr of what `jit`'s caches did.
  void report(const Jit &jit) const {
    if (!stats_) return;
    const Jit::Stats s = jit.stats();
    llvm::errs() << "kernel cache: " << s.compiled << " compiled, " << s.diskHits << " loaded from disk, "
                 << s.cacheHits << " in-memory hits, " << s.diskWrites << " written, " << s.diskCorrupt
                 << " corrupt\n";
  }

 private:
  llvm::cl::opt<std::string> dir_;
  llvm::cl::opt<bool> off_, stats_;
};

}  // namespace dlc::tool
