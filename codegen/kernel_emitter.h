//===- codegen/kernel_emitter.h - kernel -> LLVM function (internal) --------===//
//
// INTERNAL to codegen/: includes LLVM.
//
// A kernel becomes two LLVM functions:
//
//   define void @add_3(ptr %buffers, i64 %begin, i64 %end)        ; the ABI entry
//   define internal void @add_3.body(ptr noalias %in0, ..., ptr noalias %out0,
//                                    i64 %begin, i64 %end) alwaysinline
//
// The entry loads the buffer pointers and calls the body; once inlined, the body's
// `noalias` arguments become alias scopes, which lets LLVM vectorize without runtime
// overlap checks (Glow's stacked kernels do the same).
//
// The body is a loop nest over the kernel's LoopDomain. Each output element is computed
// by *elemental generators*, one per op (XLA's ElementalIrEmitter): `generate(v, index)`
// returns the IR value of element `index` of value `v`, either by loading it from v's
// buffer (a kernel input) or by running the generator of v's node, which in turn asks for
// the operand elements it needs. A fused group therefore needs no new code: its nodes'
// generators compose. Elementwise arithmetic goes through the one scalar emitter
// `emitScalar` (STYLE 2.10), which the NVPTX backend will share.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <functional>
#include <map>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include "codegen/gemm.h"
#include "codegen/kernel_plan.h"
#include "codegen/options.h"
#include "codegen/target.h"

namespace dlc::cg {

/// An element position in a tensor of shape `shape`: one i64 per dim, and/or the
/// row-major linear offset. At least one of the two is set (dims may be empty only for
/// rank 0 or when `linear` is set).
struct IrIndex {
  Shape shape;
  std::vector<llvm::Value *> dims;
  llvm::Value *linear = nullptr;
};

/// Product of s[from..to).
int64_t shapeProduct(const Shape &s, size_t from, size_t to);

/// The facts emitScalar needs besides the operands.
struct ScalarOp {
  OpKind kind;
  DType operandType;  ///< dtype of the (last) operand; select: of the branches
  DType resultType;
  CmpDir dir = CmpDir::Eq;  ///< compare only
  MathMode math = MathMode::Vector;
};

/// IR of one elementwise op on scalars \p x (i1 values are i8 0/1). Only elementwise
/// kinds are accepted (STYLE 2.10: the one `default` of codegen, guarded by the trait).
llvm::Value *emitScalar(llvm::IRBuilder<> &b, const ScalarOp &op, std::span<llvm::Value *const> x);

/// Vectorizable f32 approximations (vector_math.cpp) used by MathMode::Vector, the
/// default: the IR twins of ir/approx_math.h's reference functions.
llvm::Value *emitExpF32(llvm::IRBuilder<> &b, llvm::Value *x);
llvm::Value *emitLogF32(llvm::IRBuilder<> &b, llvm::Value *x);
llvm::Value *emitTanhF32(llvm::IRBuilder<> &b, llvm::Value *x);
llvm::Value *emitSigmoidF32(llvm::IRBuilder<> &b, llvm::Value *x);

/// The LLVM type that stores one element of \p d (i1 is stored as i8).
llvm::Type *storageType(llvm::LLVMContext &ctx, DType d);
/// \p v converted as HostTensor::setDouble does, as an LLVM constant of storageType(d).
llvm::Constant *constantOf(llvm::LLVMContext &ctx, DType d, double v);
/// -inf for floats, the lowest value for integers (the identity of max).
llvm::Constant *lowestOf(llvm::LLVMContext &ctx, DType d);

/// GPU Loop kernels (codegen/nvptx.cpp) whose rows are shared by kReduceLanes (16)
/// consecutive threads, a half warp: contiguous reductions run the canonical order of
/// ir/reduce_order.h across the lanes (lane l accumulates partial sum l, the elements
/// i = l mod 16, then the fixed tree by shuffles), the row's elementwise work and row
/// buffers are split over the lanes (element j by lane j mod 16), and per-row values
/// are stored by lane 0. The hooks emit the lane's index and the shuffles.
class LaneGroup {
 public:
  virtual ~LaneGroup() = default;
  /// This thread's lane in [0, kReduceLanes), as i64.
  virtual llvm::Value *lane(llvm::IRBuilder<> &b) = 0;
  /// \p v of lane (lane + offset) of the group; lanes past the group's end get their own.
  virtual llvm::Value *shuffleDown(llvm::IRBuilder<> &b, llvm::Value *v, int offset) = 0;
  /// \p v of the group's lane 0.
  virtual llvm::Value *fromFirstLane(llvm::IRBuilder<> &b, llvm::Value *v) = 0;
};

/// True when Loop kernel \p k has a contiguous reduction and can share each parallel
/// index among a LaneGroup: every contiguous reduction is generated once per index at
/// the top of the body (hoisted, an invariant, or reached from a per-index output only
/// through elementwise ops and index maps), never inside a loop or branch, so all lanes
/// run its shuffles together (loop_kernel.cpp).
bool sharesRows(const KernelSpec &k);
/// A reduce_sum or reduce_max over contiguous elements (ir/reduce_order.h).
bool isContiguousReduce(const Node &n);

/// How a vectorized KernelEmitter::forLoop asks LLVM's vectorizer (loop metadata).
struct LoopHints {
  /// false: llvm.loop.unroll.disable (a short constant trip count is vectorized
  /// instead of fully unrolled first), and the vector loop then llvm.loop.unroll.full:
  /// a block of kReduceLanes lanes is 1, 2 or 4 vector iterations, unrolled whatever
  /// the body's size, so that its accumulators can live in registers
  /// (llvm_support.cpp).
  bool unroll = true;
  /// > 1: llvm.loop.interleave.count (vector iterations at once).
  int interleave = 0;
  /// > 0: llvm.loop.vectorize.width (lanes), instead of the target's full width.
  int width = 0;
  /// llvm.loop.vectorize.predicate.enable: the tail is a masked vector iteration
  /// (also for every loop under setFoldTails).
  bool foldTail = false;
};

/// Emits one kernel into a module.
class KernelEmitter {
 public:
  KernelEmitter(llvm::Module &m, const KernelSpec &k, const TargetInfo &t, const CodegenOptions &o,
                LaneGroup *lanes = nullptr, int64_t flatBlock = 0);

