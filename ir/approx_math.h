//===- ir/approx_math.h - the f32 exp, log, tanh, sigmoid of the default math mode ===//
//
// dlc computes f32 exp, log, tanh and sigmoid with its own approximations by default
// (MathMode::Vector), in the reference interpreter and in generated code alike, so the
// two stay bitwise equal while the backend vectorizes them: the functions below are the
// reference, and codegen/vector_math.cpp emits exactly the same float operations in the
// same order as LLVM IR (straight-line, no calls, no tables). Both read their constants
// from ApproxConst here; a constant is rounded from double to float once, the way LLVM
// rounds `ConstantFP::get(float, double)` (to nearest), so the two agree on every bit.
//
// The algorithms are the classic Cephes ones (Cody-Waite range reduction plus a minimax
// polynomial). The Horner steps, the range reductions and the reconstructions are
// explicit fused multiply-adds (std::fma here, llvm.fma in the IR: one rounding, so
// the same bits on every target; one without FMA instructions calls fmaf):
//
//   exp(x)  = 2^n * e^r,  n = round(x / ln 2), r = x - n ln2 (two-part ln 2),
//             e^r = 1 + r + r^2 P(r) (degree 5), 2^n applied in two halves so that
//             results in the denormal range round once.
//   log(x)  = e ln 2 + log(1 + f), x = 2^e (1 + f), sqrt(1/2) <= 1 + f < sqrt(2),
//             log(1 + f) = f - f^2/2 + f^3 P(f) (degree 8); denormals are normalized.
//   tanh(x) = sign(x) E / (E + 2), E = e^{2|x|} - 1 = 2^n (e^r - 1) + (2^n - 1) with
//             n = floor(2|x| / ln 2) and r in [0, ln 2) (so both terms are >= 0),
//             e^r - 1 = r + r^2 P(r) (degree 5, dlc's own fit); |x| capped at 9.5.
//             One branch-free evaluation and one division for every x.
//   sigmoid = 1 / (1 + exp(-x)), with the exp above.
//
// Special values follow libm: NaN propagates (the input NaN is returned), exp(-inf) = 0,
// exp(+inf) = inf, log(+-0) = -inf, log(x < 0) = NaN, log(inf) = inf, tanh(+-inf) = +-1.
// Accuracy against glibc, measured over all 2^32 f32 inputs: exp 1, log 1, tanh 4,
// sigmoid 4 ULP (the kVector*Ulp bounds below; tests/unit/approx_math_test.cpp checks
// them over a whole-range sweep). f64 and pow always use the C library.
//
// approx_math.cpp is compiled with -ffp-contract=off: only the explicit std::fma calls
// are fused; no other a*b+c here may become an FMA.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>

namespace dlc {

/// How f32 exp, log, tanh and sigmoid are computed, by the interpreter and by generated
/// code (the two always use the same mode when they are compared).
enum class MathMode : uint8_t {
  /// The C library (expf, logf, tanhf; sigmoid = 1 / (1 + expf(-x))): scalar calls in
  /// generated code. Opt-in: `--math=libm`.
  Libm,
  /// The default: the approximations of this file (approxExp, ...), which generated code
  /// emits as straight-line IR that vectorizes at full width (codegen/vector_math.cpp).
  Vector,
};

/// Maximum distance of MathMode::Vector results from glibc's (f32), in units in the
/// last place, measured over all 2^32 inputs (docs/codegen.md).
inline constexpr int64_t kVectorExpUlp = 1;
inline constexpr int64_t kVectorLogUlp = 1;
inline constexpr int64_t kVectorTanhUlp = 4;
inline constexpr int64_t kVectorSigmoidUlp = 4;

/// The constants of the approximations, as doubles; both implementations round each to
/// float. Polynomials are listed from the highest power down (Horner order).
struct ApproxConst {
  // exp
  static constexpr double kExpHi = 88.72283935546875;          ///< above: +inf
  static constexpr double kExpLo = -103.97208404541015625;     ///< below: 0
  static constexpr double kLog2e = 1.44269504088896341;
  static constexpr double kLn2Hi = 0.693359375;                ///< n * kLn2Hi is exact
  static constexpr double kLn2Lo = -2.12194440e-4;
  static constexpr double kExpPoly[6] = {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3,
                                         4.1665795894E-2, 1.6666665459E-1, 5.0000001201E-1};
  // log
  static constexpr double kFltMin = 1.17549435e-38;            ///< below: denormal
  static constexpr double kTwo23 = 8388608.0;
  static constexpr double kSqrtHalf = 0.707106781186547524;
  static constexpr double kLogPoly[9] = {7.0376836292E-2,  -1.1514610310E-1, 1.1676998740E-1,
                                         -1.2420140846E-1, 1.4249322787E-1,  -1.6668057665E-1,
                                         2.0000714765E-1,  -2.4999993993E-1, 3.3333331174E-1};
  // tanh
  static constexpr double kTanhCap = 9.5;                      ///< tanh rounds to 1 beyond 9.011
  /// (e^r - 1 - r) / r^2 on [0, ln 2], fitted for the relative error of e^r - 1
  /// (weighted least squares iterated to equal ripple; max error 3e-10 in exact arithmetic).
  static constexpr double kTanhPoly[6] = {2.678493271080e-04, 1.321245737500e-03, 8.364809160658e-03,
                                          4.165936589747e-02, 1.666674373262e-01, 4.999999731814e-01};
};

/// The reference implementations of MathMode::Vector (f32 only).
float approxExp(float x);
float approxLog(float x);
float approxTanh(float x);
float approxSigmoid(float x);

}  // namespace dlc
