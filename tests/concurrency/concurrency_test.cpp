//===- tests/concurrency/concurrency_test.cpp - threads, pools, JIT caches --===//
//
// The label `concurrency` (its own binary, so that the ThreadSanitizer build of CI,
// `scripts/build tsan`, compiles and runs just this): the thread pool used by several
// threads at once, one compiled executable run from several threads on different inputs
// (equal to serial runs, bit for bit), concurrent compiles of the same and of different
// functions in one JIT (the in-memory cache), and JITs sharing one on-disk cache
// directory while compiling at the same time (the two-process case is a lit test,
// tests/lit/tool/cache-two-processes.test).
//
//===----------------------------------------------------------------------===//
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "codegen/jit.h"
#include "ir/builder.h"
#include "ir/interpreter.h"
#include "runtime/executable.h"
#include "runtime/thread_pool.h"

namespace dlc {
namespace {

constexpr int kThreads = 4;

/// A small MLP-like function: relu(x @ w^T + b), its row sums and softmax-ish exp.
std::unique_ptr<Function> mlpLayer(int64_t batch, int64_t in, int64_t out) {
  auto f = std::make_unique<Function>("layer");
  Value *x = f->addArg(f32({batch, in}), "x"), *w = f->addArg(f32({out, in}), "w"), *b = f->addArg(f32({out}), "b");
  Builder bd(*f);
  Value *h = bd.add(bd.matmul(x, w, false, true), bd.broadcastTo(b, {batch, out}));
  Value *r = bd.max(h, bd.constant(0.0, f32({batch, out})));
  f->setResults({r, bd.reduceSum(bd.exp(bd.neg(r)), {1})});
  return f;
}

std::vector<HostTensor> randomInputs(const Function &f, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::vector<HostTensor> in;
  for (size_t i = 0; i < f.numArgs(); ++i) {
    HostTensor t(f.arg(i)->type());
    for (float &x : t.data<float>()) x = std::uniform_real_distribution<float>(-1, 1)(g);
    in.push_back(std::move(t));
  }
  return in;
}

bool sameBits(const std::vector<HostTensor> &a, const std::vector<HostTensor> &b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].type() != b[i].type() || std::memcmp(a[i].raw(), b[i].raw(), static_cast<size_t>(a[i].numBytes())) != 0)
      return false;
  return true;
}

/// A fresh directory, removed at the end.
struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/dlc_concurrency_XXXXXX";
    path = ::mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

TEST(ThreadPool, SeveralCallersAtOnce) {
  for (int poolThreads : {2, 3}) {
    ThreadPool pool(poolThreads);
    std::vector<std::thread> callers;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t)
      callers.emplace_back([&, t] {
        for (int rep = 0; rep < 50; ++rep) {
          const int64_t n = 1000 + 37 * t + rep, chunk = 1 + (t + rep) % 17;
          std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
          pool.parallelFor(n, chunk, [&](int64_t b, int64_t e) {
            if (b % chunk != 0 || e - b > chunk) failures++;
            for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
          });
          for (auto &h : hits) failures += h.load() != 1;
        }
      });
    for (std::thread &c : callers) c.join();
    EXPECT_EQ(failures.load(), 0) << poolThreads << " threads";
  }
}

TEST(Executable, RunsFromSeveralThreadsEqualSerialRuns) {
  std::unique_ptr<Function> f = mlpLayer(33, 70, 19);
  ExecutableOptions o;
  o.codegen.threads = 2;
  Expected<std::unique_ptr<Executable>> ex = Executable::compile(*f, o);
  ASSERT_TRUE(ex) << ex.error().str();
  constexpr int kRuns = 6;
  std::vector<std::vector<HostTensor>> inputs, serial;
  for (int i = 0; i < kThreads * kRuns; ++i) {
    inputs.push_back(randomInputs(*f, static_cast<uint64_t>(i)));
    Expected<std::vector<HostTensor>> r = (*ex)->run(inputs.back());
    ASSERT_TRUE(r);
    serial.push_back(std::move(*r));
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < kRuns; ++k) {
        const int i = t * kRuns + k;
        Expected<std::vector<HostTensor>> r = (*ex)->run(inputs[static_cast<size_t>(i)]);
        mismatches += !r || !sameBits(*r, serial[static_cast<size_t>(i)]);
      }
    });
  for (std::thread &t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

/// Compiles \p fns from kThreads threads at once with one fresh JIT (thread t compiles
/// fns[t % fns.size()]) and checks every executable against the interpreter.
void compileConcurrently(const std::vector<std::unique_ptr<Function>> &fns, const std::string &cacheDir = "") {
  CodegenOptions co;
  co.cacheDir = cacheDir;
  co.threads = 1;
  Expected<std::shared_ptr<Jit>> jit = Jit::create(co);
  ASSERT_TRUE(jit) << jit.error().str();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      const Function &f = *fns[static_cast<size_t>(t) % fns.size()];
      ExecutableOptions o;
      o.codegen = co;
      o.keepDenormals = true;
      o.jit = *jit;
      Expected<std::unique_ptr<Executable>> ex = Executable::compile(f, o);
      if (!ex) {
        failures++;
        return;
      }
      std::vector<HostTensor> in = randomInputs(f, static_cast<uint64_t>(t));
      Expected<std::vector<HostTensor>> got = (*ex)->run(in);
      Expected<std::vector<HostTensor>> want = interpret(f, in);
      failures += !got || !want || !sameBits(*got, *want);
    });
  for (std::thread &t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  const Jit::Stats s = (*jit)->stats();
  EXPECT_GT(s.compiled + s.diskHits, 0);
  EXPECT_EQ(s.diskCorrupt, 0);
  EXPECT_EQ(s.diskWriteErrors, 0);
}

TEST(Jit, ConcurrentCompilesOfTheSameFunction) {
  std::vector<std::unique_ptr<Function>> fns;
  fns.push_back(mlpLayer(8, 20, 5));
  compileConcurrently(fns);
}

TEST(Jit, ConcurrentCompilesOfDifferentFunctions) {
  std::vector<std::unique_ptr<Function>> fns;
  for (int i = 0; i < kThreads; ++i) fns.push_back(mlpLayer(3 + i, 10 + 3 * i, 4 + i));
  compileConcurrently(fns);
}

TEST(Jit, JitsSharingADiskCacheCompileConcurrently) {
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  std::vector<std::unique_ptr<Function>> fns;
  fns.push_back(mlpLayer(6, 12, 7));
  fns.push_back(mlpLayer(5, 12, 7));
  // Two JITs (as two processes would have) compile the same kernels at the same time.
  std::thread other([&] { compileConcurrently(fns, dir.path); });
  compileConcurrently(fns, dir.path);
  other.join();
  // A third loads every kernel from disk: no entry is torn.
  CodegenOptions co;
  co.cacheDir = dir.path;
  Expected<std::shared_ptr<Jit>> jit = Jit::create(co);
  ASSERT_TRUE(jit);
  for (const auto &f : fns) {
    ExecutableOptions o;
    o.codegen = co;
    o.jit = *jit;
    Expected<std::unique_ptr<Executable>> ex = Executable::compile(*f, o);
    ASSERT_TRUE(ex) << ex.error().str();
  }
  EXPECT_EQ((*jit)->stats().compiled, 0);
  EXPECT_GT((*jit)->stats().diskHits, 0);
  EXPECT_EQ((*jit)->stats().diskCorrupt, 0);
}

}  // namespace
}  // namespace dlc
