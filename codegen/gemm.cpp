//===- codegen/gemm.cpp - the generated GEMM: packing and micro-kernel ------===//
//
// See gemm.h for the loop structure and the numeric contract. Everything here is
// emitted as LLVM IR at the target's vector width; the micro-kernel's accumulators are
// allocas of <W x float> that SROA turns into registers.
//
//===----------------------------------------------------------------------===//
#include "codegen/gemm.h"

#include "codegen/kernel_emitter.h"

#include <algorithm>

#include <llvm/IR/Constants.h>
#include <llvm/IR/Intrinsics.h>

namespace dlc::cg {

MicroKernelShape microKernelShape(int vectorBits, int64_t tileM, int64_t tileN) {
  const int w = std::max(4, vectorBits / 32);
  // One vector of columns when the tile is that narrow (N = 10 in W1's last layer):
  // more rows instead.
  if (tileN <= w) return {w == 16 ? 12 : 8, 1, w};
  // AVX2 and SSE have 16 vector registers: 6 x 2 accumulators, 2 of B, 1 broadcast.
  if (w != 16) return {6, 2, w};
  // AVX-512 has 32: 24 accumulators, as few loads per FMA as the tile allows. 6 x 4
  // (6 x 64 columns: 4 loads + 6 broadcasts per 24 FMAs) was ~10 % faster than 6 x 2 at
  // 1024^3 and never slower at W1's 128- and 512-row products; a tile of <= 12 rows
  // (W1's M = 10) takes all its rows in one group so that B is read once; a tile of
  // <= 48 columns gets as many vectors as it needs.
  if (tileM <= 12) return {12, 2, w};
  if (tileN <= 2 * w) return {12, 2, w};
  if (tileN <= 3 * w) return {8, 3, w};
  return {6, 4, w};
}

GemmEpilogue biasReluEpilogue(llvm::Value *bias, bool relu) {
  return [bias, relu](llvm::IRBuilder<> &b, llvm::Value *acc, const GemmVectorAt &at) -> llvm::Value * {
    llvm::Value *x = acc;
    auto *vt = llvm::cast<llvm::FixedVectorType>(acc->getType());
    if (bias) {
      llvm::Value *p = b.CreateGEP(b.getFloatTy(), bias, at.col);
      llvm::Value *bv = b.CreateMaskedLoad(vt, p, llvm::Align(4), at.mask, llvm::Constant::getNullValue(vt));
      x = b.CreateFAdd(x, bv);  // the IR's f32 add
    }
    if (relu) {
      // max(x, 0) of the IR (emitMaxMin in scalar.cpp, for a non-NaN second operand):
      // x < 0 ? +0 : x, which keeps NaN and -0.
      x = b.CreateSelect(b.CreateFCmpOLT(x, llvm::Constant::getNullValue(vt)), llvm::Constant::getNullValue(vt), x);
    }
    return x;
  };
}

namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// The emitter of one GEMM kernel body.
class GemmEmitter {
 public:
  GemmEmitter(KernelEmitter &e, const GemmOperands &ops, const TargetInfo &target, const GemmEpilogue &epi)
      : e_(e), b_(e.b()), ops_(ops), t_(ops.tiling), epi_(epi) {
    shape_ = microKernelShape(target.vectorBits, t_.tileM, t_.tileN);
    w_ = shape_.w;
    nr_ = shape_.nv * w_;
    f32_ = b_.getFloatTy();
    vt_ = llvm::FixedVectorType::get(f32_, static_cast<unsigned>(w_));
    maskT_ = llvm::FixedVectorType::get(b_.getInt1Ty(), static_cast<unsigned>(w_));
  }

  void emit(llvm::Value *begin, llvm::Value *end);

