//===- codegen/kernel_plan.h - kernels: groups of nodes with one loop domain ===//
//
// The backend's unit of code is a kernel: a group of nodes that share one loop domain
// and become one LLVM function with the ABI
//
//     void kernel(void **buffers, int64_t begin, int64_t end);
//
// `buffers` holds one pointer per kernel input, then one per output; [begin, end) is a
// chunk of the kernel's parallel index space (the first `parallelDims` dims of the
// domain, flattened row-major). Every output element is computed by exactly one chunk,
// in a fixed order, so results do not depend on how the runtime splits the space or on
// the number of threads.
//
// With KernelPlanOptions::fuse the groups come from the fusion planner (passes/fuse.h);
// without it every node is its own kernel. The plan is LLVM-free so that the runtime
// and tools can inspect it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "ir/diagnostic.h"
#include "ir/ir.h"

namespace dlc {

/// How a kernel's body is generated.
enum class KernelKind : uint8_t {
  /// One loop nest over the domain; each output element comes from the elemental
  /// generators of the group's nodes (elementwise ops, data movement, reductions,
  /// convolutions and pooling: every op has one).
  Loop,
  /// The matrix multiply, the first of `nodes`. f32: the generated GEMM (codegen/gemm.h);
  /// fused, the other nodes are its epilogue (KernelSpec::gemmBias). The domain is
  /// [batch, tilesM, tilesN] of the tiling in codegen/gemm_plan.h, all parallel, one tile
  /// per chunk. Other dtypes: the domain is the output, its rows parallel, each row
  /// accumulating over k ascending into a vectorized row of C.
  MatMul,
  /// A convolution (conv2d or one of its gradients, f32) on the direct kernels of
  /// codegen/conv_direct.cpp; the domain is the parallel space of codegen/conv_plan.h,
  /// all parallel, one unit per index.
  Conv,
  /// Independent Loop kernels in one launch (horizontal fusion, passes/fuse.h): `parts`.
  /// The parallel index space is the concatenation of the parts' chunks -- domain
  /// [sum over the parts of their chunk counts], chunk 1 -- so index i is one chunk of one
  /// part, computed by that part's own loop nest over its own domain.
  Horizontal,
};

/// The iteration space of a kernel.
struct LoopDomain {
  /// The iteration shape: the root's shape, or [numElements] when `flat`.
  Shape shape;
  /// The leading dims of `shape` that form the parallel index space.
  int parallelDims = 1;
  /// The domain walks the root's elements by their row-major linear index (every access
  /// of the group is linear), so the innermost loop runs over [begin, end) directly.
  bool flat = true;

  /// Size of the parallel index space: the product of the leading `parallelDims` dims.
  int64_t parallelExtent() const;
  /// Iterations inside one parallel index (product of the remaining dims).
  int64_t innerExtent() const;
};

/// One kernel of a function's schedule.
struct KernelSpec {
  /// Readable and stable: `<mnemonic>_<node index>` for one-node kernels (`add_3`),
  /// `fused_<ops>_<index of the last member>` for fused ones (`fused_sub_exp_7`).
  std::string name;
  KernelKind kind = KernelKind::Loop;
  /// The group, in program order. One node: the last is the root, whose result is
  /// written; a fused group writes `outputs`, which may be several of its nodes.
  std::vector<const Node *> nodes;
  /// Values read from memory, in buffer order (buffers[0 .. inputs.size())).
  std::vector<const Value *> inputs;
  /// Values written, in buffer order after the inputs.
  std::vector<const Value *> outputs;
  LoopDomain domain;
  /// Parallel indices per chunk: fixed by the shapes alone, never by the thread count.
  int64_t chunk = 1;
  /// Fused kernels only. Members computed once per parallel index, before the inner
  /// loops (a softmax row's max and sum; the emitter runs the contiguous reductions that
  /// do not read each other in one loop); their shape is the domain's parallel dims, and
  /// every read of them in the group is at the current index.
  std::vector<const Node *> hoisted;
  /// Fused kernels only. Members of the domain's full shape computed for a whole row
  /// (the inner dims of one parallel index) into a stack buffer by a vectorizable loop,
  /// in dependence order with `hoisted`, then read from it: an expensive value read by
  /// several passes over the row (softmax's exp).
  std::vector<const Node *> rowBuffered;
  /// Fused kernels only. One-element members read at every index (a bias-correction
  /// scalar), computed once at the start of the kernel.
  std::vector<const Node *> invariant;
  /// Per input: read only at the index being written, before any output of that index is
  /// stored (a flat kernel's inputs of the domain's size; in a kernel whose parallel
  /// dims are its whole domain, the inputs read once per index). The memory planner
  /// may write an output of the same size over such an input in place.
  std::vector<bool> inputsAligned;

