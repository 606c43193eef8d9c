//===- codegen/kernel_plan.cpp - kernels: groups of nodes with one loop domain ===//
//
// Chooses each kernel's loop domain and chunk size. A domain is flat (the root's
// elements by linear index) when every access of the group is the same linear index;
// otherwise it is the root's shape with all but the last dim parallel. The chunk size
// aims at a fixed amount of work per chunk, computed from the shapes only.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernel_plan.h"

#include <algorithm>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "passes/fuse.h"

#include "codegen/conv_plan.h"
#include "codegen/gemm_plan.h"
#include "ir/reduce_order.h"

namespace dlc {
namespace {

/// Work per chunk that amortizes the dispatch of a chunk (~ a few microseconds).
constexpr int64_t kTargetChunkWork = int64_t{1} << 15;
constexpr int64_t kRowsPerPrefetchChunk = 8;
/// Columns per chunk of a kernel with column reductions, at least: one AVX-512 vector.
constexpr int64_t kColumnChunk = 16;

int64_t product(const Shape &s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) p *= s[i];
  return p;
}

/// True when output element i of \p n reads only element i of each operand (or an
/// operand with one element): the node can run over a flat domain.
bool isLinearAccess(const Node &n) {
  switch (n.kind()) {
  case OpKind::Constant:
  case OpKind::Neg:
  case OpKind::Abs:
  case OpKind::Sign:
  case OpKind::Exp:
  case OpKind::Log:
  case OpKind::Tanh:
  case OpKind::Sigmoid:
  case OpKind::Sqrt:
  case OpKind::Rsqrt:
  case OpKind::Cast:
  case OpKind::StopGradient:
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Max:
  case OpKind::Min:
  case OpKind::Pow:
  case OpKind::Compare:
  case OpKind::Select:
  case OpKind::Reshape:
    return true;
  case OpKind::Broadcast: {
    // Inserting size-1 dims keeps the row-major order; a one-element operand is a splat.
    int64_t in = n.operand(0)->type().numElements();
    return in == 1 || in == n.type().numElements();
  }
  case OpKind::Iota:
  case OpKind::Transpose:
  case OpKind::Slice:
  case OpKind::Concat:
  case OpKind::Pad:
  case OpKind::ReduceSum:
  case OpKind::ReduceMax:
  case OpKind::MatMul:
  case OpKind::Conv2d:
  case OpKind::Conv2dInputGrad:
  case OpKind::Conv2dFilterGrad:
  case OpKind::MaxPool2d:
  case OpKind::MaxPool2dGrad:
  case OpKind::AvgPool2d:
  case OpKind::AvgPool2dGrad:
  case OpKind::OneHot:
    return false;
  }
  DL_UNREACHABLE("covered switch");
}

/// Rough arithmetic per output element of \p n, for chunk sizing only.
int64_t workPerElement(const Node &n) {
  const int64_t out = std::max<int64_t>(1, n.type().numElements());
  switch (n.kind()) {
  case OpKind::ReduceSum:
  case OpKind::ReduceMax:
    return std::max<int64_t>(1, n.operand(0)->type().numElements() / out);
  case OpKind::MatMul: {
    const Shape &a = n.operand(0)->shape();
    bool ta = n.attrsAs<MatMulAttrs>().transposeA;
    return std::max<int64_t>(1, ta ? a[a.size() - 2] : a.back());
  }
  case OpKind::Conv2d: {
    const Shape &w = n.operand(1)->shape();
    return std::max<int64_t>(1, w[1] * w[2] * w[3]);
  }
  case OpKind::Conv2dInputGrad: {
    const Shape &w = n.operand(1)->shape();
    return std::max<int64_t>(1, w[0] * w[2] * w[3]);
  }
  case OpKind::Conv2dFilterGrad: {
    const Shape &dy = n.operand(1)->shape();
    return std::max<int64_t>(1, dy[0] * dy[2] * dy[3]);
  }
  case OpKind::MaxPool2d:
  case OpKind::AvgPool2d:
  case OpKind::AvgPool2dGrad: {
    const auto &a = n.attrsAs<PoolAttrs>();
    return std::max<int64_t>(1, a.window[0] * a.window[1]);
  }
  case OpKind::MaxPool2dGrad: {  // every covering window recomputes its argmax
    const auto &a = n.attrsAs<PoolAttrs>();
    int64_t win = a.window[0] * a.window[1];
    return std::max<int64_t>(1, win * win);
  }
  case OpKind::Constant:
  case OpKind::Iota:
  case OpKind::Neg:
  case OpKind::Abs:
  case OpKind::Sign:
  case OpKind::Exp:
  case OpKind::Log:
  case OpKind::Tanh:
  case OpKind::Sigmoid:
  case OpKind::Sqrt:
  case OpKind::Rsqrt:
  case OpKind::Cast:
  case OpKind::StopGradient:
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Max:
  case OpKind::Min:
  case OpKind::Pow:
  case OpKind::Compare:
  case OpKind::Select:
  case OpKind::Broadcast:
  case OpKind::Reshape:
  case OpKind::Transpose:
  case OpKind::Slice:
  case OpKind::Concat:
  case OpKind::Pad:
  case OpKind::OneHot:
    return 1;
  }
  DL_UNREACHABLE("covered switch");
}

}  // namespace

