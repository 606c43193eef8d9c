//===- tests/unit/fusion_horizontal_test.cpp - independent kernels, one launch ===//
//
// Horizontal fusion (passes/fuse_horizontal.cpp, codegen/horizontal.cpp): the loop
// kernels whose outputs are only results run as one kernel over the chunks of all of
// them. The plan's shape, the reasons, the buffer plan (in place only within a part),
// and the same bits as separate kernels and as the unfused schedule, on 1 and 2 threads
// and any chunking.
//
//===----------------------------------------------------------------------===//
#include <set>

#include "codegen/kernel_plan.h"
#include "codegen_test_util.h"
#include "fusion_workloads.h"
#include "passes/fuse.h"
#include "passes/pass_util.h"
#include "runtime/buffer_plan.h"
#include "runtime/executable.h"

namespace dlc::test {
namespace {

std::vector<HostTensor> runPlan(const Function &f, const std::vector<HostTensor> &args, KernelPlanOptions plan,
                                int threads, bool gemmLoop) {
  plan.gemmLoopEpilogue = gemmLoop;
  ExecutableOptions o;
  o.plan = plan;
  o.codegen.math = MathMode::Libm;
  o.codegen.threads = threads;
  return compileAndRun(f, args, o);
}

/// Horizontal == separate kernels == unfused, bitwise, on 1 and 2 threads, with the
/// planned chunks and with chunks of 3 parallel indices.
void expectSameBits(const Function &f, const std::vector<HostTensor> &args, bool gemmLoop = true) {
  const std::vector<HostTensor> want = runPlan(f, args, KernelPlanOptions{.fuse = false}, 1, gemmLoop);
  for (int threads : {1, 2})
    for (int64_t chunk : {int64_t{0}, int64_t{3}})
      for (bool horizontal : {true, false}) {
        SCOPED_TRACE(fmt::format("@{}: {} thread(s), chunk {}, horizontal {}", f.name(), threads, chunk, horizontal));
        const std::vector<HostTensor> got =
            runPlan(f, args, KernelPlanOptions{.forceChunk = chunk, .horizontal = horizontal}, threads, gemmLoop);
        ASSERT_EQ(got.size(), want.size());
        for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(sameElements(got[i], want[i], 0, true)) << "result " << i;
      }
}

const KernelSpec *horizontalKernel(const KernelPlan &plan) {
  const KernelSpec *h = nullptr;
  for (const KernelSpec &k : plan.kernels)
    if (k.kind == KernelKind::Horizontal) {
      EXPECT_EQ(h, nullptr) << "two horizontal kernels";
      h = &k;
    }
  return h;
}

TEST(FusionHorizontal, W1StepUpdatesAllParametersInOneKernel) {
  std::unique_ptr<Function> f = w1Step(8);
  ASSERT_TRUE(f);
  const KernelPlan plan = planKernels(*f);
  const KernelPlan separate = planKernels(*f, KernelPlanOptions{.horizontal = false});
  const KernelSpec *h = horizontalKernel(plan);
  ASSERT_NE(h, nullptr);
  // Three biases: three parts writing p', m', v' each (the weights' updates are their
  // gradient GEMMs' epilogues, fusion_gemm_loop_test.cpp); the step count and the loss
  // are the other two (the updates compute the new step count again instead of reading it).
  ASSERT_EQ(h->parts.size(), 5u);
  int updates = 0;
  for (const KernelSpec &p : h->parts) {
    EXPECT_EQ(p.kind, KernelKind::Loop) << p.name;
    if (p.outputs.size() == 3) ++updates;
    else EXPECT_EQ(p.outputs.size(), 1u) << p.name;
  }
  EXPECT_EQ(updates, 3);
  EXPECT_EQ(plan.kernels.size() + h->parts.size() - 1, separate.kernels.size());
  // It writes every result of the step but the weights' updates.
  const std::set<const Value *> written(h->outputs.begin(), h->outputs.end());
  EXPECT_EQ(h->outputs.size(), f->results().size() - 9);
  for (size_t r = 0; r < f->results().size(); ++r)
    EXPECT_NE(written.count(f->results()[r]), f->results()[r]->shape().size() == 2) << "result " << r;
  // Its parallel space is the parts' chunks; the kernel is the last of the schedule.
  int64_t chunks = 0;
  for (const KernelSpec &p : h->parts) chunks += (p.domain.parallelExtent() + p.chunk - 1) / p.chunk;
  EXPECT_EQ(h->domain.parallelExtent(), chunks);
  EXPECT_EQ(h->chunk, 1);
  EXPECT_EQ(&plan.kernels.back(), h);
  // Parameters and optimizer state are still updated in place (donated), as before.
  const BufferPlan bp = planArena(*f, plan), bs = planArena(*f, separate);
  EXPECT_EQ(bp.donated.size(), bs.donated.size());
  EXPECT_GE(bp.donated.size(), 18u);
  // The decisions say why.
  const FusionPlan fp = planFusion(*f);
  int parts = 0;
  for (const FusionDecision &d : fp.decisions)
    if (d.fused && d.reason.starts_with("horizontal: part ")) {
      ++parts;
      EXPECT_EQ(d.group, h->name);
    }
  EXPECT_EQ(parts, 5);
  expectSameBits(*f, argsFor(*f, 21, 0.01));
}

// Two parts each reading a product that dies in the horizontal kernel: an output may
// take the buffer of its own part's input, never of another part's (the parts run at
// the same time). @mixed also has a result that another kernel reads: kept apart.
TEST(FusionHorizontal, InPlaceOnlyWithinAPartAndReasonsForTheRest) {
  const char *text = R"(
func @two(%x: f32[8,16], %y: f32[16,8], %z: f32[16,8], %c: f32[40]) -> (f32[8,8], f32[8,8], f32[]) {
  %m = matmul %x, %y transpose_a=false transpose_b=false : f32[8,8]
  %n = matmul %x, %z transpose_a=false transpose_b=false : f32[8,8]
  %a = tanh %n : f32[8,8]
  %b = mul %m, %m : f32[8,8]
  %s = reduce_sum %c axes=[0] : f32[]
  return %a, %b, %s
}
func @mixed(%x: f32[8,8], %y: f32[8,8]) -> (f32[8,8], f32[8,8], f32[8,8]) {
  %a = exp %x : f32[8,8]
  %b = matmul %a, %y transpose_a=false transpose_b=false : f32[8,8]
  %c = sqrt %y : f32[8,8]
  return %a, %b, %c
}
)";
  Module m = parseWorkload(text, false);
  ASSERT_EQ(m.functions().size(), 2u);
  {
    // Without GEMM loop epilogues: the products' readers would be their GEMMs' epilogues.
    const Function &f = *m.functions()[0];
    const KernelPlan plan = planKernels(f, KernelPlanOptions{.gemmLoopEpilogue = false});
    const KernelSpec *h = horizontalKernel(plan);
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->parts.size(), 3u);
    EXPECT_EQ(plan.kernels.size(), 3u);  // two matmuls, one horizontal kernel
    const BufferPlan bp = planArena(f, plan);
    EXPECT_FALSE(bp.inPlace.empty());
    EXPECT_EQ(planKernels(f).kernels.size(), 3u);  // with them: two GEMMs with epilogues and the sum
    for (const auto &[out, in] : bp.inPlace) {
      const int p = h->partWriting(out);
      ASSERT_GE(p, 0);
      EXPECT_TRUE(h->partReads(static_cast<size_t>(p), in)) << valueLabel(f, out) << " over " << valueLabel(f, in);
    }
    expectSameBits(f, argsFor(f, 22, 0.01), false);
    expectSameBits(f, argsFor(f, 22, 0.01), true);
    // Printed as a region with nested parts; the text still parses as the function.
    const FusionPlan fp = planFusion(f, FusionOptions{.gemmLoopEpilogue = false});
    const std::string printed = printFusedFunction(f, fp);
    EXPECT_NE(printed.find("// kernel horizontal_"), std::string::npos) << printed;
    EXPECT_NE(printed.find("  // part "), std::string::npos) << printed;
    Expected<Module> back = parseModule(printed, "printed.dlc");
    ASSERT_TRUE(back) << back.error().str() << "\n" << printed;
  }
  {
    const Function &f = *m.functions()[1];
    const FusionPlan fp = planFusion(f);
    int apart = 0;
    for (const FusionDecision &d : fp.decisions)
      if (!d.fused && d.reason.starts_with("horizontal: ")) {
        ++apart;
        EXPECT_EQ(d.reason, "horizontal: its output %a is a result but also read by matmul_1");
      }
    EXPECT_EQ(apart, 1) << formatDecisions(f, fp);
    for (const KernelSpec &k : planKernels(f).kernels) EXPECT_NE(k.kind, KernelKind::Horizontal) << k.name;
    expectSameBits(f, argsFor(f, 23, 0.01));
  }
}

}  // namespace
}  // namespace dlc::test
