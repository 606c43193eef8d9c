//===- codegen/conv_direct_grad.cpp - direct filter and max-pool gradients ---===//
//
// The filter gradient dw[o,c,kh,kw] = sum over n, oh, ow (ascending) of x[..] * dy[..]
// vectorizes over 16 filter output channels: per batch item the unit transposes its
// channels of dy into [pixel][16] on the stack, and rows of accumulators (one per
// (c, kh, kw), 16 lanes of o) run over the pixels, each row a broadcast of x. Rows share
// their window (consecutive c at one tap, the window bounds are the loop bounds) or,
// with few input channels, are all the taps of one channel, with the pixel loops cut at
// every tap's bounds so that each piece runs exactly the rows whose cell exists.
// Accumulators live in a stack buffer between batch items and are scattered into dw at
// the end.
//
// max_pool2d_grad whose windows tile the input: see emitDirectMaxPoolGrad.
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <set>

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/GlobalVariable.h>

#include "codegen/conv_plan.h"
#include "codegen/kernel_emitter.h"

namespace dlc::cg {
namespace {

/// The filter gradient dw[O,C,KH,KW] from x[N,C,H,W] and dy[N,O,OH,OW].
class FilterGradEmitter {
 public:
  FilterGradEmitter(KernelEmitter &e, const Node &n) : e_(e), b_(e.b()) {
    const Shape &xs = n.operand(0)->shape(), &ys = n.operand(1)->shape(), &rs = n.type().shape;
    const ConvAttrs &a = n.attrsAs<ConvAttrs>();
    N_ = xs[0], C_ = xs[1], H_ = xs[2], W_ = xs[3], O_ = rs[0], KH_ = rs[2], KW_ = rs[3], OH_ = ys[2], OW_ = ys[3];
    sh_ = a.stride[0], sw_ = a.stride[1], ph_ = a.padding[0], pw_ = a.padding[1], dh_ = a.dilation[0],
    dw_ = a.dilation[1];
    w_ = e.target().vectorBits / 32;
    nv_ = static_cast<int>(kConvGroup / w_);
    vt_ = llvm::FixedVectorType::get(b_.getFloatTy(), static_cast<unsigned>(w_));
    const int accMax = e.target().vectorBits >= 512 ? 26 : 12;
    // Few input channels: all taps of one channel side by side; else consecutive
    // channels at one tap.
    windowRows_ = KH_ * KW_ * nv_ <= accMax && C_ * nv_ < accMax / 2;
    const int64_t mrMax = std::max(1, (e.target().vectorBits >= 512 ? 24 : 12) / nv_);
    const int64_t blocks = (C_ + mrMax - 1) / mrMax;
    mr_ = (C_ + blocks - 1) / blocks;
    x_ = e.buffer(n.operand(0));
    dy_ = e.buffer(n.operand(1));
    dw_out_ = e.buffer(n.result());
  }

  void emit(llvm::Value *begin, llvm::Value *end) {
    llvm::Type *f32 = b_.getFloatTy();
    const int64_t pix = OH_ * OW_, rows = C_ * KH_ * KW_;
    dyT_ = e_.entryAlloca(llvm::ArrayType::get(f32, static_cast<uint64_t>(pix * kConvGroup)), "dyT");
    dyT_->setAlignment(llvm::Align(64));
    accBuf_ = e_.entryAlloca(llvm::ArrayType::get(f32, static_cast<uint64_t>(rows * kConvGroup)), "accbuf");
    accBuf_->setAlignment(llvm::Align(64));
    e_.forLoop(begin, end, [&](llvm::Value *unit) {
      llvm::Value *o0 = b_.CreateMul(unit, e_.i64(kConvGroup), "o0");
      e_.forLoop(e_.i64(0), e_.i64(rows * kConvGroup), [&](llvm::Value *i) {
        b_.CreateStore(llvm::ConstantFP::get(f32, 0.0), b_.CreateInBoundsGEP(f32, accBuf_, i));
      }, true, "zero");
      e_.forLoop(e_.i64(0), e_.i64(N_), [&](llvm::Value *n) {
        transpose(n, o0);
        if (windowRows_) {
          e_.forLoop(e_.i64(0), e_.i64(C_), [&](llvm::Value *c) { windowTile(n, c); }, false, "c");
          return;
        }
        e_.forLoop(e_.i64(0), e_.i64(KH_), [&](llvm::Value *kh) {
          e_.forLoop(e_.i64(0), e_.i64(KW_), [&](llvm::Value *kw) {
            const int64_t full = C_ / mr_;
            if (full > 0)
              e_.forLoop(e_.i64(0), e_.i64(full), [&](llvm::Value *cb) {
                channelTile(n, b_.CreateMul(cb, e_.i64(mr_)), static_cast<int>(mr_), kh, kw);
              }, false, "cb");
            if (C_ % mr_) channelTile(n, e_.i64(full * mr_), static_cast<int>(C_ % mr_), kh, kw);
          }, false, "kw");
        }, false, "kh");
      }, false, "n");
      scatter(o0);
    }, false, "unit");
  }

