//===- codegen/matmul.cpp - the matrix-multiply kernel ----------------------===//
//
// f32 matmuls go to the generated GEMM (gemm.h). Other element types (f64, i32, i64)
// keep this simple vectorized row kernel. The parallel space is the
// rows of the output (batch x M). For B stored K x N, each row of C is computed in
// column blocks of kBlockN:
//
//     C[i, j0:j1] = 0
//     for k in 0..K:                        // ascending, as the interpreter
//       a = A[i, k]
//       C[i, j0:j1] = fma(a, B[k, j0:j1], C[i, j0:j1])   // vectorized over j
//
// Every C[i, j] sees exactly the interpreter's sequence acc = fma(a, b, acc) (integers:
// acc + a*b), so the result is bitwise equal. With B stored transposed (N x K) the rows of B are
// contiguous along k instead, so each C[i, j] is a dot product over k.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernel_emitter.h"

#include <algorithm>

namespace dlc::cg {
namespace {

/// Columns of C per block: a block of C's row and the B rows it streams stay in L1/L2.
constexpr int64_t kBlockN = 512;

}  // namespace

// A GEMM with a loop epilogue (KernelSpec::gemmLoop): each finished block of C is read
// element by element, row by row, by a vectorizable loop that computes the epilogue's
// outputs with the elemental generators -- the product element taken from the block --
// and stores them, as a loop kernel over the product's shape would at that element (all
// outputs of an element computed before any is stored). The one-element members are
// computed once, before the tiles.
void KernelEmitter::emitGemmLoopEpilogue(llvm::Value *begin, llvm::Value *end) {
  const Node &n = k_.matmul();
  const MatMulAttrs &mm = n.attrsAs<MatMulAttrs>();
  const Value *product = n.result();
  const bool productOut = std::find(k_.outputs.begin(), k_.outputs.end(), product) != k_.outputs.end();
  GemmOperands ops{buffer(n.operand(0)), buffer(n.operand(1)), productOut ? buffer(product) : nullptr,
                   mm.transposeA, mm.transposeB, gemmTilingOf(n)};
  for (const Node *x : k_.invariant) memo_[x->result()] = generateNode(*x, IrIndex{x->type().shape, {}, i64(0)});
  std::vector<const Value *> outs;
  for (const Value *v : k_.outputs)
    if (v != product) outs.push_back(v);
  const Shape &shape = product->shape();
  const size_t rank = shape.size();
  const int64_t m = shape[rank - 2], nCols = shape[rank - 1];
  llvm::Type *f32 = b_.getFloatTy();
  ops.block = [&](const GemmBlockAt &at) {
    forLoop(i64(0), i64(at.rows), [&](llvm::Value *r) {
      llvm::Value *row = b_.CreateAdd(at.row0, r, "row", true, true);
      llvm::Value *rowBase = b_.CreateMul(b_.CreateAdd(b_.CreateMul(at.batch, i64(m), "", true, true), row, "", true, true),
                                          i64(nCols), "", true, true);
      llvm::Value *src = b_.CreateInBoundsGEP(f32, at.product, b_.CreateMul(r, i64(at.stride), "", true, true));
      forLoop(i64(0), at.ncols, [&](llvm::Value *j) {
        llvm::Value *col = b_.CreateAdd(at.col0, j, "col", true, true);
        memo_[product] = b_.CreateLoad(f32, b_.CreateInBoundsGEP(f32, src, j), "c");
        IrIndex idx{shape, {}, b_.CreateAdd(rowBase, col, "", true, true)};
        if (rank == 2) idx.dims = {row, col};
        std::vector<llvm::Value *> vals;
        for (const Value *out : outs) vals.push_back(generate(out, idx));
        for (size_t i = 0; i < outs.size(); ++i) b_.CreateStore(vals[i], elementPtr(outs[i], idx));
        memo_.erase(product);
      }, /*vectorize=*/true, "epi");
    }, false, "epi.row");
  };
  emitGemm(*this, ops, begin, end, target_, GemmEpilogue{});
}

void KernelEmitter::emitMatMulBody(llvm::Value *begin, llvm::Value *end) {
  const Node &n = k_.matmul();
  if (isGemmKernel(k_) && k_.gemmLoop) {
    emitGemmLoopEpilogue(begin, end);
    return;
  }
  if (isGemmKernel(k_)) {  // f32: the generated GEMM over tiles [begin, end)
    const MatMulAttrs &mm = n.attrsAs<MatMulAttrs>();
    // Fused with its bias + ReLU consumers: C accumulates in the product's buffer when
    // the product is written too (the epilogue's result then goes to the chain's end),
    // else in the chain end's buffer.
    const bool fused = k_.nodes.size() > 1;
    const bool productOut = std::find(k_.outputs.begin(), k_.outputs.end(), n.result()) != k_.outputs.end();
    llvm::Value *c = buffer(productOut ? n.result() : k_.root().result());
    GemmOperands ops{buffer(n.operand(0)), buffer(n.operand(1)), c, mm.transposeA, mm.transposeB, gemmTilingOf(n)};
    if (fused && productOut) ops.d = buffer(k_.root().result());
    if (fused) {
      const Value *bias = k_.gemmBias;
      const bool relu = k_.gemmRelu;
      setGemmEpilogue([bias, relu](KernelEmitter &e) { return biasReluEpilogue(bias ? e.buffer(bias) : nullptr, relu); });
    }
    emitGemm(*this, ops, begin, end, target_, gemmEpilogue_ ? gemmEpilogue_(*this) : GemmEpilogue{});
    return;
  }
  const Value *a = n.operand(0), *w = n.operand(1), *c = n.result();
  const MatMulAttrs &attrs = n.attrsAs<MatMulAttrs>();
  const size_t r = c->shape().size();
  const int64_t m = c->shape()[r - 2], nCols = c->shape()[r - 1];
  const int64_t k = attrs.transposeA ? a->shape()[r - 2] : a->shape()[r - 1];
  const DType dt = c->dtype();
  llvm::Type *t = storageType(ctx(), dt);

  forLoop(begin, end, [&](llvm::Value *p) {  // p = batch * M + i
    llvm::Value *batch = b_.CreateUDiv(p, i64(m), "batch");
    llvm::Value *i = b_.CreateURem(p, i64(m), "i");
    llvm::Value *aBase = b_.CreateMul(batch, i64(m * k), "a.base", true, true);
    llvm::Value *bBase = b_.CreateMul(batch, i64(k * nCols), "b.base", true, true);
    llvm::Value *cRow = b_.CreateMul(p, i64(nCols), "c.row", true, true);
    auto aAt = [&](llvm::Value *q) {  // A[batch, i, q]
      llvm::Value *off = attrs.transposeA ? b_.CreateAdd(b_.CreateMul(q, i64(m), "", true, true), i, "", true, true)
                                          : b_.CreateAdd(b_.CreateMul(i, i64(k), "", true, true), q, "", true, true);
      return generateAt(a, b_.CreateAdd(aBase, off, "", true, true));
    };
    auto cPtr = [&](llvm::Value *j) {
      return b_.CreateInBoundsGEP(t, buffer(c), b_.CreateAdd(cRow, j, "", true, true));
    };

    if (attrs.transposeB) {
      forLoop(i64(0), i64(nCols), [&](llvm::Value *j) {
        llvm::AllocaInst *acc = entryAlloca(t, "acc");
        b_.CreateStore(constantOf(ctx(), dt, 0.0), acc);
        llvm::Value *bRow = b_.CreateAdd(bBase, b_.CreateMul(j, i64(k), "", true, true), "", true, true);
        forLoop(i64(0), i64(k), [&](llvm::Value *q) {
          llvm::Value *bv = generateAt(w, b_.CreateAdd(bRow, q, "", true, true));
          b_.CreateStore(mulAdd(dt, aAt(q), bv, b_.CreateLoad(t, acc)), acc);
        }, false, "k");
        b_.CreateStore(b_.CreateLoad(t, acc), cPtr(j));
      }, false, "j");
      return;
    }

    const int64_t blocks = (nCols + kBlockN - 1) / kBlockN;
    forLoop(i64(0), i64(blocks), [&](llvm::Value *blk) {
      llvm::Value *j0 = b_.CreateMul(blk, i64(kBlockN), "j0", true, true);
      llvm::Value *j1 = b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin,
                                                 b_.CreateAdd(j0, i64(kBlockN), "", true, true), i64(nCols));
      forLoop(j0, j1, [&](llvm::Value *j) { b_.CreateStore(constantOf(ctx(), dt, 0.0), cPtr(j)); }, true, "z");
      forLoop(i64(0), i64(k), [&](llvm::Value *q) {
        llvm::Value *av = aAt(q);
        llvm::Value *bRow = b_.CreateAdd(bBase, b_.CreateMul(q, i64(nCols), "", true, true), "", true, true);
        forLoop(j0, j1, [&](llvm::Value *j) {
          llvm::Value *bv = generateAt(w, b_.CreateAdd(bRow, j, "", true, true));
          llvm::Value *ptr = cPtr(j);
          b_.CreateStore(mulAdd(dt, av, bv, b_.CreateLoad(t, ptr)), ptr);
        }, true, "j");
      }, false, "k");
    }, false, "jb");
  }, false, "p");
}

}  // namespace dlc::cg
