//===- codegen/conv_direct.cpp - direct convolution kernels -----------------===//
//
// conv2d, its input gradient and its filter gradient (f32) as register-blocked direct
// kernels. Every output element is still one chain acc = fma(a, b, acc) from +0 with the
// interpreter's terms in the interpreter's order, padding cells skipped (the lane keeps
// its accumulator), so results are bitwise equal to the interpreter on every target and
// thread count. What changes is how many chains run side by side.
//
// conv2d (any stride up to kMaxDirectStride) and the input gradient (stride 1) are one
// pattern,
//
//   dst[n,d,y,x] = sum over s, kh, kw (ascending) of src[n,s,y*sy+ry(kh),x*sx+rx(kw)] * wt(d,s,kh,kw)
//
// conv2d: src = x, ry = kh*dil - pad, wt = w[d,s,kh,kw]; input gradient: src = dy,
// ry = pad - kh*dil, wt = w[s,d,kh,kw], sy = sx = 1. The destination plane is cut into
// segments of W lanes (W = the target's f32 vector width): consecutive pixels of the
// flattened plane when source and destination rows are equally wide and the stride is 1
// (then every tap is one constant shift of the flat index), else pieces of rows. With a
// column stride sx > 1 a term loads W*sx consecutive source cells (masked to the ones
// used) and keeps every sx-th, one shuffle. A micro-block holds MO channels x NP
// segments of accumulators; per term it loads NP source vectors (masked) and broadcasts
// MO weights: MO*NP independent fmas. The lanes of a term that fall on padding come
// from a table (segment x tap -> lane mask) and keep their accumulator (a masked fma
// on AVX-512).
//
// The filter gradient and max pooling's gradient are in conv_direct_grad.cpp.
//
//===----------------------------------------------------------------------===//
#include <algorithm>

#include <llvm/IR/Constants.h>
#include <llvm/IR/DerivedTypes.h>
#include <llvm/IR/GlobalVariable.h>

#include "codegen/conv_plan.h"
#include "codegen/kernel_emitter.h"

namespace dlc::cg {
namespace {

const llvm::Align kF32Align(4);

/// The destination-major pattern shared by conv2d and the input gradient.
struct DirectGeom {
  int64_t n, d, s, kh, kw;   ///< batch, destination channels, source channels, filter taps
  int64_t dh, dw, sh, sw;    ///< destination and source planes
  std::vector<int64_t> ry, rx;  ///< source row / column offset of tap kh / kw
  int64_t wd, ws;            ///< weight index = d*wd + s*ws + kh*KW + kw
  int64_t sy = 1, sx = 1;    ///< conv2d's stride (1 for the input gradient)
};

/// A segment of the destination plane: W lanes starting at flat index `out`; lane l reads
/// source flat index `in + l*sx + ry*SW + rx`. `y`, `x` per lane (-1: not a pixel).
struct Segment {
  int64_t out, in;
  std::vector<int64_t> y, x;
};

std::vector<Segment> segmentsOf(const DirectGeom &g, int64_t w) {
  std::vector<Segment> segs;
  if (g.dw == g.sw && g.sy == 1 && g.sx == 1) {
    const int64_t total = g.dh * g.dw;
    for (int64_t p0 = 0; p0 < total; p0 += w) {
      Segment s{p0, p0, {}, {}};
      for (int64_t l = 0; l < w; ++l) {
        const bool on = p0 + l < total;
        s.y.push_back(on ? (p0 + l) / g.dw : -1);
        s.x.push_back(on ? (p0 + l) % g.dw : -1);
      }
      segs.push_back(std::move(s));
    }
    return segs;
  }
  for (int64_t y = 0; y < g.dh; ++y)
    for (int64_t x0 = 0; x0 < g.dw; x0 += w) {
      Segment s{y * g.dw + x0, y * g.sy * g.sw + x0 * g.sx, {}, {}};
      for (int64_t l = 0; l < w; ++l) {
        const bool on = x0 + l < g.dw;
        s.y.push_back(on ? y : -1);
        s.x.push_back(on ? x0 + l : -1);
      }
      segs.push_back(std::move(s));
    }
  return segs;
}

class DirectEmitter {
 public:
  DirectEmitter(KernelEmitter &e, DirectGeom g, llvm::Value *src, llvm::Value *wt, llvm::Value *dst)
      : e_(e), b_(e.b()), g_(std::move(g)), src_(src), wt_(wt), dst_(dst) {
    w_ = e.target().vectorBits / 32;
    kmask_ = e.target().vectorBits >= 512;
    // AVX-512: 8 channels x 3 segments = 24 of the 32 zmm registers; narrower targets
    // have 16 registers and full-vector masks: 4 x 2.
    mo_ = kmask_ ? 8 : 4;
    np_ = kmask_ ? 3 : 2;
    vt_ = llvm::FixedVectorType::get(b_.getFloatTy(), static_cast<unsigned>(w_));
    segs_ = segmentsOf(g_, w_);
    buildTables();
  }

