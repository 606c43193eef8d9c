//===- codegen/options.h - options of the LLVM CPU backend ------------------===//
//
// CodegenOptions select the target machine and the numeric contract of generated code.
// They are plain data (no LLVM types), so runtime/, tools/ and tests can fill them in
// without seeing LLVM. Only tools/dlc.cpp turns command-line flags into them.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>

#include "ir/approx_math.h"

namespace dlc {

// MathMode (how f32 exp, log, tanh, sigmoid are computed; default MathMode::Vector, the
// approximations of ir/approx_math.h, bitwise equal to the interpreter's) and the ULP
// bounds kVector*Ulp come from ir/approx_math.h.

/// Target and numerics of the CPU backend.
struct CodegenOptions {
  /// LLVM CPU name (`skylake-avx512`, `haswell`, `x86-64`); empty means the host CPU.
  /// A named CPU starts from that CPU's own features, not the host's.
  std::string cpu;
  /// Comma-separated LLVM feature overrides applied last (`-avx512f`, `+avx2,+fma`).
  std::string features;
  /// LLVM optimization level, 0-3.
  int optLevel = 2;
  /// Opt-in fast math: reassociation, contraction into FMA, no NaN/inf guarantees. Off,
  /// generated code matches the interpreter bitwise (DESIGN section 4).
  bool fastMath = false;
  /// Threads that run kernels; 0 means one per hardware thread. Used by the runtime.
  int threads = 0;
  /// Threads that compile kernels (the calling thread and compileThreads - 1 workers);
  /// 0: one per hardware thread, at most 8.
  int compileThreads = 0;
  /// f32 exp/log/tanh/sigmoid: the vectorized approximations (default) or libm calls.
  /// The interpreter must use the same mode (InterpreterOptions::math) to match bitwise.
  MathMode math = MathMode::Vector;
  /// Directory of the on-disk object cache (codegen/disk_cache.h): compiled kernels are
  /// stored there and reused by later processes. Empty (the default for the API) keeps
  /// the cache in memory only; `dlc run` and `dlc train` use defaultCacheDir() unless told otherwise.
  std::string cacheDir;
};

/// The default on-disk cache directory: $DLC_CACHE_DIR if set (an empty value means no
/// disk cache), else $XDG_CACHE_HOME/dlc, else $HOME/.cache/dlc; empty when none is set.
std::string defaultCacheDir();

}  // namespace dlc
