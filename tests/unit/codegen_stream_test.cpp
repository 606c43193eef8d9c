//===- tests/unit/codegen_stream_test.cpp - large flat kernels: NT stores, prefetch ===//
//
// KernelSpec::streamStores (codegen/kernel_plan.h): flat loop kernels whose outputs are
// all at least KernelPlanOptions::streamStoreBytes write them with non-temporal vector
// stores when a chunk starts on a vector boundary, and with ordinary stores otherwise.
// KernelSpec::prefetch: flat loop kernels whose full-size streams add up to
// KernelPlanOptions::prefetchBytes run in blocks that prefetch every stream ahead.
// KernelSpec::interleave: flat loop kernels with costly math over at least
// KernelPlanOptions::interleaveFrom elements run several vector iterations at once.
// The tests lower the thresholds to a byte so that small functions take the paths: the
// plan's decisions, the instructions they produce, and results bitwise equal to the
// interpreter and to the plain loop -- at tail sizes, with chunks that start off a
// vector boundary or inside a prefetch block, on 1 and 2 threads and every test target.
//
//===----------------------------------------------------------------------===//
#include <tuple>

#include "codegen/emit.h"
#include "codegen/kernel_plan.h"
#include "codegen_test_util.h"
#include "fusion_workloads.h"
#include "ir/interpreter.h"

