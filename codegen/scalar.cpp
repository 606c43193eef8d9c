//===- codegen/scalar.cpp - the scalar emitter of elementwise ops -----------===//
//
// emitScalar gives every elementwise op the numeric conventions of the reference
// interpreter (ir/interpreter.h), op by op:
//  - integer add/sub/mul/neg/abs wrap (plain LLVM add/sub/mul, no nsw), division
//    truncates with x/0 == 0 and lowest/-1 == lowest (no UB: the divisor is made safe);
//  - max/min propagate NaN and return the first operand on ties (a select chain, not
//    maxnum/maximum, whose tie and NaN rules differ);
//  - compare is ordered (false on NaN) except `ne`, which is unordered;
//  - cast goes through double exactly like HostTensor::castTo, saturating to integers;
//  - f32 exp, log, tanh and sigmoid are, in MathMode::Vector (the default), the
//    vectorizable approximations of vector_math.cpp, the IR twins of the interpreter's
//    ir/approx_math.h; in MathMode::Libm, and for f64, exp, log, tanh call the C library
//    like the interpreter and sigmoid is 1 / (1 + exp(-x)); pow always calls the C
//    library; rsqrt is 1 / sqrt(x), spelled the way the interpreter spells it.
// No instruction carries fast-math flags unless CodegenOptions::fastMath set them on
// the builder.
//
//===----------------------------------------------------------------------===//
#include <cmath>
#include <limits>

#include "codegen/kernel_emitter.h"