 private:
  /// dyT[p][l] = dy[n, o0 + l, p] for the unit's channels (0 past O).
  void transpose(llvm::Value *n, llvm::Value *o0) {
    llvm::Type *f32 = b_.getFloatTy();
    const int64_t pix = OH_ * OW_;
    auto *gv = llvm::FixedVectorType::get(f32, static_cast<unsigned>(kConvGroup));
    e_.forLoop(e_.i64(0), e_.i64(pix), [&](llvm::Value *p) {
      llvm::Value *v = llvm::Constant::getNullValue(gv);
      for (int64_t l = 0; l < kConvGroup; ++l) {
        llvm::Value *o = b_.CreateAdd(o0, e_.i64(l));
        llvm::Value *idx = b_.CreateAdd(b_.CreateMul(b_.CreateAdd(b_.CreateMul(n, e_.i64(O_)), o), e_.i64(pix)), p);
        // Channels past O read a clamped (valid) element and are replaced by 0.
        llvm::Value *ok = b_.CreateICmpSLT(o, e_.i64(O_));
        llvm::Value *safe = b_.CreateSelect(ok, idx, e_.i64(0));
        llvm::Value *val = b_.CreateLoad(f32, b_.CreateInBoundsGEP(f32, dy_, safe));
        v = b_.CreateInsertElement(v, b_.CreateSelect(ok, val, llvm::ConstantFP::get(f32, 0.0)), e_.i64(l));
      }
      b_.CreateAlignedStore(v, b_.CreateInBoundsGEP(f32, dyT_, b_.CreateMul(p, e_.i64(kConvGroup))), llvm::Align(64));
    }, false, "tr");
  }

  llvm::Value *accPtr(llvm::Value *row, int v) {
    return b_.CreateInBoundsGEP(b_.getFloatTy(), accBuf_,
                                b_.CreateAdd(b_.CreateMul(row, e_.i64(kConvGroup)), e_.i64(v * w_)));
  }

  /// Accumulator rows `rowIndex` (rows (c*KH + kh)*KW + kw of accBuf) over the pixels of
  /// one batch item: `pixels(body)` calls body(oh, ow, valid) for the pixels in the
  /// interpreter's order, `valid` listing the rows whose x cell exists there; `xAt(r, oh,
  /// ow)` is row r's x address.

  void runRows(const std::vector<llvm::Value *> &rowIndex,
               const std::function<void(const std::function<void(llvm::Value *, llvm::Value *, const std::vector<int> &)> &)>
                   &pixels,
               const std::function<llvm::Value *(int, llvm::Value *, llvm::Value *)> &xAt) {
    llvm::Type *f32 = b_.getFloatTy();
    const size_t nr = rowIndex.size();
    std::vector<llvm::AllocaInst *> acc;
    for (size_t r = 0; r < nr; ++r)
      for (int v = 0; v < nv_; ++v) {
        acc.push_back(e_.entryAlloca(vt_, "acc"));
        b_.CreateStore(b_.CreateAlignedLoad(vt_, accPtr(rowIndex[r], v), llvm::Align(64)), acc.back());
      }
    pixels([&](llvm::Value *oh, llvm::Value *ow, const std::vector<int> &valid) {
      llvm::Value *p = b_.CreateAdd(b_.CreateMul(oh, e_.i64(OW_)), ow);
      std::vector<llvm::Value *> g;
      for (int v = 0; v < nv_; ++v)
        g.push_back(b_.CreateAlignedLoad(
            vt_, b_.CreateInBoundsGEP(f32, dyT_, b_.CreateAdd(b_.CreateMul(p, e_.i64(kConvGroup)), e_.i64(v * w_))),
            llvm::Align(64)));
      for (int r : valid) {
        llvm::Value *xs = b_.CreateLoad(f32, xAt(r, oh, ow));
        llvm::Value *xv = b_.CreateVectorSplat(static_cast<unsigned>(w_), xs);
        for (int v = 0; v < nv_; ++v) {
          llvm::AllocaInst *slot = acc[static_cast<size_t>(r * nv_ + v)];
          b_.CreateStore(e_.mulAdd(DType::F32, xv, g[static_cast<size_t>(v)], b_.CreateLoad(vt_, slot)), slot);
        }
      }
    });
    for (size_t r = 0; r < nr; ++r)
      for (int v = 0; v < nv_; ++v)
        b_.CreateAlignedStore(b_.CreateLoad(vt_, acc[r * static_cast<size_t>(nv_) + static_cast<size_t>(v)]),
                              accPtr(rowIndex[r], v), llvm::Align(64));
  }