  /// Emits the kernel; the entry function is called \p entryName, the body
  /// `<entryName>.body`. Returns the entry function.
  llvm::Function *emit(const std::string &entryName);

  // --- Services for the op emitters -------------------------------------------------
  llvm::IRBuilder<> &b() { return b_; }
  llvm::LLVMContext &ctx() { return m_.getContext(); }
  llvm::Module &module() { return m_; }
  const KernelSpec &kernel() const { return k_; }
  const TargetInfo &target() const { return target_; }
  llvm::Value *i64(int64_t v) { return b_.getInt64(static_cast<uint64_t>(v)); }
  /// The lane group sharing each parallel index (GPU), or nullptr (one thread).
  LaneGroup *lanes() const { return lanes_; }
  /// This thread's lane (i64) when lanes() is set.
  llvm::Value *laneIndex() const { return lane_; }
  /// `for (i = lane; i < n; i += kReduceLanes) body(i)`: this lane's share of [0, n).
  void forLaneStride(int64_t n, const std::function<void(llvm::Value *)> &body, const llvm::Twine &name);

  /// Element \p idx of \p v: loaded from its buffer, or generated by its node when the
  /// node belongs to the kernel's group.
  llvm::Value *generate(const Value *v, const IrIndex &idx);
  /// The per-dim indices of \p idx (divides the linear offset when only that is known).
  std::vector<llvm::Value *> dimsOf(const IrIndex &idx);
  /// The row-major linear offset of \p idx.
  llvm::Value *linearOf(const IrIndex &idx);
  /// Address of element \p idx of buffer value \p v (a kernel input or output).
  llvm::Value *elementPtr(const Value *v, const IrIndex &idx);
  /// The body argument that points at buffer value \p v.
  llvm::Value *buffer(const Value *v);
  /// Element \p linear (row-major) of \p v, which has \p v's shape.
  llvm::Value *generateAt(const Value *v, llvm::Value *linear) {
    return generate(v, IrIndex{v->shape(), {}, linear});
  }
  /// Elementwise op \p k on operands \p x of dtype \p t, through emitScalar.
  llvm::Value *scalar(OpKind k, DType t, std::span<llvm::Value *const> x) {
    return emitScalar(b_, ScalarOp{k, t, t}, x);
  }
  /// x + y and x * y with the interpreter's semantics for dtype \p t.
  llvm::Value *add(DType t, llvm::Value *x, llvm::Value *y) {
    llvm::Value *ops[] = {x, y};
    return scalar(OpKind::Add, t, ops);
  }
  llvm::Value *mul(DType t, llvm::Value *x, llvm::Value *y) {
    llvm::Value *ops[] = {x, y};
    return scalar(OpKind::Mul, t, ops);
  }
  /// acc + x * y of a contraction, as the interpreter's arithMulAdd: llvm.fma (one
  /// rounding) for floats, wrapping mul and add for integers. Works on vectors too.
  llvm::Value *mulAdd(DType t, llvm::Value *x, llvm::Value *y, llvm::Value *acc) {
    if (isFloat(t)) return b_.CreateIntrinsic(llvm::Intrinsic::fma, {x->getType()}, {x, y, acc});
    return add(t, acc, mul(t, x, y));
  }

