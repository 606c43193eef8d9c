//===- tests/unit/codegen_runtime_test.cpp - JIT, runtime and emit behaviour ===//
//
// The parts of the backend that are not one op: target resolution, the kernel cache,
// text emission, the thread pool's fixed partition, Executable's argument checks,
// buffer aliasing, denormal flushing and concurrent runs.
//
//===----------------------------------------------------------------------===//
#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "codegen/emit.h"
#include "codegen/jit.h"
#include "codegen/target.h"
#include "codegen_test_util.h"
#include "ir/interpreter.h"
#include "runtime/executable.h"
#include "runtime/thread_pool.h"

namespace dlc::test {
namespace {

/// f(a, b) = (a + b) * a on f32[shape].
std::unique_ptr<Function> addMul(const Shape &shape) {
  auto f = std::make_unique<Function>("f");
  Value *a = f->addArg(f32(shape), "a"), *b = f->addArg(f32(shape), "b");
  Builder bd(*f);
  f->setResults({bd.mul(bd.add(a, b), a)});
  return f;
}

TEST(CodegenTarget, ResolvesHostAndOverrides) {
  Expected<TargetInfo> host = resolveTarget({});
  ASSERT_TRUE(host) << host.error().str();
  EXPECT_FALSE(host->cpu.empty());
  CodegenOptions avx2;
  avx2.features = "-avx512f";
  Expected<TargetInfo> t = resolveTarget(avx2);
  ASSERT_TRUE(t);
  EXPECT_LE(t->vectorBits, 256);
  CodegenOptions generic;
  generic.cpu = "x86-64";
  t = resolveTarget(generic);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->vectorBits, 128);
  EXPECT_EQ(t->cpu, "x86-64");
}

TEST(CodegenTarget, RejectsUnknownNames) {
  CodegenOptions o;
  o.cpu = "pentium-9000";
  Expected<TargetInfo> t = resolveTarget(o);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().message(), "unknown target CPU 'pentium-9000' (try x86-64, haswell, skylake-avx512)");
  o = {};
  o.features = "-avx512";
  t = resolveTarget(o);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().message(),
            "unknown target feature 'avx512' (expected LLVM names such as +avx2 or -avx512f)");
}

TEST(CodegenJit, CachesKernelsByTheirIr) {
  Expected<std::shared_ptr<Jit>> jit = Jit::create({});
  ASSERT_TRUE(jit) << jit.error().str();
  auto f = addMul({3, 17});
  KernelPlan plan = planKernels(*f, KernelPlanOptions{.fuse = false});
  ASSERT_EQ(plan.kernels.size(), 2u);
  Expected<std::vector<KernelFn>> first = (*jit)->compile(plan.kernels);
  ASSERT_TRUE(first) << first.error().str();
  EXPECT_EQ((*jit)->stats().compiled, 2);
  // The same function again (another Function object): every kernel is a cache hit.
  auto g = addMul({3, 17});
  Expected<std::vector<KernelFn>> second = (*jit)->compile(planKernels(*g, KernelPlanOptions{.fuse = false}).kernels);
  ASSERT_TRUE(second);
  EXPECT_EQ((*jit)->stats().compiled, 2);
  EXPECT_EQ((*jit)->stats().cacheHits, 2);
  EXPECT_EQ(*first, *second);
  // Another shape is another kernel.
  auto h = addMul({3, 18});
  ASSERT_TRUE((*jit)->compile(planKernels(*h, KernelPlanOptions{.fuse = false}).kernels));
  EXPECT_EQ((*jit)->stats().compiled, 4);
}

TEST(CodegenJit, IdenticalKernelsInOneBatchCompileOnce) {
  Expected<std::shared_ptr<Jit>> jit = Jit::create({});
  ASSERT_TRUE(jit);
  auto f = std::make_unique<Function>("f");
  Value *a = f->addArg(f32({8}), "a");
  Builder b(*f);
  f->setResults({b.exp(a), b.exp(a)});
  // Two kernels (horizontal fusion would run the two independent loops as one).
  Expected<std::vector<KernelFn>> fns = (*jit)->compile(planKernels(*f, KernelPlanOptions{.horizontal = false}).kernels);
  ASSERT_TRUE(fns);
  ASSERT_EQ(fns->size(), 2u);
  EXPECT_EQ((*jit)->stats().compiled, 1);
  EXPECT_EQ((*fns)[0], (*fns)[1]);
}

