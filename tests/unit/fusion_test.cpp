//===- tests/unit/fusion_test.cpp - fused kernels: shape of the plan, same bits ===//
//
// The fusion planner on the benchmark workloads: how many kernels, what each writes, and
// that the fused executable's results equal the unfused one's bit for bit (strict
// numerics: every member computes the same scalar ops, reductions keep their order).
// The codegen-vs-interpreter tests (codegen_*_test.cpp) run with fusion on by default.
//
//===----------------------------------------------------------------------===//
#include <map>
#include <set>

#include "codegen/kernel_plan.h"
#include "codegen_test_util.h"
#include "fusion_workloads.h"
#include "passes/fuse.h"
#include "passes/pass_util.h"
#include "runtime/executable.h"

namespace dlc::test {
namespace {

std::vector<HostTensor> runWith(const Function &f, const std::vector<HostTensor> &args, bool fuse, MathMode math,
                                int threads) {
  ExecutableOptions o;
  o.plan.fuse = fuse;
  o.codegen.math = math;
  o.codegen.threads = threads;
  return compileAndRun(f, args, o);
}

/// Fused == unfused, bitwise, with the C library's and with the vector math, on 1 and
/// 2 threads.
void expectFusedEqualsUnfused(const Function &f, const std::vector<HostTensor> &args) {
  for (MathMode math : {MathMode::Libm, MathMode::Vector})
    for (int threads : {1, 2}) {
      SCOPED_TRACE(fmt::format("@{}, {} math, {} thread(s)", f.name(), math == MathMode::Libm ? "libm" : "vector",
                               threads));
      std::vector<HostTensor> unfused = runWith(f, args, false, math, threads);
      std::vector<HostTensor> fused = runWith(f, args, true, math, threads);
      ASSERT_EQ(fused.size(), unfused.size());
      for (size_t i = 0; i < fused.size(); ++i)
        EXPECT_TRUE(sameElements(fused[i], unfused[i], 0, /*strictNan=*/true)) << "result " << i;
    }
}

/// Kernels writing a value with \p count elements that the function does not return.
std::vector<std::string> materializedTemporaries(const Function &f, const KernelPlan &plan, int64_t count) {
  std::set<const Value *> results(f.results().begin(), f.results().end());
  std::vector<std::string> out;
  for (const KernelSpec &k : plan.kernels)
    for (const Value *v : k.outputs)
      if (v->type().numElements() == count && !results.count(v)) out.push_back(k.name);
  return out;
}

TEST(Fusion, GeluForwardIsOneKernel) {
  Module m = parseWorkload(geluText(4099, false), false);
  const Function &f = *m.functions().front();
  KernelPlan plan = planKernels(f);
  ASSERT_EQ(plan.kernels.size(), 1u);
  EXPECT_EQ(plan.kernels[0].name, "fused_mul_add_tanh_12");
  EXPECT_TRUE(plan.kernels[0].domain.flat);
  EXPECT_EQ(planKernels(f, KernelPlanOptions{.fuse = false}).kernels.size(), f.numNodes());
  expectFusedEqualsUnfused(f, argsFor(f, 3, -6, 6));
}

TEST(Fusion, GeluBackwardIsOneKernel) {
  Module m = parseWorkload(geluText(4099, true), true);
  const Function &f = *m.functions().front();
  ASSERT_EQ(f.results().size(), 2u);  // sum(y), d_x
  KernelPlan plan = planKernels(f);
  // One kernel for the forward (GELU inside the sum) and one for d_x. The d_x kernel
  // also writes tanh's result, which the sum's kernel reads instead of computing it again.
  ASSERT_EQ(plan.kernels.size(), 2u);
  int writesDx = 0;
  for (const KernelSpec &k : plan.kernels)
    if (std::find(k.outputs.begin(), k.outputs.end(), f.results()[1]) != k.outputs.end()) {
      ++writesDx;
      EXPECT_LE(k.outputs.size(), 2u);
      EXPECT_TRUE(k.domain.flat);
    }
  EXPECT_EQ(writesDx, 1);
  expectFusedEqualsUnfused(f, argsFor(f, 4, -6, 6));
}

TEST(Fusion, AdamIsOneMultiOutputKernel) {
  Module m = parseWorkload(adamText(1 << 12), false);
  const Function &f = *m.functions().front();
  KernelPlan plan = planKernels(f);
  ASSERT_EQ(plan.kernels.size(), 1u);
  const KernelSpec &k = plan.kernels[0];
  EXPECT_EQ(std::set<const Value *>(k.outputs.begin(), k.outputs.end()),
            std::set<const Value *>(f.results().begin(), f.results().end()));
  EXPECT_TRUE(k.domain.flat);
  EXPECT_FALSE(k.invariant.empty());  // the bias corrections, computed once
  std::vector<HostTensor> args = argsFor(f, 5, 0, 1);
  args[4].setDouble(0, 7);  // the step
  expectFusedEqualsUnfused(f, args);
}

TEST(Fusion, SoftmaxCrossEntropyIsTwoKernels) {
  for (auto [b, c] : {std::pair<int64_t, int64_t>{64, 100}, {7, 1000}, {33, 5}}) {
    SCOPED_TRACE(fmt::format("[{},{}]", b, c));
    Module m = parseWorkload(xentText(b, c), true);
    const Function &f = *m.functions().front();
    ASSERT_EQ(f.results().size(), 2u);  // loss, d_logits
    KernelPlan plan = planKernels(f);
    EXPECT_LE(plan.kernels.size(), 2u);
    EXPECT_TRUE(materializedTemporaries(f, plan, b * c).empty());
    std::vector<HostTensor> args = argsFor(f, 6, -4, 4);
    expectFusedEqualsUnfused(f, args);
  }
}

// W5 as the benchmark builds it: the per-row loss terms are a sibling of the softmax
// row kernel (passes/fuse_siblings.cpp). Merged, one kernel reads the logits, and the
// row max and sum are not written anywhere.
TEST(Fusion, PerRowCrossEntropyReadsTheLogitsOnce) {
  for (auto [b, c] : {std::pair<int64_t, int64_t>{64, 100}, {7, 1000}, {33, 5}}) {
    SCOPED_TRACE(fmt::format("[{},{}]", b, c));
    Module m = parseWorkload(xentRowsText(b, c), true);
    const Function &f = *m.functions().front();
    ASSERT_EQ(f.results().size(), 2u);  // loss, d_logits
    KernelPlan plan = planKernels(f);
    EXPECT_EQ(plan.kernels.size(), 2u);
    size_t readers = 0;
    for (const KernelSpec &k : plan.kernels)
      readers += static_cast<size_t>(std::count(k.inputs.begin(), k.inputs.end(), f.arg(0)));
    EXPECT_EQ(readers, 1u) << "the logits are read by more than one kernel";
    // Written at [b]: only the per-row loss terms, which the sum over the rows reads.
    std::vector<std::string> rowValues;
    for (const KernelSpec &k : plan.kernels)
      for (const Value *v : k.outputs)
        if (v->type().shape == Shape{b}) rowValues.push_back(valueLabel(f, v));
    EXPECT_EQ(rowValues, std::vector<std::string>{"%perrow"});
    EXPECT_TRUE(materializedTemporaries(f, plan, b * c).empty());
    const FusionPlan fp = planFusion(f);
    EXPECT_TRUE(std::any_of(fp.decisions.begin(), fp.decisions.end(), [](const FusionDecision &d) {
      return d.fused && d.reason.find("sibling") != std::string::npos;
    }));
    expectFusedEqualsUnfused(f, argsFor(f, 6, -4, 4));
  }
}

TEST(Fusion, W1StepFusesEachAdamUpdate) {
  std::unique_ptr<Function> f = w1Step(8);
  ASSERT_TRUE(f);
  // Each parameter's update is one loop (here without horizontal fusion, which then runs
  // the six as one kernel: fusion_horizontal_test.cpp).
  KernelPlan plan = planKernels(*f, KernelPlanOptions{.horizontal = false});
  KernelPlan unfused = planKernels(*f, KernelPlanOptions{.fuse = false});
  EXPECT_LT(plan.kernels.size() * 3, unfused.kernels.size());
  // Every parameter's p', m', v' (results aliasing arguments) come from one kernel.
  std::map<const Value *, std::string> writer;
  for (const KernelSpec &k : plan.kernels)
    for (const Value *v : k.outputs) writer[v] = k.name;
  const auto &aliases = f->resultAliases();
  std::map<std::string, int> updatesPerKernel;
  for (size_t r = 0; r < f->results().size(); ++r)
    if (aliases[r] >= 0 && f->results()[r]->type().numElements() > 1) {  // not the step count
      ASSERT_TRUE(writer.count(f->results()[r])) << "result " << r;
      ++updatesPerKernel[writer.at(f->results()[r])];
    }
  EXPECT_EQ(updatesPerKernel.size(), 6u);  // 6 parameters
  for (const auto &[name, n] : updatesPerKernel) EXPECT_EQ(n, 3) << name;  // p', m', v'
  expectFusedEqualsUnfused(*f, argsFor(*f, 7, 0, 1));
}

/// The kernels of \p plan that run a GEMM with a fused bias (+ ReLU) epilogue (the loop
/// epilogues are fusion_gemm_loop_test.cpp's).
std::vector<const KernelSpec *> gemmEpilogueKernels(const KernelPlan &plan) {
  std::vector<const KernelSpec *> out;
  for (const KernelSpec &k : plan.kernels)
    if (k.kind == KernelKind::MatMul && k.nodes.size() > 1 && !k.gemmLoop) out.push_back(&k);
  return out;
}

TEST(Fusion, W1StepFusesBiasReluIntoTheGemm) {
  std::unique_ptr<Function> f = w1Step(8);
  ASSERT_TRUE(f);
  KernelPlan plan = planKernels(*f);
  // Both hidden layers: matmul, bias add and ReLU in one GEMM kernel. The backward reads
  // the product (it recomputes the pre-activation for the ReLU mask), so it is written too.
  std::vector<const KernelSpec *> epi = gemmEpilogueKernels(plan);
  ASSERT_EQ(epi.size(), 2u);
  for (const KernelSpec *k : epi) {
    EXPECT_TRUE(k->name.starts_with("fused_matmul_add_max_")) << k->name;
    EXPECT_TRUE(isGemmKernel(*k));
    EXPECT_TRUE(k->gemmRelu);
    ASSERT_NE(k->gemmBias, nullptr);
    EXPECT_TRUE(k->gemmBias->isArgument());
    EXPECT_EQ(k->root().kind(), OpKind::Max);
    EXPECT_NE(std::find(k->outputs.begin(), k->outputs.end(), k->root().result()), k->outputs.end());
  }
  expectFusedEqualsUnfused(*f, argsFor(*f, 9, -1, 1));
}

TEST(Fusion, W1ForwardWritesOnlyTheActivations) {
  Expected<Model> model = buildMlp(8);
  ASSERT_TRUE(model) << model.error().str();
  KernelPlan plan = planKernels(*model->function);
  std::vector<const KernelSpec *> epi = gemmEpilogueKernels(plan);
  ASSERT_EQ(epi.size(), 2u);
  for (const KernelSpec *k : epi) {  // nothing else reads the product: only h is written
    ASSERT_EQ(k->outputs.size(), 1u) << k->name;
    EXPECT_EQ(k->outputs[0], k->root().result());
  }
  // The logits' add also feeds the softmax's kernels: that matmul keeps its own kernel,
  // and the planner says why.
  FusionPlan fp = planFusion(*model->function);
  int apart = 0, fused = 0;
  for (const FusionDecision &d : fp.decisions)
    if (d.producer->kind() == OpKind::MatMul && d.reason.starts_with("GEMM epilogue: ")) {
      ++(d.fused ? fused : apart);
      if (!d.fused) {
        EXPECT_EQ(d.group, "matmul_10") << d.reason;
      }
    }
  EXPECT_EQ(apart, 1);
  EXPECT_EQ(fused, 2);
  expectFusedEqualsUnfused(*model->function, argsFor(*model->function, 10, -1, 1));
}

TEST(Fusion, BiasAddWithoutReluJoinsTheGemm) {
  // K = 600: three K blocks, so partial sums go through the output buffer between them.
  // @both also returns the product: the GEMM then writes it and the epilogue's result.
  const char *text = R"(
func @bias(%x: f32[37,600], %w: f32[600,45], %b: f32[45]) -> f32[37,45] {
  %0 = matmul %x, %w transpose_a=false transpose_b=false : f32[37,45]
  %1 = broadcast %b dims=[1] : f32[37,45]
  %2 = add %0, %1 : f32[37,45]
  return %2
}
func @both(%x: f32[37,600], %w: f32[45,600], %b: f32[45]) -> (f32[37,45], f32[37,45]) {
  %0 = matmul %x, %w transpose_a=false transpose_b=true : f32[37,45]
  %1 = broadcast %b dims=[1] : f32[37,45]
  %2 = add %0, %1 : f32[37,45]
  %3 = constant 0 : f32[37,45]
  %4 = max %2, %3 : f32[37,45]
  return %4, %0
}
func @other(%x: f32[37,600], %w: f32[600,45], %b: f32[45]) -> f32[37,45] {
  %0 = matmul %x, %w transpose_a=false transpose_b=false : f32[37,45]
  %1 = broadcast %b dims=[1] : f32[37,45]
  %2 = add %0, %1 : f32[37,45]
  %3 = tanh %2 : f32[37,45]
  return %3
}
)";
  Module m = parseWorkload(text, false);
  ASSERT_EQ(m.functions().size(), 3u);
  for (const auto &fn : m.functions()) {
    SCOPED_TRACE(fn->name());
    KernelPlan plan = planKernels(*fn);
    std::vector<const KernelSpec *> epi = gemmEpilogueKernels(plan);
    if (fn->name() == "other") {  // tanh joins the add's loop: not a bias + ReLU chain (a loop epilogue)
      EXPECT_TRUE(epi.empty());
    } else {
      ASSERT_EQ(epi.size(), 1u);
      EXPECT_EQ(plan.kernels.size(), 1u);
      EXPECT_EQ(epi[0]->gemmRelu, fn->name() == "both");
      EXPECT_EQ(epi[0]->outputs.size(), fn->name() == "both" ? 2u : 1u);
    }
    // Specials (NaN, inf, -0) included: add then max keep them as the unfused ops do.
    Rng r(11);
    std::vector<HostTensor> args;
    for (size_t i = 0; i < fn->numArgs(); ++i) args.push_back(r.tensor(fn->arg(i)->type(), InputStyle{}));
    expectFusedEqualsUnfused(*fn, args);
  }
}

TEST(Fusion, EveryDecisionHasAReason) {
  Module m = parseWorkload(xentText(16, 10), true);
  const Function &f = *m.functions().front();
  FusionPlan plan = planFusion(f);
  ASSERT_FALSE(plan.decisions.empty());
  for (const FusionDecision &d : plan.decisions) EXPECT_FALSE(d.reason.empty());
  // Every node is computed by some group or is a reshape view.
  std::set<const Node *> covered;
  for (const FusionGroup &g : plan.groups) covered.insert(g.nodes.begin(), g.nodes.end());
  for (const auto &[v, owner] : plan.aliases) covered.insert(v->def());
  EXPECT_EQ(covered.size(), f.numNodes());
  // The nested printout parses back to the same function.
  const std::string text = printFusedFunction(f, plan);
  Expected<Module> back = parseModule(text, "fused.dlc");
  ASSERT_TRUE(back) << back.error().str() << "\n" << text;
  EXPECT_EQ(back->functions().front()->numNodes(), f.numNodes());
}

TEST(Fusion, CnnStepFusedEqualsUnfused) {
  Expected<Model> model = buildCnn(1);
  ASSERT_TRUE(model) << model.error().str();
  TrainStepOptions o;
  o.optimizer = Momentum{};
  Expected<Function *> step = buildTrainStep(model->module, *model->function, o);
  ASSERT_TRUE(step) << step.error().str();
  std::vector<HostTensor> args = argsFor(**step, 8, 0, 1);
  std::vector<HostTensor> unfused = runWith(**step, args, false, MathMode::Libm, 2);
  std::vector<HostTensor> fused = runWith(**step, args, true, MathMode::Libm, 2);
  ASSERT_EQ(fused.size(), unfused.size());
  for (size_t i = 0; i < fused.size(); ++i) EXPECT_TRUE(sameElements(fused[i], unfused[i], 0, true)) << i;
}

}  // namespace
}  // namespace dlc::test
