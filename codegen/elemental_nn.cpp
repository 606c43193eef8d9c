//===- codegen/elemental_nn.cpp - generators of matmul, convolution, pooling ===//
//
// Each generator computes one output element as the interpreter does (the gather form
// of ir/interpreter_nn.cpp): the same loops in the same order, skipping padding cells
// rather than multiplying by zero, accumulating `acc = acc + x * w` from zero. These are
// the correct, general fallbacks; the matmul kernel (matmul.cpp) is the fast path for
// standalone matmuls, and direct/implicit-GEMM convolution kernels come later.
//
//===----------------------------------------------------------------------===//
#include <tuple>

#include "codegen/kernel_emitter.h"

namespace dlc::cg {
namespace {

/// `lo <= v < hi` (signed).
llvm::Value *inRange(KernelEmitter &e, llvm::Value *v, int64_t lo, int64_t hi) {
  llvm::IRBuilder<> &b = e.b();
  return b.CreateAnd(b.CreateICmpSGE(v, e.i64(lo)), b.CreateICmpSLT(v, e.i64(hi)));
}

/// `a * s + c` with constants s and c.
llvm::Value *affine(KernelEmitter &e, llvm::Value *a, int64_t s, int64_t c) {
  llvm::IRBuilder<> &b = e.b();
  llvm::Value *r = s == 1 ? a : b.CreateMul(a, e.i64(s));
  return c == 0 ? r : b.CreateAdd(r, e.i64(c));
}

/// An accumulator slot set to zero at the current point.
llvm::AllocaInst *zeroAccumulator(KernelEmitter &e, DType dt) {
  llvm::AllocaInst *acc = e.entryAlloca(storageType(e.ctx(), dt), "acc");
  e.b().CreateStore(constantOf(e.ctx(), dt, 0.0), acc);
  return acc;
}

/// acc = fma(x, y, acc) (floats) or acc + x * y (integers): the interpreter's contraction step.
void accumulateProduct(KernelEmitter &e, llvm::AllocaInst *acc, DType dt, llvm::Value *x, llvm::Value *y) {
  llvm::IRBuilder<> &b = e.b();
  b.CreateStore(e.mulAdd(dt, x, y, b.CreateLoad(acc->getAllocatedType(), acc)), acc);
}

/// Element (d0, d1, d2, d3) of rank-4 value \p v.
llvm::Value *at4(KernelEmitter &e, const Value *v, llvm::Value *d0, llvm::Value *d1, llvm::Value *d2,
                 llvm::Value *d3) {
  return e.generate(v, IrIndex{v->shape(), {d0, d1, d2, d3}, nullptr});
}

/// The window range [lo, hi) of outputs along one dim whose window (size k, stride s,
/// padding p) covers input position \p h: ceil((h+p-k+1)/s) .. floor((h+p)/s), clamped
/// to [0, out).
std::pair<llvm::Value *, llvm::Value *> coveringWindows(KernelEmitter &e, llvm::Value *h, int64_t k,
                                                        int64_t s, int64_t p, int64_t out) {
  llvm::IRBuilder<> &b = e.b();
  llvm::Value *first = b.CreateAdd(h, e.i64(p - k + 1));  // may be negative: then 0
  llvm::Value *lo = b.CreateSelect(b.CreateICmpSGT(first, e.i64(0)),
                                   b.CreateUDiv(b.CreateAdd(first, e.i64(s - 1)), e.i64(s)), e.i64(0));
  llvm::Value *last = b.CreateUDiv(b.CreateAdd(h, e.i64(p)), e.i64(s));  // h + p >= 0
  llvm::Value *hi = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b.CreateAdd(last, e.i64(1)), e.i64(out));
  return {lo, hi};
}

}  // namespace