  /// Units [begin, end): unit = n * groups + channel group.
  void emit(llvm::Value *begin, llvm::Value *end) {
    const int64_t groups = (g_.d + kConvGroup - 1) / kConvGroup;
    const int64_t last = g_.d - (groups - 1) * kConvGroup;
    e_.forLoop(begin, end, [&](llvm::Value *p) {
      llvm::Value *n = b_.CreateUDiv(p, e_.i64(groups), "n");
      llvm::Value *grp = b_.CreateURem(p, e_.i64(groups), "grp");
      llvm::Value *d0 = b_.CreateMul(grp, e_.i64(kConvGroup), "d0");
      if (last == kConvGroup) {
        channels(n, d0, kConvGroup);
        return;
      }
      llvm::Function *fn = b_.GetInsertBlock()->getParent();
      auto *full = llvm::BasicBlock::Create(e_.ctx(), "grp.full", fn);
      auto *part = llvm::BasicBlock::Create(e_.ctx(), "grp.last", fn);
      auto *join = llvm::BasicBlock::Create(e_.ctx(), "grp.join", fn);
      b_.CreateCondBr(b_.CreateICmpEQ(grp, e_.i64(groups - 1)), part, full);
      b_.SetInsertPoint(full);
      channels(n, d0, kConvGroup);
      b_.CreateBr(join);
      b_.SetInsertPoint(part);
      channels(n, d0, last);
      b_.CreateBr(join);
      b_.SetInsertPoint(join);
    }, false, "unit");
  }

 private:
  /// Channels [d0, d0 + count) of batch item n: micro-blocks of mo_ channels (and one of
  /// the remainder), each over all segments in blocks of np_ (and one of the remainder).
  void channels(llvm::Value *n, llvm::Value *d0, int64_t count) {
    const int64_t nseg = static_cast<int64_t>(segs_.size());
    for (int64_t c0 = 0; c0 < count; c0 += mo_) {
      const int mo = static_cast<int>(std::min<int64_t>(mo_, count - c0));
      llvm::Value *d = b_.CreateAdd(d0, e_.i64(c0));
      const int64_t full = nseg / np_;
      if (full > 0)
        e_.forLoop(e_.i64(0), e_.i64(full), [&](llvm::Value *sb) {
          block(mo, np_, n, d, b_.CreateMul(sb, e_.i64(np_)));
        }, false, "segs");
      if (nseg % np_) block(mo, static_cast<int>(nseg % np_), n, d, e_.i64(full * np_));
    }
  }

  llvm::GlobalVariable *table(llvm::Constant *init, const char *name) {
    return new llvm::GlobalVariable(e_.module(), init->getType(), true, llvm::GlobalValue::PrivateLinkage, init,
                                    name);
  }