int64_t LoopDomain::parallelExtent() const {
  return product(shape, 0, static_cast<size_t>(parallelDims));
}

int64_t LoopDomain::innerExtent() const {
  return product(shape, static_cast<size_t>(parallelDims), shape.size());
}

GemmTiling gemmTilingOf(const Node &matmul) {
  const Shape &a = matmul.operand(0)->shape(), &c = matmul.type().shape;
  const size_t r = c.size();
  const bool ta = matmul.attrsAs<MatMulAttrs>().transposeA;
  return planGemmTiling(product(c, 0, r - 2), c[r - 2], c[r - 1], ta ? a[r - 2] : a[r - 1]);
}

bool isGemmKernel(const KernelSpec &k) {
  return k.kind == KernelKind::MatMul && k.matmul().kind() == OpKind::MatMul && k.matmul().type().dtype == DType::F32;
}

bool isColumnReduction(const Node &n) {
  if (n.kind() != OpKind::ReduceSum && n.kind() != OpKind::ReduceMax) return false;
  const std::vector<int64_t> &axes = n.attrsAs<ReduceAttrs>().axes;
  const Shape &x = n.operand(0)->shape();
  return axes.size() + 1 == x.size() && !isContiguousReduction(x, axes);
}

KernelSpec makeNodeKernel(const Node &n, size_t nodeIndex, bool directConv) {
  KernelSpec k;
  k.name = fmt::format("{}_{}", n.mnemonic(), nodeIndex);
  k.kind = n.kind() == OpKind::MatMul ? KernelKind::MatMul : KernelKind::Loop;
  k.nodes = {&n};
  for (const Value *v : n.operands())
    if (std::find(k.inputs.begin(), k.inputs.end(), v) == k.inputs.end()) k.inputs.push_back(v);
  k.outputs = {n.result()};

  const Shape &out = n.type().shape;
  if (k.kind == KernelKind::Loop && (out.size() <= 1 || isLinearAccess(n))) {
    k.domain = LoopDomain{{n.type().numElements()}, 1, true};
  } else {
    // Rows: every dim but the last is parallel. MatMul's output has rank >= 2.
    k.domain = LoopDomain{out, static_cast<int>(out.size()) - 1, false};
  }
  for (const Value *v : k.inputs)
    k.inputsAligned.push_back(k.domain.flat && v->type().numElements() == n.type().numElements());
  const int64_t unitWork =
      std::max<int64_t>(1, k.domain.innerExtent()) * workPerElement(n);
  k.chunk = std::max<int64_t>(1, kTargetChunkWork / unitWork);
  if (isGemmKernel(k)) {
    // The generated GEMM: one parallel index per tile of C (gemm_plan.h), one tile a chunk.
    const GemmTiling t = gemmTilingOf(n);
    k.domain = LoopDomain{{t.batch, t.tilesM, t.tilesN}, 3, false};
    k.chunk = 1;
  }
  if (Shape conv = directConv ? directConvDomain(n) : Shape{}; !conv.empty()) {
    k.kind = KernelKind::Conv;
    k.domain = LoopDomain{conv, static_cast<int>(conv.size()), false};
    k.inputsAligned.assign(k.inputs.size(), false);
    // Convolutions: a unit is a lot of work. Pooling: a plane, a few kB.
    k.chunk = n.kind() == OpKind::MaxPool2dGrad
                  ? std::max<int64_t>(1, kTargetChunkWork / std::max<int64_t>(1, out[2] * out[3]))
                  : 1;
  }
  return k;
}