llvm::Value *generateMatMul(KernelEmitter &e, const Node &n, const IrIndex &idx) {
  // y[.., i, j] = sum_k a[.., i, k] * b[.., k, j], k ascending from zero.
  const Value *a = n.operand(0), *w = n.operand(1);
  const MatMulAttrs &attrs = n.attrsAs<MatMulAttrs>();
  const DType dt = n.type().dtype;
  const size_t r = n.type().shape.size();
  const int64_t k = attrs.transposeA ? a->shape()[r - 2] : a->shape()[r - 1];
  std::vector<llvm::Value *> od = e.dimsOf(idx);
  llvm::AllocaInst *acc = zeroAccumulator(e, dt);
  e.forLoop(e.i64(0), e.i64(k), [&](llvm::Value *q) {
    std::vector<llvm::Value *> ad(od.begin(), od.end() - 2), bd = ad;
    ad.push_back(attrs.transposeA ? q : od[r - 2]);
    ad.push_back(attrs.transposeA ? od[r - 2] : q);
    bd.push_back(attrs.transposeB ? od[r - 1] : q);
    bd.push_back(attrs.transposeB ? q : od[r - 1]);
    accumulateProduct(e, acc, dt, e.generate(a, IrIndex{a->shape(), ad, nullptr}),
                      e.generate(w, IrIndex{w->shape(), bd, nullptr}));
  }, false, "k");
  return e.b().CreateLoad(acc->getAllocatedType(), acc);
}

llvm::Value *generateConv2d(KernelEmitter &e, const Node &n, const IrIndex &idx) {
  // y[n,o,oh,ow] = sum_{c,kh,kw} x[n, c, oh*s - p + kh*d, ow*s - p + kw*d] * w[o,c,kh,kw]
  const Value *x = n.operand(0), *w = n.operand(1);
  const ConvAttrs &a = n.attrsAs<ConvAttrs>();
  const Shape &xs = x->shape(), &ws = w->shape();
  const DType dt = n.type().dtype;
  std::vector<llvm::Value *> od = e.dimsOf(idx);
  llvm::AllocaInst *acc = zeroAccumulator(e, dt);
  e.forLoop(e.i64(0), e.i64(xs[1]), [&](llvm::Value *c) {
    e.forLoop(e.i64(0), e.i64(ws[2]), [&](llvm::Value *i) {
      llvm::Value *ih = e.b().CreateAdd(affine(e, od[2], a.stride[0], -a.padding[0]), affine(e, i, a.dilation[0], 0));
      e.ifThen(inRange(e, ih, 0, xs[2]), [&] {
        e.forLoop(e.i64(0), e.i64(ws[3]), [&](llvm::Value *j) {
          llvm::Value *iw =
              e.b().CreateAdd(affine(e, od[3], a.stride[1], -a.padding[1]), affine(e, j, a.dilation[1], 0));
          e.ifThen(inRange(e, iw, 0, xs[3]), [&] {
            accumulateProduct(e, acc, dt, at4(e, x, od[0], c, ih, iw), at4(e, w, od[1], c, i, j));
          });
        }, false, "kw");
      });
    }, false, "kh");
  }, false, "c");
  return e.b().CreateLoad(acc->getAllocatedType(), acc);
}