 private:
  llvm::Value *i64(int64_t v) { return e_.i64(v); }
  llvm::Value *mulC(llvm::Value *x, int64_t c) { return c == 1 ? x : b_.CreateMul(x, i64(c), "", true, true); }
  llvm::Value *addV(llvm::Value *x, llvm::Value *y) { return b_.CreateAdd(x, y, "", true, true); }
  llvm::Value *minV(llvm::Value *x, llvm::Value *y) { return b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, x, y); }
  llvm::Value *gep(llvm::Value *base, llvm::Value *off) { return b_.CreateGEP(f32_, base, off); }
  /// Lanes [0, W) of vector v of a panel with \p ncols valid columns: lane + v*W < ncols.
  llvm::Value *laneMask(llvm::Value *ncols, int v);
  llvm::Value *zeroVec() { return llvm::Constant::getNullValue(vt_); }
  llvm::Value *fma(llvm::Value *a, llvm::Value *b, llvm::Value *c) {
    return b_.CreateIntrinsic(llvm::Intrinsic::fma, {vt_}, {a, b, c});
  }

  void packB(llvm::Value *k0, llvm::Value *kc, llvm::Value *j0, llvm::Value *j1);
  void packA(llvm::Value *k0, llvm::Value *kc, llvm::Value *i0, llvm::Value *i1);
  void packPanelNN(llvm::Value *dst, llvm::Value *k0, llvm::Value *kc, llvm::Value *col0, llvm::Value *ncols);
  void packPanelNT(llvm::Value *dst, llvm::Value *k0, llvm::Value *kc, llvm::Value *col0, llvm::Value *ncols);
  std::vector<llvm::Value *> transpose(std::vector<llvm::Value *> rows);
  llvm::Value *concat(std::vector<llvm::Value *> parts);
  /// \p aPanel: the packed rows of A ([k][MR]) when A is packed, else unused.
  void microKernel(int mr, int nv, llvm::Value *row0, llvm::Value *panel, llvm::Value *aPanel, llvm::Value *col0,
                   llvm::Value *ncols, llvm::Value *k0, llvm::Value *kc, llvm::Value *first, llvm::Value *last);

  KernelEmitter &e_;
  llvm::IRBuilder<> &b_;
  const GemmOperands &ops_;
  const GemmTiling &t_;
  const GemmEpilogue &epi_;
  MicroKernelShape shape_{};
  int w_ = 4, nr_ = 8;
  llvm::Type *f32_ = nullptr;
  llvm::FixedVectorType *vt_ = nullptr, *maskT_ = nullptr;
  // Per tile: the batch item's bases and index.
  llvm::Value *batch_ = nullptr, *aBase_ = nullptr, *bBase_ = nullptr, *cBase_ = nullptr, *dBase_ = nullptr;
  llvm::Value *pack_ = nullptr;  ///< the packed block of B (stack)
  llvm::Value *packA_ = nullptr; ///< the packed rows of A (stack), when packA_ is used
  bool packAOn_ = false;
  bool packBOn_ = true;
};

llvm::Value *GemmEmitter::laneMask(llvm::Value *ncols, int v) {
  std::vector<llvm::Constant *> lanes;
  for (int l = 0; l < w_; ++l) lanes.push_back(b_.getInt64(static_cast<uint64_t>(v * w_ + l)));
  llvm::Value *iota = llvm::ConstantVector::get(lanes);
  return b_.CreateICmpSLT(iota, b_.CreateVectorSplat(static_cast<unsigned>(w_), ncols), "mask");
}

