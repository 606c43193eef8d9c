//===- runtime/thread_pool.h - the kernel thread pool and parallel_for -------===//
//
// One pool per thread count in the process (two pools on two cores fight, BENCHMARKS.md).
// parallelFor splits [0, n) into fixed chunks [0, chunk), [chunk, 2 chunk), ...: the
// boundaries depend only on n and chunk, never on the number of threads, so a kernel
// that computes each element within one chunk gives identical results on any pool.
// Which thread runs which chunk: each of the T threads (the caller first) owns a
// contiguous range of about n/T chunks and takes its own first, in order, then takes what
// is left of the others' (an atomic counter per range), for load balance. So a run that
// repeats finds each thread on the same chunks as last time (a GEMM's tiles of C stay in
// that core's cache) unless one was late.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace dlc {

class ThreadPool {
 public:
  /// A pool of \p threads threads in all: the calling thread plus threads-1 workers.
  /// 0 means one per hardware thread.
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int numThreads() const { return static_cast<int>(workers_.size()) + 1; }

  /// Calls fn(begin, end) once for each chunk of [0, n) and returns when all are done.
  /// Concurrent callers are served one after the other; fn must not call parallelFor on
  /// the same pool.
  void parallelFor(int64_t n, int64_t chunk, const std::function<void(int64_t, int64_t)> &fn);

  /// The process-wide pool with \p threads threads (0: one per hardware thread).
  static ThreadPool &shared(int threads);
  /// The number of hardware threads (at least 1).
  static int hardwareThreads();

 private:
  struct Range;
  struct Job;
  void workerLoop(int self);
  static void runChunks(Job &job, int self);

  std::vector<std::thread> workers_;
  std::mutex callMu_;  ///< one parallelFor at a time
  std::mutex mu_;
  std::condition_variable wake_, done_;
  Job *job_ = nullptr;
  std::unique_ptr<Range[]> ranges_;  ///< one per thread, reused by every job
  /// Written under mu_; read without it by workers (and the caller) while they spin.
  std::atomic<uint64_t> generation_{0};
  /// Workers inside the current job (entered under mu_ while job_ was set).
  std::atomic<int> activeWorkers_{0};
  std::atomic<bool> stop_{false};
};

/// While alive, the calling thread flushes denormal results to zero and treats denormal
/// inputs as zero (x86 MXCSR FTZ and DAZ); restores the previous mode on destruction.
/// A no-op when \p enable is false or on other architectures.
class ScopedFlushDenormals {
 public:
  explicit ScopedFlushDenormals(bool enable);
  ~ScopedFlushDenormals();
  ScopedFlushDenormals(const ScopedFlushDenormals &) = delete;
  ScopedFlushDenormals &operator=(const ScopedFlushDenormals &) = delete;

 private:
  unsigned saved_ = 0;
  bool active_ = false;
};

}  // namespace dlc
