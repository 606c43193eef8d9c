//===- codegen/gemm.h - the generated GEMM (internal) -----------------------===//
//
// INTERNAL to codegen/: includes LLVM.
//
// emitGemm writes, into the kernel being emitted, the tiled f32 matrix multiply
//
//   for each tile t in [begin, end)            (the kernel's chunk; gemm_plan.h)
//     for each block of K (blockK deep)        (cache blocking)
//       pack op(B)[kblock, tile columns] into panels of NR columns (k-major, zero
//         padded; a transposed B is transposed here, W x W at a time in registers)
//       for each panel of NR columns           (the panel stays in L1)
//         for each MR rows of the tile         (A read in place: op(A) is strides)
//           micro-kernel: MR x NR accumulators in vector registers,
//             acc[r][v] = fma(splat(A[i+r, k]), Bpanel[k, v*W .. v*W+W), acc[r][v])
//           first K block: acc starts at 0, else at C; last K block: epilogue, store
//
// W is the target's f32 vector width (16 on AVX-512, 8 on AVX2, 4 generic), NR = NV*W.
// Each C element is one chain acc = fma(a, b, acc) over k ascending from 0 -- exactly the
// interpreter's order -- so the result is bitwise equal to it and independent of the
// tiling, the target and the thread count.
//
// The epilogue hook sees every output vector of the last K block before its store: the
// accumulated vector, the batch, row and first column of its lanes, and the lane mask
// (lanes past N are off and never stored). Fusion uses it for bias + activation.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <functional>

#include <llvm/IR/IRBuilder.h>

#include "codegen/gemm_plan.h"
#include "codegen/target.h"

namespace dlc::cg {

class KernelEmitter;

/// Where an output vector of the GEMM lies: C[batch, row, col .. col + W), lanes `mask`.
struct GemmVectorAt {
  llvm::Value *batch;  ///< i64
  llvm::Value *row;    ///< i64, the row of C within the batch item
  llvm::Value *col;    ///< i64, the column of lane 0
  llvm::Value *mask;   ///< <W x i1>, the lanes inside C
};

/// The epilogue hook: returns the vector to store in place of \p acc (a <W x float>).
/// Called in the kernel's body function, at the point of the store; it may load from the
/// kernel's buffers (KernelEmitter::buffer) but must not store.
using GemmEpilogue = std::function<llvm::Value *(llvm::IRBuilder<> &b, llvm::Value *acc, const GemmVectorAt &at)>;

/// acc + bias[col ..] (bias: a pointer to N floats, or nullptr for none), then
/// max(x, 0) when \p relu -- with the IR ops' semantics (x + b, then max(x, 0), which
/// returns x when x is NaN), so the fused result equals add followed by max bitwise.
GemmEpilogue biasReluEpilogue(llvm::Value *bias, bool relu);

/// A micro-kernel's block of C once its last K block is done: rows [row0, row0 + rows)
/// and columns [col0, col0 + ncols) of batch item `batch`; element (r, c) of the block is
/// at `product + r * stride + c` (floats): in C itself, or in a stack block when C has no
/// buffer (GemmOperands::c == nullptr).
struct GemmBlockAt {
  llvm::Value *batch, *row0;  ///< i64
  int rows;
  llvm::Value *col0, *ncols;  ///< i64
  llvm::Value *product;       ///< ptr
  int64_t stride;
};
/// A block epilogue: emits code that reads the finished block (it may store to any
/// buffer but C).
using GemmBlockEpilogue = std::function<void(const GemmBlockAt &at)>;

/// The operands of one GEMM kernel.
struct GemmOperands {
  llvm::Value *a = nullptr, *b = nullptr, *c = nullptr;  ///< base pointers of the f32 buffers
  bool transA = false, transB = false;                   ///< stored as [K, M] / [N, K]
  GemmTiling tiling;
  /// Where the epilogue's result goes when the product itself is also written (to `c`,
  /// which then holds the plain product): a buffer of C's shape. nullptr: into `c`.
  llvm::Value *d = nullptr;
  /// Run on every finished block of C (after the per-vector epilogue, if any). With
  /// `c == nullptr` (only when the tiling has one K block) the block is kept on the
  /// stack and never stored.
  GemmBlockEpilogue block{};
};

/// Emits the GEMM over tiles [begin, end) into the current function of \p e.
/// \p epilogue may be empty.
void emitGemm(KernelEmitter &e, const GemmOperands &ops, llvm::Value *begin, llvm::Value *end,
              const TargetInfo &target, const GemmEpilogue &epilogue);

/// The micro-kernel shape for a target of \p vectorBits and a tile of \p tileM rows and
/// \p tileN columns: rows MR and vectors NV per row (NR = NV * W columns). A panel
/// narrower than NR (the last of a tile) runs a kernel of MR rows and only the vectors it
/// needs.
struct MicroKernelShape {
  int mr, nv, w;
};
MicroKernelShape microKernelShape(int vectorBits, int64_t tileM, int64_t tileN);

}  // namespace dlc::cg
