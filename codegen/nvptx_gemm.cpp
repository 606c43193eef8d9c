//===- codegen/nvptx_gemm.cpp - the GPU matrix multiply: shared-memory tiles -===//
//
// C[b] = op(A[b]) op(B[b]) for every batch b, as one kernel: a block of 16 x 16 threads
// computes a tile of (16 TM) x (16 TN) elements of C, thread (ty, tx) the elements
// (ty + 16 i, tx + 16 j) for i < TM, j < TN, in registers. K advances in slices of
// 1024 / (16 TM) (16, 32 or 64): the block stages op(A)'s tile rows and op(B)'s tile
// columns of the slice in shared memory (k-major, 4 elements per thread and operand,
// the mapping chosen so that
// consecutive threads read consecutive addresses of the stored operand), synchronizes,
// and every thread runs `acc = fma(a[k], b[k], acc)` for the slice's k in ascending order.
// So each C element is exactly the interpreter's chain from +0, k ascending: bitwise the
// CPU backend's result. Only the k < K of a slice are visited (no fma with padding).
//
// TM = TN = 4 (64 x 64 tiles) when that gives at least kMinBlocks blocks, else 2, else
// 1 (16 x 16): W1's 128-row products need small tiles to fill the GPU's SMs.
//
// With GpuOptions::tf32 (an f32 product), the tensor cores instead: the block's 8 warps
// (2 x 4) each compute a (16 MI) x (8 NI) part of a (32 MI) x (32 NI) tile (MI = NI = 2,
// or 1 when 64 x 64 tiles give too few blocks) with `mma.sync.aligned.m16n8k8.row.col.
// f32.tf32.tf32.f32`: the staged slice holds the operands rounded to TF32 by
// `cvt.rna.tf32.f32` (the shared tiles' rows padded by 8 words, so a warp's fragment
// loads hit 32 different banks), each slice is k8 steps (zero-filled past K, which
// adds +0 products), fragments in the PTX ISA's layout (lane = 4 g + t: A rows g, g + 8
// and k t, t + 4; B k t, t + 4 and column g; C rows g, g + 8, columns 2 t, 2 t + 1). Not
// the interpreter's order nor its rounding: see GpuOptions::tf32 for the error bound.
//
// The fused epilogue (KernelSpec::gemmBias / gemmRelu) adds bias[col] and takes
// max(x, 0) with emitScalar's semantics before storing the chain's end; the product is
// stored too when it is a kernel output.
//
//===----------------------------------------------------------------------===//
#include <algorithm>

#include <llvm/IR/Constants.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/IntrinsicsNVPTX.h>

#include "codegen/kernel_emitter.h"
#include "codegen/nvptx_internal.h"

