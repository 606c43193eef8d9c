//===- tests/unit/codegen_test_util.h - JIT-vs-interpreter test harness -----===//
//
// A JitCase is a function with concrete inputs. checkJitCase compiles it for every
// target under test (the host, AVX2 = host minus AVX-512, and generic x86-64), runs it
// on 1 and 2 threads (the 2-thread runs use tiny chunks so the partition changes), and
// requires: every JIT result equals the interpreter's bitwise (any NaN equals any NaN,
// since IEEE lets either NaN operand propagate) or within `ulp` units in the last place,
// and the 1- and 2-thread results are identical bit for bit.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codegen/options.h"
#include "runtime/executable.h"
#include "ir/builder.h"
#include "ir/host_tensor.h"
#include "ir/ir.h"

namespace dlc::test {

/// A function and its inputs.
struct JitCase {
  std::string label;
  std::unique_ptr<Function> fn;
  std::vector<HostTensor> inputs;
  bool aliasReshapes = true;
  /// Allowed distance from the interpreter in units in the last place (0: bitwise).
  int64_t ulp = 0;
  /// For the JIT and the interpreter alike.
  MathMode math = MathMode::Vector;
};

/// A named target configuration.
struct TestTarget {
  std::string name;
  CodegenOptions opts;
};
/// host, avx2 (host with -avx512f) and generic (x86-64).
const std::vector<TestTarget> &testTargets();

/// How random inputs are drawn.
struct InputStyle {
  double lo = -3.0, hi = 3.0;  ///< float range
  double special = 0.03;       ///< probability of NaN, +-inf, +-0, denormals, extremes
  bool ties = false;           ///< floats are small integers (equal values, zeros)
  bool wide = false;           ///< floats of magnitude 1e-3 .. 1e12 (for casts)
  int64_t intLo = -100, intHi = 100;
};

/// Seeded random shapes and values.
class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  int64_t uniformInt(int64_t lo, int64_t hi);  ///< [lo, hi]
  double uniform(double lo, double hi);
  bool coin(double p = 0.5) { return uniform(0, 1) < p; }
  /// A dimension extent: often 1, small primes, 16 and its neighbours.
  int64_t dim();
  Shape shape(int64_t rank);
  template <class T> const T &pick(const std::vector<T> &v) {
    return v[static_cast<size_t>(uniformInt(0, static_cast<int64_t>(v.size()) - 1))];
  }
  HostTensor tensor(const TensorType &t, const InputStyle &style = {});

 private:
  std::mt19937_64 g_;
};

/// A function `f` with one argument per type in \p argTypes and one node `k`; its
/// result is the function's result.
std::unique_ptr<Function> singleOp(OpKind k, const std::vector<TensorType> &argTypes, Attrs attrs = NoAttrs{},
                                   std::optional<TensorType> given = std::nullopt);

/// `got` and `want` have the same type and equal elements (NaN equal to NaN, or within
/// \p ulp units in the last place for floats). \p strictNan compares NaN bits too.
::testing::AssertionResult sameElements(const HostTensor &got, const HostTensor &want, int64_t ulp = 0,
                                        bool strictNan = false);

/// Distance in units in the last place between two floats (any signs; NaN and inf are
/// the caller's business).
int64_t ulpDistance(float a, float b);

/// The whole check described at the top of this file.
void checkJitCase(const JitCase &c);

/// Arguments for \p f without special values: floats in [lo, hi), integers (labels, step
/// counters) in [0, 9]. Training steps use [0, 1) so that Adam's moments stay valid.
std::vector<HostTensor> argsFor(const Function &f, uint64_t seed, double lo = 0, double hi = 1);

/// Compiles \p f with \p o and runs it on \p args; a failure fails the test and returns
/// no tensors.
std::vector<HostTensor> compileAndRun(const Function &f, const std::vector<HostTensor> &args,
                                      const ExecutableOptions &o);

}  // namespace dlc::test