void GemmEmitter::emit(llvm::Value *begin, llvm::Value *end) {
  const int64_t m = t_.m, n = t_.n, k = t_.k;
  const int64_t panelsPerTile = ceilDiv(t_.tileN, nr_);
  const int64_t panelFloats = std::max<int64_t>(1, t_.blockK) * nr_;
  // The packed block of B of one tile: blockK x (panels * NR) floats, 64-byte aligned.
  {
    llvm::AllocaInst *slot = e_.entryAlloca(llvm::ArrayType::get(f32_, static_cast<uint64_t>(panelFloats * panelsPerTile)),
                                            "bpack");
    slot->setAlignment(llvm::Align(64));
    pack_ = slot;
  }
  // A is packed when it is read across its rows (transpose_a: one cache line per k) or
  // when its row stride is a multiple of 4 KiB (the MR rows would share one L1 set).
  packAOn_ = ops_.transA || (t_.k * 4) % 4096 == 0;
  // A row-major B is read in place when the tile has so few rows (W1's M = 10) that each
  // panel would serve one or two micro-kernel calls: packing it would cost as much as
  // the arithmetic.
  packBOn_ = ops_.transB || t_.tileM > 2 * shape_.mr;
  const int64_t aPanelFloats = std::max<int64_t>(1, t_.blockK) * shape_.mr;
  if (packAOn_) {
    const int64_t groups = ceilDiv(t_.tileM, shape_.mr);
    llvm::AllocaInst *slot =
        e_.entryAlloca(llvm::ArrayType::get(f32_, static_cast<uint64_t>(aPanelFloats * groups + w_)), "apack");
    slot->setAlignment(llvm::Align(64));
    packA_ = slot;
  }
  // The row remainders (rows % MR) and the partial panels' vector counts the tiles can
  // have: the shapes fix them, so only those kernels are emitted.
  // (A single tile row or column has only the last tile's extent.)
  std::vector<int> rowRems, partialNvs;
  std::vector<int64_t> tileRows{m - (t_.tilesM - 1) * t_.tileM}, tileCols{n - (t_.tilesN - 1) * t_.tileN};
  if (t_.tilesM > 1) tileRows.push_back(t_.tileM);
  if (t_.tilesN > 1) tileCols.push_back(t_.tileN);
  bool fullPanels = false;
  for (int64_t rows : tileRows) {
    const int r = static_cast<int>(std::max<int64_t>(0, rows) % shape_.mr);
    if (r && std::find(rowRems.begin(), rowRems.end(), r) == rowRems.end()) rowRems.push_back(r);
  }
  for (int64_t cols : tileCols) {
    fullPanels = fullPanels || cols >= nr_;
    const int nv = static_cast<int>(ceilDiv(std::max<int64_t>(0, cols) % nr_, w_));
    if (nv && std::find(partialNvs.begin(), partialNvs.end(), nv) == partialNvs.end()) partialNvs.push_back(nv);
  }
  const int64_t tilesPerBatch = t_.tilesM * t_.tilesN;
  e_.forLoop(begin, end, [&](llvm::Value *tile) {
    batch_ = b_.CreateUDiv(tile, i64(tilesPerBatch), "batch");
    llvm::Value *rest = b_.CreateURem(tile, i64(tilesPerBatch));
    llvm::Value *tm = b_.CreateUDiv(rest, i64(t_.tilesN), "tm"), *tn = b_.CreateURem(rest, i64(t_.tilesN), "tn");
    llvm::Value *i0 = mulC(tm, t_.tileM), *i1 = minV(addV(i0, i64(t_.tileM)), i64(m));
    llvm::Value *j0 = mulC(tn, t_.tileN), *j1 = minV(addV(j0, i64(t_.tileN)), i64(n));
    aBase_ = gep(ops_.a, mulC(batch_, m * k));
    bBase_ = gep(ops_.b, mulC(batch_, k * n));
    cBase_ = ops_.c ? gep(ops_.c, mulC(batch_, m * n)) : nullptr;
    if (ops_.d) dBase_ = gep(ops_.d, mulC(batch_, m * n));
    llvm::Value *rows = b_.CreateSub(i1, i0, "rows");
    llvm::Value *fullGroups = b_.CreateUDiv(rows, i64(shape_.mr), "groups");
    llvm::Value *rem = b_.CreateURem(rows, i64(shape_.mr), "rem");
    llvm::Value *panels = b_.CreateUDiv(addV(b_.CreateSub(j1, j0), i64(nr_ - 1)), i64(nr_), "panels");

    e_.forLoop(i64(0), i64(t_.kBlocks), [&](llvm::Value *kb) {
      llvm::Value *k0 = mulC(kb, t_.blockK);
      // The block's depth: a constant when every block has the same (the micro-kernel's
      // loop then counts to a constant; the GEMM pipeline has no range analysis to prove it).
      llvm::Value *kc = t_.kBlocks == 1         ? i64(k)
                        : k % t_.blockK == 0 ? i64(t_.blockK)
                                             : minV(i64(t_.blockK), b_.CreateSub(i64(k), k0));
      llvm::Value *first = b_.CreateICmpEQ(kb, i64(0), "first");
      llvm::Value *last = b_.CreateICmpEQ(kb, i64(t_.kBlocks - 1), "last");
      if (packBOn_) packB(k0, kc, j0, j1);
      if (packAOn_) packA(k0, kc, i0, i1);
      e_.forLoop(i64(0), panels, [&](llvm::Value *p) {
        llvm::Value *col0 = addV(j0, mulC(p, nr_));
        llvm::Value *ncols = minV(i64(nr_), b_.CreateSub(j1, col0));
        llvm::Value *panel = gep(pack_, mulC(p, panelFloats));
        auto aPanel = [&](llvm::Value *g) { return packAOn_ ? gep(packA_, mulC(g, aPanelFloats)) : nullptr; };
        // The panel's rows: full groups of MR, then the remainder (only the remainders
        // some tile has get a kernel), for a panel of nv vectors.
        auto rowsOf = [&](int nv) {
          e_.forLoop(i64(0), fullGroups, [&](llvm::Value *g) {
            microKernel(shape_.mr, nv, addV(i0, mulC(g, shape_.mr)), panel, aPanel(g), col0, ncols, k0, kc, first, last);
          }, false, "g");
          llvm::Value *restRow = addV(i0, mulC(fullGroups, shape_.mr));
          for (int r : rowRems)
            e_.ifThen(b_.CreateICmpEQ(rem, i64(r)),
                      [&] { microKernel(r, nv, restRow, panel, aPanel(fullGroups), col0, ncols, k0, kc, first, last); });
        };
        if (partialNvs.empty()) {
          rowsOf(shape_.nv);
        } else {
          // A panel narrower than NR (a tile's last) runs only the vectors it needs.
          llvm::Value *nvHere = b_.CreateUDiv(addV(ncols, i64(w_ - 1)), i64(w_), "nv");
          if (fullPanels) e_.ifThen(b_.CreateICmpEQ(ncols, i64(nr_)), [&] { rowsOf(shape_.nv); });
          for (int nv : partialNvs)
            e_.ifThen(b_.CreateAnd(b_.CreateICmpNE(ncols, i64(nr_)), b_.CreateICmpEQ(nvHere, i64(nv))),
                      [&] { rowsOf(nv); });
        }
      }, false, "panel");
    }, false, "kb");
  }, false, "tile");
}