namespace dlc::cg {
namespace {

bool isFloatType(llvm::Value *v) { return v->getType()->isFloatingPointTy(); }

/// A call of the C library's \p name (`tanhf`), declared pure so it can be hoisted.
llvm::Value *callLibm(llvm::IRBuilder<> &b, llvm::StringRef name, llvm::Value *x) {
  llvm::Module *m = b.GetInsertBlock()->getModule();
  llvm::FunctionType *ty = llvm::FunctionType::get(x->getType(), {x->getType()}, false);
  llvm::FunctionCallee callee = m->getOrInsertFunction(name, ty);
  if (auto *f = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
    f->setDoesNotThrow();
    f->setDoesNotAccessMemory();
    f->setWillReturn();
  }
  return b.CreateCall(callee, {x});
}

llvm::Value *floatConst(llvm::Type *t, double v) { return llvm::ConstantFP::get(t, v); }

/// max/min with the interpreter's rules: NaN operands propagate (the first NaN wins),
/// ties return \p a. \p isMax picks the direction.
llvm::Value *emitMaxMin(llvm::IRBuilder<> &b, llvm::Value *a, llvm::Value *c, bool isMax) {
  if (isFloatType(a)) {
    llvm::Value *takeC = isMax ? b.CreateFCmpOLT(a, c) : b.CreateFCmpOLT(c, a);
    llvm::Value *r = b.CreateSelect(takeC, c, a);
    r = b.CreateSelect(b.CreateFCmpUNO(c, c), c, r);
    return b.CreateSelect(b.CreateFCmpUNO(a, a), a, r);
  }
  llvm::Value *takeC = isMax ? b.CreateICmpSLT(a, c) : b.CreateICmpSLT(c, a);
  return b.CreateSelect(takeC, c, a);
}

/// Integer division: truncating, x / 0 == 0, lowest / -1 == lowest (== 0 - x, wrapping).
llvm::Value *emitIntDiv(llvm::IRBuilder<> &b, llvm::Value *a, llvm::Value *d) {
  llvm::Type *t = a->getType();
  llvm::Value *zero = llvm::ConstantInt::get(t, 0), *one = llvm::ConstantInt::get(t, 1);
  llvm::Value *isZero = b.CreateICmpEQ(d, zero);
  llvm::Value *isMinusOne = b.CreateICmpEQ(d, llvm::ConstantInt::getSigned(t, -1));
  llvm::Value *safe = b.CreateSelect(b.CreateOr(isZero, isMinusOne), one, d);
  llvm::Value *q = b.CreateSDiv(a, safe);
  q = b.CreateSelect(isMinusOne, b.CreateSub(zero, a), q);
  return b.CreateSelect(isZero, zero, q);
}

llvm::Value *emitSign(llvm::IRBuilder<> &b, llvm::Value *x) {
  llvm::Type *t = x->getType();
  if (isFloatType(x)) {
    llvm::Value *r = b.CreateSelect(b.CreateFCmpOLT(x, floatConst(t, 0.0)), floatConst(t, -1.0), x);
    return b.CreateSelect(b.CreateFCmpOGT(x, floatConst(t, 0.0)), floatConst(t, 1.0), r);
  }
  llvm::Value *zero = llvm::ConstantInt::get(t, 0);
  llvm::Value *r = b.CreateSelect(b.CreateICmpSLT(x, zero), llvm::ConstantInt::getSigned(t, -1), x);
  return b.CreateSelect(b.CreateICmpSGT(x, zero), llvm::ConstantInt::get(t, 1), r);
}

llvm::Value *emitCompare(llvm::IRBuilder<> &b, CmpDir dir, DType t, llvm::Value *x, llvm::Value *y) {
  llvm::Value *c = nullptr;
  if (isFloat(t)) {
    switch (dir) {
    case CmpDir::Eq: c = b.CreateFCmpOEQ(x, y); break;
    case CmpDir::Ne: c = b.CreateFCmpUNE(x, y); break;
    case CmpDir::Lt: c = b.CreateFCmpOLT(x, y); break;
    case CmpDir::Le: c = b.CreateFCmpOLE(x, y); break;
    case CmpDir::Gt: c = b.CreateFCmpOGT(x, y); break;
    case CmpDir::Ge: c = b.CreateFCmpOGE(x, y); break;
    }
  } else {
    const bool isBool = t == DType::I1;  // stored as i8 0/1: compare unsigned
    switch (dir) {
    case CmpDir::Eq: c = b.CreateICmpEQ(x, y); break;
    case CmpDir::Ne: c = b.CreateICmpNE(x, y); break;
    case CmpDir::Lt: c = isBool ? b.CreateICmpULT(x, y) : b.CreateICmpSLT(x, y); break;
    case CmpDir::Le: c = isBool ? b.CreateICmpULE(x, y) : b.CreateICmpSLE(x, y); break;
    case CmpDir::Gt: c = isBool ? b.CreateICmpUGT(x, y) : b.CreateICmpSGT(x, y); break;
    case CmpDir::Ge: c = isBool ? b.CreateICmpUGE(x, y) : b.CreateICmpSGE(x, y); break;
    }
  }
  return b.CreateZExt(c, b.getInt8Ty());
}

/// The value as a double, as HostTensor::getDouble reads it.
llvm::Value *toDouble(llvm::IRBuilder<> &b, DType from, llvm::Value *x) {
  llvm::Type *d = b.getDoubleTy();
  switch (from) {
  case DType::F32: return b.CreateFPExt(x, d);
  case DType::F64: return x;
  case DType::I32:
  case DType::I64: return b.CreateSIToFP(x, d);
  case DType::I1: return b.CreateUIToFP(x, d);
  }
  DL_UNREACHABLE("bad dtype");
}

/// A double converted as HostTensor::setDouble does: round to nearest for floats; for
/// integers truncation with NaN -> 0 and saturation; for i1, x != 0.
llvm::Value *fromDouble(llvm::IRBuilder<> &b, DType to, llvm::Value *x) {
  llvm::LLVMContext &ctx = b.getContext();
  switch (to) {
  case DType::F32: return b.CreateFPTrunc(x, b.getFloatTy());
  case DType::F64: return x;
  case DType::I1: return b.CreateZExt(b.CreateFCmpUNE(x, floatConst(x->getType(), 0.0)), b.getInt8Ty());
  case DType::I32:
  case DType::I64: {
    llvm::Type *t = storageType(ctx, to);
    const bool wide = to == DType::I64;
    const double lo = wide ? static_cast<double>(std::numeric_limits<int64_t>::lowest())
                           : static_cast<double>(std::numeric_limits<int32_t>::lowest());
    const double hi = wide ? static_cast<double>(std::numeric_limits<int64_t>::max())
                           : static_cast<double>(std::numeric_limits<int32_t>::max());
    // fptosi is poison out of range, but select never picks it there.
    llvm::Value *r = b.CreateFPToSI(x, t);
    r = b.CreateSelect(b.CreateFCmpOGE(x, floatConst(x->getType(), hi)),
                       wide ? llvm::ConstantInt::get(t, INT64_MAX) : llvm::ConstantInt::get(t, INT32_MAX), r);
    r = b.CreateSelect(b.CreateFCmpOLE(x, floatConst(x->getType(), lo)),
                       wide ? llvm::ConstantInt::getSigned(t, INT64_MIN)
                            : llvm::ConstantInt::getSigned(t, INT32_MIN),
                       r);
    return b.CreateSelect(b.CreateFCmpUNO(x, x), llvm::ConstantInt::get(t, 0), r);
  }
  }
  DL_UNREACHABLE("bad dtype");
}

llvm::Value *emitCast(llvm::IRBuilder<> &b, DType from, DType to, llvm::Value *x) {
  if (from == to) return x;
  // Integer fast paths, equal to the trip through double for every input.
  if (from == DType::I32 && to == DType::I64) return b.CreateSExt(x, b.getInt64Ty());
  if (from == DType::I1 && isInteger(to)) return b.CreateZExt(x, storageType(b.getContext(), to));
  if (isInteger(from) && to == DType::I1)
    return b.CreateZExt(b.CreateICmpNE(x, llvm::ConstantInt::get(x->getType(), 0)), b.getInt8Ty());
  if (from == DType::I64 && to == DType::I32) {  // exact clamp, as castTo does
    llvm::Value *c = b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, x, b.getInt64(static_cast<uint64_t>(INT32_MIN)));
    c = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, c, b.getInt64(INT32_MAX));
    return b.CreateTrunc(c, b.getInt32Ty());
  }
  return fromDouble(b, to, toDouble(b, from, x));
}

}  // namespace