llvm::Value *generateConv2dInputGrad(KernelEmitter &e, const Node &n, const IrIndex &idx) {
  // dx[n,c,h,w] = sum_{o,kh,kw} dy[n,o,oh,ow] * w[o,c,kh,kw] over oh*s - p + kh*d == h
  // (and likewise for w): the adjoint of conv2d in x.
  const Value *dy = n.operand(0), *w = n.operand(1);
  const ConvAttrs &a = n.attrsAs<ConvAttrs>();
  const Shape &ys = dy->shape(), &ws = w->shape();
  const DType dt = n.type().dtype;
  llvm::IRBuilder<> &b = e.b();
  std::vector<llvm::Value *> od = e.dimsOf(idx);
  llvm::AllocaInst *acc = zeroAccumulator(e, dt);
  // t = pos + p - k*d must be a non-negative multiple of s with t / s < out.
  auto tap = [&](llvm::Value *pos, llvm::Value *k, int dim, int64_t out) {
    llvm::Value *t = b.CreateSub(b.CreateAdd(pos, e.i64(a.padding[dim])), affine(e, k, a.dilation[dim], 0));
    const int64_t s = a.stride[dim];
    llvm::Value *ok = b.CreateICmpSGE(t, e.i64(0));
    llvm::Value *q = s == 1 ? t : b.CreateSDiv(t, e.i64(s));
    if (s != 1) ok = b.CreateAnd(ok, b.CreateICmpEQ(b.CreateSRem(t, e.i64(s)), e.i64(0)));
    ok = b.CreateAnd(ok, b.CreateICmpSLT(q, e.i64(out)));
    return std::pair{ok, q};
  };
  e.forLoop(e.i64(0), e.i64(ws[0]), [&](llvm::Value *o) {
    e.forLoop(e.i64(0), e.i64(ws[2]), [&](llvm::Value *i) {
      llvm::Value *okH, *oh;
      std::tie(okH, oh) = tap(od[2], i, 0, ys[2]);
      e.ifThen(okH, [&] {
        e.forLoop(e.i64(0), e.i64(ws[3]), [&](llvm::Value *j) {
          llvm::Value *okW, *ow;
          std::tie(okW, ow) = tap(od[3], j, 1, ys[3]);
          e.ifThen(okW, [&] {
            accumulateProduct(e, acc, dt, at4(e, dy, od[0], o, oh, ow), at4(e, w, o, od[1], i, j));
          });
        }, false, "kw");
      });
    }, false, "kh");
  }, false, "o");
  return b.CreateLoad(acc->getAllocatedType(), acc);
}

llvm::Value *generateConv2dFilterGrad(KernelEmitter &e, const Node &n, const IrIndex &idx) {
  // dw[o,c,kh,kw] = sum_{n,oh,ow} x[n, c, oh*s - p + kh*d, ow*s - p + kw*d] * dy[n,o,oh,ow]
  const Value *x = n.operand(0), *dy = n.operand(1);
  const ConvAttrs &a = n.attrsAs<ConvAttrs>();
  const Shape &xs = x->shape(), &ys = dy->shape();
  const DType dt = n.type().dtype;
  std::vector<llvm::Value *> od = e.dimsOf(idx);
  llvm::AllocaInst *acc = zeroAccumulator(e, dt);
  e.forLoop(e.i64(0), e.i64(xs[0]), [&](llvm::Value *bn) {
    e.forLoop(e.i64(0), e.i64(ys[2]), [&](llvm::Value *oh) {
      llvm::Value *ih = e.b().CreateAdd(affine(e, oh, a.stride[0], -a.padding[0]), affine(e, od[2], a.dilation[0], 0));
      e.ifThen(inRange(e, ih, 0, xs[2]), [&] {
        e.forLoop(e.i64(0), e.i64(ys[3]), [&](llvm::Value *ow) {
          llvm::Value *iw =
              e.b().CreateAdd(affine(e, ow, a.stride[1], -a.padding[1]), affine(e, od[3], a.dilation[1], 0));
          e.ifThen(inRange(e, iw, 0, xs[3]), [&] {
            accumulateProduct(e, acc, dt, at4(e, x, bn, od[1], ih, iw), at4(e, dy, bn, od[0], oh, ow));
          });
        }, false, "ow");
      });
    }, false, "oh");
  }, false, "n");
  return e.b().CreateLoad(acc->getAllocatedType(), acc);
}

