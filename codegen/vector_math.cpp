//===- codegen/vector_math.cpp - vectorizable exp, log, tanh, sigmoid (f32) -===//
//
// MathMode::Vector (the default) computes f32 exp, log, tanh and sigmoid with dlc's own
// approximations, whose reference is ir/approx_math.{h,cpp} (the algorithms, accuracy
// and special values are described there). This file emits them as straight-line IR (no
// calls, no branches, no table lookups), so that the loop vectorizer widens them to the
// target's full vector width, performing exactly the float operations of the reference
// in the same order with the same constants (ApproxConst): generated code and the
// interpreter agree bit for bit on every target (tests/unit/codegen_math_test.cpp).
// Where the reference branches, the IR computes both sides and selects. f64 keeps the
// libm calls.
//
// Fast-math flags are cleared inside these sequences: the range reduction relies on
// the exact order of its operations.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernel_emitter.h"
#include "ir/approx_math.h"

#include <cmath>
#include <limits>

namespace dlc::cg {
namespace {

using C = ApproxConst;

llvm::Value *fc(llvm::IRBuilder<> &b, double v) { return llvm::ConstantFP::get(b.getFloatTy(), v); }
llvm::Value *ic(llvm::IRBuilder<> &b, int64_t v) { return b.getInt32(static_cast<uint32_t>(v)); }
/// x * y + z, rounded once (std::fma in the reference).
llvm::Value *fma(llvm::IRBuilder<> &b, llvm::Value *x, llvm::Value *y, llvm::Value *z) {
  return b.CreateIntrinsic(llvm::Intrinsic::fma, {x->getType()}, {x, y, z});
}

/// Horner evaluation of c[0] x^(n-1) + ... + c[n-1]: p = c0; p = fma(p, x, c_k).
template <size_t N> llvm::Value *horner(llvm::IRBuilder<> &b, llvm::Value *x, const double (&c)[N]) {
  llvm::Value *p = fc(b, c[0]);
  for (size_t k = 1; k < N; ++k) p = fma(b, p, x, fc(b, c[k]));
  return p;
}

/// 2^n for an integer-valued i32 n in [-126, 127].
llvm::Value *pow2(llvm::IRBuilder<> &b, llvm::Value *n) {
  return b.CreateBitCast(b.CreateShl(b.CreateAdd(n, ic(b, 127)), 23), b.getFloatTy());
}

llvm::Value *isNan(llvm::IRBuilder<> &b, llvm::Value *x) { return b.CreateFCmpUNO(x, x); }

}  // namespace

llvm::Value *emitExpF32(llvm::IRBuilder<> &b, llvm::Value *x) {
  llvm::IRBuilder<>::FastMathFlagGuard guard(b);
  b.clearFastMathFlags();
  // Beyond [kExpLo, kExpHi] the result is 0 or inf. The input is clamped to the floats
  // just outside, where the computation below itself gives exactly 0 (2^-150 times
  // less than 1, rounded; or flushed) and inf (2^64 * 2^64 times more than 1), and n
  // stays in range; no select is needed for either side (NaN is fixed last). Checked
  // bitwise against the reference's branches over all 2^32 inputs, with and without
  // FTZ/DAZ (and the boundaries by codegen_math_test.cpp).
  const float hi = std::nextafter(static_cast<float>(C::kExpHi), std::numeric_limits<float>::infinity());
  const float lo = std::nextafter(static_cast<float>(C::kExpLo), -std::numeric_limits<float>::infinity());
  llvm::Value *xc = b.CreateSelect(b.CreateFCmpOGT(x, fc(b, hi)), fc(b, hi), x);
  xc = b.CreateSelect(b.CreateFCmpOLT(xc, fc(b, lo)), fc(b, lo), xc);
  // n = round(x / ln 2), as an integer (round half away from zero; any rounding works).
  llvm::Value *t = b.CreateFMul(xc, fc(b, C::kLog2e));
  llvm::Value *half = b.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, fc(b, 0.5), t);
  llvm::Value *ni = b.CreateFPToSI(b.CreateFAdd(t, half), b.getInt32Ty());
  llvm::Value *n = b.CreateSIToFP(ni, b.getFloatTy());
  // r = x - n ln2, with ln 2 split so that n * kLn2Hi is exact.
  llvm::Value *r = fma(b, n, fc(b, -C::kLn2Hi), xc);
  r = fma(b, n, fc(b, -C::kLn2Lo), r);
  llvm::Value *p = horner(b, r, C::kExpPoly);
  llvm::Value *er = b.CreateFAdd(fma(b, b.CreateFMul(p, r), r, r), fc(b, 1.0));
  // 2^n = 2^(n>>1) * 2^(n - n>>1): both factors are normal for n in [-150, 128].
  llvm::Value *n1 = b.CreateAShr(ni, 1);
  llvm::Value *y = b.CreateFMul(b.CreateFMul(er, pow2(b, n1)), pow2(b, b.CreateSub(ni, n1)));
  return b.CreateSelect(isNan(b, x), x, y);
}