TEST(CodegenEmit, PrintsEveryKernelAtEveryStage) {
  auto f = addMul({4, 37});
  for (EmitKind k : {EmitKind::LlvmIR, EmitKind::LlvmOptimized, EmitKind::Assembly}) {
    Expected<std::string> text = emitKernels(*f, k, {}, KernelPlanOptions{.fuse = false});
    ASSERT_TRUE(text) << text.error().str();
    EXPECT_NE(text->find("; kernel add_0: add -> f32[4,37]"), std::string::npos) << *text;
    EXPECT_NE(text->find("; kernel mul_1: mul -> f32[4,37]"), std::string::npos);
  }
  Expected<std::string> ir = emitKernels(*f, EmitKind::LlvmIR, {}, KernelPlanOptions{.fuse = false});
  EXPECT_NE(ir->find("define void @add_0(ptr %buffers, i64 %begin, i64 %end)"), std::string::npos);
  EXPECT_NE(ir->find("ptr noalias nocapture readonly"), std::string::npos);
  EXPECT_NE(ir->find("llvm.loop.vectorize.enable"), std::string::npos);
}

TEST(ThreadPool, ChunksAreFixedAndCoverEverythingOnce) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.numThreads(), threads);
    for (int64_t n : {0, 1, 7, 100, 1001})
      for (int64_t chunk : {1, 3, 64, 5000}) {
        std::mutex mu;
        std::set<std::pair<int64_t, int64_t>> chunks;
        std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
        pool.parallelFor(n, chunk, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) seen[static_cast<size_t>(i)]++;
          std::lock_guard<std::mutex> lock(mu);
          chunks.emplace(b, e);
        });
        std::set<std::pair<int64_t, int64_t>> want;
        for (int64_t b = 0; b < n; b += chunk) want.emplace(b, std::min(n, b + chunk));
        EXPECT_EQ(chunks, want) << "threads " << threads << ", n " << n << ", chunk " << chunk;
        for (auto &s : seen) EXPECT_EQ(s.load(), 1);
      }
  }
}

// Jobs back to back (workers still spinning), jobs after a pause (workers asleep: the
// caller may take every chunk before they wake, and a late worker must not enter the
// closed job) and jobs whose chunks block until a worker helps: each chunk runs once.
TEST(ThreadPool, SpinningSleepingAndLateWorkers) {
  ThreadPool pool(3);
  for (int rep = 0; rep < 200; ++rep) {
    if (rep % 50 == 49) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const int64_t n = 1 + rep % 9;
    std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
    pool.parallelFor(n, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) seen[static_cast<size_t>(i)]++;
    });
    for (auto &x : seen) ASSERT_EQ(x.load(), 1) << "rep " << rep;
  }
  // Two chunks that each wait for the other to have started: needs a worker to join.
  std::atomic<int> started{0};
  pool.parallelFor(2, 1, [&](int64_t, int64_t) {
    started++;
    while (started.load() < 2) std::this_thread::yield();
  });
  EXPECT_EQ(started.load(), 2);
}