  /// x[n, c, oh*s - p + k*d (rows), ...] address.
  llvm::Value *xPtr(llvm::Value *n, llvm::Value *c, llvm::Value *ih, llvm::Value *iw) {
    llvm::Value *plane = b_.CreateAdd(b_.CreateMul(n, e_.i64(C_)), c);
    llvm::Value *idx = b_.CreateAdd(b_.CreateMul(b_.CreateAdd(b_.CreateMul(plane, e_.i64(H_)), ih), e_.i64(W_)), iw);
    return b_.CreateInBoundsGEP(b_.getFloatTy(), x_, idx);
  }

  llvm::Value *affine(llvm::Value *a, int64_t s, llvm::Value *k, int64_t d, int64_t p) {
    return b_.CreateAdd(b_.CreateSub(b_.CreateMul(a, e_.i64(s)), e_.i64(p)), b_.CreateMul(k, e_.i64(d)));
  }

  /// Runtime tapRange for a runtime tap k.
  std::pair<llvm::Value *, llvm::Value *> range(llvm::Value *k, int64_t s, int64_t p, int64_t d, int64_t in,
                                                int64_t out) {
    llvm::Value *kd = b_.CreateMul(k, e_.i64(d));
    llvm::Value *first = b_.CreateSub(e_.i64(p), kd);
    llvm::Value *lo = b_.CreateSelect(b_.CreateICmpSGT(first, e_.i64(0)),
                                      b_.CreateSDiv(b_.CreateAdd(first, e_.i64(s - 1)), e_.i64(s)), e_.i64(0));
    lo = b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, lo, e_.i64(out));
    llvm::Value *last = b_.CreateSub(e_.i64(in - 1 + p), kd);
    llvm::Value *hi = b_.CreateSelect(
        b_.CreateICmpSLT(last, e_.i64(0)), e_.i64(0),
        b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b_.CreateAdd(b_.CreateSDiv(last, e_.i64(s)), e_.i64(1)),
                                 e_.i64(out)));
    return {lo, b_.CreateBinaryIntrinsic(llvm::Intrinsic::smax, lo, hi)};
  }

  /// Channels [c0, c0 + mr) at tap (kh, kw): one window, its bounds the loop bounds.
  void channelTile(llvm::Value *n, llvm::Value *c0, int mr, llvm::Value *kh, llvm::Value *kw) {
    std::vector<llvm::Value *> rowIndex;
    for (int r = 0; r < mr; ++r)
      rowIndex.push_back(b_.CreateAdd(
          b_.CreateMul(b_.CreateAdd(b_.CreateMul(b_.CreateAdd(c0, e_.i64(r)), e_.i64(KH_)), kh), e_.i64(KW_)), kw));
    // Plain variables, not structured bindings: clang 14 (the fuzz build) cannot capture
    // bindings in lambdas.
    const auto ohRange = range(kh, sh_, ph_, dh_, H_, OH_), owRange = range(kw, sw_, pw_, dw_, W_, OW_);
    llvm::Value *ohLo = ohRange.first, *ohHi = ohRange.second;
    llvm::Value *owLo = owRange.first, *owHi = owRange.second;
    std::vector<int> all;
    for (int r = 0; r < mr; ++r) all.push_back(r);
    runRows(rowIndex, [&](const auto &body) {
      e_.forLoop(ohLo, ohHi, [&](llvm::Value *oh) {
        e_.forLoop(owLo, owHi, [&](llvm::Value *ow) { body(oh, ow, all); }, false, "ow");
      }, false, "oh");
    }, [&](int r, llvm::Value *oh, llvm::Value *ow) {
      return xPtr(n, b_.CreateAdd(c0, e_.i64(r)), affine(oh, sh_, kh, dh_, ph_), affine(ow, sw_, kw, dw_, pw_));
    });
  }

