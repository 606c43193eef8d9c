//===- tests/unit/fusion_gemm_loop_test.cpp - loop groups as GEMM epilogues ===//
//
// A GEMM takes an elementwise loop group that reads its product as its epilogue
// (passes/fuse_epilogue.cpp, KernelSpec::gemmLoop): a weight's optimizer update reads
// the weight gradient at the element the GEMM has just finished, so the gradient is
// never stored; a ReLU backward mask reads the backward product the same way. Checked:
// the plan (which kernels write the updates, no gradient buffer), the reasons, and the
// bits -- against the interpreter on every target (vector widths 16, 8, 4: the masked
// tails of odd sizes) and thread count, and against the unfused schedule.
//
//===----------------------------------------------------------------------===//
#include "codegen/gemm_plan.h"
#include "codegen/kernel_plan.h"
#include "codegen_test_util.h"
#include "fusion_workloads.h"
#include "passes/fuse.h"
#include "passes/pass_util.h"
#include "passes/train_step.h"
#include "runtime/buffer_plan.h"
#include "runtime/executable.h"

namespace dlc::test {
namespace {

/// A two-layer network with odd sizes: 37 inputs, 29 hidden units with bias and ReLU,
/// 7 outputs, squared error, at batch \p batch; its training step with \p opt.
std::unique_ptr<Function> oddStep(int64_t batch, OptimizerConfig opt) {
  const std::string text = fmt::format(R"(
func @net(%w1: f32[29,37], %b1: f32[29], %w2: f32[7,29], %x: f32[{0},37], %y: f32[{0},7]) -> f32[] {{
  %0 = matmul %x, %w1 transpose_a=false transpose_b=true : f32[{0},29]
  %1 = broadcast %b1 dims=[1] : f32[{0},29]
  %2 = add %0, %1 : f32[{0},29]
  %3 = constant 0 : f32[{0},29]
  %h = max %2, %3 : f32[{0},29]
  %4 = matmul %h, %w2 transpose_a=false transpose_b=true : f32[{0},7]
  %5 = sub %4, %y : f32[{0},7]
  %6 = mul %5, %5 : f32[{0},7]
  %loss = reduce_sum %6 axes=[0,1] : f32[]
  return %loss
}}
)",
                                       batch);
  Module m = parseWorkload(text, false);
  if (m.functions().empty()) return nullptr;
  TrainStepOptions o;
  o.optimizer = opt;
  Expected<Function *> step = buildTrainStep(m, *m.functions().front(), o);
  EXPECT_TRUE(step) << step.error().str();
  if (!step) return nullptr;
  return cloneFunction(**step, "train_step");
}

std::vector<const KernelSpec *> loopEpilogueKernels(const KernelPlan &plan) {
  std::vector<const KernelSpec *> out;
  for (const KernelSpec &k : plan.kernels)
    if (k.gemmLoop) out.push_back(&k);
  return out;
}

/// The kernel writing \p v.
const KernelSpec *writerOf(const KernelPlan &plan, const Value *v) {
  for (const KernelSpec &k : plan.kernels) {
    if (std::find(k.outputs.begin(), k.outputs.end(), v) != k.outputs.end()) return &k;
    for (const KernelSpec &p : k.parts)
      if (std::find(p.outputs.begin(), p.outputs.end(), v) != p.outputs.end()) return &k;
  }
  return nullptr;
}

void expectFusedEqualsUnfused(const Function &f, const std::vector<HostTensor> &args) {
  for (int threads : {1, 2}) {
    SCOPED_TRACE(fmt::format("{} thread(s)", threads));
    ExecutableOptions o;
    o.codegen.threads = threads;
    o.plan.fuse = false;
    const std::vector<HostTensor> unfused = compileAndRun(f, args, o);
    o.plan.fuse = true;
    const std::vector<HostTensor> fused = compileAndRun(f, args, o);
    ASSERT_EQ(fused.size(), unfused.size());
    for (size_t i = 0; i < fused.size(); ++i) EXPECT_TRUE(sameElements(fused[i], unfused[i], 0, true)) << "result " << i;
  }
}

TEST(FusionGemmLoop, W1StepUpdatesEachWeightInItsGradientGemm) {
  std::unique_ptr<Function> f = w1Step(8);
  ASSERT_TRUE(f);
  KernelPlan plan = planKernels(*f);
  // Every weight's p', m', v' come from the GEMM computing its gradient, which is never
  // stored: no kernel writes a weight-sized value that is not a result.
  const auto &aliases = f->resultAliases();
  int weights = 0;
  for (size_t r = 0; r < f->results().size(); ++r) {
    const Value *res = f->results()[r];
    if (aliases[r] < 0 || res->shape().size() != 2) continue;
    const KernelSpec *k = writerOf(plan, res);
    ASSERT_NE(k, nullptr) << "result " << r;
    EXPECT_TRUE(k->gemmLoop && isGemmKernel(*k)) << k->name;
    EXPECT_EQ(std::find(k->outputs.begin(), k->outputs.end(), k->matmul().result()), k->outputs.end()) << k->name;
    ++weights;
  }
  EXPECT_EQ(weights, 9);  // 3 weights x (p, m, v)
  // The two ReLU backward masks ride on their backward products' GEMMs too.
  EXPECT_EQ(loopEpilogueKernels(plan).size(), 5u);
  // The updates write over their arguments (donated), as the loop kernels did.
  BufferPlan bp = planArena(*f, plan);
  size_t donated = 0;
  for (const auto &d : bp.donated)
    if (d.first->shape().size() == 2) ++donated;
  EXPECT_EQ(donated, 9u);
  // The reason is printed.
  FusionPlan fp = planFusion(*f);
  int loops = 0;
  for (const FusionDecision &d : fp.decisions)
    if (d.fused && d.reason.starts_with("GEMM loop epilogue: ")) ++loops;
  EXPECT_EQ(loops, 5);
  expectFusedEqualsUnfused(*f, argsFor(*f, 7, 0, 1));
}

TEST(FusionGemmLoop, OddSizesMatchTheInterpreter) {
  // Batch 13: one K block, the gradient stays on the stack. Batch 300: two K blocks of
  // the weight gradients, which then go through a buffer of their own.
  for (int64_t batch : {13, 300}) {
    for (OptimizerConfig opt : {OptimizerConfig{Adam{.weightDecay = 0.01}}, OptimizerConfig{Momentum{}}}) {
      std::unique_ptr<Function> f = oddStep(batch, opt);
      ASSERT_TRUE(f);
      SCOPED_TRACE(fmt::format("batch {}, optimizer {}", batch, opt.index()));
      KernelPlan plan = planKernels(*f);
      std::vector<const KernelSpec *> epi = loopEpilogueKernels(plan);
      EXPECT_GE(epi.size(), 2u);  // w1's and w2's updates
      for (const KernelSpec *k : epi) {
        const bool productOut =
            std::find(k->outputs.begin(), k->outputs.end(), k->matmul().result()) != k->outputs.end();
        if (k->matmul().operand(0)->shape()[0] == batch && k->matmul().attrsAs<MatMulAttrs>().transposeA) {
          EXPECT_EQ(productOut, gemmTilingOf(k->matmul()).kBlocks > 1) << k->name;
        }
      }
      JitCase c;
      c.label = fmt::format("odd step, batch {}", batch);
      c.inputs = argsFor(*f, 5, 0, 1);
      c.fn = std::move(f);
      checkJitCase(c);
      expectFusedEqualsUnfused(*c.fn, c.inputs);
    }
  }
}

TEST(FusionGemmLoop, ElementwiseReaderOfAProductJoinsItsGemm) {
  // tanh after the bias add is not a bias + ReLU chain, but the whole group is
  // elementwise over the product: a loop epilogue. A reduction in the reader keeps it apart.
  const char *text = R"(
func @tanh(%x: f32[37,45], %w: f32[45,45], %b: f32[45], %s: f32[]) -> f32[37,45] {
  %0 = matmul %x, %w transpose_a=false transpose_b=false : f32[37,45]
  %1 = broadcast %b dims=[1] : f32[37,45]
  %2 = add %0, %1 : f32[37,45]
  %3 = broadcast %s dims=[] : f32[37,45]
  %4 = mul %2, %3 : f32[37,45]
  %5 = tanh %4 : f32[37,45]
  return %5
}
func @rows(%x: f32[37,45], %w: f32[45,45]) -> f32[37] {
  %0 = matmul %x, %w transpose_a=false transpose_b=false : f32[37,45]
  %1 = exp %0 : f32[37,45]
  %2 = reduce_sum %1 axes=[1] : f32[37]
  return %2
}
)";
  Module m = parseWorkload(text, false);
  ASSERT_EQ(m.functions().size(), 2u);
  for (const auto &fn : m.functions()) {
    SCOPED_TRACE(fn->name());
    KernelPlan plan = planKernels(*fn);
    const bool expectLoop = fn->name() == "tanh";
    EXPECT_EQ(loopEpilogueKernels(plan).size(), expectLoop ? 1u : 0u);
    if (expectLoop) {
      EXPECT_EQ(plan.kernels.size(), 1u);
    }
    FusionPlan fp = planFusion(*fn);
    bool said = false;
    for (const FusionDecision &d : fp.decisions)
      if (d.producer->kind() == OpKind::MatMul && d.reason.starts_with("GEMM")) {
        said = true;
        EXPECT_EQ(d.fused, expectLoop) << d.reason;
        if (!expectLoop) {
          EXPECT_NE(d.reason.find("reduce_sum"), std::string::npos) << d.reason;
        }
      }
    EXPECT_TRUE(said);
    Rng r(3);
    JitCase c;
    c.label = fn->name();
    for (size_t i = 0; i < fn->numArgs(); ++i) c.inputs.push_back(r.tensor(fn->arg(i)->type(), InputStyle{}));
    c.fn = cloneFunction(*fn, fn->name());
    checkJitCase(c);
  }
}