  /// MatMul kernels fused with their bias + ReLU consumers (passes/fuse.h): the GEMM's
  /// epilogue adds `gemmBias` ([N], one value per column; nullptr: none) to each row,
  /// then takes max(x, 0) when `gemmRelu`, and writes the result, the last of `nodes`.
  /// The product itself (`nodes.front()`) is written too when it is among `outputs`.
  const Value *gemmBias = nullptr;
  bool gemmRelu = false;
  /// MatMul kernels fused with a whole elementwise loop group reading the product
  /// (FusionGroup::gemmLoop: a weight's optimizer update, a ReLU backward mask): once a
  /// micro-kernel's block of C has its full K sum, the other nodes are computed at each of
  /// its elements by the elemental generators, reading the product there, and write
  /// `outputs` (`invariant`: one-element members computed once per call). The product is
  /// among `outputs` when something else reads it or C needs several K blocks; else it
  /// is never stored (the block stays on the stack).
  bool gemmLoop = false;
  /// CPU flat Loop kernels whose every output is at least
  /// KernelPlanOptions::streamStoreBytes: the outputs are written with non-temporal
  /// (streaming) vector stores, which skip reading the destination's cache lines and
  /// leave the caches to the inputs (flat_loop.cpp, docs/codegen.md "Streaming
  /// stores"). The chunk is then a multiple of kStreamChunkAlign. Only where the stores
  /// go, never what is stored: results are unchanged.
  bool streamStores = false;
  /// CPU flat Loop kernels whose full-size inputs and outputs add up to at least
  /// KernelPlanOptions::prefetchBytes: the loop runs in blocks, each of which first
  /// prefetches every stream a fixed distance ahead -- the inputs only where the outputs
  /// are streamed (flat_loop.cpp, docs/codegen.md "Prefetching flat loops"). Results
  /// are unchanged.
  bool prefetch = false;
  /// CPU flat Loop kernels with costly math (kCostly: exp, log, tanh, division, ...)
  /// over at least KernelPlanOptions::interleaveFrom elements: the vector loop runs
  /// this many vector iterations at once (llvm.loop.interleave.count; 0: LLVM's own
  /// choice, which is 1 for such bodies), so that the long dependence chains of
  /// independent elements overlap (flat_loop.cpp, docs/codegen.md "Interleaved flat
  /// loops"). Each element is computed alone, as before: results are unchanged.
  int interleave = 0;

  /// Horizontal kernels: the parts, each a complete Loop kernel. `nodes`, `inputs` and
  /// `outputs` are the union of theirs (a value two parts read is one input); an input is
  /// aligned when one part alone reads it and reads it aligned.
  std::vector<KernelSpec> parts;
  /// Horizontal kernels: the part writing \p out (-1 when none does).
  int partWriting(const Value *out) const;
  /// Horizontal kernels: true when part \p p reads \p in.
  bool partReads(size_t p, const Value *in) const;