  /// `for (iv = lo; iv < hi; ++iv) body(iv)`, as a guarded rotated loop. With
  /// \p vectorize, and if the body emitted no loop of its own, the latch carries
  /// llvm.loop.vectorize.enable and \p hints.
  void forLoop(llvm::Value *lo, llvm::Value *hi, const std::function<void(llvm::Value *)> &body,
               bool vectorize = false, const llvm::Twine &name = "i", const LoopHints &hints = {});
  /// Nested loops over [0, extents[d]) for each d, outermost first; body gets the ivs.
  void forNest(const std::vector<int64_t> &extents,
               const std::function<void(const std::vector<llvm::Value *> &)> &body);
  /// `if (cond) then()`.
  void ifThen(llvm::Value *cond, const std::function<void()> &then);
  /// A stack slot in the entry block (promoted to SSA registers by mem2reg/SROA).
  llvm::AllocaInst *entryAlloca(llvm::Type *t, const llvm::Twine &name);

  /// Vectorized loops fold their tail into masked vector iterations
  /// (llvm.loop.vectorize.predicate.enable) instead of a vector epilogue and a scalar
  /// remainder: a third of the code to compile. For the small loops of horizontal
  /// kernels on AVX-512, where masking is free (codegen/horizontal.cpp).
  void setFoldTails(bool on) { foldTails_ = on; }

  /// The epilogue of a MatMul kernel's GEMM (gemm.h), built by \p f when the body is
  /// emitted (so that it can use the body's buffers). Fusion sets it for bias + ReLU.
  void setGemmEpilogue(std::function<GemmEpilogue(KernelEmitter &)> f) { gemmEpilogue_ = std::move(f); }

 private:
  llvm::Value *generateNode(const Node &n, const IrIndex &idx);
  /// The body of a Loop kernel (loop_kernel.cpp), and its GPU flat blocks (flat_loop.cpp).
  void emitLoopBody(llvm::Value *begin, llvm::Value *end);
  void emitFlatBlock(llvm::Value *begin);
  /// The CPU loop of a flat kernel over [begin, end); \p element computes and stores the
  /// outputs at one linear index (flat_loop.cpp).
  void emitFlatLoop(llvm::Value *begin, llvm::Value *end, const std::function<void(llvm::Value *)> &element);
  /// The kernel streams its stores (KernelSpec::streamStores) here: a CPU body on x86.
  bool streams() const;
  /// A flat CPU loop over [begin, end) that prefetches its full-size streams ahead
  /// (KernelSpec::prefetch; flat_loop.cpp); false (nothing emitted) when the kernel
  /// does not prefetch.
  /// \p outputs: prefetch the outputs too (for writing); a streaming loop does not.
  bool emitPrefetchedFlatLoop(llvm::Value *begin, llvm::Value *end, const std::function<void(llvm::Value *)> &body,
                              bool outputs);
  /// The hoisted and buffered members of a row in the order they are computed: one step
  /// per member, or several contiguous row reductions run in one loop (CPU).
  std::vector<std::vector<const Node *>> rowSteps(const std::unordered_set<const Node *> &hoisted,
                                                  const std::unordered_set<const Node *> &buffered) const;
  /// The hoisted column reductions of a Loop kernel over [N] (every axis of the
  /// operand reduced but one of extent N: a bias gradient over [R, N]'s rows or over
  /// [B, N, H, W] but the channels) computed for a chunk of columns at once
  /// (row_steps.cpp), and their sums over columns [begin, end) (at most a chunk), each
  /// into a stack array.
  std::vector<const Node *> columnReductions() const;
  std::unordered_map<const Node *, llvm::AllocaInst *> preReduceColumns(const std::vector<const Node *> &nodes,
                                                                        llvm::Value *begin, llvm::Value *end);
  void emitMatMulBody(llvm::Value *begin, llvm::Value *end);
  void emitGemmLoopEpilogue(llvm::Value *begin, llvm::Value *end);
  llvm::Function *emitBlockEpilogueFunction(int64_t stride);
  llvm::Function *createBody(const std::string &name);
  void createEntry(const std::string &name, llvm::Function *body);
  void setTargetAttributes(llvm::Function *f);