  /// An entry per segment and tap (the lanes whose source cell exists), one per segment
  /// (the lanes that are pixels), and the segments' flat offsets.
  void buildTables() {
    std::vector<std::vector<bool>> masks, stores;
    for (const Segment &s : segs_) {
      for (int64_t i = 0; i < g_.kh; ++i)
        for (int64_t j = 0; j < g_.kw; ++j) {
          std::vector<bool> m;
          for (int64_t l = 0; l < w_; ++l) {
            const int64_t y = s.y[l] * g_.sy + g_.ry[i], x = s.x[l] * g_.sx + g_.rx[j];
            m.push_back(s.y[l] >= 0 && y >= 0 && y < g_.sh && x >= 0 && x < g_.sw);
          }
          masks.push_back(m);
        }
      std::vector<bool> m;
      for (int64_t l = 0; l < w_; ++l) m.push_back(s.y[l] >= 0);
      stores.push_back(m);
    }
    masks_ = table(maskArray(masks), "conv.masks");
    stores_ = table(maskArray(stores), "conv.stores");
    std::vector<uint64_t> in, out;
    for (const Segment &s : segs_) {
      in.push_back(static_cast<uint64_t>(s.in));
      out.push_back(static_cast<uint64_t>(s.out));
    }
    inBase_ = table(llvm::ConstantDataArray::get(e_.ctx(), in), "conv.in");
    outBase_ = table(llvm::ConstantDataArray::get(e_.ctx(), out), "conv.out");
  }

  /// AVX-512: W-bit integers (loaded straight into mask registers); otherwise vectors of
  /// i32 lanes, all ones or zero (a blend's or masked move's operand as is).
  llvm::Constant *maskArray(const std::vector<std::vector<bool>> &ms) {
    std::vector<llvm::Constant *> elems;
    if (kmask_) {
      llvm::IntegerType *it = b_.getIntNTy(static_cast<unsigned>(w_));
      for (const auto &m : ms) {
        uint64_t bits = 0;
        for (int64_t l = 0; l < w_; ++l)
          if (m[static_cast<size_t>(l)]) bits |= uint64_t{1} << l;
        elems.push_back(llvm::ConstantInt::get(it, bits));
      }
      return llvm::ConstantArray::get(llvm::ArrayType::get(it, elems.size()), elems);
    }
    for (const auto &m : ms) {
      std::vector<uint32_t> lanes;
      for (bool on : m) lanes.push_back(on ? 0xffffffffu : 0u);
      elems.push_back(llvm::ConstantDataVector::get(e_.ctx(), lanes));
    }
    return llvm::ConstantArray::get(llvm::ArrayType::get(elems[0]->getType(), elems.size()), elems);
  }

  llvm::Value *maskAt(llvm::GlobalVariable *t, llvm::Value *idx) {
    llvm::Type *et = llvm::cast<llvm::ArrayType>(t->getValueType())->getElementType();
    llvm::Value *ptr = b_.CreateInBoundsGEP(t->getValueType(), t, {e_.i64(0), idx});
    if (kmask_)
      return b_.CreateBitCast(b_.CreateLoad(et, ptr),
                              llvm::FixedVectorType::get(b_.getInt1Ty(), static_cast<unsigned>(w_)));
    llvm::Value *v = b_.CreateAlignedLoad(et, ptr, llvm::Align(16));
    return b_.CreateICmpSLT(v, llvm::Constant::getNullValue(et));
  }

  /// The W source cells of a term at ptr + l*sx, the lanes of \p m only (the others 0).
  llvm::Value *loadTerm(llvm::Value *ptr, llvm::Value *m) {
    llvm::Constant *zero = llvm::Constant::getNullValue(vt_);
    if (g_.sx == 1) return b_.CreateMaskedLoad(vt_, ptr, kF32Align, m, zero);
    // W*sx cells, of which lane l's is cell l*sx: the mask's lanes spread out (the cells
    // between them are not read), then every sx-th cell kept.
    const int w = static_cast<int>(w_), sx = static_cast<int>(g_.sx);
    std::vector<int> spread, pick;
    for (int c = 0; c < w * sx; ++c) spread.push_back(c % sx == 0 ? c / sx : w);
    for (int l = 0; l < w; ++l) pick.push_back(l * sx);
    auto *wide = llvm::FixedVectorType::get(b_.getFloatTy(), static_cast<unsigned>(w * sx));
    llvm::Value *off = llvm::Constant::getNullValue(m->getType());
    llvm::Value *wideMask = b_.CreateShuffleVector(m, off, spread);
    llvm::Value *cells = b_.CreateMaskedLoad(wide, ptr, kF32Align, wideMask, llvm::Constant::getNullValue(wide));
    return b_.CreateShuffleVector(cells, pick);
  }