  const Node &root() const { return *nodes.back(); }
  /// The matrix multiply of a MatMul kernel.
  const Node &matmul() const { return *nodes.front(); }
  size_t numBuffers() const { return inputs.size() + outputs.size(); }
};

struct KernelPlanOptions {
  /// A reshape shares its operand's storage (no kernel) instead of copying it.
  bool aliasReshapes = true;
  /// When > 0, every kernel uses chunks of this many parallel indices (tests use it to
  /// check that results do not depend on the partition).
  int64_t forceChunk = 0;
  /// Group nodes into fused kernels (passes/fuse.h). false: one kernel per IR op, the
  /// `--unfused` mode of the tools. Both give bitwise-equal results in strict mode.
  bool fuse = true;
  /// f32 stride-1 convolutions and tiling max-pool gradients on the direct kernels
  /// (KernelKind::Conv, codegen/conv_plan.h). false: the elemental generators, as the GPU
  /// lowering needs (it has no direct conv kernels).
  bool directConv = true;
  /// Independent update kernels as one horizontal kernel (KernelKind::Horizontal).
  bool horizontal = true;
  /// GEMM kernels may take an elementwise loop group reading their product as their
  /// epilogue (KernelSpec::gemmLoop).
  bool gemmLoopEpilogue = true;
  /// Flat Loop kernels whose every output has at least this many bytes use streaming
  /// stores (KernelSpec::streamStores) where no output is written in place over an
  /// input; 0: never. `dlc bench|emit --stream-stores-from=MiB`. The default, 32 MiB, is
  /// the size from which a plain copy gained from them on the 2-core VM of
  /// BENCHMARKS.md. Without prefetching, W3's fused GELU lost from them (the stores held
  /// the fill buffers its loads' misses waited for); with its input prefetched it gains
  /// ~30 % (docs/codegen.md, "Streaming stores"). Tests lower it to reach the path at
  /// small sizes; the GPU lowering turns it off.
  int64_t streamStoreBytes = int64_t{32} << 20;
  /// Flat Loop kernels whose full-size inputs and outputs add up to at least this many
  /// bytes prefetch them ahead (KernelSpec::prefetch); 0: never. The default, 8 MiB, is
  /// twice the two cores' L2: smaller streams mostly hit the caches, where the
  /// prefetches would only take load slots. `dlc bench|emit --prefetch-from=MiB`.
  int64_t prefetchBytes = int64_t{8} << 20;
  /// KernelSpec::interleave of flat kernels with costly math over at least
  /// interleaveFrom elements; 0 or 1: LLVM's choice everywhere. The default, 8 vector
  /// iterations, took W3's GELU backward from 6.8 to 5.3 ms (AVX-512; AVX2 10.3 to 7.2)
  /// on the 2-core VM of BENCHMARKS.md, and smaller kernels are left alone for compile
  /// time. `dlc bench|emit --interleave=N`.
  int flatInterleave = 8;
  int64_t interleaveFrom = int64_t{1} << 14;
};

/// Parallel indices of a streaming kernel's chunk are a multiple of this (16 f32, one
/// 64-byte vector), so that each chunk starts on a vector boundary of its outputs.
inline constexpr int64_t kStreamChunkAlign = 16;
/// Parallel indices of a streaming kernel's chunk, at least: each chunk ends with an
/// sfence, which waits until the chunk's streamed lines have left the core.
inline constexpr int64_t kStreamMinChunk = 65536;
/// Output alignment a streaming kernel checks for before it streams (an AVX-512 vector).
inline constexpr int64_t kStreamAlignBytes = 64;

/// The kernel schedule of a function, in program order.
struct KernelPlan {
  std::vector<KernelSpec> kernels;
  /// (value, storage owner): `value` needs no kernel; it is `owner`'s bytes, reinterpreted.
  /// An owner may itself alias an earlier value (a reshape of a reshape).
  std::vector<std::pair<const Value *, const Value *>> aliases;
};

/// Splits \p f into kernels: fused groups, or one per node. \p f must be verified.
KernelPlan planKernels(const Function &f, const KernelPlanOptions &opts = {});

/// \p o as the GPU lowering (codegen/nvptx.h) needs it: no direct convolution kernels
/// (CPU code), no horizontal kernels (no NVPTX lowering yet: one launch per part) and no
/// GEMM loop epilogues (the NVPTX GEMM applies bias + ReLU only).
KernelPlanOptions gpuPlanOptions(KernelPlanOptions o);

struct GemmTiling;
/// The tiling of the generated GEMM for \p matmul (a matmul node).
GemmTiling gemmTilingOf(const Node &matmul);
/// True when \p k is a MatMul kernel generated by the f32 GEMM (the tiled domain).
bool isGemmKernel(const KernelSpec &k);
/// True when \p n is a reduce_sum or reduce_max of every axis of its operand but one,
/// not contiguous (a bias gradient: [R, N] over the rows, [B, C, H, W] over all but the
/// channels). A Loop kernel over the kept axis sums it across a chunk of columns at once
/// (row_steps.cpp), so its chunks hold at least a vector of columns.
bool isColumnReduction(const Node &n);

/// The one-node kernel of \p n, the \p nodeIndex-th node of its function.
KernelSpec makeNodeKernel(const Node &n, size_t nodeIndex, bool directConv = true);

}  // namespace dlc
