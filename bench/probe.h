//===- bench/probe.h - the machine's limits, measured in the same run -------===//
//
// A small STREAM-like bandwidth probe (copy -- the best of a plain loop, memcpy and a
// loop prefetching 2 KiB ahead; and, reported beside it, one with streaming stores --
// and triad, over 2^25 floats per array) and
// a peak-FMA probe (independent vector FMA chains, AVX-512 when the CPU has it, else
// AVX2+FMA, else scalar), each on N threads, best of a few trials. `dlc bench` derives
// every workload's floor from these figures: bytes / copy bandwidth for memory-bound
// work, FLOPs / peak for compute-bound work, whichever is larger.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>

namespace dlc::bench {

struct MachineLimits {
  int threads = 0;
  double copyGBps = 0;   ///< (read + write bytes) / s: the best of a plain, a memcpy and a
                         ///< prefetching copy loop, all with ordinary stores
  double triadGBps = 0;  ///< a = b + s*c: 12 bytes per element / s
  double peakGflops = 0; ///< f32 FMA, 2 FLOPs per lane
  std::string isa;       ///< "avx512", "avx2", "scalar"
  /// The copy with streaming (non-temporal) stores, which skip reading the destination:
  /// BENCHMARKS.md's stretch floor. Reported only; the floors use copyGBps.
  double copyNtGBps = 0;
};

/// Measures the limits on \p threads threads (about half a second).
MachineLimits probeMachine(int threads, int64_t elements = int64_t{1} << 25);

/// The floor of a function moving \p bytes and computing \p flops, in ms.
double floorMs(const MachineLimits &m, int64_t bytes, int64_t flops);
/// "memory" or "compute": which limit sets floorMs.
const char *floorBound(const MachineLimits &m, int64_t bytes, int64_t flops);

}  // namespace dlc::bench