TEST(FusionGemmLoop, EveryRejectedReaderGivesItsReason) {
  // Two groups read the product and neither is elementwise over it: the decision names
  // each group with its own reason (it used to keep only the last one).
  const char *text = R"(
func @two(%x: f32[37,45], %w: f32[45,45]) -> (f32[37], f32[45]) {
  %0 = matmul %x, %w transpose_a=false transpose_b=false : f32[37,45]
  %1 = exp %0 : f32[37,45]
  %2 = reduce_sum %1 axes=[1] : f32[37]
  %3 = mul %0, %0 : f32[37,45]
  %4 = reduce_max %3 axes=[0] : f32[45]
  return %2, %4
}
)";
  Module m = parseWorkload(text, false);
  const Function &fn = *m.functions().front();
  FusionPlan fp = planFusion(fn);
  bool said = false;
  for (const FusionDecision &d : fp.decisions)
    if (d.producer->kind() == OpKind::MatMul && d.reason.starts_with("GEMM")) {
      said = true;
      EXPECT_FALSE(d.fused) << d.reason;
      EXPECT_NE(d.reason.find("the group of %2: the reading group also computes %2 (reduce_sum)"), std::string::npos)
          << d.reason;
      EXPECT_NE(d.reason.find("the group of %4: the reading group runs over [45]"), std::string::npos) << d.reason;
    }
  EXPECT_TRUE(said);
}

}  // namespace
}  // namespace dlc::test