// Each thread owns a contiguous range of the chunks and starts there (so a repeated
// kernel finds each core on the tiles it wrote last time): with 2 threads and 4 chunks
// the caller runs 0 and 1, the worker starts at 2. Chunk 0 waits until another chunk has
// started (the worker must join) and chunk 2 until chunk 1 has (the caller must take 1).
TEST(ThreadPool, EachThreadStartsOnItsOwnRange) {
  ThreadPool pool(2);
  for (int rep = 0; rep < 20; ++rep) {
    std::array<std::atomic<bool>, 4> started{};
    std::array<std::thread::id, 4> ran{};
    pool.parallelFor(4, 1, [&](int64_t b, int64_t) {
      const size_t c = static_cast<size_t>(b);
      ran[c] = std::this_thread::get_id();
      started[c] = true;
      if (c == 0)
        while (!started[1] && !started[2] && !started[3]) std::this_thread::yield();
      if (c == 2)
        while (!started[1]) std::this_thread::yield();
    });
    EXPECT_EQ(ran[0], std::this_thread::get_id());
    EXPECT_EQ(ran[1], std::this_thread::get_id());
    EXPECT_NE(ran[2], std::this_thread::get_id());
  }
}

TEST(Executable, ChecksTheInputs) {
  auto f = addMul({4});
  Expected<std::unique_ptr<Executable>> ex = Executable::compile(*f);
  ASSERT_TRUE(ex) << ex.error().str();
  std::vector<HostTensor> one = {HostTensor(f32({4}))};
  Expected<std::vector<HostTensor>> r = (*ex)->run(one);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "'@f' expects 2 argument(s), got 1");
  std::vector<HostTensor> wrong = {HostTensor(f32({4})), HostTensor(f32({5}))};
  r = (*ex)->run(wrong);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "'@f' argument 2 ('%b') expects f32[4], got f32[5]");
}

// Result tensors (which kernels write in place: a GEMM's C) and every other HostTensor
// start on a 64-byte boundary, as the arena's buffers do: a full AVX-512 vector access
// never spans two cache lines. Odd sizes, so that malloc's 16-byte alignment would show.
TEST(Executable, TensorsAndResultsAreCacheLineAligned) {
  auto aligned = [](const HostTensor &t) { return reinterpret_cast<uintptr_t>(t.raw()) % 64 == 0; };
  std::vector<HostTensor> keep;  // live together, so no two reuse one block
  for (int64_t n : {1, 3, 17, 100, 4097}) {
    keep.push_back(HostTensor(f32({n})));
    keep.push_back(HostTensor::uninitialized(TensorType{DType::F64, {n}}));
    keep.push_back(HostTensor::full(TensorType{DType::I32, {n, 3}}, 1.0));
    HostTensor copy = keep.back();
    EXPECT_TRUE(aligned(copy));
  }
  for (const HostTensor &t : keep) EXPECT_TRUE(aligned(t));
  auto f = addMul({3, 7});
  Expected<std::unique_ptr<Executable>> ex = Executable::compile(*f);
  ASSERT_TRUE(ex) << ex.error().str();
  std::vector<HostTensor> in = {HostTensor(f32({3, 7})), HostTensor(f32({3, 7}))};
  for (int i = 0; i < 4; ++i) {
    Expected<std::vector<HostTensor>> r = (*ex)->run(in);
    ASSERT_TRUE(r) << r.error().str();
    EXPECT_TRUE(aligned((*r)[0]));
    keep.push_back(std::move((*r)[0]));
  }
}

TEST(Executable, RejectsInvalidIr) {
  auto f = std::make_unique<Function>("bad");
  Value *a = f->addArg(f32({4}), "a");
  Value *b = f->addArg(f32({5}), "b");
  Node *n = f->createNode(OpKind::Add, {a, b}, f32({4}), NoAttrs{});
  f->setResults({n->result()});
  Expected<std::unique_ptr<Executable>> ex = Executable::compile(*f);
  ASSERT_FALSE(ex);
  EXPECT_NE(ex.error().str().find("'add'"), std::string::npos) << ex.error().str();
}

