//===- tools/codegen_flags.h - the target and numerics flags of dlc commands ===//
//
// `--target-cpu`, `--target-features`, `--opt-level`, `--fast-math`, `--math` for the commands
// that generate code (emit, run). Each command owns one CodegenFlags bound to its
// SubCommand; toOptions() turns the parsed flags into CodegenOptions. PlanFlags:
// `--stream-stores-from`, `--prefetch-from`, `--interleave`, `--no-gemm-loop-epilogue`, the kernel
// plan's choices that emit and bench expose for A/B measurements. DiskCacheFlags:
// `--cache-dir`, `--no-disk-cache` and `--cache-stats` for the commands that keep
// compiled kernels between runs (run, train).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <llvm/Support/CommandLine.h>
#include <llvm/Support/raw_ostream.h>

#include "codegen/jit.h"
#include "codegen/kernel_plan.h"
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

// How the kernel plan treats large flat kernels and GEMM epilogues; the defaults are
// KernelPlanOptions'.
class PlanFlags {
 public:
  explicit PlanFlags(llvm::cl::SubCommand &sub)
      : streamFrom_("stream-stores-from",
                    llvm::cl::desc(describe("Flat kernels whose outputs all have at least this many MiB write "
                                            "them with streaming (non-temporal) stores unless written in place",
                                            KernelPlanOptions{}.streamStoreBytes)),
                    llvm::cl::value_desc("MiB"), llvm::cl::init(KernelPlanOptions{}.streamStoreBytes >> 20),
                    llvm::cl::sub(sub), llvm::cl::cat(dlcCategory())),
        prefetchFrom_("prefetch-from",
                      llvm::cl::desc(describe("Flat kernels whose full-size inputs and outputs add up to at least "
                                              "this many MiB prefetch them ahead",
                                              KernelPlanOptions{}.prefetchBytes)),
                      llvm::cl::value_desc("MiB"), llvm::cl::init(KernelPlanOptions{}.prefetchBytes >> 20),
                      llvm::cl::sub(sub), llvm::cl::cat(dlcCategory())),
        interleave_("interleave",
                    llvm::cl::desc(interleaveText()), llvm::cl::value_desc("n"),
                    llvm::cl::init(KernelPlanOptions{}.flatInterleave), llvm::cl::sub(sub),
                    llvm::cl::cat(dlcCategory())),
        noGemmLoopEpilogue_("no-gemm-loop-epilogue",
                            llvm::cl::desc("Keep the loop kernels that read a GEMM's product (optimizer updates, "
                                           "ReLU masks) out of its epilogue (for A/B measurements)"),
                            llvm::cl::sub(sub), llvm::cl::cat(dlcCategory())) {}

  /// An error message for an out-of-range size, else empty.
  std::string check() const {
    for (const llvm::cl::opt<int64_t> *o : {&streamFrom_, &prefetchFrom_})
      if (*o < 0 || *o > (int64_t{1} << 30))
        return "--" + o->ArgStr.str() + " must be 0 (never) or a size in MiB up to 2^30";
    if (interleave_ < 0 || interleave_ > 16) return "--interleave must be 0 (LLVM's choice) to 16";
    return "";
  }
  /// Sets the plan options these flags control (after check()).
  void apply(KernelPlanOptions &plan) const {
    plan.streamStoreBytes = streamFrom_ << 20;
    plan.prefetchBytes = prefetchFrom_ << 20;
    plan.flatInterleave = interleave_;
    plan.gemmLoopEpilogue = !noGemmLoopEpilogue_;
  }

 private:
  /// "<what> (default N; 0: never)", kept alive for the option: cl::desc holds a
  /// StringRef.
  static const char *describe(const char *what, int64_t defaultBytes) {
    static std::vector<std::unique_ptr<std::string>> texts;
    texts.push_back(std::make_unique<std::string>(std::string(what) + " (default " +
                                                  std::to_string(defaultBytes >> 20) + "; 0: never)"));
    return texts.back()->c_str();
  }

  static const char *interleaveText() {
    static const std::string text = "Flat kernels with exp, log, tanh, sigmoid, div, sqrt, rsqrt or pow over at least " +
                                    std::to_string(KernelPlanOptions{}.interleaveFrom) +
                                    " elements run this many vector iterations at once (default " +
                                    std::to_string(KernelPlanOptions{}.flatInterleave) + "; 0 or 1: LLVM's choice)";
    return text.c_str();
  }

  llvm::cl::opt<int64_t> streamFrom_, prefetchFrom_;
  llvm::cl::opt<int> interleave_;
  llvm::cl::opt<bool> noGemmLoopEpilogue_;
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