namespace {

/// Stack bytes a fused kernel may use for row buffers.
constexpr int64_t kMaxRowBufferBytes = 64 * 1024;

/// Elementwise ops worth computing once per row instead of once per read.
bool isExpensiveMember(const Node &n) {
  static constexpr OpKind kExpensive[] = {OpKind::Exp,  OpKind::Log,   OpKind::Tanh, OpKind::Sigmoid,
                                          OpKind::Sqrt, OpKind::Rsqrt, OpKind::Div,  OpKind::Pow};
  return std::find(std::begin(kExpensive), std::end(kExpensive), n.kind()) != std::end(kExpensive);
}

/// The one-element members of a kernel over \p total elements that it computes once,
/// before its loops (KernelSpec::invariant), in order: those \p eligible accepts (by
/// index) whose operands are arguments, values from outside \p nodes, or invariant
/// themselves. None when the kernel has a single element anyway.
static std::vector<const Node *> oneElementInvariants(const std::vector<const Node *> &nodes, int64_t total,
                                                      const std::function<bool(size_t)> &eligible) {
  std::vector<const Node *> out;
  if (total <= 1) return out;
  const std::unordered_set<const Node *> members(nodes.begin(), nodes.end());
  std::unordered_set<const Node *> invariant;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node *n = nodes[i];
    bool ok = n->type().numElements() == 1 && eligible(i);
    for (const Value *v : n->operands())
      if (ok && !v->isArgument() && members.count(v->def()) && !invariant.count(v->def())) ok = false;
    if (ok) {
      invariant.insert(n);
      out.push_back(n);
    }
  }
  return out;
}