namespace {

/// Calls body(ih, iw) for the cells of window (oh, ow) that lie inside the input, in
/// row-major order.
void forWindowCells(KernelEmitter &e, const PoolAttrs &a, const Shape &xs, llvm::Value *oh, llvm::Value *ow,
                    const std::function<void(llvm::Value *, llvm::Value *)> &body) {
  e.forLoop(e.i64(0), e.i64(a.window[0]), [&](llvm::Value *i) {
    llvm::Value *ih = e.b().CreateAdd(affine(e, oh, a.stride[0], -a.padding[0]), i);
    e.ifThen(inRange(e, ih, 0, xs[2]), [&] {
      e.forLoop(e.i64(0), e.i64(a.window[1]), [&](llvm::Value *j) {
        llvm::Value *iw = e.b().CreateAdd(affine(e, ow, a.stride[1], -a.padding[1]), j);
        e.ifThen(inRange(e, iw, 0, xs[3]), [&] { body(ih, iw); });
      }, false, "wj");
    });
  }, false, "wi");
}

/// ih * W + iw of the element max pooling selects in window (n, c, oh, ow): the first
/// maximum in row-major order, the first NaN if any; -1 for a window of padding only.
llvm::Value *windowArgMax(KernelEmitter &e, const Node &n, const Value *x, llvm::Value *bn, llvm::Value *c,
                          llvm::Value *oh, llvm::Value *ow) {
  const Shape &xs = x->shape();
  llvm::IRBuilder<> &b = e.b();
  llvm::Type *t = storageType(e.ctx(), x->dtype());
  llvm::AllocaInst *best = e.entryAlloca(b.getInt64Ty(), "best");
  llvm::AllocaInst *bestValue = e.entryAlloca(t, "best.value");
  b.CreateStore(e.i64(-1), best);
  b.CreateStore(lowestOf(e.ctx(), x->dtype()), bestValue);
  forWindowCells(e, n.attrsAs<PoolAttrs>(), xs, oh, ow, [&](llvm::Value *ih, llvm::Value *iw) {
    llvm::Value *v = at4(e, x, bn, c, ih, iw);
    llvm::Value *bv = b.CreateLoad(t, bestValue);
    llvm::Value *take = isFloat(x->dtype())
                            ? b.CreateAnd(b.CreateFCmpORD(bv, bv), b.CreateOr(b.CreateFCmpUNO(v, v), b.CreateFCmpOGT(v, bv)))
                            : b.CreateICmpSGT(v, bv);
    take = b.CreateOr(take, b.CreateICmpSLT(b.CreateLoad(b.getInt64Ty(), best), e.i64(0)));
    b.CreateStore(b.CreateSelect(take, v, bv), bestValue);
    llvm::Value *pos = b.CreateAdd(b.CreateMul(ih, e.i64(xs[3])), iw);
    b.CreateStore(b.CreateSelect(take, pos, b.CreateLoad(b.getInt64Ty(), best)), best);
  });
  return b.CreateLoad(b.getInt64Ty(), best);
}

}  // namespace

llvm::Value *generateMaxPool2d(KernelEmitter &e, const Node &n, const IrIndex &idx) {
  // The value of the window's first maximum (first NaN) is max over the cells with the
  // interpreter's max (NaN propagates, ties keep the first), starting from -inf.
  const Value *x = n.operand(0);
  const DType dt = n.type().dtype;
  std::vector<llvm::Value *> od = e.dimsOf(idx);
  llvm::AllocaInst *acc = e.entryAlloca(storageType(e.ctx(), dt), "acc");
  e.b().CreateStore(lowestOf(e.ctx(), dt), acc);
  forWindowCells(e, n.attrsAs<PoolAttrs>(), x->shape(), od[2], od[3], [&](llvm::Value *ih, llvm::Value *iw) {
    llvm::Value *ops[] = {e.b().CreateLoad(acc->getAllocatedType(), acc), at4(e, x, od[0], od[1], ih, iw)};
    e.b().CreateStore(e.scalar(OpKind::Max, dt, ops), acc);
  });
  return e.b().CreateLoad(acc->getAllocatedType(), acc);
}

