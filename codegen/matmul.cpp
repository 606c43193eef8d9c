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
//
// The loop is one function, `<kernel>.body.epi`, called by every micro-kernel shape
// (full and remainder rows, full and partial panels): inlined, each of the up to ~8
// shapes had its own copy of the loop, which the vectorizer then tripled (vector body,
// vector epilogue, scalar remainder) -- W1's dW1 + Adam kernel had 36 divisions and took
// 110-160 ms to compile, against 30-45 ms for the plain GEMM. A call per block of
// MR x NR elements (and the block going through the stack rather than registers) costs
// a few cycles against the block's epilogue work: W1's update GEMMs ran as fast as
// before (one thread, alternated with the inlined version).
void KernelEmitter::emitGemmLoopEpilogue(llvm::Value *begin, llvm::Value *end) {
  const Node &n = k_.matmul();
  const MatMulAttrs &mm = n.attrsAs<MatMulAttrs>();
  const Value *product = n.result();
  const bool productOut = std::find(k_.outputs.begin(), k_.outputs.end(), product) != k_.outputs.end();
  GemmOperands ops{buffer(n.operand(0)), buffer(n.operand(1)), productOut ? buffer(product) : nullptr,
                   mm.transposeA, mm.transposeB, gemmTilingOf(n)};
  for (const Node *x : k_.invariant) memo_[x->result()] = generateNode(*x, IrIndex{x->type().shape, {}, i64(0)});
  llvm::Function *epi = nullptr;
  int64_t epiStride = 0;
  ops.block = [&](const GemmBlockAt &at) {
    if (!epi) {
      epiStride = at.stride;
      epi = emitBlockEpilogueFunction(at.stride);
    }
    DL_ASSERT(at.stride == epiStride, "every block of one GEMM kernel has the same stride");
    std::vector<llvm::Value *> args;
    for (llvm::Argument &a : fn_->args())
      if (a.getArgNo() < k_.numBuffers()) args.push_back(&a);
    for (const Node *x : k_.invariant) args.push_back(memo_.at(x->result()));
    for (llvm::Value *v : {at.batch, at.row0, i64(at.rows), at.col0, at.ncols, at.product}) args.push_back(v);
    b_.CreateCall(epi, args);
  };
  emitGemm(*this, ops, begin, end, target_, GemmEpilogue{});
}

// `<kernel>.epi(buffers..., invariants..., batch, row0, rows, col0, ncols, product)`:
// the block epilogue of emitGemmLoopEpilogue over rows [row0, row0 + rows) and columns
// [col0, col0 + ncols) of batch item `batch`, reading the product from `product`, whose
// rows are \p stride floats apart. Emitted with the builder, buffers and memo switched
// to the new function, then restored.
llvm::Function *KernelEmitter::emitBlockEpilogueFunction(int64_t stride) {
  const Value *product = k_.matmul().result();
  std::vector<const Value *> outs;
  for (const Value *v : k_.outputs)
    if (v != product) outs.push_back(v);
  llvm::LLVMContext &c = ctx();
  std::vector<llvm::Type *> params(k_.numBuffers(), llvm::PointerType::getUnqual(c));
  for (const Node *x : k_.invariant) params.push_back(memo_.at(x->result())->getType());
  for (int i = 0; i < 5; ++i) params.push_back(b_.getInt64Ty());
  params.push_back(llvm::PointerType::getUnqual(c));
  auto *fty = llvm::FunctionType::get(b_.getVoidTy(), params, false);
  llvm::Function *f = llvm::Function::Create(fty, llvm::Function::InternalLinkage, fn_->getName() + ".epi", m_);
  setTargetAttributes(f);
  f->addFnAttr(llvm::Attribute::NoInline);
  // The buffers keep the body's attributes (noalias: the loop vectorizes without
  // overlap checks). The product block is only read: C, or the micro-kernel's stack block.
  for (unsigned i = 0; i < k_.numBuffers(); ++i) {
    llvm::AttrBuilder attrs(c, fn_->getAttributes().getParamAttrs(i));
    f->getArg(i)->addAttrs(attrs);
  }
  const unsigned productArg = static_cast<unsigned>(params.size() - 1);
  f->addParamAttr(productArg, llvm::Attribute::NoAlias);
  f->addParamAttr(productArg, llvm::Attribute::NoCapture);
  f->addParamAttr(productArg, llvm::Attribute::ReadOnly);

  // Switch the emitter to f.
  llvm::Function *savedFn = fn_;
  const llvm::IRBuilderBase::InsertPoint savedIp = b_.saveIP();
  std::unordered_map<const Value *, llvm::Value *> savedBuffers = buffers_, savedMemo = memo_;
  fn_ = f;
  memo_.clear();
  unsigned argNo = 0;
  for (const Value *v : k_.inputs) buffers_[v] = f->getArg(argNo++);
  for (const Value *v : k_.outputs) buffers_[v] = f->getArg(argNo++);
  for (const Node *x : k_.invariant) memo_[x->result()] = f->getArg(argNo++);
  llvm::Value *batch = f->getArg(argNo), *row0 = f->getArg(argNo + 1), *rows = f->getArg(argNo + 2),
              *col0 = f->getArg(argNo + 3), *ncols = f->getArg(argNo + 4), *block = f->getArg(argNo + 5);
  b_.SetInsertPoint(llvm::BasicBlock::Create(c, "entry", f));

  const Shape &shape = product->shape();
  const size_t rank = shape.size();
  const int64_t m = shape[rank - 2], nCols = shape[rank - 1];
  llvm::Type *f32 = b_.getFloatTy();
  forLoop(i64(0), rows, [&](llvm::Value *r) {
    llvm::Value *row = b_.CreateAdd(row0, r, "row", true, true);
    llvm::Value *rowBase = b_.CreateMul(b_.CreateAdd(b_.CreateMul(batch, i64(m), "", true, true), row, "", true, true),
                                        i64(nCols), "", true, true);
    llvm::Value *src = b_.CreateInBoundsGEP(f32, block, b_.CreateMul(r, i64(stride), "", true, true));
    forLoop(i64(0), ncols, [&](llvm::Value *j) {
      llvm::Value *col = b_.CreateAdd(col0, j, "col", true, true);
      memo_[product] = b_.CreateLoad(f32, b_.CreateInBoundsGEP(f32, src, j), "c");
      IrIndex idx{shape, {}, b_.CreateAdd(rowBase, col, "", true, true)};
      if (rank == 2) idx.dims = {row, col};
      std::vector<llvm::Value *> vals;
      for (const Value *out : outs) vals.push_back(generate(out, idx));
      for (size_t i = 0; i < outs.size(); ++i) b_.CreateStore(vals[i], elementPtr(outs[i], idx));
      memo_.erase(product);
    }, /*vectorize=*/true, "epi");
  }, false, "epi.row");
  b_.CreateRetVoid();

  fn_ = savedFn;
  buffers_ = std::move(savedBuffers);
  memo_ = std::move(savedMemo);
  b_.restoreIP(savedIp);
  return f;
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
