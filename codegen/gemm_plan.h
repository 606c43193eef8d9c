//===- codegen/gemm_plan.h - how a matmul is cut into tiles -----------------===//
//
// The generated GEMM (codegen/gemm.cpp) computes C[b] = op(A[b]) . op(B[b]) tile by tile:
// the kernel's parallel index space is (batch, tile row, tile column), flattened, and
// every tile computes its block of C over the whole of K. The tiling depends on the
// shapes only (never on the target or the thread count), so the kernel plan can size the
// parallel space without LLVM, and every C element is produced by one tile, in one fixed
// order: acc = fma(a[k], b[k], acc) for k ascending from acc = 0 -- the interpreter's.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>

namespace dlc {

struct GemmTiling {
  int64_t batch = 1, m = 0, n = 0, k = 0;
  /// Rows and columns of C per tile (the last tile of a row or column may be smaller).
  int64_t tileM = 0, tileN = 0;
  int64_t tilesM = 0, tilesN = 0;
  /// Depth of one packed block of B (cache blocking over K); K is cut into `kBlocks`
  /// blocks of `blockK` (the last one shorter).
  int64_t blockK = 0, kBlocks = 1;

  int64_t numTiles() const { return batch * tilesM * tilesN; }
};

/// The tiling of a batch of \p batch products [m x k] . [k x n].
GemmTiling planGemmTiling(int64_t batch, int64_t m, int64_t n, int64_t k);

}  // namespace dlc