/// The kernel of a fused group (two or more nodes).
KernelSpec makeFusedKernel(const FusionGroup &g) {
  KernelSpec k;
  k.name = g.name;
  k.kind = KernelKind::Loop;
  k.nodes = g.nodes;
  k.inputs = g.inputs;
  k.outputs = g.outputs;

  const int64_t total = product(g.shape, 0, g.shape.size());
  bool flat = true;
  for (const Node *n : g.nodes) {
    const int64_t count = n->type().numElements();
    if (!isLinearAccess(*n) || (count != total && count != 1)) flat = false;
  }
  // One-element members read everywhere (not row values, not reductions) are computed
  // once at the start of the kernel, as are those they are built from.
  k.invariant = oneElementInvariants(g.nodes, total, [&](size_t i) {
    const Node *n = g.nodes[i];
    return g.access[i] != FuseAccess::Row && n->kind() != OpKind::ReduceSum && n->kind() != OpKind::ReduceMax;
  });
  const std::unordered_set<const Node *> invariant(k.invariant.begin(), k.invariant.end());
  int64_t reduceWork = 0;
  if (flat) {
    k.domain = LoopDomain{{total}, 1, true};
  } else {
    k.domain = LoopDomain{g.shape, g.parallelDims, false};
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node *n = g.nodes[i];
      if (g.access[i] != FuseAccess::Row || invariant.count(n)) continue;
      k.hoisted.push_back(n);
      if (n->kind() == OpKind::ReduceSum || n->kind() == OpKind::ReduceMax)
        reduceWork += n->operand(0)->type().numElements() / std::max<int64_t>(1, n->type().numElements());
    }
    // Row buffers (small rows only: they live on the kernel's stack): the expensive
    // members (softmax's exp), each computed once per row and read by every pass over
    // it. A cheap operand of a row reduction is computed inside the reduction's loop,
    // which the canonical order vectorizes as it is (a buffer would cost a store and a
    // load per element and a pass of its own over the row).
    const int64_t inner = k.domain.innerExtent();
    int64_t bufferBytes = 0;
    for (size_t i = 0; i < g.nodes.size() && inner > 1; ++i) {
      const Node *n = g.nodes[i];
      const int64_t bytes = inner * n->type().numBytes() / std::max<int64_t>(1, n->type().numElements());
      if (g.access[i] != FuseAccess::Full || !isExpensiveMember(*n) ||
          bufferBytes + bytes > kMaxRowBufferBytes)
        continue;
      k.rowBuffered.push_back(n);
      bufferBytes += bytes;
    }
  }
  for (size_t i = 0; i < k.inputs.size(); ++i)
    k.inputsAligned.push_back(flat ? k.inputs[i]->type().numElements() == total
                                   : g.parallelDims == static_cast<int>(g.shape.size()) &&
                                         g.inputAccess[i] == FuseAccess::Row);
  const int64_t unitWork = std::max<int64_t>(1, k.domain.innerExtent()) * static_cast<int64_t>(g.nodes.size()) +
                           reduceWork * 4;
  k.chunk = std::max<int64_t>(1, kTargetChunkWork / unitWork);
  // Column reductions are vectorized across a chunk's columns: a chunk of one channel ran
  // its 50,000-element chain as scalar additions (W2's conv1 bias, 0.86 ms for the
  // horizontal kernel).
  if (!flat && g.parallelDims == 1 &&
      std::any_of(k.hoisted.begin(), k.hoisted.end(), [](const Node *n) { return isColumnReduction(*n); }))
    k.chunk = std::max(k.chunk, kColumnChunk);
  // Row kernels prefetch the next row during a row's reductions (loop_kernel.cpp):
  // several rows per chunk, so that the next row is mostly this thread's own.
  if (!flat && !k.hoisted.empty() && k.domain.parallelExtent() >= 64 * kRowsPerPrefetchChunk)
    k.chunk = std::max(k.chunk, kRowsPerPrefetchChunk);
  return k;
}

/// The kernel of a GEMM with its epilogue (FusionGroup::gemm): the matmul's tiled
/// domain, the epilogue's operands read from the group's inputs.
KernelSpec makeGemmEpilogueKernel(const FusionGroup &g, size_t matmulIndex) {
  KernelSpec k = makeNodeKernel(*g.gemm, matmulIndex);
  k.name = g.name;
  // The matmul first (the epilogue's bias broadcast or zero may precede it in program
  // order; none of them feeds it), the rest in program order, the chain's end last.
  k.nodes = {g.gemm};
  for (const Node *n : g.nodes)
    if (n != g.gemm && n != g.root) k.nodes.push_back(n);
  k.nodes.push_back(g.root);
  k.inputs = g.inputs;
  k.outputs = g.outputs;
  k.inputsAligned.assign(k.inputs.size(), false);  // tiles read A and B across rows
  DL_ASSERT(isGemmKernel(k), "a GEMM epilogue group is an f32 matmul's");
  if (!g.gemmLoop) {
    for (const Node *n : g.nodes) {
      if (n->kind() == OpKind::Broadcast) k.gemmBias = n->operand(0);
      if (n->kind() == OpKind::Max) k.gemmRelu = true;
    }
    return k;
  }
  k.gemmLoop = true;
  const Value *product = g.gemm->result();
  const int64_t total = product->type().numElements();
  // One-element members computed once per call, as in a loop kernel (makeFusedKernel).
  k.invariant = oneElementInvariants(k.nodes, total, [&](size_t i) { return k.nodes[i] != g.gemm; });
  // The epilogue reads its full-size inputs only at the element it writes, after the
  // product's K sum and before its own stores there: a result may be donated its
  // argument's buffer (an optimizer update writes p', m', v' over p, m, v).
  for (size_t i = 0; i < k.inputs.size(); ++i) {
    const Value *v = k.inputs[i];
    const bool gemmOperand = v == g.gemm->operand(0) || v == g.gemm->operand(1);
    k.inputsAligned[i] = !gemmOperand && v->type().numElements() == total;
  }
  // C accumulates in memory across K blocks: then the product has a buffer of its own.
  if (gemmTilingOf(*g.gemm).kBlocks > 1 && std::find(k.outputs.begin(), k.outputs.end(), product) == k.outputs.end())
    k.outputs.insert(k.outputs.begin(), product);
  return k;
}