  llvm::Module &m_;
  const KernelSpec &k_;
  const TargetInfo &target_;
  const CodegenOptions &opts_;
  llvm::IRBuilder<> b_;
  llvm::Function *fn_ = nullptr;                              ///< the body being emitted
  std::string entryName_;
  int loopCount_ = 0;  ///< loops emitted so far (a loop with none inside is innermost)
  bool foldTails_ = false;  ///< setFoldTails
  std::unordered_map<const Value *, llvm::Value *> buffers_;  ///< body argument per buffer
  std::unordered_map<const Value *, const Node *> inGroup_;   ///< value -> its group node
  std::function<GemmEpilogue(KernelEmitter &)> gemmEpilogue_;
  /// Values already computed for the current index: invariant members, and the hoisted
  /// row values of the current parallel index (KernelSpec::hoisted).
  std::unordered_map<const Value *, llvm::Value *> memo_;
  /// Row buffers of the current parallel index (KernelSpec::rowBuffered), and the
  /// row's linear base offset.
  std::unordered_map<const Value *, llvm::AllocaInst *> rowBuf_;
  llvm::Value *rowBase_ = nullptr;
  LaneGroup *lanes_ = nullptr;
  llvm::Value *lane_ = nullptr;
  /// GPU flat kernels (emitFlatBlock): elements per body call, and the input elements
  /// loaded up front, by buffer value and the linear index (IR value) they were read at.
  int64_t flatBlock_ = 0;
  std::map<std::pair<const Value *, llvm::Value *>, llvm::Value *> preloaded_;
};

// Elemental generators, one per non-elementwise op (elemental_data.cpp,
// elemental_nn.cpp). Each returns the IR of element `idx` of `n`'s result.
using Generator = llvm::Value *(KernelEmitter &e, const Node &n, const IrIndex &idx);
Generator generateBroadcast, generateReshape, generateTranspose, generateSlice, generateConcat,
    generatePad, generateOneHot, generateReduce, generateMatMul, generateConv2d,
    generateConv2dInputGrad, generateConv2dFilterGrad, generateMaxPool2d, generateMaxPool2dGrad,
    generateAvgPool2d, generateAvgPool2dGrad;

/// Contiguous reductions \p ns (ir/reduce_order.h) of one reduced length at output index
/// \p idx, in one loop over their operands (elemental_data.cpp): each keeps its own
/// accumulators and order, so each result has the bits it has alone. On a lane group,
/// one reduction only. \p perBlock, when set, is called at the start of every block of
/// kReduceLanes elements with the block's first offset (the row kernel's prefetches).
/// \p perElement, when set, is called at every element's offset before the reductions
/// read it (the row kernel fills a row buffer there that the reductions read).
std::vector<llvm::Value *> reduceContiguous(KernelEmitter &e, const std::vector<const Node *> &ns, const IrIndex &idx,
                                            const std::function<void(llvm::Value *)> &perBlock = {},
                                            const std::function<void(llvm::Value *)> &perElement = {});

/// Convolutions computed a row (the last dim) at a time (conv.cpp): conv2d and its input
/// and filter gradients.
bool isConvRowNode(const Node &n);
/// Fills \p row (the last dim of \p n's result) at parallel index \p outer (the other
/// dims) with the interpreter's per-element fma chains, vectorized across the row.
void emitConvRow(KernelEmitter &e, const Node &n, const std::vector<llvm::Value *> &outer, llvm::AllocaInst *row);

/// The body of a KernelKind::Conv kernel (conv_direct.cpp): convolution \p n over the
/// units [begin, end) of its direct domain (conv_plan.h).
void emitDirectConv(KernelEmitter &e, const Node &n, llvm::Value *begin, llvm::Value *end);
/// Its filter-gradient and max-pool-gradient kernels (conv_direct_grad.cpp).
void emitDirectFilterGrad(KernelEmitter &e, const Node &n, llvm::Value *begin, llvm::Value *end);
void emitDirectMaxPoolGrad(KernelEmitter &e, const Node &n, llvm::Value *begin, llvm::Value *end);

/// The entry of a KernelKind::Horizontal kernel and its parts' bodies (horizontal.cpp).
llvm::Function *emitHorizontalKernel(llvm::Module &m, const KernelSpec &k, const std::string &entryName,
                                     const TargetInfo &t, const CodegenOptions &o);

/// Emits kernel \p k into \p m (whose data layout and triple are set) as \p entryName.
/// With \p lanes (GPU, sharesRows(k)), kReduceLanes threads share each parallel index.
/// With \p flatBlock > 1 (GPU, a flat kernel; a power of two), each body call computes
/// the flatBlock elements [begin, begin + flatBlock), begin a multiple of flatBlock, in
/// three phases: every full-size input's elements of the block are loaded first (vector
/// loads of up to 16 bytes: buffers are 16-byte aligned), then every output element is
/// computed (the same per-element IR as one element at a time), then stored (vector
/// stores). `end` is then ignored.
llvm::Function *emitKernel(llvm::Module &m, const KernelSpec &k, const std::string &entryName,
                           const TargetInfo &t, const CodegenOptions &o, LaneGroup *lanes = nullptr,
                           int64_t flatBlock = 0);

}  // namespace dlc::cg