void GemmEmitter::packB(llvm::Value *k0, llvm::Value *kc, llvm::Value *j0, llvm::Value *j1) {
  const int64_t panelFloats = std::max<int64_t>(1, t_.blockK) * nr_;
  llvm::Value *panels = b_.CreateUDiv(addV(b_.CreateSub(j1, j0), i64(nr_ - 1)), i64(nr_));
  e_.forLoop(i64(0), panels, [&](llvm::Value *p) {
    llvm::Value *col0 = addV(j0, mulC(p, nr_));
    llvm::Value *ncols = minV(i64(nr_), b_.CreateSub(j1, col0));
    llvm::Value *dst = gep(pack_, mulC(p, panelFloats));
    if (ops_.transB) packPanelNT(dst, k0, kc, col0, ncols);
    else packPanelNN(dst, k0, kc, col0, ncols);
  }, false, "pack");
}

// The tile's rows of op(A) for one K block, as panels of MR rows, k-major: panel g holds
// A[i0 + g*MR + r, k0 + kk] at kk*MR + r. Rows past i1 repeat row i1-1 (never stored).
void GemmEmitter::packA(llvm::Value *k0, llvm::Value *kc, llvm::Value *i0, llvm::Value *i1) {
  const int mr = shape_.mr;
  const int64_t m = t_.m, kdim = t_.k;
  const int64_t aPanelFloats = std::max<int64_t>(1, t_.blockK) * mr;
  llvm::Value *groups = b_.CreateUDiv(addV(b_.CreateSub(i1, i0), i64(mr - 1)), i64(mr));
  llvm::Value *lastRow = b_.CreateSub(i1, i64(1));
  e_.forLoop(i64(0), groups, [&](llvm::Value *g) {
    llvm::Value *row0 = addV(i0, mulC(g, mr));
    llvm::Value *dst = gep(packA_, mulC(g, aPanelFloats));
    if (ops_.transA && w_ >= mr) {
      // A stored [K, M]: the MR values of one k are consecutive; one masked load each.
      llvm::Value *valid = minV(i64(mr), b_.CreateSub(i1, row0));
      llvm::Value *loadMask = laneMask(valid, 0), *storeMask = laneMask(i64(mr), 0);
      e_.forLoop(i64(0), kc, [&](llvm::Value *kk) {
        llvm::Value *src = gep(aBase_, addV(mulC(addV(k0, kk), m), row0));
        llvm::Value *x = b_.CreateMaskedLoad(vt_, src, llvm::Align(4), loadMask, zeroVec());
        b_.CreateMaskedStore(x, gep(dst, mulC(kk, mr)), llvm::Align(4), storeMask);
      }, false, "packa");
      return;
    }
    std::vector<llvm::Value *> rows;
    for (int r = 0; r < mr; ++r) rows.push_back(minV(addV(row0, i64(r)), lastRow));
    llvm::Value *tailK = i64(0);
    if (!ops_.transA) {
      // A stored [M, K]: W values of k from each of the MR rows (one vector load per row),
      // interleaved by one shuffle into the W*MR packed floats [kk][r] of those k.
      tailK = b_.CreateMul(b_.CreateUDiv(kc, i64(w_)), i64(w_), "kfull");
      std::vector<int> inter(static_cast<size_t>(mr * w_));
      for (int j = 0; j < mr * w_; ++j) inter[static_cast<size_t>(j)] = (j % mr) * w_ + j / mr;
      e_.forLoop(i64(0), b_.CreateUDiv(kc, i64(w_)), [&](llvm::Value *kq) {
        llvm::Value *kk = mulC(kq, w_);
        std::vector<llvm::Value *> vecs;
        for (int r = 0; r < mr; ++r)
          vecs.push_back(b_.CreateAlignedLoad(
              vt_, gep(aBase_, addV(mulC(rows[static_cast<size_t>(r)], kdim), addV(k0, kk))), llvm::Align(4)));
        b_.CreateAlignedStore(b_.CreateShuffleVector(concat(std::move(vecs)), inter), gep(dst, mulC(kk, mr)),
                              llvm::Align(4));
      }, false, "packav");
    }
    e_.forLoop(tailK, kc, [&](llvm::Value *kk) {
      llvm::Value *k = addV(k0, kk);
      for (int r = 0; r < mr; ++r) {
        llvm::Value *off = ops_.transA ? addV(mulC(k, m), rows[static_cast<size_t>(r)])
                                       : addV(mulC(rows[static_cast<size_t>(r)], kdim), k);
        b_.CreateStore(b_.CreateLoad(f32_, gep(aBase_, off)), gep(dst, addV(mulC(kk, mr), i64(r))));
      }
    }, /*vectorize=*/true, "packa");
  }, false, "packag");
}