/// One launch over the chunks of \p parts (Loop kernels, independent of each other).
KernelSpec makeHorizontalKernel(const FusionGroup &g, std::vector<KernelSpec> parts) {
  KernelSpec k;
  k.name = g.name;
  k.kind = KernelKind::Horizontal;
  k.nodes = g.nodes;
  int64_t chunks = 0;
  for (const KernelSpec &p : parts) {
    DL_ASSERT(p.kind == KernelKind::Loop, "the parts of a horizontal kernel are loop kernels");
    chunks += (p.domain.parallelExtent() + p.chunk - 1) / p.chunk;
    for (const Value *v : p.inputs)
      if (std::find(k.inputs.begin(), k.inputs.end(), v) == k.inputs.end()) k.inputs.push_back(v);
    for (const Value *v : p.outputs) k.outputs.push_back(v);
  }
  // The root (whose emptiness the runtime checks) is the last node of the last part.
  if (k.nodes.back() != &parts.back().root()) {
    k.nodes.erase(std::find(k.nodes.begin(), k.nodes.end(), &parts.back().root()));
    k.nodes.push_back(&parts.back().root());
  }
  k.domain = LoopDomain{{chunks}, 1, true};
  k.chunk = 1;
  k.parts = std::move(parts);
  for (const Value *v : k.inputs) {
    int readers = 0;
    bool aligned = false;
    for (const KernelSpec &p : k.parts)
      for (size_t i = 0; i < p.inputs.size(); ++i)
        if (p.inputs[i] == v) {
          ++readers;
          aligned = p.inputsAligned[i];
        }
    k.inputsAligned.push_back(readers == 1 && aligned);
  }
  return k;
}

}  // namespace

int KernelSpec::partWriting(const Value *out) const {
  for (size_t p = 0; p < parts.size(); ++p)
    if (std::find(parts[p].outputs.begin(), parts[p].outputs.end(), out) != parts[p].outputs.end())
      return static_cast<int>(p);
  return -1;
}

bool KernelSpec::partReads(size_t p, const Value *in) const {
  return std::find(parts[p].inputs.begin(), parts[p].inputs.end(), in) != parts[p].inputs.end();
}

KernelPlanOptions gpuPlanOptions(KernelPlanOptions o) {
  o.directConv = false;
  o.horizontal = false;
  o.gemmLoopEpilogue = false;
  o.streamStoreBytes = 0;
  o.prefetchBytes = 0;
  o.flatInterleave = 0;
  return o;
}