  llvm::Value *i64At(llvm::GlobalVariable *t, llvm::Value *idx) {
    return b_.CreateLoad(b_.getInt64Ty(), b_.CreateInBoundsGEP(t->getValueType(), t, {e_.i64(0), idx}));
  }

  /// mo channels from d x np segments from seg0, for batch item n.
  void block(int mo, int np, llvm::Value *n, llvm::Value *d, llvm::Value *seg0) {
    std::vector<llvm::AllocaInst *> acc;
    llvm::Constant *zero = llvm::Constant::getNullValue(vt_);
    for (int i = 0; i < mo * np; ++i) {
      acc.push_back(e_.entryAlloca(vt_, "acc"));
      b_.CreateStore(zero, acc.back());
    }
    std::vector<llvm::Value *> seg, in;
    for (int j = 0; j < np; ++j) {
      seg.push_back(b_.CreateAdd(seg0, e_.i64(j)));
      in.push_back(i64At(inBase_, seg.back()));
    }
    const int64_t plane = g_.sh * g_.sw, taps = g_.kh * g_.kw;
    llvm::Type *f32 = b_.getFloatTy();
    e_.forLoop(e_.i64(0), e_.i64(g_.s), [&](llvm::Value *s) {
      llvm::Value *srcPlane = b_.CreateGEP(f32, src_, b_.CreateMul(b_.CreateAdd(b_.CreateMul(n, e_.i64(g_.s)), s),
                                                                   e_.i64(plane)));
      llvm::Value *wBase = b_.CreateAdd(b_.CreateMul(d, e_.i64(g_.wd)), b_.CreateMul(s, e_.i64(g_.ws)));
      // kh is a loop (the masks and offsets of a tap then stay in the loop, loaded from
      // the table next to their use, instead of being hoisted out of the s loop and
      // spilled), kw is unrolled.
      const int64_t ry0 = g_.ry[0], ryStep = g_.kh > 1 ? g_.ry[1] - g_.ry[0] : 0;
      e_.forLoop(e_.i64(0), e_.i64(g_.kh), [&](llvm::Value *kh) {
        llvm::Value *rowShift =
            b_.CreateMul(b_.CreateAdd(b_.CreateMul(kh, e_.i64(ryStep)), e_.i64(ry0)), e_.i64(g_.sw));
        llvm::Value *khTaps = b_.CreateMul(kh, e_.i64(g_.kw));
        std::vector<llvm::Value *> rowIn(static_cast<size_t>(np)), maskRow(static_cast<size_t>(np));
        for (int q = 0; q < np; ++q) {
          rowIn[q] = b_.CreateAdd(in[q], rowShift);
          maskRow[q] = b_.CreateAdd(b_.CreateMul(seg[q], e_.i64(taps)), khTaps);
        }
        llvm::Value *wRow = b_.CreateAdd(wBase, khTaps);
        for (int64_t j = 0; j < g_.kw; ++j) {
          std::vector<llvm::Value *> m(static_cast<size_t>(np)), xv(static_cast<size_t>(np));
          for (int q = 0; q < np; ++q) {
            m[q] = maskAt(masks_, b_.CreateAdd(maskRow[q], e_.i64(j)));
            // Not inbounds: lanes that are off may point outside the plane (never read).
            llvm::Value *ptr =
                b_.CreateGEP(f32, srcPlane, b_.CreateAdd(rowIn[q], e_.i64(g_.rx[static_cast<size_t>(j)])));
            xv[q] = loadTerm(ptr, m[q]);
          }
          for (int r = 0; r < mo; ++r) {
            llvm::Value *wi = b_.CreateAdd(wRow, e_.i64(r * g_.wd + j));
            llvm::Value *wv = b_.CreateVectorSplat(static_cast<unsigned>(w_),
                                                   b_.CreateLoad(f32, b_.CreateInBoundsGEP(f32, wt_, wi)));
            for (int q = 0; q < np; ++q) {
              llvm::AllocaInst *slot = acc[static_cast<size_t>(r * np + q)];
              llvm::Value *a = b_.CreateLoad(vt_, slot);
              llvm::Value *next = e_.mulAdd(DType::F32, xv[q], wv, a);
              b_.CreateStore(b_.CreateSelect(m[q], next, a), slot);
            }
          }
        }
      }, false, "kh");
    }, false, "src");
    const int64_t dplane = g_.dh * g_.dw;
    for (int r = 0; r < mo; ++r) {
      llvm::Value *chan = b_.CreateAdd(b_.CreateMul(n, e_.i64(g_.d)), b_.CreateAdd(d, e_.i64(r)));
      llvm::Value *base = b_.CreateMul(chan, e_.i64(dplane));
      for (int q = 0; q < np; ++q) {
        llvm::Value *ptr = b_.CreateGEP(f32, dst_, b_.CreateAdd(base, i64At(outBase_, seg[q])));
        b_.CreateMaskedStore(b_.CreateLoad(vt_, acc[static_cast<size_t>(r * np + q)]), ptr, kF32Align,
                             maskAt(stores_, seg[q]));
      }
    }
  }