llvm::Type *storageType(llvm::LLVMContext &ctx, DType d) {
  switch (d) {
  case DType::F32: return llvm::Type::getFloatTy(ctx);
  case DType::F64: return llvm::Type::getDoubleTy(ctx);
  case DType::I32: return llvm::Type::getInt32Ty(ctx);
  case DType::I64: return llvm::Type::getInt64Ty(ctx);
  case DType::I1: return llvm::Type::getInt8Ty(ctx);
  }
  DL_UNREACHABLE("bad dtype");
}

llvm::Constant *constantOf(llvm::LLVMContext &ctx, DType d, double v) {
  llvm::Type *t = storageType(ctx, d);
  switch (d) {
  case DType::F32: return llvm::ConstantFP::get(t, static_cast<double>(static_cast<float>(v)));
  case DType::F64: return llvm::ConstantFP::get(t, v);
  case DType::I1: return llvm::ConstantInt::get(t, v != 0.0 ? 1 : 0);
  case DType::I32:
  case DType::I64: {
    const bool wide = d == DType::I64;
    const int64_t lo = wide ? INT64_MIN : INT32_MIN, hi = wide ? INT64_MAX : INT32_MAX;
    int64_t r = 0;
    if (std::isnan(v)) r = 0;
    else if (v <= static_cast<double>(lo)) r = lo;
    else if (v >= static_cast<double>(hi)) r = hi;
    else r = static_cast<int64_t>(v);
    return llvm::ConstantInt::getSigned(t, r);
  }
  }
  DL_UNREACHABLE("bad dtype");
}

llvm::Constant *lowestOf(llvm::LLVMContext &ctx, DType d) {
  llvm::Type *t = storageType(ctx, d);
  switch (d) {
  case DType::F32:
  case DType::F64: return llvm::ConstantFP::getInfinity(t, /*Negative=*/true);
  case DType::I32: return llvm::ConstantInt::getSigned(t, INT32_MIN);
  case DType::I64: return llvm::ConstantInt::getSigned(t, INT64_MIN);
  case DType::I1: return llvm::ConstantInt::get(t, 0);
  }
  DL_UNREACHABLE("bad dtype");
}