llvm::Value *emitLogF32(llvm::IRBuilder<> &b, llvm::Value *x) {
  llvm::IRBuilder<>::FastMathFlagGuard guard(b);
  b.clearFastMathFlags();
  llvm::Type *i32 = b.getInt32Ty();
  // Normalize denormals: x * 2^23 is exact and normal; its exponent is 23 too high.
  llvm::Value *tiny = b.CreateFCmpOLT(x, fc(b, C::kFltMin));
  llvm::Value *xs = b.CreateSelect(tiny, b.CreateFMul(x, fc(b, C::kTwo23)), x);
  llvm::Value *bits = b.CreateBitCast(xs, i32);
  // x = m * 2^e with m in [0.5, 1).
  llvm::Value *e = b.CreateSub(b.CreateLShr(bits, 23), b.CreateSelect(tiny, ic(b, 126 + 23), ic(b, 126)));
  llvm::Value *m = b.CreateBitCast(b.CreateOr(b.CreateAnd(bits, ic(b, 0x807FFFFF)), ic(b, 0x3F000000)), b.getFloatTy());
  // Move m into [sqrt(1/2), sqrt(2)) - 1: f = 2m - 1 (and e - 1) below sqrt(1/2), else m - 1.
  llvm::Value *low = b.CreateFCmpOLT(m, fc(b, C::kSqrtHalf));
  e = b.CreateSub(e, b.CreateZExt(low, i32));
  llvm::Value *f = b.CreateSelect(low, b.CreateFSub(b.CreateFAdd(m, m), fc(b, 1.0)), b.CreateFSub(m, fc(b, 1.0)));
  llvm::Value *ef = b.CreateSIToFP(e, b.getFloatTy());
  llvm::Value *z = b.CreateFMul(f, f);
  llvm::Value *p = horner(b, f, C::kLogPoly);
  llvm::Value *y = b.CreateFMul(b.CreateFMul(p, f), z);
  y = fma(b, ef, fc(b, C::kLn2Lo), y);
  y = fma(b, z, fc(b, -0.5), y);
  llvm::Value *r = b.CreateFAdd(f, y);
  r = fma(b, ef, fc(b, C::kLn2Hi), r);
  // Special values: inf -> inf, 0 -> -inf, negative -> NaN, NaN -> NaN.
  llvm::Type *ft = b.getFloatTy();
  r = b.CreateSelect(b.CreateFCmpOEQ(x, llvm::ConstantFP::getInfinity(ft)), x, r);
  r = b.CreateSelect(b.CreateFCmpOEQ(x, fc(b, 0.0)), llvm::ConstantFP::getInfinity(ft, true), r);
  r = b.CreateSelect(b.CreateFCmpOLT(x, fc(b, 0.0)), llvm::ConstantFP::getNaN(ft), r);
  return b.CreateSelect(isNan(b, x), x, r);
}

llvm::Value *emitTanhF32(llvm::IRBuilder<> &b, llvm::Value *x) {
  llvm::IRBuilder<>::FastMathFlagGuard guard(b);
  b.clearFastMathFlags();
  // tanh|x| = E / (E + 2), E = e^{2|x|} - 1 = 2^n (e^r - 1) + (2^n - 1), n = floor(2|x| / ln 2):
  // one exp-like evaluation and one division for every |x|, no second branch.
  llvm::Value *ax = b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
  llvm::Value *a = b.CreateSelect(b.CreateFCmpOGT(ax, fc(b, C::kTanhCap)), fc(b, C::kTanhCap), ax);
  llvm::Value *y = b.CreateFAdd(a, a);
  llvm::Value *ni = b.CreateFPToSI(b.CreateFMul(y, fc(b, C::kLog2e)), b.getInt32Ty());  // floor: y >= 0
  llvm::Value *n = b.CreateSIToFP(ni, b.getFloatTy());
  llvm::Value *r = fma(b, n, fc(b, -C::kLn2Hi), y);
  r = fma(b, n, fc(b, -C::kLn2Lo), r);
  llvm::Value *p = horner(b, r, C::kTanhPoly);
  llvm::Value *em1 = fma(b, b.CreateFMul(p, r), r, r);
  llvm::Value *s = pow2(b, ni);
  llvm::Value *e = fma(b, s, em1, b.CreateFSub(s, fc(b, 1.0)));
  llvm::Value *t = b.CreateFDiv(e, b.CreateFAdd(e, fc(b, 2.0)));
  t = b.CreateBinaryIntrinsic(llvm::Intrinsic::copysign, t, x);  // tanh(-0) = -0
  return b.CreateSelect(isNan(b, x), x, t);
}

llvm::Value *emitSigmoidF32(llvm::IRBuilder<> &b, llvm::Value *x) {
  llvm::Value *e = emitExpF32(b, b.CreateFNeg(x));  // 1 / (1 + e^-x)
  return b.CreateFDiv(fc(b, 1.0), b.CreateFAdd(fc(b, 1.0), e));
}

}  // namespace dlc::cg