// B stored [K, N]: each packed row is NR consecutive floats of a row of B.
void GemmEmitter::packPanelNN(llvm::Value *dst, llvm::Value *k0, llvm::Value *kc, llvm::Value *col0,
                              llvm::Value *ncols) {
  std::vector<llvm::Value *> masks;
  for (int v = 0; v < shape_.nv; ++v) masks.push_back(laneMask(ncols, v));
  // A partial panel packs only the vectors its kernel reads (ceil(ncols / W)).
  for (int nv = shape_.nv; nv >= 1; --nv) {
    llvm::Value *nvHere = b_.CreateUDiv(addV(ncols, i64(w_ - 1)), i64(w_));
    e_.ifThen(b_.CreateICmpEQ(nvHere, i64(nv)), [&] {
      e_.forLoop(i64(0), kc, [&](llvm::Value *kk) {
        llvm::Value *src = gep(bBase_, addV(mulC(addV(k0, kk), t_.n), col0));
        for (int v = 0; v < nv; ++v) {
          llvm::Value *x = b_.CreateMaskedLoad(vt_, gep(src, i64(v * w_)), llvm::Align(4), masks[v], zeroVec());
          b_.CreateAlignedStore(x, gep(dst, addV(mulC(kk, nr_), i64(v * w_))),
                                llvm::Align(static_cast<uint64_t>(w_ * 4)));
        }
      }, false, "packk");
    });
  }
}

