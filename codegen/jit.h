//===- codegen/jit.h - compiling kernels to native code ---------------------===//
//
// Jit compiles KernelSpecs with LLVM, one module (and context) per kernel, several
// kernels in parallel on the JIT's own workers (CodegenOptions::compileThreads), links
// the objects with ORC's LLJIT, and keeps every compiled kernel in an in-memory cache
// keyed by the kernel's spec (codegen/kernel_key.h): a kernel seen before (in this or
// another executable, e.g. the same `add` on the same shapes) is neither compiled nor
// emitted again. With CodegenOptions::cacheDir, compiled objects are also kept on disk
// (codegen/disk_cache.h) for later processes. The header is LLVM-free; the LLJIT lives
// behind a pimpl.
//
// Thread-safe: compile() may be called concurrently.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "codegen/kernel_plan.h"
#include "codegen/options.h"
#include "codegen/target.h"
#include "ir/diagnostic.h"

namespace dlc {

/// The native entry point of a kernel (kernel_plan.h describes the ABI).
using KernelFn = void (*)(void **buffers, int64_t begin, int64_t end);

class Jit {
 public:
  /// A new JIT for the target and numerics in \p opts.
  static Expected<std::shared_ptr<Jit>> create(const CodegenOptions &opts);
  /// The process-wide JIT for \p opts' target and numerics, created on first use, so
  /// that executables share compiled kernels. It lives until the process exits.
  static Expected<std::shared_ptr<Jit>> shared(const CodegenOptions &opts);
  ~Jit();
  Jit(const Jit &) = delete;
  Jit &operator=(const Jit &) = delete;

  /// Compiles \p kernels (cache hits are free) and returns their entry points, in order.
  /// The nodes the kernels refer to are only read during the call.
  Expected<std::vector<KernelFn>> compile(std::span<const KernelSpec> kernels);

  const TargetInfo &target() const;
  const CodegenOptions &options() const;

  struct Stats {
    int64_t compiled = 0;         ///< kernels compiled to native code
    int64_t cacheHits = 0;        ///< kernels found in the in-memory cache
    int64_t diskHits = 0;         ///< kernels loaded from the on-disk cache
    int64_t diskWrites = 0;       ///< objects stored in the on-disk cache
    int64_t diskCorrupt = 0;      ///< corrupt or truncated entries found (and recompiled)
    int64_t diskWriteErrors = 0;  ///< stores that failed (unusable directory, full disk)
  };
  Stats stats() const;
  /// The on-disk cache directory; empty when there is none.
  const std::string &cacheDirectory() const;

 private:
  struct Impl;
  explicit Jit(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dlc
