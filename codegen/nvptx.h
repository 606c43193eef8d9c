//===- codegen/nvptx.h - kernels for NVIDIA GPUs: LLVM's NVPTX backend -----===//
//
// The same kernel plans as the CPU backend, lowered for the nvptx64 triple and printed
// as PTX, which the CUDA driver JIT-compiles to the GPU's machine code
// (runtime/cuda_executable.h). LLVM-free header.
//
// Every kernel of a plan becomes one `.entry` (nvvm annotation "kernel") whose
// parameters are the kernel's buffers, inputs then outputs (device pointers), in the
// order of KernelSpec::inputs/outputs:
//
// - Loop kernels: the CPU emitter's body (kernel_emitter.h), called for one parallel
//   index at a time from a grid-stride loop over the kernel's parallel space. A flat
//   (elementwise) kernel handles a block of kFlatVector (2 kFlatVector with costly
//   math) consecutive elements per iteration: all its loads first, as 128-bit vector
//   loads, then the math, then 128-bit stores; a remainder of the size is a scalar tail. A kernel with a contiguous
//   reduction (ir/reduce_order.h) runs a half warp (16 threads) per parallel index:
//   thread l accumulates the canonical order's partial sum l, warp shuffles combine the
//   16 in its fixed tree, so results are bitwise the CPU backend's. Any other kernel
//   with inner loops runs one thread per parallel index (an output row), with the
//   interpreter's sequential order.
// - MatMul kernels: a shared-memory tiled GEMM (nvptx_gemm.cpp), 64x64 tiles of C per
//   256-thread block, 4x4 outputs per thread, each C element one fma chain over k
//   ascending from +0 (the interpreter's order), with the fused bias + ReLU epilogue.
//   With GpuOptions::tf32, f32 products run on the tensor cores (mma.sync, TF32).
//
// Math: exp, log, pow and tanh become calls of libdevice (`__nv_expf`, ...), linked from
// GpuOptions::libdevice and internalized; MathMode::Vector keeps the project's own f32
// approximations (no libdevice needed for f32 exp/log/tanh/sigmoid).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "codegen/emit.h"
#include "codegen/kernel_plan.h"
#include "codegen/options.h"
#include "ir/diagnostic.h"
#include "ir/ir.h"

namespace dlc {

/// Elements per grid-stride iteration of a flat kernel whose extent is a multiple of it.
inline constexpr int64_t kFlatVector = 4;
/// Threads per block of Loop kernels and of the GEMM.
inline constexpr int kGpuBlockThreads = 256;
/// The GEMM's tile of C per block (rows x columns).
inline constexpr int64_t kGemmTileM = 64, kGemmTileN = 64;

/// What the NVPTX backend generates for.
struct GpuOptions {
  /// The GPU architecture (`sm_90` for H100/H200, `sm_80` for A100, ...).
  std::string arch = "sm_90";
  /// libdevice bitcode; empty: findLibdevice().
  std::string libdevice;
  /// Flush f32 denormals to zero (`.ftz`), the CPU backend's default; false: IEEE.
  bool flushDenormals = true;
  /// Elements per grid-stride iteration of flat kernels (a power of two up to 16);
  /// 0: kFlatVector, 2 kFlatVector for kernels with costly math (exp, tanh, division).
  int64_t flatElements = 0;
  /// f32 GEMMs on the tensor cores: operands rounded to TF32 (cvt.rna.tf32.f32, 10-bit
  /// mantissa), products accumulated in f32 by mma.sync m16n8k8 (sm_80 and newer). Not
  /// bitwise the CPU's: each product has a relative error up to ~2^-10 (both operands
  /// rounded to nearest at 2^-11), so |C - C_cpu| <= ~2^-10 sum_k |a_ik b_kj| plus f32
  /// accumulation. Off by default (strict f32).
  bool tf32 = false;
};

/// $DLC_LIBDEVICE, else $CUDA_HOME/nvvm/libdevice/libdevice.10.bc, else
/// /usr/local/cuda/nvvm/libdevice/libdevice.10.bc, if the file exists; else empty.
std::string findLibdevice();

/// How one kernel is launched.
struct GpuLaunch {
  std::string name;  ///< the `.entry` symbol
  /// Grid-stride kernels: iterations of the loop (each thread takes iterations
  /// tid, tid + gridThreads, ...); the runtime picks the grid. 0: nothing to do.
  int64_t iterations = 0;
  /// Consecutive iterations (threads) that share one parallel index: kReduceLanes for
  /// Loop kernels with contiguous reductions (a half warp per row), else 1.
  int threadsPerIndex = 1;
  /// Flat kernels: elements per iteration (loaded, computed, stored as a block), and the
  /// elements past the last whole block, one each for the first `tail` threads.
  int64_t elementsPerIteration = 1, tail = 0;
  /// The GEMM: a fixed grid (x: column tiles, y: row tiles, z: batch).
  bool fixedGrid = false;
  int64_t grid[3] = {1, 1, 1};
  int block = kGpuBlockThreads;
};

/// A plan's kernels as one PTX module.
struct PtxModule {
  std::string ptx;
  std::vector<GpuLaunch> launches;  ///< one per KernelSpec, in order
  bool usesLibdevice = false;
};

/// Generates PTX for \p kernels (whose nodes are only read during the call).
Expected<PtxModule> compileToPtx(std::span<const KernelSpec> kernels, const CodegenOptions &opts,
                                 const GpuOptions &gpu);

/// `dlc emit --target=cuda`: the kernels of \p f as NVPTX LLVM IR (as generated or
/// optimized) or PTX (EmitKind::Assembly).
Expected<std::string> emitGpuKernels(const Function &f, EmitKind kind, const CodegenOptions &opts,
                                     const GpuOptions &gpu, const KernelPlanOptions &plan = {});

}  // namespace dlc