llvm::Value *generateMaxPool2dGrad(KernelEmitter &e, const Node &n, const IrIndex &idx) {
  // dx[n,c,h,w] = sum of dy[n,c,oh,ow] over the windows (row-major) whose argmax is (h,w).
  const Value *x = n.operand(0), *dy = n.operand(1);
  const PoolAttrs &a = n.attrsAs<PoolAttrs>();
  const Shape &xs = x->shape(), &ys = dy->shape();
  const DType dt = n.type().dtype;
  llvm::IRBuilder<> &b = e.b();
  std::vector<llvm::Value *> od = e.dimsOf(idx);
  llvm::Value *self = b.CreateAdd(b.CreateMul(od[2], e.i64(xs[3])), od[3]);
  llvm::AllocaInst *acc = zeroAccumulator(e, dt);
  llvm::Value *ohLo, *ohHi;
  std::tie(ohLo, ohHi) = coveringWindows(e, od[2], a.window[0], a.stride[0], a.padding[0], ys[2]);
  llvm::Value *owLo, *owHi;
  std::tie(owLo, owHi) = coveringWindows(e, od[3], a.window[1], a.stride[1], a.padding[1], ys[3]);
  e.forLoop(ohLo, ohHi, [&](llvm::Value *oh) {
    e.forLoop(owLo, owHi, [&](llvm::Value *ow) {
      llvm::Value *arg = windowArgMax(e, n, x, od[0], od[1], oh, ow);
      e.ifThen(b.CreateICmpEQ(arg, self), [&] {
        llvm::Value *ops[] = {b.CreateLoad(acc->getAllocatedType(), acc), at4(e, dy, od[0], od[1], oh, ow)};
        b.CreateStore(e.scalar(OpKind::Add, dt, ops), acc);
      });
    }, false, "ow");
  }, false, "oh");
  return b.CreateLoad(acc->getAllocatedType(), acc);
}

llvm::Value *generateAvgPool2d(KernelEmitter &e, const Node &n, const IrIndex &idx) {
  // y = (sum of the window's cells inside the input, row-major) / (full window size)
  const Value *x = n.operand(0);
  const PoolAttrs &a = n.attrsAs<PoolAttrs>();
  const DType dt = n.type().dtype;
  std::vector<llvm::Value *> od = e.dimsOf(idx);
  llvm::AllocaInst *acc = zeroAccumulator(e, dt);
  forWindowCells(e, a, x->shape(), od[2], od[3], [&](llvm::Value *ih, llvm::Value *iw) {
    llvm::Value *ops[] = {e.b().CreateLoad(acc->getAllocatedType(), acc), at4(e, x, od[0], od[1], ih, iw)};
    e.b().CreateStore(e.scalar(OpKind::Add, dt, ops), acc);
  });
  llvm::Value *sum = e.b().CreateLoad(acc->getAllocatedType(), acc);
  llvm::Value *ops[] = {sum, constantOf(e.ctx(), dt, static_cast<double>(a.window[0] * a.window[1]))};
  return e.scalar(OpKind::Div, dt, ops);
}

llvm::Value *generateAvgPool2dGrad(KernelEmitter &e, const Node &n, const IrIndex &idx) {
  // dx[n,c,h,w] = (sum of dy over the windows covering (h, w), row-major) / window size
  const Value *dy = n.operand(0);
  const PoolAttrs &a = n.attrsAs<PoolAttrs>();
  const Shape &ys = dy->shape();
  const DType dt = n.type().dtype;
  std::vector<llvm::Value *> od = e.dimsOf(idx);
  llvm::AllocaInst *acc = zeroAccumulator(e, dt);
  llvm::Value *ohLo, *ohHi;
  std::tie(ohLo, ohHi) = coveringWindows(e, od[2], a.window[0], a.stride[0], a.padding[0], ys[2]);
  llvm::Value *owLo, *owHi;
  std::tie(owLo, owHi) = coveringWindows(e, od[3], a.window[1], a.stride[1], a.padding[1], ys[3]);
  e.forLoop(ohLo, ohHi, [&](llvm::Value *oh) {
    e.forLoop(owLo, owHi, [&](llvm::Value *ow) {
      llvm::Value *ops[] = {e.b().CreateLoad(acc->getAllocatedType(), acc), at4(e, dy, od[0], od[1], oh, ow)};
      e.b().CreateStore(e.scalar(OpKind::Add, dt, ops), acc);
    }, false, "ow");
  }, false, "oh");
  llvm::Value *sum = e.b().CreateLoad(acc->getAllocatedType(), acc);
  llvm::Value *ops[] = {sum, constantOf(e.ctx(), dt, static_cast<double>(a.window[0] * a.window[1]))};
  return e.scalar(OpKind::Div, dt, ops);
}

}  // namespace dlc::cg
