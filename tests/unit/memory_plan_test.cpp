//===- tests/unit/memory_plan_test.cpp - liveness, arena, in place, donation ===//
//
// planArena's invariants on the benchmark workloads (buffers live at the same time never
// overlap; the arena the executable allocates is the planned one), in-place reuse and
// donation give the same results as one buffer per value, and a training step run with
// Executable::runInPlace updates its arguments in place and allocates nothing after
// its first call.
//
//===----------------------------------------------------------------------===//
#include "codegen_test_util.h"
#include "fusion_workloads.h"
#include "runtime/buffer_plan.h"
#include "runtime/executable.h"

namespace dlc::test {
namespace {

/// No two arena buffers live at the same kernel share a byte; every value a kernel
/// touches has a slot; the peak of live bytes fits in the arena.
void expectValidPlan(const Function &f, const KernelPlan &plan, const BufferPlan &bp) {
  for (size_t i = 0; i < bp.buffers.size(); ++i)
    for (size_t j = i + 1; j < bp.buffers.size(); ++j) {
      const PlannedBuffer &a = bp.buffers[i], &b = bp.buffers[j];
      if (a.slot.kind != BufferSlot::Kind::Arena || b.slot.kind != BufferSlot::Kind::Arena) continue;
      if (a.bytes == 0 || b.bytes == 0) continue;
      const bool liveTogether = a.first <= b.last && b.first <= a.last;
      const bool overlap = a.slot.offset < b.slot.offset + b.bytes && b.slot.offset < a.slot.offset + a.bytes;
      EXPECT_FALSE(liveTogether && overlap) << "buffers " << i << " and " << j << " of @" << f.name();
      EXPECT_EQ(a.slot.offset % kBufferAlignment, 0);
    }
  for (const KernelSpec &k : plan.kernels) {
    for (const Value *v : k.inputs) EXPECT_TRUE(bp.slots.count(v)) << k.name;
    for (const Value *v : k.outputs) EXPECT_TRUE(bp.slots.count(v)) << k.name;
  }
  EXPECT_LE(bp.peakLiveBytes, bp.arenaBytes);
}

TEST(MemoryPlan, WorkloadsPlanWithoutOverlap) {
  std::vector<std::unique_ptr<Function>> fns;
  fns.push_back(w1Step(128));
  Expected<Model> cnn = buildCnn(4);
  ASSERT_TRUE(cnn);
  TrainStepOptions o;
  o.optimizer = Momentum{};
  Expected<Function *> cnnStep = buildTrainStep(cnn->module, *cnn->function, o);
  ASSERT_TRUE(cnnStep);
  fns.push_back(cloneFunction(**cnnStep, "cnn_step"));
  Module xent = parseWorkload(xentText(64, 100), true);
  fns.push_back(cloneFunction(*xent.functions().front(), "xent"));
  for (const auto &f : fns)
    for (bool fuse : {true, false}) {
      SCOPED_TRACE(fmt::format("@{} {}", f->name(), fuse ? "fused" : "unfused"));
      KernelPlan plan = planKernels(*f, KernelPlanOptions{.fuse = fuse});
      BufferPlan bp = planArena(*f, plan);
      expectValidPlan(*f, plan, bp);
      // Reuse: the arena is far below one buffer per value.
      EXPECT_LT(bp.arenaBytes, planOneBufferPerValue(*f, plan).arenaBytes);
    }
}

TEST(MemoryPlan, ChainRunsInOneBuffer) {
  // exp -> log -> neg -> tanh over 1000 floats: each output takes its dead input's place.
  Expected<Module> m = parseModule(
      "func @chain(%x: f32[1000]) -> f32[] {\n"
      "  %a = exp %x : f32[1000]\n  %b = log %a : f32[1000]\n  %c = neg %b : f32[1000]\n"
      "  %d = tanh %c : f32[1000]\n  %s = reduce_sum %d axes=[0] : f32[]\n  return %s\n}\n",
      "chain.dlc");
  ASSERT_TRUE(m);
  const Function &f = *m->functions().front();
  KernelPlan plan = planKernels(f, KernelPlanOptions{.fuse = false});
  BufferPlan bp = planArena(f, plan);
  EXPECT_EQ(bp.inPlace.size(), 3u);
  // One 1000-float buffer (rounded up); the sum is written into the returned tensor.
  EXPECT_EQ(bp.arenaBytes, 4032);
  EXPECT_EQ(bp.peakLiveBytes, 4032);
  EXPECT_EQ(bp.resultSlots.size(), 1u);
  ExecutableOptions inPlace, separate;
  separate.planner = planOneBufferPerValue;
  inPlace.plan.fuse = separate.plan.fuse = false;
  std::vector<HostTensor> args = argsFor(f, 1);
  auto a = Executable::compile(f, inPlace), b = Executable::compile(f, separate);
  ASSERT_TRUE(a && b);
  EXPECT_EQ((*a)->arenaBytes(), bp.arenaBytes);
  auto ra = (*a)->run(args), rb = (*b)->run(args);
  ASSERT_TRUE(ra && rb);
  EXPECT_TRUE(sameElements((*ra)[0], (*rb)[0], 0, true));
}

TEST(MemoryPlan, PeakIsWhatTheRuntimeAllocates) {
  std::unique_ptr<Function> f = w1Step(16);
  ASSERT_TRUE(f);
  for (bool fuse : {true, false}) {
    ExecutableOptions o;
    o.plan.fuse = fuse;
    BufferPlan bp = planArena(*f, planKernels(*f, o.plan));
    auto ex = Executable::compile(*f, o);
    ASSERT_TRUE(ex) << ex.error().str();
    EXPECT_EQ((*ex)->arenaBytes(), bp.arenaBytes);
    // compile() allocates the arena and nothing else.
    Executable::AllocationStats s = (*ex)->allocationStats();
    EXPECT_EQ(s.count, 1);
    EXPECT_EQ(s.bytes, std::max<int64_t>(bp.arenaBytes, kBufferAlignment));
  }
}

TEST(MemoryPlan, TrainStepRunsInPlaceWithoutAllocating) {
  std::unique_ptr<Function> f = w1Step(16);
  ASSERT_TRUE(f);
  auto byValueEx = Executable::compile(*f), inPlaceEx = Executable::compile(*f);
  ASSERT_TRUE(byValueEx && inPlaceEx);
  // Adam's p', m', v' of each of the 6 parameters are written into their arguments.
  EXPECT_GE((*inPlaceEx)->donatedArgs().size(), 18u);

  std::vector<HostTensor> byValue = argsFor(*f, 2);
  std::vector<HostTensor> inPlace = byValue;
  std::vector<HostTensor> results(f->results().size());
  const auto &aliases = f->resultAliases();
  Executable::AllocationStats afterFirst;
  for (int step = 0; step < 4; ++step) {
    SCOPED_TRACE(step);
    // run(): value semantics; feed the aliased results back as the next arguments.
    const std::vector<HostTensor> before = byValue;
    auto r = (*byValueEx)->run(byValue);
    ASSERT_TRUE(r) << r.error().str();
    for (size_t i = 0; i < byValue.size(); ++i) EXPECT_TRUE(sameElements(byValue[i], before[i], 0, true));
    for (size_t i = 0; i < r->size(); ++i)
      if (aliases[i] >= 0) byValue[static_cast<size_t>(aliases[i])] = (*r)[i];

    const std::byte *firstArg = inPlace[0].raw();
    Expected<void> ok = (*inPlaceEx)->runInPlace(inPlace, results);
    ASSERT_TRUE(ok) << ok.error().str();
    EXPECT_EQ(inPlace[0].raw(), firstArg);  // the caller's buffers, updated in place
    for (size_t i = 0; i < byValue.size(); ++i) EXPECT_TRUE(sameElements(inPlace[i], byValue[i], 0, true)) << i;
    for (size_t i = 0; i < r->size(); ++i)
      if (aliases[i] < 0) {
        EXPECT_TRUE(sameElements(results[i], (*r)[i], 0, true)) << "result " << i;
      }
    if (step == 0) afterFirst = (*inPlaceEx)->allocationStats();
  }
  // The first call allocated the loss tensor; the later ones nothing.
  const Executable::AllocationStats end = (*inPlaceEx)->allocationStats();
  EXPECT_EQ(end.count, afterFirst.count);
  EXPECT_EQ(end.bytes, afterFirst.bytes);
}

}  // namespace
}  // namespace dlc::test
