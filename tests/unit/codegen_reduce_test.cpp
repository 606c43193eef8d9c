//===- tests/unit/codegen_reduce_test.cpp - contiguous reductions ------------===//
//
// Reductions whose elements are contiguous (the last axis, ...) follow the canonical
// 16-lane order of ir/reduce_order.h in the interpreter and the JIT: the JIT's results
// equal the interpreter's bitwise on every target and thread count (codegen_ops_test.cpp
// and the cases here), and its code is full-width vector code.
//
//===----------------------------------------------------------------------===//
#include <bit>
#include <cstring>
#include <limits>

#include "codegen/emit.h"
#include "codegen/kernel_plan.h"
#include "codegen/target.h"
#include "codegen_cases.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/reduce_order.h"

namespace dlc::test {
namespace {

/// Inputs with NaN, infinities, +-0, denormals and extremes in 5 % of the floats.
InputStyle withSpecials() {
  InputStyle style;
  style.special = 0.05;
  return style;
}

/// Runs the first function of \p m on \p inputs on every target and thread count
/// against the interpreter (checkJitCase).
void checkFirstFunction(const Module &m, std::string label, std::vector<HostTensor> inputs) {
  const Function &f = *m.functions().front();
  JitCase c;
  c.label = std::move(label);
  c.fn = cloneFunction(f, f.name());
  c.inputs = std::move(inputs);
  checkJitCase(c);
}

TEST(ContiguousReduce, Predicate) {
  const Shape s{4, 5, 1, 6};
  EXPECT_TRUE(isContiguousReduction(s, std::vector<int64_t>{3}));
  EXPECT_TRUE(isContiguousReduction(s, std::vector<int64_t>{2, 3}));
  EXPECT_TRUE(isContiguousReduction(s, std::vector<int64_t>{1, 3}));  // dim 2 has extent 1
  EXPECT_TRUE(isContiguousReduction(s, std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_FALSE(isContiguousReduction(s, std::vector<int64_t>{0}));
  EXPECT_FALSE(isContiguousReduction(s, std::vector<int64_t>{1}));
  EXPECT_FALSE(isContiguousReduction(s, std::vector<int64_t>{}));
  EXPECT_TRUE(isContiguousReduction(Shape{7, 1}, std::vector<int64_t>{0}));
}

TEST(ContiguousReduce, InterpreterFollowsTheCanonicalOrder) {
  // Rows of random lengths with values whose sum depends on the order.
  Rng r(5);
  for (int64_t len : {1, 2, 15, 16, 17, 31, 32, 33, 100, 1000}) {
    const Shape s{3, len};
    HostTensor x = r.tensor(f32(s), InputStyle{-1e6, 1e6, 0.02});
    for (OpKind k : {OpKind::ReduceSum, OpKind::ReduceMax}) {
      auto f = singleOp(k, {f32(s)}, ReduceAttrs{{1}});
      ASSERT_TRUE(f);
      Expected<std::vector<HostTensor>> got = interpret(*f, std::vector<HostTensor>{x});
      ASSERT_TRUE(got);
      for (int64_t row = 0; row < 3; ++row) {
        const float *p = x.data<float>().data() + row * len;
        const float want = k == OpKind::ReduceSum
                               ? reduceContiguous(p, len, 0.0f, [](float a, float b) { return a + b; })
                               : reduceContiguous(p, len, -std::numeric_limits<float>::infinity(), [](float a, float b) {
                                   if (std::isnan(a)) return a;
                                   if (std::isnan(b)) return b;
                                   return a < b ? b : a;
                                 });
        const float g = (*got)[0].data<float>()[row];
        EXPECT_TRUE(std::memcmp(&g, &want, 4) == 0 || (std::isnan(g) && std::isnan(want)))
            << mnemonic(k) << " of length " << len << ": " << g << " vs " << want;
      }
    }
  }
}

TEST(ContiguousReduce, MaxKeepsTheCanonicalTieAndNanChoice) {
  // +0 and -0 tie: the canonical order decides which one is returned, on every target.
  std::vector<float> v(40, -0.0f);
  for (size_t i = 3; i < v.size(); i += 5) v[i] = 0.0f;
  JitCase c;
  c.label = "reduce_max ties";
  c.fn = singleOp(OpKind::ReduceMax, {f32({2, 20})}, ReduceAttrs{{1}});
  c.inputs = {HostTensor::fromVector<float>({2, 20}, v)};
  checkJitCase(c);
  // Two NaNs with different payloads in one row: the same one wins everywhere.
  v[5] = std::bit_cast<float>(0x7FC00001u);
  v[18] = std::bit_cast<float>(0xFFC00002u);
  JitCase d;
  d.label = "reduce_max NaN payloads";
  d.fn = singleOp(OpKind::ReduceMax, {f32({2, 20})}, ReduceAttrs{{1}});
  d.inputs = {HostTensor::fromVector<float>({2, 20}, v)};
  checkJitCase(d);
}

TEST(ContiguousReduce, VectorizesAtFullWidth) {
  for (const TestTarget &t : testTargets()) {
    Expected<TargetInfo> info = resolveTarget(t.opts);
    ASSERT_TRUE(info);
    const std::string vec = fmt::format("<{} x float>", info->vectorBits / 32);
    for (OpKind k : {OpKind::ReduceSum, OpKind::ReduceMax}) {
      auto f = singleOp(k, {f32({64, 1000})}, ReduceAttrs{{1}});
      Expected<std::string> ir = emitKernels(*f, EmitKind::LlvmOptimized, t.opts);
      ASSERT_TRUE(ir) << ir.error().str();
      const std::string op = k == OpKind::ReduceSum ? "fadd " + vec : "fcmp olt " + vec;
      EXPECT_NE(ir->find(op), std::string::npos) << mnemonic(k) << " on " << t.name << " has no " << op << ":\n"
                                                  << *ir;
    }
  }
}

// Several row reductions of one fused kernel that do not read each other run in one
// loop (row_steps.cpp, rowSteps): each keeps its own 16 accumulators and order, so
// the results still equal the interpreter's bit for bit, with NaN, infinities and
// a tail (rows of 37), on every target and thread count.
TEST(ContiguousReduce, IndependentRowReductionsShareOneLoop) {
  for (int64_t cols : {37, 1000}) {
    const std::string text = fmt::format(
        "func @rows(%x: f32[5,{0}], %y: f32[5,{0}]) -> (f32[5], f32[5,{0}]) {{\n"
        "  %mx = reduce_max %x axes=[1] : f32[5]\n"
        "  %xy = mul %x, %y : f32[5,{0}]\n"
        "  %sxy = reduce_sum %xy axes=[1] : f32[5]\n"
        "  %my = reduce_max %y axes=[1] : f32[5]\n"
        "  %mxb = broadcast %mx dims=[0] : f32[5,{0}]\n"
        "  %d = sub %x, %mxb : f32[5,{0}]\n"
        "  %e = exp %d : f32[5,{0}]\n"
        "  %se = reduce_sum %e axes=[1] : f32[5]\n"
        "  %a = add %sxy, %my : f32[5]\n"
        "  %r = add %a, %se : f32[5]\n"
        "  %rb = broadcast %r dims=[0] : f32[5,{0}]\n"
        "  %out = mul %e, %rb : f32[5,{0}]\n"
        "  return %r, %out\n}}\n",
        cols);
    Expected<Module> m = parseModule(text, "rows.dlc");
    ASSERT_TRUE(m) << m.error().str();
    // Two loops over the row's blocks: max x, sum x*y and max y in the first, then the
    // sum of exp, which reads max x.
    Expected<std::string> ir = emitKernels(*m->functions().front(), EmitKind::LlvmIR, CodegenOptions{});
    ASSERT_TRUE(ir) << ir.error().str();
    size_t loops = 0;
    for (size_t at = ir->find("\nblk.loop"); at != std::string::npos; at = ir->find("\nblk.loop", at + 1)) ++loops;
    EXPECT_EQ(loops, cols >= 16 ? 2u : 0u) << *ir;
    Rng rng(static_cast<uint64_t>(cols));
    checkFirstFunction(*m, fmt::format("independent row reductions over {}", cols),
                       {rng.tensor(f32({5, cols}), withSpecials()), rng.tensor(f32({5, cols}), withSpecials())});
  }
}

// A row buffer that the next row reductions read only at their own element (softmax's
// exp, read by its sum directly and through a product) is filled inside their loop
// (loop_kernel.cpp, fillsInBatch): the row is walked once for both, there is no fill
// loop of its own, and the results still equal the interpreter's bit for bit -- with
// NaN, infinities, rows shorter than a block and with a tail, on every target and
// thread count.
TEST(ContiguousReduce, RowBufferIsFilledInTheReductionsLoop) {
  for (int64_t cols : {7, 37, 1000}) {
    const std::string text = fmt::format(
        "func @rows(%x: f32[5,{0}], %y: f32[5,{0}]) -> (f32[5], f32[5,{0}]) {{\n"
        "  %mx = reduce_max %x axes=[1] : f32[5]\n"
        "  %mxb = broadcast %mx dims=[0] : f32[5,{0}]\n"
        "  %d = sub %x, %mxb : f32[5,{0}]\n"
        "  %e = exp %d : f32[5,{0}]\n"
        "  %ey = mul %e, %y : f32[5,{0}]\n"
        "  %sey = reduce_sum %ey axes=[1] : f32[5]\n"
        "  %se = reduce_sum %e axes=[1] : f32[5]\n"
        "  %r = add %sey, %se : f32[5]\n"
        "  %rb = broadcast %r dims=[0] : f32[5,{0}]\n"
        "  %out = mul %e, %rb : f32[5,{0}]\n"
        "  return %r, %out\n}}\n",
        cols);
    Expected<Module> m = parseModule(text, "rows.dlc");
    ASSERT_TRUE(m) << m.error().str();
    for (const TestTarget &t : testTargets()) {
      Expected<std::string> ir = emitKernels(*m->functions().front(), EmitKind::LlvmIR, t.opts);
      ASSERT_TRUE(ir) << ir.error().str();
      // The buffer of %e exists (the output reads it) but has no fill loop ("rb").
      EXPECT_NE(ir->find("rowbuf"), std::string::npos) << t.name << ":\n" << *ir;
      EXPECT_EQ(ir->find("\nrb.loop"), std::string::npos) << t.name << ":\n" << *ir;
      // The accumulators stay in registers (the lane loop is unrolled whatever the size
      // of the exp in it) on AVX-512 and AVX2. Not yet on the generic target, where two
      // reductions sharing a loop kept a stack array before this change too.
      Expected<std::string> opt = emitKernels(*m->functions().front(), EmitKind::LlvmOptimized, t.opts);
      ASSERT_TRUE(opt) << opt.error().str();
      if (cols >= 16 && t.name != "generic") {
        EXPECT_EQ(opt->find("alloca [16 x float]"), std::string::npos) << t.name << ":\n" << *opt;
      }
    }
    Rng rng(static_cast<uint64_t>(cols) + 100);
    checkFirstFunction(*m, fmt::format("row buffer filled in the reductions' loop, rows of {}", cols),
                       {rng.tensor(f32({5, cols}), withSpecials()), rng.tensor(f32({5, cols}), withSpecials())});
  }
}

// The row's elements are stored by the loop of the row's last reductions when they do
// not read those reductions' results (loop_kernel.cpp, storeInLast): softmax
// cross-entropy's gradient is written beside its per-row loss terms, with no pass of its
// own over the row. An output that reads the last reductions keeps its own loop. Both
// equal the interpreter bit for bit on every target and thread count.
TEST(ContiguousReduce, RowElementsAreStoredInTheLastReductionsLoop) {
  for (bool readsLast : {false, true}) {
    for (int64_t cols : {7, 37, 1000}) {
      const std::string text = fmt::format(
          "func @xent(%x: f32[5,{0}], %lab: i32[5]) -> (f32[5], f32[5,{0}]) {{\n"
          "  %mx = reduce_max %x axes=[1] : f32[5]\n"
          "  %mxb = broadcast %mx dims=[0] : f32[5,{0}]\n"
          "  %d = sub %x, %mxb : f32[5,{0}]\n"
          "  %e = exp %d : f32[5,{0}]\n"
          "  %se = reduce_sum %e axes=[1] : f32[5]\n"
          "  %ls = log %se : f32[5]\n"
          "  %lsb = broadcast %ls dims=[0] : f32[5,{0}]\n"
          "  %lp = sub %d, %lsb : f32[5,{0}]\n"
          "  %oh = one_hot %lab : f32[5,{0}]\n"
          "  %t = mul %oh, %lp : f32[5,{0}]\n"
          "  %row = reduce_sum %t axes=[1] : f32[5]\n"
          "  %p = exp %lp : f32[5,{0}]\n"
          "  %g = sub %p, %oh : f32[5,{0}]\n"
          "{1}"
          "}}\n",
          cols,
          readsLast ? fmt::format("  %rowb = broadcast %row dims=[0] : f32[5,{0}]\n"
                                  "  %out = mul %g, %rowb : f32[5,{0}]\n"
                                  "  return %row, %out\n",
                                  cols)
                    : std::string("  return %row, %g\n"));
      Expected<Module> m = parseModule(text, "xent.dlc");
      ASSERT_TRUE(m) << m.error().str();
      Expected<std::string> ir = emitKernels(*m->functions().front(), EmitKind::LlvmIR, CodegenOptions{});
      ASSERT_TRUE(ir) << ir.error().str();
      // The loop over the row's elements ("d1") exists only for the output that reads
      // the last reductions.
      EXPECT_EQ(ir->find("\nd1.loop") != std::string::npos, readsLast) << *ir;
      Rng rng(static_cast<uint64_t>(cols) + (readsLast ? 7 : 0));
      // In range at both ends, and out of range below and above (an all-zero row).
      const int32_t c32 = static_cast<int32_t>(cols);
      HostTensor labels = HostTensor::fromVector<int32_t>({5}, {0, c32 - 1, 3 % c32, -1, c32});
      checkFirstFunction(*m,
                         fmt::format("row elements {} the last reductions, rows of {}", readsLast ? "after" : "with", cols),
                         {rng.tensor(f32({5, cols}), withSpecials()), labels});
    }
  }
}

// Reductions over the first axis that a fused kernel over [N] reads once per index (a
// bias gradient in its Adam update) are summed for a chunk of columns at once, rows
// outer and columns inner (row_steps.cpp, preReduceColumns): each column keeps its
// sequential chain, so the results equal the interpreter's bit for bit (NaN, infinities,
// -0 included), on every target, for one chunk, several (1 thread: the whole range in
// one call) and tiny ones (2 threads).
TEST(ColumnReduce, ChunkOfColumnsKeepsEachColumnsChain) {
  for (int64_t cols : {45, 1000}) {
    const std::string text = fmt::format(
        "func @cols(%x: f32[37,{0}], %y: f32[{0}]) -> (f32[{0}], f32[{0}]) {{\n"
        "  %e = exp %x : f32[37,{0}]\n"
        "  %s = reduce_sum %e axes=[0] : f32[{0}]\n"
        "  %m = reduce_max %x axes=[0] : f32[{0}]\n"
        "  %a = add %s, %y : f32[{0}]\n"
        "  %b = mul %m, %a : f32[{0}]\n"
        "  return %a, %b\n}}\n",
        cols);
    Expected<Module> m = parseModule(text, "cols.dlc");
    ASSERT_TRUE(m) << m.error().str();
    Expected<std::string> ir = emitKernels(*m->functions().front(), EmitKind::LlvmIR, CodegenOptions{});
    ASSERT_TRUE(ir) << ir.error().str();
    EXPECT_NE(ir->find("%colsum"), std::string::npos) << *ir;
    Rng rng(static_cast<uint64_t>(cols) + 7);
    checkFirstFunction(*m, fmt::format("column reductions over {}", cols),
                       {rng.tensor(f32({37, cols}), withSpecials()), rng.tensor(f32({cols}), withSpecials())});
  }
}

// A convolution's bias gradient: [N, C, H, W] reduced over all axes but the channels,
// in a kernel over [C] with its update. The sums are column reductions too (row_steps.cpp),
// each channel keeping its sequential chain over (n, h, w), vectorized across a chunk of
// at least 16 channels (kernel_plan.cpp); results equal the interpreter's bit for bit
// (infinities, their NaNs, +-0, denormals) on every target and thread count, for 5 and
// 40 channels. The inputs hold no NaN of their own: where a chain adds two different
// NaNs, which one survives depends on the operand order x86 is given, and LLVM commutes
// additions freely (the vector path and the scalar remainder of one column can differ;
// the test's 2-thread run forces chunks of one column).
TEST(ColumnReduce, AllAxesButOneKeepEachChannelsChain) {
  for (int64_t channels : {5, 40}) {
    const std::string text = fmt::format(
        "func @bias(%g: f32[3,{0},5,7], %b: f32[{0}]) -> (f32[{0}], f32[{0}]) {{\n"
        "  %s = reduce_sum %g axes=[0,2,3] : f32[{0}]\n"
        "  %m = reduce_max %g axes=[0,2,3] : f32[{0}]\n"
        "  %k = constant 0.01 : f32[{0}]\n"
        "  %d = mul %k, %s : f32[{0}]\n"
        "  %b2 = sub %b, %d : f32[{0}]\n"
        "  %r = add %b2, %m : f32[{0}]\n"
        "  return %b2, %r\n}}\n",
        channels);
    Expected<Module> m = parseModule(text, "bias.dlc");
    ASSERT_TRUE(m) << m.error().str();
    KernelPlan plan = planKernels(*m->functions().front(), {});
    ASSERT_EQ(plan.kernels.size(), 1u);
    EXPECT_GE(plan.kernels.front().chunk, std::min<int64_t>(16, channels));
    Expected<std::string> ir = emitKernels(*m->functions().front(), EmitKind::LlvmIR, CodegenOptions{});
    ASSERT_TRUE(ir) << ir.error().str();
    EXPECT_NE(ir->find("%colsum"), std::string::npos) << *ir;
    Rng rng(static_cast<uint64_t>(channels) + 11);
    std::vector<HostTensor> inputs = {rng.tensor(f32({3, channels, 5, 7}), withSpecials()),
                                      rng.tensor(f32({channels}), withSpecials())};
    int infinities = 0;
    for (HostTensor &t : inputs)
      for (float &v : t.data<float>())
        if (std::isnan(v)) v = (++infinities % 2) ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
    EXPECT_GT(infinities, 0);
    checkFirstFunction(*m, fmt::format("bias gradient over {} channels", channels), std::move(inputs));
  }
}

}  // namespace
}  // namespace dlc::test