TEST(Executable, AliasesAndArgumentResults) {
  // Results that are an argument, a reshape of a reshape of an argument, and of a node.
  auto f = std::make_unique<Function>("f");
  Value *a = f->addArg(f32({2, 6}), "a");
  Builder b(*f);
  Value *r1 = b.reshape(b.reshape(a, {3, 4}), {12});
  Value *n = b.neg(a);
  f->setResults({a, r1, b.reshape(n, {4, 3})});
  Rng rng(7);
  JitCase c;
  c.label = "aliases";
  c.fn = std::move(f);
  c.inputs = {rng.tensor(f32({2, 6}))};
  checkJitCase(c);
  Expected<std::unique_ptr<Executable>> ex = Executable::compile(*c.fn);
  ASSERT_TRUE(ex);
  EXPECT_EQ((*ex)->kernelNames(), std::vector<std::string>{"neg_2"});
}

TEST(Executable, FlushesDenormalsUnlessAskedNotTo) {
  auto f = std::make_unique<Function>("f");
  Value *a = f->addArg(f32({3}), "a");
  Builder b(*f);
  // Times 3, not 1: fused, the constant is an immediate and LLVM folds x * 1 to x,
  // which no longer flushes a denormal x (docs/codegen.md, numeric contract).
  f->setResults({b.mul(a, b.constant(3.0, f32({3})))});
  const float tiny = 1e-40f;  // a denormal
  std::vector<HostTensor> in = {HostTensor::fromVector<float>({3}, {tiny, -tiny, 1.0f})};
#if defined(__x86_64__)
  const unsigned csr = _mm_getcsr();
#endif
  Expected<std::unique_ptr<Executable>> flush = Executable::compile(*f);
  ASSERT_TRUE(flush);
  Expected<std::vector<HostTensor>> r = (*flush)->run(in);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].data<float>()[0], 0.0f);
  EXPECT_EQ((*r)[0].data<float>()[2], 3.0f);
#if defined(__x86_64__)
  EXPECT_EQ(_mm_getcsr(), csr) << "the caller's floating-point mode must be restored";
#endif
  ExecutableOptions keep;
  keep.keepDenormals = true;
  Expected<std::unique_ptr<Executable>> ieee = Executable::compile(*f, keep);
  ASSERT_TRUE(ieee);
  r = (*ieee)->run(in);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[0].data<float>()[0], tiny * 3.0f);
  EXPECT_EQ((*r)[0].data<float>()[1], -tiny * 3.0f);
}

TEST(Executable, ConcurrentRunsGiveCorrectResults) {
  auto f = addMul({64, 33});
  ExecutableOptions o;
  o.codegen.threads = 2;
  o.keepDenormals = true;  // the inputs hold denormals
  Expected<std::unique_ptr<Executable>> ex = Executable::compile(*f, o);
  ASSERT_TRUE(ex);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&, t] {
      Rng rng(100 + t);
      for (int i = 0; i < 5; ++i) {
        std::vector<HostTensor> in = {rng.tensor(f32({64, 33})), rng.tensor(f32({64, 33}))};
        Expected<std::vector<HostTensor>> got = (*ex)->run(in);
        Expected<std::vector<HostTensor>> want = interpret(*f, in);
        if (!got || !want || !sameElements((*got)[0], (*want)[0])) ++failures;
      }
    });
  for (std::thread &t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(TestHarness, SameElementsSeesDifferences) {
  HostTensor a = HostTensor::fromVector<float>({3}, {1, 2, 3});
  HostTensor b = HostTensor::fromVector<float>({3}, {1, 2, std::nextafter(3.0f, 4.0f)});
  EXPECT_FALSE(sameElements(a, b));
  EXPECT_TRUE(sameElements(a, b, /*ulp=*/1));
  HostTensor z = HostTensor::fromVector<float>({1}, {0.0f}), nz = HostTensor::fromVector<float>({1}, {-0.0f});
  EXPECT_FALSE(sameElements(z, nz));
  HostTensor n1 = HostTensor::fromVector<float>({1}, {std::numeric_limits<float>::quiet_NaN()});
  HostTensor n2 = HostTensor::fromVector<float>({1}, {-std::numeric_limits<float>::quiet_NaN()});
  EXPECT_TRUE(sameElements(n1, n2));
  EXPECT_FALSE(sameElements(n1, n2, 0, /*strictNan=*/true));
}

}  // namespace
}  // namespace dlc::test
