//===- codegen/conv.cpp - convolution rows: conv2d and its gradients by rows ===//
//
// A convolution whose kernel domain is its own shape with all but the last dim parallel
// is computed a whole row (the last dim) at a time into a row buffer (the emitter's
// rowBuffered mechanism) instead of one element at a time. Each element keeps exactly
// the interpreter's chain: acc = fma(x, w, acc) from +0, terms in the interpreter's
// order, padding cells skipped (not multiplied by zero). What changes is the loop order:
// the terms' loops are outside and the row positions inside, so the innermost loop runs
// over independent output elements (vectorized across the row), and the padding bounds
// become the row loop's bounds, computed once per term rather than tested per element.
//
//   conv2d       y[n,o,oh,:]  : for c, kh (ih inside), kw: for ow in range(kw): fma
//   input grad   dx[n,c,h,:]  : for o, kh (oh exists), kw: for ow in range(kw): fma into
//                               dx[.., ow*s - p + kw*d]  (each w hit at most once per term)
//   filter grad  dw[o,c,kh,:] : for n, oh (ih inside), kw: for ow in range(kw): fma
//                               (here the ow loop is the element's own chain: sequential)
//
// range(kw) is the set of ow with 0 <= ow*s - p + kw*d < W, clamped to [0, OW).
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <functional>

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/Metadata.h>

#include "codegen/kernel_emitter.h"

