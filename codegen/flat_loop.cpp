//===- codegen/flat_loop.cpp - flat loops: prefetching, streaming, GPU blocks ===//
//
// The loop of a flat KernelKind::Loop kernel on the CPU (loop_kernel.cpp calls it for a
// chunk [begin, end) of linear indices): the plain vectorized loop, or, for large
// tensors, the same loop in blocks that prefetch every stream ahead
// (KernelSpec::prefetch), with streaming stores of its outputs where they are not
// written in place (KernelSpec::streamStores). Every variant computes each element
// exactly as the plain loop does. Also emitFlatBlock, a GPU thread's block of elements
// whose loads all come first.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernel_emitter.h"

#include <llvm/IR/IntrinsicsX86.h>
#include <llvm/TargetParser/Triple.h>

namespace dlc::cg {

// Prefetching flat loops (KernelSpec::prefetch, decided by the plan). A flat kernel over
// tensors past the caches streams each full-size input and output once, front to back.
// The hardware prefetchers follow such a stream only within a 4 KiB page and a few lines
// ahead, so one core keeps too few misses in flight: W3's GELU read and wrote ~14 GB/s
// on two threads where a copy with memcpy reaches ~22. The loop is cut into blocks of
// kPrefetchBlock elements; before a block, every cache line of each stream
// kPrefetchAhead bytes further on is prefetched (an input for reading, an output for
// writing), then the block runs as the usual vectorized loop. A prefetch never faults,
// so the lines past the end are only hints. Prefetching changes no value: the results
// are the plain loop's, bit for bit.
namespace {
/// Elements per block: 512 bytes of f32, eight lines per stream and block. Measured on
/// W3 (2^24 f32, two threads, alternated): blocks of 64 and 128 elements ran alike,
/// 256 a little slower, 512 and 1024 lost most of the gain (a burst of 64-256
/// prefetches at once).
constexpr int64_t kPrefetchBlock = 128;
/// How far ahead, in bytes of each stream: 1-4 KiB measured alike on W3; 8 KiB slower.
constexpr int64_t kPrefetchAhead = 2048;
}  // namespace

bool KernelEmitter::emitPrefetchedFlatLoop(llvm::Value *begin, llvm::Value *end,
                                           const std::function<void(llvm::Value *)> &body, bool outputs) {
  if (!k_.prefetch || lanes_ || flatBlock_ > 1) return false;
  const int64_t total = k_.root().type().numElements();
  struct Stream {
    llvm::Value *base;
    int64_t elemBytes;
    bool write;
  };
  std::vector<Stream> streams;
  auto add = [&](const Value *v, bool write) {
    if (v->type().numElements() == total)  // broadcast operands stay in cache
      streams.push_back({buffer(v), dtypeSize(v->type().dtype), write});
  };
  for (const Value *in : k_.inputs) add(in, false);
  if (outputs)
    for (const Value *out : k_.outputs) add(out, true);
  // Whole blocks first, each an inner loop of exactly kPrefetchBlock elements: its trip
  // count is a constant, so the vectorizer gives it no epilogue or remainder, and only
  // the full-width vector constants are live across the blocks. (With [lo, min(lo + B,
  // end)) per block, the epilogue's and remainder's constants were live too, more than
  // the 32 vector registers: the main loop reloaded every constant from memory each
  // iteration.) The last partial block runs as the plain loop.
  llvm::Value *full = b_.CreateUDiv(b_.CreateSub(end, begin), i64(kPrefetchBlock), "pf.blocks");
  forLoop(i64(0), full, [&](llvm::Value *blk) {
    llvm::Value *lo = b_.CreateAdd(begin, b_.CreateMul(blk, i64(kPrefetchBlock)), "pf.lo");
    for (const Stream &st : streams) {
      llvm::Value *ahead = b_.CreateGEP(b_.getInt8Ty(), st.base,
                                        b_.CreateAdd(b_.CreateMul(lo, i64(st.elemBytes)), i64(kPrefetchAhead)));
      for (int64_t off = 0; off < kPrefetchBlock * st.elemBytes; off += 64)
        b_.CreateIntrinsic(llvm::Intrinsic::prefetch, {b_.getPtrTy()},
                           {b_.CreateGEP(b_.getInt8Ty(), ahead, i64(off)), b_.getInt32(st.write ? 1 : 0),
                            b_.getInt32(3), b_.getInt32(1)});
    }
    forLoop(i64(0), i64(kPrefetchBlock), [&](llvm::Value *j) { body(b_.CreateAdd(lo, j, "", true, true)); },
            /*vectorize=*/true, "i", {.interleave = k_.interleave});
  }, false, "pf");
  forLoop(b_.CreateAdd(begin, b_.CreateMul(full, i64(kPrefetchBlock))), end, body, /*vectorize=*/true);
  return true;
}

bool KernelEmitter::streams() const {
  return k_.streamStores && k_.domain.flat && !lanes_ && flatBlock_ <= 1 &&
         llvm::Triple(target_.triple).isX86();
}

void KernelEmitter::emitFlatLoop(llvm::Value *begin, llvm::Value *end,
                                 const std::function<void(llvm::Value *)> &element) {
  auto loop = [&](llvm::Value *from) { forLoop(from, end, element, /*vectorize=*/true, "i", {.interleave = k_.interleave}); };
  if (!streams()) {
    if (!emitPrefetchedFlatLoop(begin, end, element, /*outputs=*/true)) loop(begin);
    return;
  }
  // Streaming stores (KernelSpec::streamStores): when this chunk starts on a vector
  // boundary of every output (always, unless the caller's tensors are misaligned or
  // a test forces the chunk) and no output is written in place over an input, the
  // same loop runs under assumptions that make its vector stores provably aligned;
  // markStreamingStores (llvm_support.cpp) turns the aligned vector stores into
  // non-temporal ones after the vectorizer. The sfence orders them before the chunk's
  // completion is published to other threads. In place (W4's Adam update writes p, m
  // and v over themselves) the lines are in cache already, just read: streaming them
  // out cost W4 10-15 %, so that case runs the ordinary loop. With KernelSpec::prefetch
  // the streaming loop prefetches its inputs only (the outputs are never read).
  llvm::Value *ok = b_.CreateICmpEQ(b_.CreateAnd(begin, i64(kStreamChunkAlign - 1)), i64(0));
  for (const Value *out : k_.outputs) {
    llvm::Value *o = b_.CreatePtrToInt(buffer(out), b_.getInt64Ty());
    ok = b_.CreateAnd(ok, b_.CreateICmpEQ(b_.CreateAnd(o, i64(kStreamAlignBytes - 1)), i64(0)));
    for (const Value *in : k_.inputs)
      ok = b_.CreateAnd(ok, b_.CreateICmpNE(o, b_.CreatePtrToInt(buffer(in), b_.getInt64Ty())));
  }
  llvm::BasicBlock *streamBB = llvm::BasicBlock::Create(ctx(), "stream", fn_);
  llvm::BasicBlock *plainBB = llvm::BasicBlock::Create(ctx(), "plain", fn_);
  llvm::BasicBlock *doneBB = llvm::BasicBlock::Create(ctx(), "stored", fn_);
  b_.CreateCondBr(ok, streamBB, plainBB);
  b_.SetInsertPoint(streamBB);
  // begin rounded down (a no-op here) starts the loop: its known low zero bits carry
  // through the vectorized induction to the store addresses, with the outputs' own.
  const llvm::DataLayout &dl = m_.getDataLayout();
  for (const Value *out : k_.outputs) b_.CreateAlignmentAssumption(dl, buffer(out), kStreamAlignBytes);
  llvm::Value *aligned = b_.CreateAnd(begin, i64(-kStreamChunkAlign), "begin.aligned");
  if (!emitPrefetchedFlatLoop(aligned, end, element, /*outputs=*/false)) loop(aligned);
  b_.CreateCall(llvm::Intrinsic::getDeclaration(&m_, llvm::Intrinsic::x86_sse_sfence));
  b_.CreateBr(doneBB);
  b_.SetInsertPoint(plainBB);
  if (!emitPrefetchedFlatLoop(begin, end, element, /*outputs=*/true)) loop(begin);
  b_.CreateBr(doneBB);
  b_.SetInsertPoint(doneBB);
}

void KernelEmitter::emitFlatBlock(llvm::Value *begin) {
  const int64_t n = flatBlock_;
  DL_ASSERT(!lanes_ && (n & (n - 1)) == 0, "a flat block is a power of two, one thread");
  const int64_t extent = k_.domain.parallelExtent();
  std::vector<llvm::Value *> at(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) at[static_cast<size_t>(j)] = j == 0 ? begin : b_.CreateAdd(begin, i64(j), "", true, true);
  // Accesses of a buffer value's elements [begin, begin + n) as vectors of at most 16
  // bytes: the buffer starts 16-byte aligned (device allocations, arena offsets that are
  // multiples of kBufferAlignment) and begin is a multiple of n.
  auto chunks = [&](const Value *v, const std::function<void(int64_t, llvm::FixedVectorType *, llvm::Value *, llvm::Align)> &f) {
    llvm::Type *t = storageType(ctx(), v->dtype());
    const int64_t bytes = static_cast<int64_t>(t->getPrimitiveSizeInBits() / 8);
    const int64_t width = std::clamp<int64_t>(16 / bytes, 1, n);
    for (int64_t j0 = 0; j0 < n; j0 += width)
      f(j0, llvm::FixedVectorType::get(t, static_cast<unsigned>(width)),
        b_.CreateInBoundsGEP(t, buffer(v), at[static_cast<size_t>(j0)]), llvm::Align(static_cast<uint64_t>(width * bytes)));
  };
  // 1. Loads: the block's elements of every full-size input, all issued before any
  // arithmetic, so a thread waits on memory once per block. A read of the buffer at one
  // of these indices (generate) takes the loaded element; others load as usual.
  for (size_t i = 0; i < k_.inputs.size(); ++i) {
    const Value *v = k_.inputs[i];
    if (v->type().numElements() != extent || (i < k_.inputsAligned.size() && !k_.inputsAligned[i])) continue;
    chunks(v, [&](int64_t j0, llvm::FixedVectorType *vt, llvm::Value *ptr, llvm::Align align) {
      llvm::Value *x = b_.CreateAlignedLoad(vt, ptr, align, "block");
      for (unsigned l = 0; l < vt->getNumElements(); ++l)
        preloaded_[{v, at[static_cast<size_t>(j0 + l)]}] = b_.CreateExtractElement(x, l);
    });
  }
  // 2. The outputs' elements, element by element (the per-element IR is unchanged).
  std::vector<std::vector<llvm::Value *>> vals(k_.outputs.size());
  for (int64_t j = 0; j < n; ++j)
    for (size_t o = 0; o < k_.outputs.size(); ++o)
      vals[o].push_back(generate(k_.outputs[o], IrIndex{k_.outputs[o]->shape(), {}, at[static_cast<size_t>(j)]}));
  preloaded_.clear();
  // 3. Stores, after every load of the block (in place outputs stay correct, as in
  // emitLoopBody).
  for (size_t o = 0; o < k_.outputs.size(); ++o)
    chunks(k_.outputs[o], [&](int64_t j0, llvm::FixedVectorType *vt, llvm::Value *ptr, llvm::Align align) {
      llvm::Value *x = llvm::PoisonValue::get(vt);
      for (unsigned l = 0; l < vt->getNumElements(); ++l) x = b_.CreateInsertElement(x, vals[o][static_cast<size_t>(j0 + l)], l);
      b_.CreateAlignedStore(x, ptr, align);
    });
}

}  // namespace dlc::cg