namespace dlc::cg {
namespace {

constexpr int64_t kTileCells = 1024;  ///< elements of an operand's staged slice (4 per thread)
constexpr int64_t kThreadsDim = 16;  ///< 16 x 16 threads per block
constexpr int64_t kMinBlocks = 256;  ///< ~2 blocks per SM on a 132-SM H100/H200

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// `for (iv = lo; iv < hi; ++iv)` with a runtime bound, in \p f.
void loop(llvm::IRBuilder<> &b, llvm::Function *f, llvm::Value *lo, llvm::Value *hi,
          const std::function<void(llvm::Value *)> &body, const char *name) {
  llvm::LLVMContext &c = b.getContext();
  llvm::BasicBlock *pre = b.GetInsertBlock();
  llvm::BasicBlock *bodyBB = llvm::BasicBlock::Create(c, std::string(name) + ".loop", f);
  llvm::BasicBlock *exitBB = llvm::BasicBlock::Create(c, std::string(name) + ".exit", f);
  b.CreateCondBr(b.CreateICmpSLT(lo, hi), bodyBB, exitBB);
  b.SetInsertPoint(bodyBB);
  llvm::PHINode *iv = b.CreatePHI(lo->getType(), 2, name);
  iv->addIncoming(lo, pre);
  body(iv);
  llvm::Value *next = b.CreateAdd(iv, llvm::ConstantInt::get(lo->getType(), 1), "", true, true);
  iv->addIncoming(next, b.GetInsertBlock());
  b.CreateCondBr(b.CreateICmpSLT(next, hi), bodyBB, exitBB);
  b.SetInsertPoint(exitBB);
}

/// `if (cond) then()`.
void ifThen(llvm::IRBuilder<> &b, llvm::Function *f, llvm::Value *cond, const std::function<void()> &then) {
  llvm::BasicBlock *thenBB = llvm::BasicBlock::Create(b.getContext(), "then", f);
  llvm::BasicBlock *mergeBB = llvm::BasicBlock::Create(b.getContext(), "endif", f);
  b.CreateCondBr(cond, thenBB, mergeBB);
  b.SetInsertPoint(thenBB);
  then();
  b.CreateBr(mergeBB);
  b.SetInsertPoint(mergeBB);
}

}  // namespace

llvm::Function *emitGpuGemm(llvm::Module &m, const KernelSpec &k, const std::string &name,
                            const CodegenOptions &opts, const GpuOptions &gpu, GpuLaunch &launch) {
  const Node &mm = k.matmul();
  const MatMulAttrs &attrs = mm.attrsAs<MatMulAttrs>();
  const Value *av = mm.operand(0), *bv = mm.operand(1), *cv = mm.result();
  const size_t r = cv->shape().size();
  const int64_t M = cv->shape()[r - 2], N = cv->shape()[r - 1];
  const int64_t K = attrs.transposeA ? av->shape()[r - 2] : av->shape()[r - 1];
  const int64_t batch = shapeProduct(cv->shape(), 0, r - 2);
  const DType dt = cv->dtype();

  const bool tf32 = gpu.tf32 && dt == DType::F32;
  // SIMT: TM x TM outputs per thread, tiles of 16 TM. TF32: MI x NI mma tiles per warp,
  // tiles of 32 MI x 32 NI.
  int64_t tm = 4, tileM = 0, tileN = 0;
  if (tf32) {
    tm = ceilDiv(M, 64) * ceilDiv(N, 64) * batch >= kMinBlocks / 2 ? 2 : 1;
    tileM = tileN = 32 * tm;
  } else {
    while (tm > 1 && ceilDiv(M, 16 * tm) * ceilDiv(N, 16 * tm) * batch < kMinBlocks) tm /= 2;
    tileM = tileN = kThreadsDim * tm;
  }
  // The K slice staged per step: tile x kBk = kTileCells elements per operand (16 for 64
  // x 64 tiles, 64 for 16 x 16 ones): small tiles (skinny products like W1's 128 x 10,
  // whose few blocks each run a whole K) pay one global-load latency per 64 k, not per 16.
  const int64_t kBk = kTileCells / tileM;
  // Shared tiles' row length (k-major: one row per k); TF32 pads it against bank conflicts.
  const int64_t ldA = tf32 ? tileM + 8 : tileM, ldB = tf32 ? tileN + 8 : tileN;
  launch.fixedGrid = true;
  launch.grid[0] = ceilDiv(N, tileN);
  launch.grid[1] = ceilDiv(M, tileM);
  launch.grid[2] = batch;
  launch.block = static_cast<int>(kThreadsDim * kThreadsDim);
  launch.iterations = cv->type().numElements() > 0 ? 1 : 0;

  llvm::Function *f = createGpuKernel(m, name, k.numBuffers(), launch.block);
  llvm::LLVMContext &c = m.getContext();
  llvm::IRBuilder<> b(&f->getEntryBlock());
  if (opts.fastMath) b.setFastMathFlags(llvm::FastMathFlags::getFast());
  auto bufferOf = [&](const Value *v) -> llvm::Value * {
    for (size_t i = 0; i < k.inputs.size(); ++i)
      if (k.inputs[i] == v) return f->getArg(static_cast<unsigned>(i));
    for (size_t i = 0; i < k.outputs.size(); ++i)
      if (k.outputs[i] == v) return f->getArg(static_cast<unsigned>(k.inputs.size() + i));
    return nullptr;
  };
  if (cv->type().numElements() == 0) {
    b.CreateRetVoid();
    return f;
  }
  llvm::Type *t = storageType(c, dt);
  llvm::Type *i64 = b.getInt64Ty();
  auto c64 = [&](int64_t v) { return b.getInt64(static_cast<uint64_t>(v)); };

  // Shared tiles, k-major: As[kBk][ldA], Bs[kBk][ldB].
  auto shared = [&](int64_t n, const char *tag) {
    auto *ty = llvm::ArrayType::get(t, static_cast<uint64_t>(n));
    auto *g = new llvm::GlobalVariable(m, ty, false, llvm::GlobalValue::InternalLinkage, llvm::UndefValue::get(ty),
                                       name + tag, nullptr, llvm::GlobalValue::NotThreadLocal, /*AddressSpace=*/3);
    g->setAlignment(llvm::Align(16));
    return g;
  };
  llvm::GlobalVariable *as = shared(kBk * ldA, ".As"), *bs = shared(kBk * ldB, ".Bs");

  llvm::Value *tid = b.CreateZExt(readSreg(b, Sreg::TidX), i64, "tid");
  llvm::Value *tx = b.CreateURem(tid, c64(kThreadsDim), "tx"), *ty = b.CreateUDiv(tid, c64(kThreadsDim), "ty");
  llvm::Value *row0 = b.CreateMul(b.CreateZExt(readSreg(b, Sreg::CtaidY), i64), c64(tileM), "row0");
  llvm::Value *col0 = b.CreateMul(b.CreateZExt(readSreg(b, Sreg::CtaidX), i64), c64(tileN), "col0");
  llvm::Value *bat = b.CreateZExt(readSreg(b, Sreg::CtaidZ), i64, "batch");
  llvm::Value *aBase = b.CreateInBoundsGEP(t, bufferOf(av), b.CreateMul(bat, c64(M * K)), "a");
  llvm::Value *bBase = b.CreateInBoundsGEP(t, bufferOf(bv), b.CreateMul(bat, c64(K * N)), "b");

  // Accumulators: TM x TM per thread (SIMT), MI x NI x 4 per thread (TF32 fragments).
  std::vector<llvm::AllocaInst *> acc(static_cast<size_t>(tf32 ? tm * tm * 4 : tm * tm));
  {
    llvm::IRBuilder<> eb(&f->getEntryBlock(), f->getEntryBlock().begin());
    for (auto &a : acc) a = eb.CreateAlloca(t, nullptr, "acc");
  }
  for (llvm::AllocaInst *a : acc) b.CreateStore(constantOf(c, dt, 0.0), a);

  // Stages one operand's slice: \p outer rows (M or N) x kBk, from a matrix stored
  // [outer, K] (kFast: k contiguous) or [K, outer]; TF32 rounds each value once here.
  auto stage = [&](llvm::GlobalVariable *tile, int64_t ld, llvm::Value *base, int64_t tileOuter, llvm::Value *outer0,
                   int64_t outerExtent, bool kFast, llvm::Value *k0) {
    for (int64_t e = 0; e < tileOuter * kBk / (kThreadsDim * kThreadsDim); ++e) {
      llvm::Value *lin = b.CreateAdd(tid, c64(e * kThreadsDim * kThreadsDim));
      llvm::Value *kk = kFast ? b.CreateURem(lin, c64(kBk)) : b.CreateUDiv(lin, c64(tileOuter));
      llvm::Value *oo = kFast ? b.CreateUDiv(lin, c64(kBk)) : b.CreateURem(lin, c64(tileOuter));
      llvm::Value *gk = b.CreateAdd(k0, kk), *go = b.CreateAdd(outer0, oo);
      llvm::Value *in = b.CreateAnd(b.CreateICmpSLT(gk, c64(K)), b.CreateICmpSLT(go, c64(outerExtent)));
      // Out-of-range cells hold 0. SIMT: never read by the k loop (k < K), and only
      // feed accumulators of C elements that are not stored (rows/columns past the end).
      // TF32: past K both operands are 0, so the mma adds +0 products.
      llvm::Value *offset = kFast ? b.CreateAdd(b.CreateMul(go, c64(K)), gk) : b.CreateAdd(b.CreateMul(gk, c64(outerExtent)), go);
      offset = b.CreateSelect(in, offset, c64(0));
      llvm::Value *x = b.CreateLoad(t, b.CreateInBoundsGEP(t, base, offset));
      x = b.CreateSelect(in, x, constantOf(c, dt, 0.0));
      if (tf32) x = b.CreateBitCast(b.CreateIntrinsic(llvm::Intrinsic::nvvm_f2tf32_rna, {}, {x}), t);
      llvm::Value *slot = b.CreateAdd(b.CreateMul(kk, c64(ld)), oo);
      b.CreateStore(x, b.CreateInBoundsGEP(t, tile, slot));
    }
  };
  // TF32: warp w = 4 wm + wn, lane = 4 g + q4.
  llvm::Value *lane = b.CreateURem(tid, c64(32), "lane");
  llvm::Value *warp = b.CreateUDiv(tid, c64(32), "warp");
  llvm::Value *g = b.CreateUDiv(lane, c64(4), "g"), *q4 = b.CreateURem(lane, c64(4), "q4");
  llvm::Value *wm = b.CreateUDiv(warp, c64(4), "wm"), *wn = b.CreateURem(warp, c64(4), "wn");
  llvm::Value *warpRow = b.CreateMul(wm, c64(16 * tm)), *warpCol = b.CreateMul(wn, c64(8 * tm));
  llvm::Value *slices = c64(ceilDiv(K, kBk));
  loop(b, f, c64(0), slices, [&](llvm::Value *s) {
    llvm::Value *k0 = b.CreateMul(s, c64(kBk), "k0");
    // op(A) rows are M: A stored [M, K] unless transposed ([K, M]).
    stage(as, ldA, aBase, tileM, row0, M, !attrs.transposeA, k0);
    // op(B) columns are N: B stored [K, N] unless transposed ([N, K]).
    stage(bs, ldB, bBase, tileN, col0, N, attrs.transposeB, k0);
    b.CreateIntrinsic(llvm::Intrinsic::nvvm_barrier0, {}, {});
    if (tf32) {
      llvm::Type *i32 = b.getInt32Ty();
      auto frag = [&](llvm::GlobalVariable *tile, int64_t ld, llvm::Value *kRow, llvm::Value *outer) {
        llvm::Value *x = b.CreateLoad(t, b.CreateInBoundsGEP(t, tile, b.CreateAdd(b.CreateMul(kRow, c64(ld)), outer)));
        return b.CreateBitCast(x, i32);
      };
      for (int64_t ks = 0; ks < kBk; ks += 8) {
        llvm::Value *kLo = b.CreateAdd(q4, c64(ks)), *kHi = b.CreateAdd(q4, c64(ks + 4));
        std::vector<std::vector<llvm::Value *>> fa(static_cast<size_t>(tm)), fb(static_cast<size_t>(tm));
        for (int64_t i = 0; i < tm; ++i) {
          llvm::Value *r = b.CreateAdd(warpRow, b.CreateAdd(g, c64(16 * i)));
          llvm::Value *r8 = b.CreateAdd(r, c64(8));
          fa[static_cast<size_t>(i)] = {frag(as, ldA, kLo, r), frag(as, ldA, kLo, r8), frag(as, ldA, kHi, r),
                                        frag(as, ldA, kHi, r8)};
          llvm::Value *col = b.CreateAdd(warpCol, b.CreateAdd(g, c64(8 * i)));
          fb[static_cast<size_t>(i)] = {frag(bs, ldB, kLo, col), frag(bs, ldB, kHi, col)};
        }
        for (int64_t i = 0; i < tm; ++i)
          for (int64_t j = 0; j < tm; ++j) {
            std::vector<llvm::Value *> args = fa[static_cast<size_t>(i)];
            args.insert(args.end(), fb[static_cast<size_t>(j)].begin(), fb[static_cast<size_t>(j)].end());
            for (int64_t q = 0; q < 4; ++q) args.push_back(b.CreateLoad(t, acc[static_cast<size_t>((i * tm + j) * 4 + q)]));
            llvm::Value *d = b.CreateIntrinsic(llvm::Intrinsic::nvvm_mma_m16n8k8_row_col_tf32, {}, args);
            for (unsigned q = 0; q < 4; ++q)
              b.CreateStore(b.CreateExtractValue(d, q), acc[static_cast<size_t>((i * tm + j) * 4 + q)]);
          }
      }
    } else {
      llvm::Value *kEnd = b.CreateIntrinsic(llvm::Intrinsic::smin, {i64}, {c64(kBk), b.CreateSub(c64(K), k0)});
      loop(b, f, c64(0), kEnd, [&](llvm::Value *kk) {
        std::vector<llvm::Value *> a(static_cast<size_t>(tm)), bb(static_cast<size_t>(tm));
        for (int64_t i = 0; i < tm; ++i) {
          llvm::Value *slot = b.CreateAdd(b.CreateMul(kk, c64(tileM)), b.CreateAdd(ty, c64(kThreadsDim * i)));
          a[static_cast<size_t>(i)] = b.CreateLoad(t, b.CreateInBoundsGEP(t, as, slot));
          llvm::Value *slotB = b.CreateAdd(b.CreateMul(kk, c64(tileN)), b.CreateAdd(tx, c64(kThreadsDim * i)));
          bb[static_cast<size_t>(i)] = b.CreateLoad(t, b.CreateInBoundsGEP(t, bs, slotB));
        }
        for (int64_t i = 0; i < tm; ++i)
          for (int64_t j = 0; j < tm; ++j) {
            llvm::AllocaInst *slot = acc[static_cast<size_t>(i * tm + j)];
            llvm::Value *x = a[static_cast<size_t>(i)], *y = bb[static_cast<size_t>(j)];
            llvm::Value *sum = isFloat(dt) ? b.CreateIntrinsic(llvm::Intrinsic::fma, {t}, {x, y, b.CreateLoad(t, slot)})
                                           : nullptr;
            if (!sum) {
              llvm::Value *prod[] = {x, y};
              llvm::Value *p = emitScalar(b, ScalarOp{OpKind::Mul, dt, dt}, prod);
              llvm::Value *ops[] = {b.CreateLoad(t, slot), p};
              sum = emitScalar(b, ScalarOp{OpKind::Add, dt, dt}, ops);
            }
            b.CreateStore(sum, slot);
          }
      }, "kk");
    }
    b.CreateIntrinsic(llvm::Intrinsic::nvvm_barrier0, {}, {});
  }, "slice");

  // Epilogue: store the tile's elements that exist.
  const bool fused = k.nodes.size() > 1;
  const bool productOut = std::find(k.outputs.begin(), k.outputs.end(), cv) != k.outputs.end();
  llvm::Value *product = productOut ? bufferOf(cv) : nullptr;
  llvm::Value *result = fused ? bufferOf(k.root().result()) : nullptr;
  llvm::Value *bias = fused && k.gemmBias ? bufferOf(k.gemmBias) : nullptr;
  llvm::Value *cBase = b.CreateMul(bat, c64(M * N));
  auto storeC = [&](llvm::Value *row, llvm::Value *col, llvm::AllocaInst *accSlot) {
    llvm::Value *in = b.CreateAnd(b.CreateICmpSLT(row, c64(M)), b.CreateICmpSLT(col, c64(N)));
    ifThen(b, f, in, [&] {
      llvm::Value *v = b.CreateLoad(t, accSlot);
      llvm::Value *at = b.CreateAdd(cBase, b.CreateAdd(b.CreateMul(row, c64(N)), col));
      if (product) b.CreateStore(v, b.CreateInBoundsGEP(t, product, at));
      if (fused) {
        if (bias) {
          llvm::Value *ops[] = {v, b.CreateLoad(t, b.CreateInBoundsGEP(t, bias, col))};
          v = emitScalar(b, ScalarOp{OpKind::Add, dt, dt}, ops);
        }
        if (k.gemmRelu) {
          llvm::Value *ops[] = {v, constantOf(c, dt, 0.0)};
          v = emitScalar(b, ScalarOp{OpKind::Max, dt, dt}, ops);
        }
        b.CreateStore(v, b.CreateInBoundsGEP(t, result, at));
      }
    });
  };
  for (int64_t i = 0; i < tm; ++i)
    for (int64_t j = 0; j < tm; ++j) {
      if (!tf32) {
        storeC(b.CreateAdd(row0, b.CreateAdd(ty, c64(kThreadsDim * i))),
               b.CreateAdd(col0, b.CreateAdd(tx, c64(kThreadsDim * j))), acc[static_cast<size_t>(i * tm + j)]);
        continue;
      }
      // Fragment element q of mma tile (i, j): row g + 8 (q / 2), column 2 q4 + q % 2.
      for (int64_t q = 0; q < 4; ++q) {
        llvm::Value *row = b.CreateAdd(b.CreateAdd(row0, warpRow), b.CreateAdd(g, c64(16 * i + 8 * (q / 2))));
        llvm::Value *col = b.CreateAdd(b.CreateAdd(col0, warpCol),
                                       b.CreateAdd(b.CreateMul(q4, c64(2)), c64(8 * j + q % 2)));
        storeC(row, col, acc[static_cast<size_t>((i * tm + j) * 4 + q)]);
      }
    }
  b.CreateRetVoid();
  return f;
}

}  // namespace dlc::cg
