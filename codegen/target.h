//===- codegen/target.h - the CPU a kernel is generated for -----------------===//
//
// resolveTarget turns CodegenOptions into a concrete LLVM target: the host CPU and its
// features by default (AVX-512 on the development machine), or a named CPU, with the
// feature overrides applied last. `-avx512f` on an AVX-512 host gives AVX2 code that
// still runs there, which is how AVX2 and generic code are tested on one machine.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

#include "codegen/options.h"
#include "ir/diagnostic.h"

namespace dlc {

/// A resolved CPU target.
struct TargetInfo {
  std::string triple;    ///< `x86_64-pc-linux-gnu`
  std::string cpu;       ///< `sapphirerapids`, `haswell`, `x86-64`
  std::string features;  ///< the full LLVM feature string, overrides last
  /// Width of the vectors kernels are tuned for: 512 (AVX-512), 256 (AVX), 128 (SSE).
  int vectorBits = 128;

  /// `x86_64-pc-linux-gnu sapphirerapids (512-bit vectors)`.
  std::string str() const;
  friend bool operator==(const TargetInfo &, const TargetInfo &) = default;
};

/// Resolves \p opts against the host; an unknown CPU or feature name is an Error.
Expected<TargetInfo> resolveTarget(const CodegenOptions &opts);

}  // namespace dlc