  KernelEmitter &e_;
  llvm::IRBuilder<> &b_;
  DirectGeom g_;
  llvm::Value *src_, *wt_, *dst_;
  int64_t w_ = 4;
  bool kmask_ = false;
  int mo_ = 4, np_ = 2;
  llvm::FixedVectorType *vt_ = nullptr;
  std::vector<Segment> segs_;
  llvm::GlobalVariable *masks_ = nullptr, *stores_ = nullptr, *inBase_ = nullptr, *outBase_ = nullptr;
};

}  // namespace

void emitDirectConv(KernelEmitter &e, const Node &n, llvm::Value *begin, llvm::Value *end) {
  if (n.kind() == OpKind::MaxPool2dGrad) {
    emitDirectMaxPoolGrad(e, n, begin, end);
    return;
  }
  if (n.kind() == OpKind::Conv2dFilterGrad) {
    emitDirectFilterGrad(e, n, begin, end);
    return;
  }
  const ConvAttrs &a = n.attrsAs<ConvAttrs>();
  const Shape &rs = n.type().shape, &ss = n.operand(0)->shape(), &ws = n.operand(1)->shape();
  const bool fwd = n.kind() == OpKind::Conv2d;
  DirectGeom g{rs[0], rs[1], ss[1], ws[2], ws[3], rs[2], rs[3], ss[2], ss[3], {}, {}, 0, 0};
  for (int64_t i = 0; i < g.kh; ++i) g.ry.push_back(fwd ? i * a.dilation[0] - a.padding[0] : a.padding[0] - i * a.dilation[0]);
  for (int64_t j = 0; j < g.kw; ++j) g.rx.push_back(fwd ? j * a.dilation[1] - a.padding[1] : a.padding[1] - j * a.dilation[1]);
  if (fwd) {
    g.sy = a.stride[0];
    g.sx = a.stride[1];
  }
  const int64_t taps = g.kh * g.kw;
  g.wd = fwd ? g.s * taps : taps;    // conv2d: w[d,s,..]; input grad: w[s,d,..]
  g.ws = fwd ? taps : g.d * taps;
  DirectEmitter(e, std::move(g), e.buffer(n.operand(0)), e.buffer(n.operand(1)), e.buffer(n.result())).emit(begin, end);
}

}  // namespace dlc::cg