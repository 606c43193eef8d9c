//===- runtime/thread_pool.cpp - the kernel thread pool and parallel_for -----===//
//
// Workers sleep on a condition variable between jobs, after a short bounded spin
// (kSpin): waking a sleeping thread costs tens of microseconds on a VM (a futex wake plus
// an IPI to an idle vCPU), as much as a whole small GEMM, while a training step or a
// benchmark loop issues its kernels back to back. The spin is bounded so that an idle
// pool gives its cores back (on a shared 2-core machine a pool that spins forever
// steals the cores that do the work). Each job wakes every worker once; workers and the
// caller take chunks: their own contiguous range first, then the others' (thread_pool.h).
// Once every chunk is taken the caller closes
// the job (a worker that wakes later finds nothing to do and does not hold the caller
// up) and returns when the workers inside it have left (spinning the same bounded time
// on that before it sleeps).
//
//===----------------------------------------------------------------------===//
#include "runtime/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define DLC_HAVE_MXCSR 1
#endif

namespace dlc {
namespace {

/// How long a worker spins for the next job (and the caller for the workers still inside
/// its job) before sleeping on a condition variable.
constexpr std::chrono::microseconds kSpin{100};

void cpuRelax() {
#ifdef DLC_HAVE_MXCSR
  _mm_pause();
#endif
}

/// Spins until \p done() or kSpin has passed; returns done().
template <class F> bool spinUntil(F &&done) {
  using Clock = std::chrono::steady_clock;
  const auto until = Clock::now() + kSpin;
  while (true) {
    for (int i = 0; i < 32; ++i) {
      if (done()) return true;
      cpuRelax();
    }
    if (Clock::now() >= until) return done();
  }
}

}  // namespace

/// The next chunk of one thread's range and the range's end (a cache line each).
struct alignas(64) ThreadPool::Range {
  std::atomic<int64_t> next{0};
  int64_t end = 0;
};

struct ThreadPool::Job {
  /// Splits the chunks into \p threads ranges, reusing the pool's \p ranges (one job at a
  /// time runs, so a job allocates nothing).
  Job(const std::function<void(int64_t, int64_t)> *f, int64_t n, int64_t chunk, int threads, Range *ranges)
      : fn(f), n(n), chunk(chunk), numChunks((n + chunk - 1) / chunk), threads(threads), ranges(ranges) {
    for (int t = 0; t < threads; ++t) {
      ranges[t].next.store(numChunks * t / threads, std::memory_order_relaxed);
      ranges[t].end = numChunks * (t + 1) / threads;
    }
  }
  const std::function<void(int64_t, int64_t)> *fn;
  int64_t n, chunk, numChunks;
  int threads;
  Range *ranges;
};

int ThreadPool::hardwareThreads() {
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

ThreadPool::ThreadPool(int threads) {
  const int total = threads > 0 ? threads : hardwareThreads();
  ranges_ = std::make_unique<Range[]>(static_cast<size_t>(total));
  for (int i = 1; i < total; ++i) workers_.emplace_back([this, i] { workerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread &t : workers_) t.join();
}

void ThreadPool::runChunks(Job &job, int self) {
  for (int i = 0; i < job.threads; ++i) {  // its own range, then the others' in turn
    Range &r = job.ranges[(self + i) % job.threads];
    for (int64_t c = r.next.fetch_add(1); c < r.end; c = r.next.fetch_add(1)) {
      const int64_t begin = c * job.chunk;
      (*job.fn)(begin, std::min(job.n, begin + job.chunk));
    }
  }
}

void ThreadPool::workerLoop(int self) {
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t seen = 0;  // a job posted before this thread started is still taken
  while (true) {
    if (!stop_ && generation_ == seen) {
      lock.unlock();
      spinUntil([&] {
        return stop_.load(std::memory_order_relaxed) || generation_.load(std::memory_order_relaxed) != seen;
      });
      lock.lock();
    }
    wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    Job *job = job_;
    if (!job) continue;  // woke after the caller had taken every chunk itself
    activeWorkers_.fetch_add(1);
    lock.unlock();
    runChunks(*job, self);
    lock.lock();
    if (activeWorkers_.fetch_sub(1) == 1) done_.notify_one();
  }
}

void ThreadPool::parallelFor(int64_t n, int64_t chunk, const std::function<void(int64_t, int64_t)> &fn) {
  if (n <= 0) return;
  chunk = std::max<int64_t>(1, chunk);
  if (workers_.empty() || n <= chunk) {
    for (int64_t begin = 0; begin < n; begin += chunk) fn(begin, std::min(n, begin + chunk));
    return;
  }
  std::lock_guard<std::mutex> call(callMu_);
  Job job(&fn, n, chunk, numThreads(), ranges_.get());
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &job;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  runChunks(job, 0);
  // Every chunk is taken. Close the job to workers that have not entered it yet (a worker
  // still waking up must not delay the caller), then wait for those inside.
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = nullptr;
  }
  spinUntil([&] { return activeWorkers_.load(std::memory_order_relaxed) == 0; });
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [&] { return activeWorkers_ == 0; });
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