// B stored [N, K]: rows of B run along k. W rows x W values of k are loaded as W
// vectors, transposed in registers and stored as W packed rows. Columns past N read
// row N-1 instead (any finite or not value: those lanes are never stored).
void GemmEmitter::packPanelNT(llvm::Value *dst, llvm::Value *k0, llvm::Value *kc, llvm::Value *col0,
                              llvm::Value *ncols) {
  const int64_t kdim = t_.k;
  llvm::Value *lastRow = i64(t_.n - 1);
  llvm::Value *fullK = b_.CreateMul(b_.CreateUDiv(kc, i64(w_)), i64(w_), "kfull");
  // One loop over the panel's W-column groups (ceil(ncols / W) of them), not one copy of
  // the transpose per group: the code is emitted once (a quarter of the instructions to
  // compile at NV = 4), and a group costs W^2 loads and stores either way.
  llvm::Value *groups = b_.CreateUDiv(addV(ncols, i64(w_ - 1)), i64(w_), "groups");
  e_.forLoop(i64(0), groups, [&](llvm::Value *v) {
    llvm::Value *c0 = addV(col0, mulC(v, w_));
    llvm::Value *panelCol = mulC(v, w_);
    std::vector<llvm::Value *> srcRows;
    for (int r = 0; r < w_; ++r) {
      llvm::Value *row = minV(addV(c0, i64(r)), lastRow);
      srcRows.push_back(gep(bBase_, addV(mulC(row, kdim), k0)));
    }
    e_.forLoop(i64(0), b_.CreateUDiv(kc, i64(w_)), [&](llvm::Value *kq) {
      llvm::Value *kk = mulC(kq, w_);
      std::vector<llvm::Value *> rows;
      for (int r = 0; r < w_; ++r) rows.push_back(b_.CreateAlignedLoad(vt_, gep(srcRows[r], kk), llvm::Align(4)));
      std::vector<llvm::Value *> cols = transpose(std::move(rows));
      for (int t = 0; t < w_; ++t)
        b_.CreateAlignedStore(cols[t], gep(dst, addV(mulC(addV(kk, i64(t)), nr_), panelCol)),
                              llvm::Align(static_cast<uint64_t>(w_ * 4)));
    }, false, "packt");
    e_.forLoop(fullK, kc, [&](llvm::Value *kk) {
      llvm::Value *x = zeroVec();
      for (int r = 0; r < w_; ++r)
        x = b_.CreateInsertElement(x, b_.CreateLoad(f32_, gep(srcRows[r], kk)), static_cast<uint64_t>(r));
      b_.CreateAlignedStore(x, gep(dst, addV(mulC(kk, nr_), panelCol)), llvm::Align(static_cast<uint64_t>(w_ * 4)));
    }, false, "packtail");
  }, false, "packv");
}

// The lanes of \p parts (vectors of one type) one after the other in one vector; the
// list is padded with poison vectors to a power of two and joined pairwise.
llvm::Value *GemmEmitter::concat(std::vector<llvm::Value *> parts) {
  while (parts.size() & (parts.size() - 1)) parts.push_back(llvm::PoisonValue::get(parts.front()->getType()));
  while (parts.size() > 1) {
    const int n = static_cast<int>(llvm::cast<llvm::FixedVectorType>(parts.front()->getType())->getNumElements());
    std::vector<int> all(static_cast<size_t>(2 * n));
    for (int i = 0; i < 2 * n; ++i) all[static_cast<size_t>(i)] = i;
    std::vector<llvm::Value *> next;
    for (size_t i = 0; i < parts.size(); i += 2) next.push_back(b_.CreateShuffleVector(parts[i], parts[i + 1], all));
    parts = std::move(next);
  }
  return parts.front();
}

