//===- codegen/gemm_plan.cpp - how a matmul is cut into tiles ---------------===//
#include "codegen/gemm_plan.h"

#include <algorithm>

namespace dlc {
namespace {

/// Depth of a packed block of B: with AVX-512's 6 x 64 micro-kernel a panel of 128 x 64
/// floats (32 KiB) stays in the 48 KiB L1 next to the A rows (256 deep: 64 KiB, it did
/// not). One thread, CPU time, 128 against 256: 1024^3 the same within the noise (C's
/// extra round trips cost what the L1 hits gain), W1's 128-row products 128x512x512 and
/// 128x512x784 (7 blocks of 112) 1-4 % faster.
constexpr int64_t kBlockK = 128;
/// A product of at most one vector of columns (W1's logits, N = 10) keeps K in one
/// block while its packed B (K x 16 floats) is no larger than a normal block's panel
/// (kBlockK x 64 floats, 32 KiB): C then never goes to memory between blocks, and B is
/// packed once. 128x10x512 NT: 9.9-10.1 -> 9.2-9.5 us (2 threads, alternated).
constexpr int64_t kOneBlockMaxN = 16, kOneBlockMaxK = (kBlockK * 64) / kOneBlockMaxN;
/// Largest tile: its packed B block (blockK x 512 floats, 256 KiB, on the stack) and its
/// rows of A (384 x blockK floats, 192 KiB) stay in the 2 MiB L2. Tall tiles pack each
/// block of B for more rows: B is packed once per tile row, so ceil(M / tileM) times.
constexpr int64_t kMaxTileN = 512, kMaxTileM = 384;
/// A tile is split further (for the threads) only while each piece keeps at least this
/// many flops (a few microseconds): the pool's spinning workers pick a job up in about a
/// microsecond, and a sleeping one never holds the caller up (thread_pool.cpp).
constexpr int64_t kMinSplitFlops = int64_t{1} << 19;
/// Enough tiles for two threads to balance.
constexpr int64_t kWantTiles = 4;
/// Each tile row packs its own copy of B's blocks, so once both threads have a tile, rows
/// are halved only into tiles of at least this many: at 128x10x512 NT four tiles of 32
/// rows packed (transposed) B four times, ~0.7 us each against ~3.5 us of arithmetic per
/// tile (one thread, CPU time: 16.1 us with 4 tiles, 15.5 with 2).
constexpr int64_t kMinSplitRows = 64;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

}  // namespace

GemmTiling planGemmTiling(int64_t batch, int64_t m, int64_t n, int64_t k) {
  GemmTiling t;
  t.batch = batch;
  t.m = m;
  t.n = n;
  t.k = k;
  t.kBlocks = n <= kOneBlockMaxN && k <= kOneBlockMaxK ? 1 : std::max<int64_t>(1, ceilDiv(k, kBlockK));
  t.blockK = roundUp(ceilDiv(k, t.kBlocks), 16);
  t.tilesM = std::max<int64_t>(1, ceilDiv(m, kMaxTileM));
  t.tilesN = std::max<int64_t>(1, ceilDiv(n, kMaxTileN));
  auto fix = [&] {
    t.tileM = std::max<int64_t>(1, ceilDiv(m, t.tilesM));
    t.tileN = std::max<int64_t>(1, roundUp(ceilDiv(n, t.tilesN), 16));
    t.tilesM = std::max<int64_t>(1, ceilDiv(m, t.tileM));
    t.tilesN = std::max<int64_t>(1, ceilDiv(n, t.tileN));
  };
  fix();
  // More tiles for the threads while the pieces stay worth a thread: halve the columns
  // first (no block of B is packed twice), then the rows (kMinSplitRows). An odd count
  // of a few tiles (3 on 2 threads: one waits a third of the time) is split again too.
  while (t.numTiles() < kWantTiles || (t.numTiles() < 8 && t.numTiles() % 2 == 1)) {
    const int64_t flopsPerTile = 2 * t.tileM * t.tileN * k;
    if (flopsPerTile < 2 * kMinSplitFlops) break;
    if (t.tileN >= 128) t.tilesN *= 2;
    else if (t.tileM >= 24 && (t.numTiles() < 2 || t.tileM >= 2 * kMinSplitRows)) t.tilesM *= 2;
    else break;
    fix();
  }
  return t;
}

}  // namespace dlc