llvm::Value *emitScalar(llvm::IRBuilder<> &b, const ScalarOp &op, std::span<llvm::Value *const> x) {
  DL_ASSERT(hasTrait(op.kind, kElementwise), "emitScalar takes elementwise ops only");
  const bool f64 = op.operandType == DType::F64;
  const bool vectorMath = op.math == MathMode::Vector && op.operandType == DType::F32;
  switch (op.kind) {
  case OpKind::Neg:
    return isFloatType(x[0]) ? b.CreateFNeg(x[0]) : b.CreateSub(llvm::ConstantInt::get(x[0]->getType(), 0), x[0]);
  case OpKind::Abs:
    if (isFloatType(x[0])) return b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x[0]);
    return b.CreateSelect(b.CreateICmpSLT(x[0], llvm::ConstantInt::get(x[0]->getType(), 0)),
                          b.CreateSub(llvm::ConstantInt::get(x[0]->getType(), 0), x[0]), x[0]);
  case OpKind::Sign: return emitSign(b, x[0]);
  case OpKind::Exp:
    return vectorMath ? emitExpF32(b, x[0]) : b.CreateUnaryIntrinsic(llvm::Intrinsic::exp, x[0]);
  case OpKind::Log:
    return vectorMath ? emitLogF32(b, x[0]) : b.CreateUnaryIntrinsic(llvm::Intrinsic::log, x[0]);
  case OpKind::Tanh: return vectorMath ? emitTanhF32(b, x[0]) : callLibm(b, f64 ? "tanh" : "tanhf", x[0]);
  case OpKind::Sigmoid: {  // 1 / (1 + e^-x)
    if (vectorMath) return emitSigmoidF32(b, x[0]);
    llvm::Type *t = x[0]->getType();
    llvm::Value *e = b.CreateUnaryIntrinsic(llvm::Intrinsic::exp, b.CreateFNeg(x[0]));
    return b.CreateFDiv(floatConst(t, 1.0), b.CreateFAdd(floatConst(t, 1.0), e));
  }
  case OpKind::Sqrt: return b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, x[0]);
  case OpKind::Rsqrt:  // 1 / sqrt(x), correctly rounded twice like the interpreter
    return b.CreateFDiv(floatConst(x[0]->getType(), 1.0),
                        b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, x[0]));
  case OpKind::Cast: return emitCast(b, op.operandType, op.resultType, x[0]);
  case OpKind::StopGradient: return x[0];
  case OpKind::Add: return isFloatType(x[0]) ? b.CreateFAdd(x[0], x[1]) : b.CreateAdd(x[0], x[1]);
  case OpKind::Sub: return isFloatType(x[0]) ? b.CreateFSub(x[0], x[1]) : b.CreateSub(x[0], x[1]);
  case OpKind::Mul: return isFloatType(x[0]) ? b.CreateFMul(x[0], x[1]) : b.CreateMul(x[0], x[1]);
  case OpKind::Div: return isFloatType(x[0]) ? b.CreateFDiv(x[0], x[1]) : emitIntDiv(b, x[0], x[1]);
  case OpKind::Max: return emitMaxMin(b, x[0], x[1], /*isMax=*/true);
  case OpKind::Min: return emitMaxMin(b, x[0], x[1], /*isMax=*/false);
  case OpKind::Pow: return b.CreateBinaryIntrinsic(llvm::Intrinsic::pow, x[0], x[1]);
  case OpKind::Compare: return emitCompare(b, op.dir, op.operandType, x[0], x[1]);
  case OpKind::Select: return b.CreateSelect(b.CreateICmpNE(x[0], b.getInt8(0)), x[1], x[2]);
  default: DL_UNREACHABLE("not elementwise");  // the one default of codegen: guarded above
  }
}

}  // namespace dlc::cg