  /// Cuts [0, out) at every tap's bounds: pieces [a, b) with the taps valid in each.
  static std::vector<std::pair<std::pair<int64_t, int64_t>, std::vector<int64_t>>> pieces(
      int64_t taps, int64_t s, int64_t p, int64_t d, int64_t in, int64_t out) {
    std::set<int64_t> cuts{0, out};
    std::vector<TapRange> rs;
    for (int64_t k = 0; k < taps; ++k) {
      rs.push_back(tapRange(k, s, p, d, in, out));
      cuts.insert(rs.back().lo);
      cuts.insert(rs.back().hi);
    }
    std::vector<int64_t> cv(cuts.begin(), cuts.end());
    std::vector<std::pair<std::pair<int64_t, int64_t>, std::vector<int64_t>>> res;
    for (size_t i = 0; i + 1 < cv.size(); ++i) {
      std::vector<int64_t> valid;
      for (int64_t k = 0; k < taps; ++k)
        if (rs[static_cast<size_t>(k)].lo <= cv[i] && cv[i + 1] <= rs[static_cast<size_t>(k)].hi) valid.push_back(k);
      if (cv[i] < cv[i + 1]) res.push_back({{cv[i], cv[i + 1]}, valid});
    }
    return res;
  }

  /// All taps of channel c: rows kh*KW + kw; the pixel loops are cut at every tap's
  /// bounds so that each piece runs the rows whose cell exists there.
  void windowTile(llvm::Value *n, llvm::Value *c) {
    std::vector<llvm::Value *> rowIndex;
    for (int64_t t = 0; t < KH_ * KW_; ++t)
      rowIndex.push_back(b_.CreateAdd(b_.CreateMul(c, e_.i64(KH_ * KW_)), e_.i64(t)));
    const auto hp = pieces(KH_, sh_, ph_, dh_, H_, OH_), wp = pieces(KW_, sw_, pw_, dw_, W_, OW_);
    runRows(rowIndex, [&](const auto &body) {
      for (const auto &hpiece : hp) {
        const auto &hr = hpiece.first;
        const auto &hk = hpiece.second;
        if (hk.empty()) continue;
        e_.forLoop(e_.i64(hr.first), e_.i64(hr.second), [&](llvm::Value *oh) {
          for (const auto &wpiece : wp) {
            const auto &wr = wpiece.first;
            const auto &wk = wpiece.second;
            if (wk.empty()) continue;
            std::vector<int> valid;
            for (int64_t i : hk)
              for (int64_t j : wk) valid.push_back(static_cast<int>(i * KW_ + j));
            std::sort(valid.begin(), valid.end());
            e_.forLoop(e_.i64(wr.first), e_.i64(wr.second), [&](llvm::Value *ow) { body(oh, ow, valid); }, false,
                       "ow");
          }
        }, false, "oh");
      }
    }, [&](int r, llvm::Value *oh, llvm::Value *ow) {
      return xPtr(n, c, affine(oh, sh_, e_.i64(r / KW_), dh_, ph_), affine(ow, sw_, e_.i64(r % KW_), dw_, pw_));
    });
  }

  /// dw[o0 + l, row] = accBuf[row][l] for the unit's channels.
  void scatter(llvm::Value *o0) {
    llvm::Type *f32 = b_.getFloatTy();
    const int64_t rows = C_ * KH_ * KW_;
    e_.forLoop(e_.i64(0), e_.i64(kConvGroup), [&](llvm::Value *l) {
      llvm::Value *o = b_.CreateAdd(o0, l);
      e_.ifThen(b_.CreateICmpSLT(o, e_.i64(O_)), [&] {
        e_.forLoop(e_.i64(0), e_.i64(rows), [&](llvm::Value *row) {
          llvm::Value *v = b_.CreateLoad(
              f32, b_.CreateInBoundsGEP(f32, accBuf_, b_.CreateAdd(b_.CreateMul(row, e_.i64(kConvGroup)), l)));
          b_.CreateStore(v, b_.CreateInBoundsGEP(f32, dw_out_, b_.CreateAdd(b_.CreateMul(o, e_.i64(rows)), row)));
        }, false, "row");
      });
    }, false, "lane");
  }

  KernelEmitter &e_;
  llvm::IRBuilder<> &b_;
  int64_t N_, C_, H_, W_, O_, KH_, KW_, OH_, OW_, sh_, sw_, ph_, pw_, dh_, dw_;
  int64_t w_ = 4;
  int nv_ = 4;
  int64_t mr_ = 1;
  bool windowRows_ = false;
  llvm::FixedVectorType *vt_ = nullptr;
  llvm::Value *x_, *dy_, *dw_out_;
  llvm::AllocaInst *dyT_ = nullptr, *accBuf_ = nullptr;
};

}  // namespace

