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

namespace dlc {

/// How exp, log, tanh, sigmoid and pow are computed by generated code.
enum class MathMode : uint8_t {
  /// Scalar calls of the C library (expf, logf, tanhf, powf): bitwise equal to the
  /// reference interpreter, which calls the same functions, but not vectorized.
  Libm,
  /// f32 exp, log, tanh and sigmoid as straight-line IR approximations that vectorize
  /// at full width (codegen/vector_math.cpp), within the ULP bounds below of the C
  /// library; f64 and pow keep the library calls.
  Vector,
};

/// Maximum distance of MathMode::Vector results from glibc's (f32), in units in the
/// last place. Measured over all 2^32 inputs: exp 1, log 1, tanh 2, sigmoid 4 (see
/// docs/codegen.md); the tests check ~1.5M sampled inputs against these bounds.
inline constexpr int64_t kVectorExpUlp = 1;
inline constexpr int64_t kVectorLogUlp = 1;
inline constexpr int64_t kVectorTanhUlp = 2;
inline constexpr int64_t kVectorSigmoidUlp = 4;

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
  /// Threads that compile kernels (ORC concurrent compilation); 0 picks a default.
  int compileThreads = 0;
  MathMode math = MathMode::Libm;
  /// Directory of the on-disk object cache (codegen/disk_cache.h): compiled kernels are
  /// stored there and reused by later processes. Empty (the default for the API) keeps
  /// the cache in memory only; `dlc run` uses defaultCacheDir() unless told otherwise.
  std::string cacheDir;
};

/// The default on-disk cache directory: $DLC_CACHE_DIR if set (an empty value means no
/// disk cache), else $XDG_CACHE_HOME/dlc, else $HOME/.cache/dlc; empty when none is set.
std::string defaultCacheDir();

}  // namespace dlc
