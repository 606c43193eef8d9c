//===- ir/approx_math.cpp - reference f32 exp, log, tanh, sigmoid -----------===//
//
// Every line here has a twin in codegen/vector_math.cpp: same operations, same order,
// same constants (ApproxConst, rounded to float once). Where the IR computes both arms
// and selects, this code branches; only the selected value matters for the bits. NaN
// inputs return early (the IR selects the input NaN last), which also keeps the float ->
// int conversions below defined.
//
//===----------------------------------------------------------------------===//
#include "ir/approx_math.h"

#include <bit>
#include <cmath>
#include <limits>

namespace dlc {
namespace {

using C = ApproxConst;

constexpr float f(double v) { return static_cast<float>(v); }

/// Horner evaluation of c[0] x^(n-1) + ... + c[n-1]: p = c0; p = fma(p, x, c_k).
template <size_t N> float horner(float x, const double (&c)[N]) {
  float p = f(c[0]);
  for (size_t k = 1; k < N; ++k) p = std::fma(p, x, f(c[k]));
  return p;
}

/// 2^n for an integer n in [-126, 127], built from its exponent bits.
float pow2(int32_t n) { return std::bit_cast<float>(static_cast<uint32_t>(n + 127) << 23); }

}  // namespace

float approxExp(float x) {
  if (std::isnan(x)) return x;
  if (x > f(C::kExpHi)) return std::numeric_limits<float>::infinity();
  if (x < f(C::kExpLo)) return 0.0f;
  const float xc = x;  // within [kExpLo, kExpHi]: the IR's clamps leave it unchanged
  const float t = xc * f(C::kLog2e);
  const int32_t ni = static_cast<int32_t>(t + std::copysign(0.5f, t));
  const float n = static_cast<float>(ni);
  float r = std::fma(n, f(-C::kLn2Hi), xc);
  r = std::fma(n, f(-C::kLn2Lo), r);
  const float p = horner(r, C::kExpPoly);
  const float er = std::fma(p * r, r, r) + 1.0f;
  const int32_t n1 = ni >> 1;  // arithmetic shift (C++20)
  return (er * pow2(n1)) * pow2(ni - n1);
}

float approxLog(float x) {
  if (std::isnan(x)) return x;
  if (x < 0.0f) return std::numeric_limits<float>::quiet_NaN();
  if (x == 0.0f) return -std::numeric_limits<float>::infinity();
  if (x == std::numeric_limits<float>::infinity()) return x;
  // Normalize denormals: x * 2^23 is exact and normal; its exponent is 23 too high.
  const bool tiny = x < f(C::kFltMin);
  const float xs = tiny ? x * f(C::kTwo23) : x;
  const uint32_t bits = std::bit_cast<uint32_t>(xs);
  // x = m * 2^e with m in [0.5, 1).
  int32_t e = static_cast<int32_t>(bits >> 23) - (tiny ? 126 + 23 : 126);
  const float m = std::bit_cast<float>((bits & 0x807FFFFFu) | 0x3F000000u);
  // Move m into [sqrt(1/2), sqrt(2)) - 1: f = 2m - 1 (and e - 1) below sqrt(1/2), else m - 1.
  const bool low = m < f(C::kSqrtHalf);
  e -= low ? 1 : 0;
  const float fr = low ? (m + m) - 1.0f : m - 1.0f;
  const float ef = static_cast<float>(e);
  const float z = fr * fr;
  const float p = horner(fr, C::kLogPoly);
  float y = (p * fr) * z;
  y = std::fma(ef, f(C::kLn2Lo), y);
  y = std::fma(z, -0.5f, y);
  float r = fr + y;
  r = std::fma(ef, f(C::kLn2Hi), r);
  return r;
}

float approxTanh(float x) {
  if (std::isnan(x)) return x;
  // tanh|x| = E / (E + 2) with E = e^{2|x|} - 1 = 2^n (e^r - 1) + (2^n - 1),
  // n = floor(2|x| / ln 2), r = 2|x| - n ln 2 in [0, ln 2): both terms of E are >= 0.
  const float ax = std::fabs(x);
  const float a = ax > f(C::kTanhCap) ? f(C::kTanhCap) : ax;
  const float y = a + a;
  const int32_t ni = static_cast<int32_t>(y * f(C::kLog2e));  // y >= 0: truncation is floor
  const float n = static_cast<float>(ni);
  float r = std::fma(n, f(-C::kLn2Hi), y);
  r = std::fma(n, f(-C::kLn2Lo), r);
  const float p = horner(r, C::kTanhPoly);
  const float em1 = std::fma(p * r, r, r);  // e^r - 1
  const float s = pow2(ni);
  const float e = std::fma(s, em1, s - 1.0f);
  return std::copysign(e / (e + 2.0f), x);  // copysign keeps tanh(-0) = -0
}

float approxSigmoid(float x) { return 1.0f / (1.0f + approxExp(-x)); }

}  // namespace dlc