// In-register transpose of W vectors of W lanes: log2(W) levels of block swaps. At level
// h, rows i and i+h (bit h of i clear) exchange their off-diagonal h x h blocks.
std::vector<llvm::Value *> GemmEmitter::transpose(std::vector<llvm::Value *> rows) {
  for (int h = w_ / 2; h >= 1; h /= 2) {
    std::vector<int> lo(static_cast<size_t>(w_)), hi(static_cast<size_t>(w_));
    for (int j = 0; j < w_; ++j) {
      lo[static_cast<size_t>(j)] = (j & h) ? w_ + j - h : j;
      hi[static_cast<size_t>(j)] = (j & h) ? w_ + j : j + h;
    }
    for (int i = 0; i < w_; ++i) {
      if (i & h) continue;
      llvm::Value *a = rows[static_cast<size_t>(i)], *c = rows[static_cast<size_t>(i + h)];
      rows[static_cast<size_t>(i)] = b_.CreateShuffleVector(a, c, lo);
      rows[static_cast<size_t>(i + h)] = b_.CreateShuffleVector(a, c, hi);
    }
  }
  return rows;
}

void GemmEmitter::microKernel(int mr, int nv, llvm::Value *row0, llvm::Value *panel, llvm::Value *aPanel, llvm::Value *col0,
                              llvm::Value *ncols, llvm::Value *k0, llvm::Value *kc, llvm::Value *first,
                              llvm::Value *last) {
  const int64_t m = t_.m, kdim = t_.k;
  // op(A)[i, k] = A[i * rowStride + k * kStride]; packed: panel[kk * MR + r].
  int64_t rowStride = ops_.transA ? 1 : kdim, kStride = ops_.transA ? m : 1;
  if (packAOn_) {
    rowStride = 1;
    kStride = shape_.mr;
  }
  std::vector<llvm::Value *> masks;
  for (int v = 0; v < nv; ++v) masks.push_back(laneMask(ncols, v));
  auto cPtr = [&](int r, int v) {
    return gep(cBase_, addV(mulC(addV(row0, i64(r)), t_.n), addV(col0, i64(v * w_))));
  };
  std::vector<llvm::AllocaInst *> acc;
  for (int i = 0; i < mr * nv; ++i) acc.push_back(e_.entryAlloca(vt_, "acc"));
  // First K block: start from 0; later blocks continue the chain from C.
  for (int i = 0; i < mr * nv; ++i) b_.CreateStore(zeroVec(), acc[static_cast<size_t>(i)]);
  if (ops_.c) e_.ifThen(b_.CreateNot(first), [&] {
    for (int r = 0; r < mr; ++r)
      for (int v = 0; v < nv; ++v)
        b_.CreateStore(b_.CreateMaskedLoad(vt_, cPtr(r, v), llvm::Align(4), masks[v], zeroVec()),
                       acc[static_cast<size_t>(r * nv + v)]);
  });
  // Prefetch (for writing) the C rows of the next micro-kernel call down the panel: its
  // first K block stores them and later ones load them first, and the accumulators of a
  // call wait on those loads (an L2 or L3 hit, against the ~6 * kc cycles of a call).
  // Rows past M are only prefetched (never fault). With one K block C is only stored
  // (the stores drain from the store buffer; no accumulator waits on them) and the
  // prefetches only take load slots: one thread, CPU time, they cost 3-7 % at 512x512x128
  // TN, 512x784x128 TN and 128x512x10 NN, so only a K of several blocks has them
  // (and so always a C: a GEMM without one has a single K block).
  if (t_.kBlocks > 1)
    for (int r = 0; r < mr; ++r)
      for (int v = 0; v < nv; ++v)
        b_.CreateIntrinsic(
            llvm::Intrinsic::prefetch, {b_.getPtrTy()},
            {b_.CreateGEP(f32_, cBase_, addV(mulC(addV(row0, i64(mr + r)), t_.n), addV(col0, i64(v * w_)))),
             b_.getInt32(1), b_.getInt32(3), b_.getInt32(1)});
  std::vector<llvm::Value *> aRows;
  for (int r = 0; r < mr; ++r)
    aRows.push_back(packAOn_ ? gep(aPanel, i64(r))
                             : gep(aBase_, addV(mulC(addV(row0, i64(r)), rowStride), mulC(k0, kStride))));
  e_.forLoop(i64(0), kc, [&](llvm::Value *kk) {
    std::vector<llvm::Value *> bv;
    for (int v = 0; v < nv; ++v) {
      if (packBOn_) {
        bv.push_back(b_.CreateAlignedLoad(vt_, gep(panel, addV(mulC(kk, nr_), i64(v * w_))),
                                          llvm::Align(static_cast<uint64_t>(w_ * 4)), "b"));
      } else {  // B[k0 + kk, col0 + v*W ..], lanes past N masked off
        llvm::Value *src = gep(bBase_, addV(mulC(addV(k0, kk), t_.n), addV(col0, i64(v * w_))));
        bv.push_back(b_.CreateMaskedLoad(vt_, src, llvm::Align(4), masks[static_cast<size_t>(v)], zeroVec(), "b"));
      }
    }
    llvm::Value *aOff = mulC(kk, kStride);
    for (int r = 0; r < mr; ++r) {
      llvm::Value *a = b_.CreateLoad(f32_, gep(aRows[static_cast<size_t>(r)], aOff), "a");
      llvm::Value *as = b_.CreateVectorSplat(static_cast<unsigned>(w_), a);
      for (int v = 0; v < nv; ++v) {
        llvm::AllocaInst *slot = acc[static_cast<size_t>(r * nv + v)];
        b_.CreateStore(fma(as, bv[static_cast<size_t>(v)], b_.CreateLoad(vt_, slot)), slot);
      }
    }
  }, false, "k");
  // Last K block: the epilogue sees each vector before its store.
  if (epi_) {
    e_.ifThen(last, [&] {
      for (int r = 0; r < mr; ++r)
        for (int v = 0; v < nv; ++v) {
          llvm::AllocaInst *slot = acc[static_cast<size_t>(r * nv + v)];
          GemmVectorAt at{batch_, addV(row0, i64(r)), addV(col0, i64(v * w_)), masks[static_cast<size_t>(v)]};
          llvm::Value *x = epi_(b_, b_.CreateLoad(vt_, slot), at);
          if (dBase_)  // the product stays in C (stored below); the epilogue's result goes to D
            b_.CreateMaskedStore(x, gep(dBase_, addV(mulC(addV(row0, i64(r)), t_.n), addV(col0, i64(v * w_)))),
                                 llvm::Align(4), masks[static_cast<size_t>(v)]);
          else
            b_.CreateStore(x, slot);
        }
    });
  }
  if (!ops_.c) {  // no C buffer (one K block): the block goes to the stack for the block epilogue
    llvm::AllocaInst *blk = e_.entryAlloca(llvm::ArrayType::get(f32_, static_cast<uint64_t>(mr * nr_)), "cblock");
    blk->setAlignment(llvm::Align(64));
    for (int r = 0; r < mr; ++r)
      for (int v = 0; v < nv; ++v)
        b_.CreateAlignedStore(b_.CreateLoad(vt_, acc[static_cast<size_t>(r * nv + v)]),
                              gep(blk, i64(r * nr_ + v * w_)), llvm::Align(static_cast<uint64_t>(w_ * 4)));
    ops_.block(GemmBlockAt{batch_, row0, mr, col0, ncols, blk, nr_});
    return;
  }
  for (int r = 0; r < mr; ++r)
    for (int v = 0; v < nv; ++v)
      b_.CreateMaskedStore(b_.CreateLoad(vt_, acc[static_cast<size_t>(r * nv + v)]), cPtr(r, v), llvm::Align(4),
                           masks[static_cast<size_t>(v)]);
  if (ops_.block) e_.ifThen(last, [&] { ops_.block(GemmBlockAt{batch_, row0, mr, col0, ncols, cPtr(0, 0), t_.n}); });
}

}  // namespace

void emitGemm(KernelEmitter &e, const GemmOperands &ops, llvm::Value *begin, llvm::Value *end,
              const TargetInfo &target, const GemmEpilogue &epilogue) {
  DL_ASSERT(ops.c || (ops.block && ops.tiling.kBlocks == 1), "a GEMM without C keeps one K block on the stack");
  GemmEmitter g(e, ops, target, epilogue);
  g.emit(begin, end);
}

}  // namespace dlc::cg