namespace {

/// Decides KernelSpec::streamStores for a top-level kernel (horizontal parts keep
/// ordinary stores): a flat Loop kernel whose outputs are all large. A forced chunk is
/// kept (the emitter checks each chunk's alignment at run time and falls back to
/// ordinary stores); otherwise the chunk is rounded up to kStreamChunkAlign, and to at
/// least kStreamMinChunk, so that the sfence closing each chunk is rare.
void decideStreaming(KernelSpec &k, const KernelPlanOptions &opts) {
  if (opts.streamStoreBytes <= 0 || k.kind != KernelKind::Loop || !k.domain.flat || k.outputs.empty()) return;
  for (const Value *v : k.outputs)
    if (v->type().numBytes() < opts.streamStoreBytes) return;
  k.streamStores = true;
  if (opts.forceChunk <= 0)
    k.chunk = std::max(kStreamMinChunk, (k.chunk + kStreamChunkAlign - 1) / kStreamChunkAlign * kStreamChunkAlign);
}

/// Decides KernelSpec::prefetch for a top-level flat Loop kernel: its full-size operands
/// and results (broadcast operands excluded) are large.
void decidePrefetch(KernelSpec &k, const KernelPlanOptions &opts) {
  if (opts.prefetchBytes <= 0 || k.kind != KernelKind::Loop || !k.domain.flat) return;
  const int64_t total = k.root().type().numElements();
  int64_t bytes = 0;
  for (const std::vector<const Value *> *vs : {&k.inputs, &k.outputs})
    for (const Value *v : *vs)
      if (v->type().numElements() == total) bytes += v->type().numBytes();
  k.prefetch = bytes >= opts.prefetchBytes;
}

/// Decides KernelSpec::interleave for a top-level flat Loop kernel: costly math over
/// many elements.
void decideInterleave(KernelSpec &k, const KernelPlanOptions &opts) {
  if (opts.flatInterleave <= 1 || k.kind != KernelKind::Loop || !k.domain.flat ||
      k.domain.parallelExtent() < opts.interleaveFrom)
    return;
  if (std::any_of(k.nodes.begin(), k.nodes.end(), [](const Node *n) { return hasTrait(n->kind(), kCostly); }))
    k.interleave = opts.flatInterleave;
}

}  // namespace

KernelPlan planKernels(const Function &f, const KernelPlanOptions &opts) {
  KernelPlan plan;
  if (opts.fuse) {
    FusionPlan fp = planFusion(f, FusionOptions{opts.aliasReshapes, opts.horizontal, opts.gemmLoopEpilogue});
    std::unordered_map<const Node *, size_t> index;
    for (size_t i = 0; i < f.numNodes(); ++i) index[f.nodes()[i].get()] = i;
    auto kernelOf = [&](const FusionGroup &g) {
      KernelSpec k = g.gemm               ? makeGemmEpilogueKernel(g, index.at(g.gemm))
                     : g.nodes.size() == 1 ? makeNodeKernel(*g.nodes[0], index.at(g.nodes[0]), opts.directConv)
                                           : makeFusedKernel(g);
      if (opts.forceChunk > 0) k.chunk = opts.forceChunk;
      return k;
    };
    for (const FusionGroup &g : fp.groups) {
      if (g.parts.empty()) {
        plan.kernels.push_back(kernelOf(g));
        decideStreaming(plan.kernels.back(), opts);
        decidePrefetch(plan.kernels.back(), opts);
        decideInterleave(plan.kernels.back(), opts);
        continue;
      }
      // The parts keep their chunks (forced ones too); the horizontal kernel runs one
      // part chunk per parallel index.
      std::vector<KernelSpec> parts;
      for (const FusionGroup &p : g.parts) parts.push_back(kernelOf(p));
      plan.kernels.push_back(makeHorizontalKernel(g, std::move(parts)));
    }
    plan.aliases = std::move(fp.aliases);
    return plan;
  }
  for (size_t i = 0; i < f.numNodes(); ++i) {
    const Node &n = *f.nodes()[i];
    if (n.kind() == OpKind::Reshape && opts.aliasReshapes) {
      plan.aliases.emplace_back(n.result(), n.operand(0));
      continue;
    }
    plan.kernels.push_back(makeNodeKernel(n, i, opts.directConv));
    if (opts.forceChunk > 0) plan.kernels.back().chunk = opts.forceChunk;
    decideStreaming(plan.kernels.back(), opts);
    decidePrefetch(plan.kernels.back(), opts);
    decideInterleave(plan.kernels.back(), opts);
  }
  return plan;
}

}  // namespace dlc