/// max_pool2d_grad when the windows tile the input (stride = window, no padding): per
/// plane and window row, a vectorized loop over the windows finds each window's argmax
/// (the first maximum in row-major order, the first NaN if any: the interpreter's rule)
/// and writes all its cells: 0 + dy (the interpreter's sum over the one covering window)
/// at the argmax, +0 elsewhere. Cells no window covers are +0.
void emitDirectMaxPoolGrad(KernelEmitter &e, const Node &n, llvm::Value *begin, llvm::Value *end) {
  llvm::IRBuilder<> &b = e.b();
  const DType dt = n.type().dtype;
  const Shape &xs = n.operand(0)->shape(), &ys = n.operand(1)->shape();
  const PoolAttrs &a = n.attrsAs<PoolAttrs>();
  const int64_t kh = a.window[0], kw = a.window[1], H = xs[2], W = xs[3], OH = ys[2], OW = ys[3];
  llvm::Type *t = storageType(e.ctx(), dt);
  llvm::Value *x = e.buffer(n.operand(0)), *dy = e.buffer(n.operand(1)), *dx = e.buffer(n.result());
  llvm::Value *zero = constantOf(e.ctx(), dt, 0.0);
  auto zeros = [&](llvm::Value *from, int64_t count) {
    if (count <= 0) return;
    e.forLoop(e.i64(0), e.i64(count), [&](llvm::Value *i) {
      b.CreateStore(zero, b.CreateInBoundsGEP(t, dx, b.CreateAdd(from, i)));
    }, /*vectorize=*/true, "zero");
  };
  // Few windows per row (W2's 14 and 7) leave a 16-lane loop without a full vector
  // iteration, so the windows ran scalar: on AVX-512 a row is one or two masked
  // iterations of 8 windows instead (W2's two pool gradients 1.35-1.41 + 0.57-0.59 ms ->
  // 0.73-0.90 + 0.32-0.41, docs/codegen.md).
  const int lanes = static_cast<int>(e.target().vectorBits / 32);
  LoopHints rowHints;
  if (OW < lanes && lanes >= 16) rowHints = {.width = 8, .foldTail = true};
  e.forLoop(begin, end, [&](llvm::Value *plane) {
    llvm::Value *xPlane = b.CreateMul(plane, e.i64(H * W)), *yPlane = b.CreateMul(plane, e.i64(OH * OW));
    e.forLoop(e.i64(0), e.i64(OH), [&](llvm::Value *oh) {
      llvm::Value *row0 = b.CreateAdd(xPlane, b.CreateMul(oh, e.i64(kh * W)));
      e.forLoop(e.i64(0), e.i64(OW), [&](llvm::Value *ow) {
        llvm::Value *cell0 = b.CreateAdd(row0, b.CreateMul(ow, e.i64(kw)));
        llvm::Value *bv = nullptr, *bt = b.getInt32(0);
        for (int64_t i = 0; i < kh; ++i)
          for (int64_t j = 0; j < kw; ++j) {
            llvm::Value *v = b.CreateLoad(t, b.CreateInBoundsGEP(t, x, b.CreateAdd(cell0, e.i64(i * W + j))));
            if (!bv) {
              bv = v;
              continue;
            }
            llvm::Value *take = b.CreateAnd(b.CreateFCmpORD(bv, bv), b.CreateOr(b.CreateFCmpUNO(v, v), b.CreateFCmpOGT(v, bv)));
            bv = b.CreateSelect(take, v, bv);
            bt = b.CreateSelect(take, b.getInt32(static_cast<uint32_t>(i * kw + j)), bt);
          }
        llvm::Value *g = e.add(dt, zero, b.CreateLoad(t, b.CreateInBoundsGEP(t, dy, b.CreateAdd(b.CreateAdd(yPlane, b.CreateMul(oh, e.i64(OW))), ow))));
        for (int64_t i = 0; i < kh; ++i)
          for (int64_t j = 0; j < kw; ++j) {
            llvm::Value *hit = b.CreateICmpEQ(bt, b.getInt32(static_cast<uint32_t>(i * kw + j)));
            b.CreateStore(b.CreateSelect(hit, g, zero), b.CreateInBoundsGEP(t, dx, b.CreateAdd(cell0, e.i64(i * W + j))));
          }
      }, /*vectorize=*/true, "ow", rowHints);
      for (int64_t i = 0; i < kh && OW * kw < W; ++i)
        zeros(b.CreateAdd(row0, e.i64(i * W + OW * kw)), W - OW * kw);
    }, false, "oh");
    zeros(b.CreateAdd(xPlane, e.i64(OH * kh * W)), (H - OH * kh) * W);
  }, false, "plane");
}


void emitDirectFilterGrad(KernelEmitter &e, const Node &n, llvm::Value *begin, llvm::Value *end) {
  FilterGradEmitter(e, n).emit(begin, end);
}

}  // namespace dlc::cg
