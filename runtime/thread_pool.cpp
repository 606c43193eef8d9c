//===- runtime/thread_pool.cpp - the kernel thread pool and parallel_for -----===//
//
// Workers sleep on a condition variable between jobs (no spinning: on a shared 2-core
// machine a spinning pool steals the cores that do the work). Each job wakes every
// worker once; workers and the caller take chunks from an atomic counter; the caller
// returns when every worker has left the job.
//
//===----------------------------------------------------------------------===//
#include "runtime/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define DLC_HAVE_MXCSR 1
#endif

namespace dlc {

struct ThreadPool::Job {
  const std::function<void(int64_t, int64_t)> *fn;
  int64_t n, chunk, numChunks;
  std::atomic<int64_t> next{0};
};

int ThreadPool::hardwareThreads() {
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

ThreadPool::ThreadPool(int threads) {
  const int total = threads > 0 ? threads : hardwareThreads();
  for (int i = 1; i < total; ++i) workers_.emplace_back([this] { workerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread &t : workers_) t.join();
}

void ThreadPool::runChunks(Job &job) {
  for (int64_t c = job.next.fetch_add(1); c < job.numChunks; c = job.next.fetch_add(1)) {
    const int64_t begin = c * job.chunk;
    (*job.fn)(begin, std::min(job.n, begin + job.chunk));
  }
}

void ThreadPool::workerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t seen = 0;
  while (true) {
    wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    Job *job = job_;
    lock.unlock();
    runChunks(*job);
    lock.lock();
    if (--busyWorkers_ == 0) done_.notify_one();
  }
}

void ThreadPool::parallelFor(int64_t n, int64_t chunk, const std::function<void(int64_t, int64_t)> &fn) {
  if (n <= 0) return;
  chunk = std::max<int64_t>(1, chunk);
  Job job{&fn, n, chunk, (n + chunk - 1) / chunk};
  if (workers_.empty() || job.numChunks == 1) {
    runChunks(job);
    return;
  }
  std::lock_guard<std::mutex> call(callMu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &job;
    busyWorkers_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  wake_.notify_all();
  runChunks(job);
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [&] { return busyWorkers_ == 0; });
  job_ = nullptr;
}

ThreadPool &ThreadPool::shared(int threads) {
  // Never destroyed: worker threads must not be joined during static destruction.
  static std::mutex mu;
  static auto *pools = new std::map<int, std::unique_ptr<ThreadPool>>();
  const int total = threads > 0 ? threads : hardwareThreads();
  std::lock_guard<std::mutex> lock(mu);
  std::unique_ptr<ThreadPool> &p = (*pools)[total];
  if (!p) p = std::make_unique<ThreadPool>(total);
  return *p;
}

ScopedFlushDenormals::ScopedFlushDenormals(bool enable) {
#ifdef DLC_HAVE_MXCSR
  if (!enable) return;
  constexpr unsigned kFtz = 0x8000, kDaz = 0x0040;
  saved_ = _mm_getcsr();
  _mm_setcsr(saved_ | kFtz | kDaz);
  active_ = true;
#else
  (void)enable;
#endif
}

ScopedFlushDenormals::~ScopedFlushDenormals() {
#ifdef DLC_HAVE_MXCSR
  if (active_) _mm_setcsr(saved_);
#endif
}

}  // namespace dlc
