//===- bench/probe.cpp - the machine's limits, measured in the same run -----===//
#include "bench/probe.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace dlc::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct FreeDeleter {
  void operator()(float *p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float[], FreeDeleter>;

Buffer allocate(int64_t n) {
  return Buffer(static_cast<float *>(std::aligned_alloc(64, static_cast<size_t>(n) * sizeof(float))));
}

/// Runs body(begin, end) over [0, n) split evenly across \p threads threads; seconds.
template <class Body> double parallelSeconds(int threads, int64_t n, Body body) {
  const auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(body, n * t / threads, n * (t + 1) / threads);
  body(0, n / threads);
  for (std::thread &th : pool) th.join();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

template <class Body> double bestOf(int trials, Body body) {
  double best = 1e30;
  for (int i = 0; i < trials; ++i) best = std::min(best, body());
  return best;
}

// Independent FMA chains: enough accumulators to cover latency x ports (4 x 2).
constexpr int kChains = 12;

__attribute__((target("avx512f"))) float fmaAvx512(int64_t iters) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm512_add_ps(s, acc[i]);
  // Two lanes keep the chains alive, as in the AVX2 probe. (_mm512_reduce_add_ps drew a
  // false -Wuninitialized from GCC 12's own header: its _mm256_undefined_pd.)
  float out[16];
  _mm512_storeu_ps(out, s);
  return out[0] + out[15];
}

__attribute__((target("avx2,fma"))) float fmaAvx2(int64_t iters) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i) * 1e-3f);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  __m256 s = acc[0];
  for (int i = 1; i < kChains; ++i) s = _mm256_add_ps(s, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[7];
}

float fmaScalar(int64_t iters) {
  float acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = static_cast<float>(i) * 1e-3f;
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * 0.999999f + 1e-7f;
  float s = 0;
  for (float x : acc) s += x;
  return s;
}

}  // namespace

MachineLimits probeMachine(int threads, int64_t n) {
  MachineLimits m;
  m.threads = std::max(1, threads);
  Buffer a = allocate(n), b = allocate(n), c = allocate(n);
  if (!a || !b || !c) return m;
  // First touch on the threads that will use the memory.
  parallelSeconds(m.threads, n, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) a[i] = 0, b[i] = 1.0f, c[i] = 2.0f;
  });
  float *pa = a.get(), *pb = b.get(), *pc = c.get();
  // The copy is the best of three loops, so that a floor never rests on a copy slower
  // than the machine allows: a plain loop, memcpy, and a loop that prefetches both
  // arrays 2 KiB ahead (as dlc's large flat kernels do; on the 2-core VM the plain loop
  // reached ~17 GB/s, memcpy and the prefetching loop ~22). All three store normally.
  const double plainCopy = bestOf(5, [&] {
    return parallelSeconds(m.threads, n, [=](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) pa[i] = pb[i];
    });
  });
  const double memcpyCopy = bestOf(5, [&] {
    return parallelSeconds(m.threads, n, [=](int64_t lo, int64_t hi) {
      std::memcpy(pa + lo, pb + lo, static_cast<size_t>(hi - lo) * sizeof(float));
    });
  });
  const double prefetchCopy = bestOf(5, [&] {
    return parallelSeconds(m.threads, n, [=](int64_t lo, int64_t hi) {
      constexpr int64_t kBlock = 128, kAhead = 512;  // floats: 8 lines per block, 2 KiB ahead
      for (int64_t blk = lo; blk < hi; blk += kBlock) {
        for (int64_t l = 0; l < kBlock; l += 16) {
          __builtin_prefetch(pb + blk + kAhead + l, 0, 3);
          __builtin_prefetch(pa + blk + kAhead + l, 1, 3);
        }
        const int64_t end = std::min(blk + kBlock, hi);
        for (int64_t i = blk; i < end; ++i) pa[i] = pb[i];
      }
    });
  });
  const double copy = std::min({plainCopy, memcpyCopy, prefetchCopy});
  // The same prefetching loop with streaming stores (SSE's, which every x86-64 has).
  const double ntCopy = bestOf(5, [&] {
    return parallelSeconds(m.threads, n, [=](int64_t lo, int64_t hi) {
      constexpr int64_t kBlock = 128, kAhead = 512;
      int64_t i = lo;
      for (; i < hi && (reinterpret_cast<uintptr_t>(pa + i) & 15) != 0; ++i) pa[i] = pb[i];
      for (; i + kBlock <= hi; i += kBlock) {
        for (int64_t l = 0; l < kBlock; l += 16) __builtin_prefetch(pb + i + kAhead + l, 0, 3);
        for (int64_t j = i; j < i + kBlock; j += 4) _mm_stream_ps(pa + j, _mm_loadu_ps(pb + j));
      }
      for (; i < hi; ++i) pa[i] = pb[i];
      _mm_sfence();
    });
  });
  m.copyNtGBps = 8.0 * static_cast<double>(n) / ntCopy * 1e-9;
  const double triad = bestOf(5, [&] {
    return parallelSeconds(m.threads, n, [=](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) pa[i] = pb[i] + 3.0f * pc[i];
    });
  });
  m.copyGBps = 8.0 * static_cast<double>(n) / copy * 1e-9;
  m.triadGBps = 12.0 * static_cast<double>(n) / triad * 1e-9;

  __builtin_cpu_init();
  int lanes = 1;
  float (*kernel)(int64_t) = fmaScalar;
  m.isa = "scalar";
  if (__builtin_cpu_supports("avx512f")) kernel = fmaAvx512, lanes = 16, m.isa = "avx512";
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) kernel = fmaAvx2, lanes = 8, m.isa = "avx2";
  const int64_t iters = int64_t{1} << 22;  // ~50 ms per thread at 3.5 GHz, AVX-512
  std::vector<float> sinks(static_cast<size_t>(m.threads));  // keeps the chains alive
  const double fmaSeconds = bestOf(3, [&] {
    return parallelSeconds(m.threads, m.threads, [&](int64_t t, int64_t) { sinks[static_cast<size_t>(t)] = kernel(iters); });
  });
  volatile float sink = 0;
  for (float s : sinks) sink = sink + s;
  m.peakGflops = 2.0 * lanes * kChains * static_cast<double>(iters) * m.threads / fmaSeconds * 1e-9;
  return m;
}

double floorMs(const MachineLimits &m, int64_t bytes, int64_t flops) {
  const double memory = m.copyGBps > 0 ? static_cast<double>(bytes) / (m.copyGBps * 1e9) : 0;
  const double compute = m.peakGflops > 0 ? static_cast<double>(flops) / (m.peakGflops * 1e9) : 0;
  return 1e3 * std::max(memory, compute);
}

const char *floorBound(const MachineLimits &m, int64_t bytes, int64_t flops) {
  const double memory = m.copyGBps > 0 ? static_cast<double>(bytes) / m.copyGBps : 0;
  const double compute = m.peakGflops > 0 ? static_cast<double>(flops) / m.peakGflops : 0;
  return compute > memory ? "compute" : "memory";
}

}  // namespace dlc::bench