namespace dlc::cg {
namespace {

/// Filter gradients with rows up to this long run their kw chains side by side.
constexpr int64_t kUnrolledKw = 16;

llvm::Value *at4(KernelEmitter &e, const Value *v, llvm::Value *d0, llvm::Value *d1, llvm::Value *d2,
                 llvm::Value *d3) {
  return e.generate(v, IrIndex{v->shape(), {d0, d1, d2, d3}, nullptr});
}

/// a * s + c with constants s and c.
llvm::Value *affine(KernelEmitter &e, llvm::Value *a, int64_t s, int64_t c) {
  llvm::IRBuilder<> &b = e.b();
  llvm::Value *r = s == 1 ? a : b.CreateMul(a, e.i64(s));
  return c == 0 ? r : b.CreateAdd(r, e.i64(c));
}

/// The ow in [0, out) with 0 <= ow*s - p + k*d < in, for window offset \p k (a runtime
/// value): [max(0, ceil((p - k*d) / s)), min(out, floor((in - 1 + p - k*d) / s) + 1)).
std::pair<llvm::Value *, llvm::Value *> validOutputs(KernelEmitter &e, llvm::Value *k, int64_t s, int64_t p,
                                                     int64_t d, int64_t in, int64_t out) {
  llvm::IRBuilder<> &b = e.b();
  llvm::Value *kd = affine(e, k, d, 0);
  llvm::Value *first = b.CreateSub(e.i64(p), kd);  // ow*s >= first
  llvm::Value *lo = b.CreateSelect(b.CreateICmpSGT(first, e.i64(0)),
                                   b.CreateSDiv(b.CreateAdd(first, e.i64(s - 1)), e.i64(s)), e.i64(0));
  llvm::Value *last = b.CreateSub(e.i64(in - 1 + p), kd);  // ow*s <= last
  llvm::Value *hi = b.CreateSelect(b.CreateICmpSLT(last, e.i64(0)), e.i64(0),
                                   b.CreateBinaryIntrinsic(llvm::Intrinsic::smin,
                                                           b.CreateAdd(b.CreateSDiv(last, e.i64(s)), e.i64(1)),
                                                           e.i64(out)));
  return {lo, hi};
}

/// validOutputs for a constant window offset \p k.
std::pair<int64_t, int64_t> validOutputsAt(int64_t k, int64_t s, int64_t p, int64_t d, int64_t in, int64_t out) {
  const int64_t first = p - k * d, last = in - 1 + p - k * d;
  const int64_t lo = first > 0 ? (first + s - 1) / s : 0;
  const int64_t hi = last < 0 ? 0 : std::min(last / s + 1, out);
  return {std::min(lo, out), std::max(std::min(lo, out), hi)};
}

/// Calls body(kw, lo, hi) for kw in [0, kwCount): unrolled with constant bounds when the
/// filter is narrow (the usual case), else as a loop with computed bounds.
void forEachKw(KernelEmitter &e, int64_t kwCount, int64_t s, int64_t p, int64_t d, int64_t in, int64_t out,
               const std::function<void(llvm::Value *, llvm::Value *, llvm::Value *)> &body) {
  if (kwCount <= kUnrolledKw) {
    for (int64_t kw = 0; kw < kwCount; ++kw) {
      auto [lo, hi] = validOutputsAt(kw, s, p, d, in, out);
      if (lo < hi) body(e.i64(kw), e.i64(lo), e.i64(hi));
    }
    return;
  }
  e.forLoop(e.i64(0), e.i64(kwCount), [&](llvm::Value *kw) {
    auto [lo, hi] = validOutputs(e, kw, s, p, d, in, out);
    body(kw, lo, hi);
  }, false, "kw");
}

/// `for (iv = lo; iv < hi; ++iv) body(iv)` over row positions, vectorized with the tail
/// folded into masked vector iterations (rows are short: 14 or 28 in W2, less than two
/// AVX-512 vectors, so an unmasked scalar remainder would do most of the work).
void rowLoop(KernelEmitter &e, llvm::Value *lo, llvm::Value *hi, const std::function<void(llvm::Value *)> &body) {
  llvm::IRBuilder<> &b = e.b();
  llvm::LLVMContext &c = e.ctx();
  llvm::Function *fn = b.GetInsertBlock()->getParent();
  llvm::BasicBlock *pre = b.GetInsertBlock();
  llvm::BasicBlock *bodyBB = llvm::BasicBlock::Create(c, "row.loop", fn);
  llvm::BasicBlock *exitBB = llvm::BasicBlock::Create(c, "row.exit", fn);
  b.CreateCondBr(b.CreateICmpSLT(lo, hi), bodyBB, exitBB);
  b.SetInsertPoint(bodyBB);
  llvm::PHINode *iv = b.CreatePHI(b.getInt64Ty(), 2, "ow");
  iv->addIncoming(lo, pre);
  body(iv);
  llvm::Value *next = b.CreateAdd(iv, e.i64(1), "ow.next", true, true);
  llvm::BranchInst *br = b.CreateCondBr(b.CreateICmpSLT(next, hi), bodyBB, exitBB);
  iv->addIncoming(next, b.GetInsertBlock());
  auto hint = [&](const char *name) {
    llvm::Metadata *ops[] = {llvm::MDString::get(c, name), llvm::ConstantAsMetadata::get(b.getTrue())};
    return llvm::MDNode::get(c, ops);
  };
  llvm::Metadata *ops[] = {nullptr, hint("llvm.loop.vectorize.enable"), hint("llvm.loop.vectorize.predicate.enable")};
  llvm::MDNode *loopId = llvm::MDNode::getDistinct(c, ops);
  loopId->replaceOperandWith(0, loopId);
  br->setMetadata(llvm::LLVMContext::MD_loop, loopId);
  exitBB->moveAfter(b.GetInsertBlock());
  b.SetInsertPoint(exitBB);
}

/// True when \p v is read from a buffer (not computed by a member of the kernel's group).
bool isBuffer(KernelEmitter &e, const Value *v) {
  const auto &nodes = e.kernel().nodes;
  return v->def() == nullptr || std::find(nodes.begin(), nodes.end(), v->def()) == nodes.end();
}

/// Rows up to this long (unit stride, floats, narrow filters) stay in vector registers
/// for the whole row: kLanes-wide accumulators that mem2reg turns into SSA values, so a
/// term's fma waits on the previous fma, not on a store and a reload.
constexpr int64_t kLanes = 8;
constexpr int64_t kMaxRegisterRow = 64;

struct RegisterRow {
  DType dt = DType::F32;
  llvm::Type *vt = nullptr;
  std::vector<llvm::AllocaInst *> acc;
};

RegisterRow registerRow(KernelEmitter &e, DType dt, int64_t len) {
  RegisterRow rr{dt, llvm::FixedVectorType::get(storageType(e.ctx(), dt), kLanes), {}};
  for (int64_t r = 0; r < len; r += kLanes) {
    rr.acc.push_back(e.entryAlloca(rr.vt, "acc.v"));
    e.b().CreateStore(llvm::Constant::getNullValue(rr.vt), rr.acc.back());
  }
  return rr;
}

llvm::Constant *laneMask(KernelEmitter &e, int64_t r0, int64_t lo, int64_t hi, bool &all) {
  std::vector<llvm::Constant *> bits;
  all = true;
  for (int64_t l = 0; l < kLanes; ++l) {
    const bool on = r0 + l >= lo && r0 + l < hi;
    bits.push_back(e.b().getInt1(on));
    all = all && on;
  }
  return llvm::ConstantVector::get(bits);
}

/// acc[r] = fma(src[r + shift], wv, acc[r]) for the row positions r with 0 <= r + shift <
/// srcLen (the others keep their accumulator); src points at the source row's element 0.
void registerRowTerm(KernelEmitter &e, RegisterRow &rr, int64_t rowLen, llvm::Value *src, int64_t srcLen,
                     int64_t shift, llvm::Value *wv) {
  llvm::IRBuilder<> &b = e.b();
  const int64_t lo = std::max<int64_t>(0, -shift), hi = std::min(rowLen, srcLen - shift);
  if (lo >= hi) return;
  llvm::Type *t = storageType(e.ctx(), rr.dt);
  const llvm::Align align(t->getPrimitiveSizeInBits() / 8);
  llvm::Value *splat = b.CreateVectorSplat(kLanes, wv);
  for (size_t v = 0; v < rr.acc.size(); ++v) {
    const int64_t r0 = static_cast<int64_t>(v) * kLanes;
    if (r0 + kLanes <= lo || r0 >= hi) continue;
    bool all = false;
    llvm::Constant *mask = laneMask(e, r0, lo, hi, all);
    // Not inbounds: the lanes that are off may lie outside the buffer (never accessed).
    llvm::Value *ptr = b.CreateGEP(t, src, e.i64(r0 + shift));
    llvm::Value *xv = all ? static_cast<llvm::Value *>(b.CreateAlignedLoad(rr.vt, ptr, align))
                          : b.CreateMaskedLoad(rr.vt, ptr, align, mask, llvm::Constant::getNullValue(rr.vt));
    llvm::Value *acc = b.CreateLoad(rr.vt, rr.acc[v]);
    llvm::Value *next = e.mulAdd(rr.dt, xv, splat, acc);
    b.CreateStore(all ? next : b.CreateSelect(mask, next, acc), rr.acc[v]);
  }
}

void storeRegisterRow(KernelEmitter &e, const RegisterRow &rr, int64_t rowLen, llvm::AllocaInst *row) {
  llvm::IRBuilder<> &b = e.b();
  llvm::Type *t = storageType(e.ctx(), rr.dt);
  const llvm::Align align(t->getPrimitiveSizeInBits() / 8);
  for (size_t v = 0; v < rr.acc.size(); ++v) {
    const int64_t r0 = static_cast<int64_t>(v) * kLanes;
    bool all = false;
    llvm::Constant *mask = laneMask(e, r0, 0, rowLen, all);
    llvm::Value *ptr = b.CreateInBoundsGEP(t, row, e.i64(r0));
    llvm::Value *acc = b.CreateLoad(rr.vt, rr.acc[v]);
    if (all) b.CreateAlignedStore(acc, ptr, align);
    else b.CreateMaskedStore(acc, ptr, align, mask);
  }
}

/// row[j] = fma(x, y, row[j]).
void rowFma(KernelEmitter &e, DType dt, llvm::AllocaInst *row, llvm::Value *j, llvm::Value *x, llvm::Value *y) {
  llvm::IRBuilder<> &b = e.b();
  llvm::Type *t = storageType(e.ctx(), dt);
  llvm::Value *p = b.CreateInBoundsGEP(t, row, j);
  b.CreateStore(e.mulAdd(dt, x, y, b.CreateLoad(t, p)), p);
}

}  // namespace

bool isConvRowNode(const Node &n) {
  const OpKind k = n.kind();
  return k == OpKind::Conv2d || k == OpKind::Conv2dInputGrad || k == OpKind::Conv2dFilterGrad;
}

void emitConvRow(KernelEmitter &e, const Node &n, const std::vector<llvm::Value *> &outer, llvm::AllocaInst *row) {
  llvm::IRBuilder<> &b = e.b();
  const DType dt = n.type().dtype;
  const Shape &rs = n.type().shape;
  const ConvAttrs &a = n.attrsAs<ConvAttrs>();
  llvm::Type *t = storageType(e.ctx(), dt);
  e.forLoop(e.i64(0), e.i64(rs[3]), [&](llvm::Value *j) {
    b.CreateStore(constantOf(e.ctx(), dt, 0.0), b.CreateInBoundsGEP(t, row, j));
  }, /*vectorize=*/true, "zero");
  auto inRange = [&](llvm::Value *v, int64_t hi) {
    return b.CreateAnd(b.CreateICmpSGE(v, e.i64(0)), b.CreateICmpSLT(v, e.i64(hi)));
  };
  if (n.kind() == OpKind::Conv2d) {
    const Value *x = n.operand(0), *w = n.operand(1);
    const Shape &xs = x->shape(), &ws = w->shape();
    llvm::Value *bn = outer[0], *o = outer[1], *oh = outer[2];
    if (isFloat(dt) && a.stride[1] == 1 && rs[3] <= kMaxRegisterRow && ws[3] <= kUnrolledKw && isBuffer(e, x)) {
      RegisterRow rr = registerRow(e, dt, rs[3]);
      e.forLoop(e.i64(0), e.i64(xs[1]), [&](llvm::Value *c) {
        e.forLoop(e.i64(0), e.i64(ws[2]), [&](llvm::Value *kh) {
          llvm::Value *ih = b.CreateAdd(affine(e, oh, a.stride[0], -a.padding[0]), affine(e, kh, a.dilation[0], 0));
          e.ifThen(inRange(ih, xs[2]), [&] {
            llvm::Value *src = e.elementPtr(x, IrIndex{xs, {bn, c, ih, e.i64(0)}, nullptr});
            for (int64_t kw = 0; kw < ws[3]; ++kw)
              registerRowTerm(e, rr, rs[3], src, xs[3], kw * a.dilation[1] - a.padding[1],
                              at4(e, w, o, c, kh, e.i64(kw)));
          });
        }, false, "kh");
      }, false, "c");
      storeRegisterRow(e, rr, rs[3], row);
      return;
    }
    e.forLoop(e.i64(0), e.i64(xs[1]), [&](llvm::Value *c) {
      e.forLoop(e.i64(0), e.i64(ws[2]), [&](llvm::Value *kh) {
        llvm::Value *ih = b.CreateAdd(affine(e, oh, a.stride[0], -a.padding[0]), affine(e, kh, a.dilation[0], 0));
        e.ifThen(inRange(ih, xs[2]), [&] {
          forEachKw(e, ws[3], a.stride[1], a.padding[1], a.dilation[1], xs[3], rs[3],
                    [&](llvm::Value *kw, llvm::Value *lo, llvm::Value *hi) {
            llvm::Value *wv = at4(e, w, o, c, kh, kw);
            llvm::Value *off = affine(e, kw, a.dilation[1], -a.padding[1]);
            rowLoop(e, lo, hi, [&](llvm::Value *ow) {
              llvm::Value *iw = b.CreateAdd(affine(e, ow, a.stride[1], 0), off);
              rowFma(e, dt, row, ow, at4(e, x, bn, c, ih, iw), wv);
            });
          });
        });
      }, false, "kh");
    }, false, "c");
    return;
  }
  if (n.kind() == OpKind::Conv2dInputGrad) {
    // dx[n,c,h,w] = sum over (o, kh, kw) ascending of dy[n,o,oh,ow] * w[o,c,kh,kw], for
    // the (oh, ow) with oh*s - p + kh*d == h and ow*s - p + kw*d == w.
    const Value *dy = n.operand(0), *w = n.operand(1);
    const Shape &ys = dy->shape(), &ws = w->shape();
    llvm::Value *bn = outer[0], *c = outer[1], *h = outer[2];
    const bool inRegisters =
        isFloat(dt) && a.stride[1] == 1 && rs[3] <= kMaxRegisterRow && ws[3] <= kUnrolledKw && isBuffer(e, dy);
    RegisterRow rr;
    if (inRegisters) rr = registerRow(e, dt, rs[3]);
    e.forLoop(e.i64(0), e.i64(ws[0]), [&](llvm::Value *o) {
      e.forLoop(e.i64(0), e.i64(ws[2]), [&](llvm::Value *kh) {
        llvm::Value *tt = b.CreateSub(b.CreateAdd(h, e.i64(a.padding[0])), affine(e, kh, a.dilation[0], 0));
        const int64_t s = a.stride[0];
        llvm::Value *ok = b.CreateICmpSGE(tt, e.i64(0));
        llvm::Value *oh = s == 1 ? tt : b.CreateSDiv(tt, e.i64(s));
        if (s != 1) ok = b.CreateAnd(ok, b.CreateICmpEQ(b.CreateSRem(tt, e.i64(s)), e.i64(0)));
        ok = b.CreateAnd(ok, b.CreateICmpSLT(oh, e.i64(ys[2])));
        e.ifThen(ok, [&] {
          if (inRegisters) {
            // dx[.., w] += dy[.., w + p - kw*d] * w[o,c,kh,kw]
            llvm::Value *src = e.elementPtr(dy, IrIndex{ys, {bn, o, oh, e.i64(0)}, nullptr});
            for (int64_t kw = 0; kw < ws[3]; ++kw)
              registerRowTerm(e, rr, rs[3], src, ys[3], a.padding[1] - kw * a.dilation[1],
                              at4(e, w, o, c, kh, e.i64(kw)));
            return;
          }
          forEachKw(e, ws[3], a.stride[1], a.padding[1], a.dilation[1], rs[3], ys[3],
                    [&](llvm::Value *kw, llvm::Value *lo, llvm::Value *hi) {
            llvm::Value *wv = at4(e, w, o, c, kh, kw);
            llvm::Value *off = affine(e, kw, a.dilation[1], -a.padding[1]);
            rowLoop(e, lo, hi, [&](llvm::Value *ow) {
              llvm::Value *pos = b.CreateAdd(affine(e, ow, a.stride[1], 0), off);
              rowFma(e, dt, row, pos, at4(e, dy, bn, o, oh, ow), wv);
            });
          });
        });
      }, false, "kh");
    }, false, "o");
    if (inRegisters) storeRegisterRow(e, rr, rs[3], row);
    return;
  }
  {
    DL_ASSERT(n.kind() == OpKind::Conv2dFilterGrad, "not a convolution");
    // dw[o,c,kh,kw] = sum over (n, oh, ow) ascending of x[n,c,ih,iw] * dy[n,o,oh,ow].
    const Value *x = n.operand(0), *dy = n.operand(1);
    const Shape &xs = x->shape(), &ys = dy->shape();
    llvm::Value *o = outer[0], *c = outer[1], *kh = outer[2];
    llvm::Value *khOff = affine(e, kh, a.dilation[0], -a.padding[0]);
    e.forLoop(e.i64(0), e.i64(xs[0]), [&](llvm::Value *bn) {
      e.forLoop(e.i64(0), e.i64(ys[2]), [&](llvm::Value *oh) {
        llvm::Value *ih = b.CreateAdd(affine(e, oh, a.stride[0], 0), khOff);
        e.ifThen(inRange(ih, xs[2]), [&] {
          if (rs[3] > kUnrolledKw) {
            e.forLoop(e.i64(0), e.i64(rs[3]), [&](llvm::Value *kw) {
              auto [lo, hi] = validOutputs(e, kw, a.stride[1], a.padding[1], a.dilation[1], xs[3], ys[3]);
              llvm::Value *off = affine(e, kw, a.dilation[1], -a.padding[1]);
              e.forLoop(lo, hi, [&](llvm::Value *ow) {
                llvm::Value *iw = b.CreateAdd(affine(e, ow, a.stride[1], 0), off);
                rowFma(e, dt, row, kw, at4(e, x, bn, c, ih, iw), at4(e, dy, bn, o, oh, ow));
              }, false, "ow");
            }, false, "kw");
            return;
          }
          // Each kw's sum over ow is a sequential chain; running the KW chains side by
          // side (kw unrolled) hides the fma latency. A kw whose cell is padding keeps
          // its accumulator (select), reading a clamped in-bounds cell meanwhile.
          // ow in [inLo, inHi): every kw's cell is inside the row, no select needed.
          const int64_t s1 = a.stride[1], p1 = a.padding[1], d1 = a.dilation[1], last = xs[3] - 1 + p1 - (rs[3] - 1) * d1;
          const int64_t inLo = std::min((p1 + s1 - 1) / s1, ys[3]);
          const int64_t inHi = std::max(inLo, std::min(last >= 0 ? last / s1 + 1 : 0, ys[3]));
          auto segment = [&](int64_t from, int64_t to, bool checked) {
            if (from >= to) return;
            e.forLoop(e.i64(from), e.i64(to), [&](llvm::Value *ow) {
              llvm::Value *g = at4(e, dy, bn, o, oh, ow);
              llvm::Value *base = affine(e, ow, s1, -p1);
              for (int64_t kw = 0; kw < rs[3]; ++kw) {
                llvm::Value *iw = b.CreateAdd(base, e.i64(kw * d1));
                llvm::Value *p = b.CreateInBoundsGEP(t, row, e.i64(kw));
                llvm::Value *acc = b.CreateLoad(t, p);
                if (!checked) {
                  b.CreateStore(e.mulAdd(dt, at4(e, x, bn, c, ih, iw), g, acc), p);
                  continue;
                }
                llvm::Value *safe = b.CreateBinaryIntrinsic(
                    llvm::Intrinsic::smin, b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, iw, e.i64(0)), e.i64(xs[3] - 1));
                llvm::Value *next = e.mulAdd(dt, at4(e, x, bn, c, ih, safe), g, acc);
                b.CreateStore(b.CreateSelect(inRange(iw, xs[3]), next, acc), p);
              }
            }, false, checked ? "ow.edge" : "ow");
          };
          segment(0, inLo, true);
          segment(inLo, inHi, false);
          segment(inHi, ys[3], true);
        });
      }, false, "oh");
    }, false, "n");
  }
}

}  // namespace dlc::cg