namespace dlc::test {
namespace {

TEST(StreamStores, PlanDecidesByOutputSize) {
  Module small = parseWorkload(geluText(4099, false), false);
  const Function &f = *small.functions().front();
  EXPECT_FALSE(planKernels(f, {.streamStoreBytes = 32 << 20}).kernels.at(0).streamStores);  // 16 KiB
  const KernelPlan forced = planKernels(f, {.streamStoreBytes = 1});
  ASSERT_EQ(forced.kernels.size(), 1u);
  EXPECT_TRUE(forced.kernels[0].streamStores);
  EXPECT_EQ(forced.kernels[0].chunk % kStreamChunkAlign, 0);
  // A forced chunk is kept (the emitter falls back to ordinary stores off a boundary).
  EXPECT_EQ(planKernels(f, {.forceChunk = 5, .streamStoreBytes = 1}).kernels.at(0).chunk, 5);
  EXPECT_FALSE(planKernels(f, {.streamStoreBytes = 0}).kernels.at(0).streamStores);
  EXPECT_FALSE(planKernels(f, gpuPlanOptions({.streamStoreBytes = 1})).kernels.at(0).streamStores);
  // Unfused kernels follow the same rule: every one of GELU's flat kernels streams.
  for (const KernelSpec &k : planKernels(f, {.fuse = false, .streamStoreBytes = 1}).kernels)
    EXPECT_EQ(k.streamStores, k.domain.flat) << k.name;

  // From 32 MiB (2^23 floats), the default; the reduction of the backward (a scalar
  // output) never streams.
  Module big = parseWorkload(geluText(int64_t{1} << 23, true), true);
  EXPECT_FALSE(planKernels(*big.functions().front(), {.streamStoreBytes = 0}).kernels.at(0).streamStores);
  const KernelPlan plan = planKernels(*big.functions().front());
  int streaming = 0;
  for (const KernelSpec &k : plan.kernels) {
    streaming += k.streamStores;
    if (k.streamStores) {
      EXPECT_EQ(k.chunk % kStreamChunkAlign, 0);
      EXPECT_GE(k.chunk, kStreamMinChunk);
    }
  }
  EXPECT_EQ(streaming, 1);  // the kernel writing d_x (and tanh's result)
  Module below = parseWorkload(geluText(int64_t{1} << 22, false), false);
  EXPECT_FALSE(planKernels(*below.functions().front()).kernels.at(0).streamStores);
}

TEST(StreamStores, EmitsNonTemporalStoresAndAFence) {
  Module m = parseWorkload(geluText(4099, false), false);
  const Function &f = *m.functions().front();
  CodegenOptions o;
  o.cpu = "x86-64";  // SSE: movntps; AVX-512 hosts give vmovntps
  Expected<std::string> streamed = emitKernels(f, EmitKind::Assembly, o, {.streamStoreBytes = 1});
  ASSERT_TRUE(streamed) << streamed.error().str();
  EXPECT_NE(streamed->find("streaming stores"), std::string::npos);
  EXPECT_NE(streamed->find("movntps"), std::string::npos) << *streamed;
  EXPECT_NE(streamed->find("sfence"), std::string::npos);
  Expected<std::string> plain = emitKernels(f, EmitKind::Assembly, o, {.streamStoreBytes = 0});
  ASSERT_TRUE(plain) << plain.error().str();
  EXPECT_EQ(plain->find("movnt"), std::string::npos);
  EXPECT_EQ(plain->find("sfence"), std::string::npos);
}

TEST(Prefetch, PlanDecidesByStreamBytes) {
  // gelu over n floats: one flat kernel reading x and writing y, 8n bytes.
  Module m = parseWorkload(geluText(4099, false), false);
  const Function &f = *m.functions().front();
  auto decided = [&](int64_t bytes, int64_t streamBytes) {
    KernelPlan plan = planKernels(f, {.streamStoreBytes = streamBytes, .prefetchBytes = bytes});
    EXPECT_EQ(plan.kernels.size(), 1u);
    return plan.kernels.front().prefetch;
  };
  EXPECT_TRUE(decided(8 * 4099, 0));
  EXPECT_FALSE(decided(8 * 4099 + 1, 0));
  EXPECT_FALSE(decided(0, 0));
  EXPECT_TRUE(decided(1, 1));  // a streaming kernel prefetches its inputs
  EXPECT_FALSE(planKernels(f, gpuPlanOptions({.prefetchBytes = 1})).kernels.front().prefetch);
  // The default threshold leaves small kernels alone.
  EXPECT_FALSE(planKernels(f, {}).kernels.front().prefetch);
}

TEST(Prefetch, EmitsPrefetchesAheadOfEveryStream) {
  Module m = parseWorkload(geluText(4099, false), false);
  const Function &f = *m.functions().front();
  Expected<std::string> ir = emitKernels(f, EmitKind::LlvmIR, CodegenOptions{}, {.prefetchBytes = 1});
  ASSERT_TRUE(ir) << ir.error().str();
  EXPECT_NE(ir->find(", prefetching"), std::string::npos) << *ir;
  // Eight lines of x (read: rw 0) and eight of y (write: rw 1) per block of 128 floats.
  size_t reads = 0, writes = 0;
  for (size_t at = ir->find("call void @llvm.prefetch"); at != std::string::npos;
       at = ir->find("call void @llvm.prefetch", at + 1)) {
    const std::string line = ir->substr(at, ir->find('\n', at) - at);
    reads += line.find("i32 0, i32 3, i32 1)") != std::string::npos;
    writes += line.find("i32 1, i32 3, i32 1)") != std::string::npos;
  }
  EXPECT_EQ(reads, 8u);
  EXPECT_EQ(writes, 8u);
  Expected<std::string> plain = emitKernels(f, EmitKind::LlvmIR, CodegenOptions{}, {.prefetchBytes = 0});
  ASSERT_TRUE(plain) << plain.error().str();
  EXPECT_EQ(plain->find("llvm.prefetch"), std::string::npos);
}

TEST(Interleave, PlanDecidesByCostAndSize) {
  Module m = parseWorkload(geluText(4099, false), false);
  const Function &gelu = *m.functions().front();
  auto decided = [](const Function &f, KernelPlanOptions o) {
    KernelPlan plan = planKernels(f, o);
    EXPECT_EQ(plan.kernels.size(), 1u);
    return plan.kernels.front().interleave;
  };
  EXPECT_EQ(decided(gelu, {.interleaveFrom = 4099}), KernelPlanOptions{}.flatInterleave);
  EXPECT_EQ(decided(gelu, {.interleaveFrom = 4100}), 0);
  EXPECT_EQ(decided(gelu, {.flatInterleave = 4, .interleaveFrom = 1}), 4);
  EXPECT_EQ(decided(gelu, {.flatInterleave = 0, .interleaveFrom = 1}), 0);
  EXPECT_EQ(decided(gelu, gpuPlanOptions({.interleaveFrom = 1})), 0);
  EXPECT_EQ(decided(gelu, {}), 0);  // 4099 elements: below the default threshold
  // Only costly math: a sum of products is left to LLVM at any size.
  Expected<Module> cheap = parseModule(
      "func @axpy(%x: f32[65536], %y: f32[65536]) -> f32[65536] {\n"
      "  %a = mul %x, %y : f32[65536]\n  %b = add %a, %y : f32[65536]\n  return %b\n}\n",
      "axpy.dlc");
  ASSERT_TRUE(cheap) << cheap.error().str();
  EXPECT_EQ(decided(*cheap->functions().front(), {.interleaveFrom = 1}), 0);
}

TEST(Interleave, EmitsTheInterleaveCount) {
  Module m = parseWorkload(geluText(4099, false), false);
  const Function &f = *m.functions().front();
  Expected<std::string> ir = emitKernels(f, EmitKind::LlvmIR, CodegenOptions{}, {.interleaveFrom = 1});
  ASSERT_TRUE(ir) << ir.error().str();
  EXPECT_NE(ir->find(", interleaved 8"), std::string::npos) << *ir;
  EXPECT_NE(ir->find("!{!\"llvm.loop.interleave.count\", i32 8}"), std::string::npos) << *ir;
  Expected<std::string> plain = emitKernels(f, EmitKind::LlvmIR, CodegenOptions{}, {});
  ASSERT_TRUE(plain) << plain.error().str();
  EXPECT_EQ(plain->find("llvm.loop.interleave.count"), std::string::npos) << *plain;
}

/// Runs \p f on every test target, 1 and 2 threads, default and odd chunks, streaming,
/// prefetching and neither, interleaved or not, fused and unfused: all results equal
/// the interpreter's bit for bit.
void expectSameBits(const Function &f, const std::vector<HostTensor> &args) {
  Expected<std::vector<HostTensor>> want = interpret(f, args, InterpreterOptions{});
  ASSERT_TRUE(want) << want.error().str();
  for (const TestTarget &t : testTargets())
    for (bool fuse : {true, false})
      for (int threads : {1, 2})
        // (chunk, streaming threshold, prefetch threshold, interleave threshold): chunks
        // of 5 start off a vector boundary, chunks of 333 inside a prefetch block.
        for (auto [chunk, streamBytes, prefetchBytes, interleaveFrom] :
             {std::tuple<int64_t, int64_t, int64_t, int64_t>{0, 1, 0, 1}, {5, 1, 0, 0}, {0, 0, 1, 0}, {333, 0, 1, 1},
              {0, 1, 1, 1}, {333, 1, 1, 0}, {5, 0, 0, 1}, {0, 0, 0, 0}}) {
            SCOPED_TRACE(fmt::format("@{}, target {}, {}, {} thread(s), chunk {}, streaming {}, prefetching {}, "
                                     "interleaved {}",
                                     f.name(), t.name, fuse ? "fused" : "unfused", threads, chunk, streamBytes > 0,
                                     prefetchBytes > 0, interleaveFrom > 0));
            ExecutableOptions o;
            o.codegen = t.opts;
            o.codegen.threads = threads;
            o.keepDenormals = true;
            o.plan.fuse = fuse;
            o.plan.forceChunk = chunk;
            o.plan.streamStoreBytes = streamBytes;
            o.plan.prefetchBytes = prefetchBytes;
            o.plan.interleaveFrom = interleaveFrom > 0 ? interleaveFrom : int64_t{1} << 40;
            std::vector<HostTensor> got = compileAndRun(f, args, o);
            ASSERT_EQ(got.size(), want->size());
            for (size_t r = 0; r < got.size(); ++r)
              EXPECT_TRUE(sameElements(got[r], (*want)[r], 0, /*strictNan=*/true)) << "result " << r;
          }
}

TEST(FlatKernelPaths, GeluResultsUnchanged) {
  // Tail sizes (a scalar remainder after the vector loop) and a multiple of 64.
  for (int64_t n : {int64_t{4099}, int64_t{1024}, int64_t{21}}) {
    Module fwd = parseWorkload(geluText(n, false), false);
    const Function &f = *fwd.functions().front();
    expectSameBits(f, argsFor(f, 7, -6, 6));
    Module bwd = parseWorkload(geluText(n, true), true);
    const Function &g = *bwd.functions().front();
    expectSameBits(g, argsFor(g, 8, -6, 6));
  }
}

TEST(FlatKernelPaths, AdamInPlaceResultsUnchanged) {
  // Three outputs written over donated arguments (p, m, v) in one streaming kernel.
  Module m = parseWorkload(adamText(4096 + 7), false);
  const Function &f = *m.functions().front();
  std::vector<HostTensor> args = argsFor(f, 9, 0, 1);
  args[4].setDouble(0, 3);  // the step
  expectSameBits(f, args);
}

}  // namespace
}  // namespace dlc::test
