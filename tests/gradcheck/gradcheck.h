//===- tests/gradcheck/gradcheck.h - numeric checks of autodiff ------------===//
//
// The harness every gradient check uses: random test data, the reference interpreter as
// the oracle, central differences, and a relative-error measure. checkGradients compares
// the gradients the `autodiff` pass builds with central differences of the loss;
// checkHvp compares Hessian-vector products (gradients() applied to a value computed
// from gradients) with central differences of the gradient.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "ir/host_tensor.h"
#include "ir/ir.h"

namespace dlc::gradcheck {

/// A deterministic random source for test data.
class Rng {
public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(gen_); }
  int64_t integer(int64_t lo, int64_t hiInclusive) {
    return std::uniform_int_distribution<int64_t>(lo, hiInclusive)(gen_);
  }
  std::mt19937_64 &engine() { return gen_; }

private:
  std::mt19937_64 gen_;
};

/// How to fill a test input so that the checked function is smooth around it.
enum class Fill : uint8_t {
  Uniform,       ///< [-1, 1]
  Positive,      ///< [0.5, 2]: log, sqrt, rsqrt, pow's base
  AwayFromZero,  ///< [0.2, 1] with a random sign: abs, divisors, relu inputs
  Distinct,      ///< [-1, 1], pairwise at least 1/n apart: max ties cannot occur
  Exact,         ///< multiples of 2^-10 in [-2, 2]: exact in f32 (cast checks)
};

/// A tensor of type \p t (floating-point, or integer for labels) filled as \p fill says.
HostTensor randomTensor(const TensorType &t, Fill fill, Rng &rng);
/// \p n random values in [-1, 1] (loss weights, directions).
std::vector<double> randomValues(int64_t n, Rng &rng);

/// Interprets \p f; an interpreter error fails the current test and returns {}.
std::vector<HostTensor> evaluate(const Function &f, std::span<const HostTensor> args);

/// The largest relative error between analytic and numeric values, where each error is
/// |a - n| / max(|a|, |n|, 1e-3 * scale, 1e-9) and scale is the largest magnitude of
/// either vector: near-zero components are held to an error relative to the whole
/// gradient, not to their own noise.
struct ErrorStats {
  double maxRel = 0.0;
  int64_t count = 0;
  std::string worst;  ///< where the largest error is, for failure messages
};
ErrorStats compareValues(std::span<const double> analytic, std::span<const double> numeric,
                         std::span<const std::string> labels);

/// Options of a check.
struct CheckOptions {
  double eps = 1e-6;
  /// At most this many coordinates per argument are checked (chosen at random); -1: all.
  int64_t samplePerArg = -1;
  uint64_t seed = 1;
};

/// Checks the gradients of the function \p fn of \p m (one floating-point scalar result)
/// with respect to the arguments named \p wrt at \p args: keeps a copy of the function,
/// runs the `autodiff` pass on \p m (which it thereby changes), verifies the result and
/// compares it with central differences of the copy.
ErrorStats checkGradients(Module &m, const std::string &fn, std::span<const HostTensor> args,
                          const std::vector<std::string> &wrt, const CheckOptions &o = {});

/// Checks Hessian-vector products of \p fn in a random direction v over the arguments
/// named \p wrt: H v from gradients() of <grad f, v> (grad-of-grad, built in \p m) against
/// (grad f(x + eps v) - grad f(x - eps v)) / (2 eps).
ErrorStats checkHvp(Module &m, const std::string &fn, std::span<const HostTensor> args,
                    const std::vector<std::string> &wrt, const CheckOptions &o = {});

}  // namespace dlc::gradcheck
