//===- bench/measure.h - timing, work counts and output differences --------===//
//
// What `dlc bench` reports about one variant of a function: its kernel count and bytes
// moved (from the kernel plan, the same one the runtime executes), its FLOPs (from the
// IR), the minimal bytes any implementation must move (arguments + results), the
// timing statistics of repeated runs, and the max absolute and ULP differences between
// two variants' outputs. LLVM-free.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <vector>

#include "codegen/kernel_plan.h"
#include "ir/host_tensor.h"
#include "ir/ir.h"

namespace dlc::bench {

/// Work counts of one function under one kernel plan.
struct WorkCounts {
  int64_t kernels = 0;
  /// Sum over kernels of their input and output bytes (what the schedule reads and
  /// writes, each kernel counted on its own).
  int64_t bytesMoved = 0;
  /// Bytes of the arguments plus the results (a result that is itself an argument counts
  /// once): the least any implementation moves, the bandwidth floor's bytes.
  int64_t minBytes = 0;
  /// Floating-point operations: 2 per multiply-add of matmul and convolutions, 1 per
  /// element of elementwise ops (exp and tanh included), 1 per reduced input element.
  int64_t flops = 0;
};

/// Counts the work of \p f split into kernels by planKernels(f, \p opts).
WorkCounts countWork(const Function &f, const KernelPlanOptions &opts);

/// FLOPs of one node (see WorkCounts::flops); data movement and sources count 0.
int64_t nodeFlops(const Node &n);

/// Distance between two floats in units in the last place: the number of representable
/// f32 values between them (0 when equal, +0 and -0 included; two NaNs are equal; a NaN
/// against a number is the maximum int64).
int64_t ulpDistance(float a, float b);
/// The same for doubles.
int64_t ulpDistance(double a, double b);

/// How far two lists of tensors are apart.
struct OutputDiff {
  double maxAbs = 0;   ///< max |a - b| over every element (NaN-NaN pairs count 0)
  int64_t maxUlp = 0;  ///< max ulpDistance over floating-point elements; integers: |a - b|
  bool shapesMatch = true;
  bool bitwiseEqual() const { return shapesMatch && maxUlp == 0; }
};
OutputDiff compareOutputs(std::span<const HostTensor> a, std::span<const HostTensor> b);

/// Seeded random arguments for any function (the rule `dlc bench FILE.dlc` documents):
/// floating-point arguments uniform in [0, 1) (so square roots and logs of optimizer
/// state stay defined); integer arguments uniform in [0, D) where D is the smallest
/// depth of a one_hot that reads the argument (directly or through reshape, broadcast,
/// cast), else [0, 10); i1 arguments 0 or 1.
std::vector<HostTensor> randomArguments(const Function &f, uint64_t seed);

/// Timing statistics of repeated runs, in milliseconds.
struct Timing {
  double minMs = 0, medianMs = 0, meanMs = 0;
  int reps = 0;
};

/// How many times to run.
struct RepeatOptions {
  int warmup = 2;        ///< untimed runs first
  int reps = 10;         ///< at least this many timed runs...
  double minSeconds = 0.5;  ///< ...and keep going until this much time is spent...
  double maxSeconds = 10;   ///< ...but stop after this much (with at least 2 runs)
  int maxReps = 10000;
};

/// Times \p run; it returns false on failure, which stops the loop and gives reps = 0.
Timing timeRepeated(const std::function<bool()> &run, const RepeatOptions &o);

/// The same loop over samples that time themselves: \p sample returns milliseconds, or
/// a negative number on failure (reps = 0).
Timing sampleRepeated(const std::function<double()> &sample, const RepeatOptions &o);

/// The median of \p v (sorted copy); 0 for an empty vector.
double median(std::vector<double> v);

}  // namespace dlc::bench
