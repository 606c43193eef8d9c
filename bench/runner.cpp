//===- bench/runner.cpp - compiling and timing one variant of a case --------===//
#include "bench/runner.h"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

namespace dlc::bench {
namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

/// One W6 compile: graph construction, training step, clean-up passes, Executable.
Expected<double> compileOnce(int64_t batch, const ExecutableOptions &exe) {
  const auto t0 = Clock::now();
  Module m;
  DL_TRY(Function * step, buildMlpTrainStep(m, batch, 0));
  DL_TRY(std::unique_ptr<Executable> ex, Executable::compile(*step, exe));
  return msSince(t0);
}

/// compileOnce in a forked child; the parent reads the time from a pipe.
Expected<double> compileInChild(int64_t batch, const ExecutableOptions &exe) {
  int fds[2];
  if (pipe(fds) != 0) return makeError(Location{}, "cannot create a pipe for the cold compile");
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return makeError(Location{}, "cannot fork for the cold compile");
  }
  if (pid == 0) {
    close(fds[0]);
    setenv("DLC_CACHE_DIR", "", 1);  // no on-disk object cache: cold means cold
    Expected<double> ms = compileOnce(batch, exe);
    const double v = ms ? *ms : -1;
    const ssize_t w = write(fds[1], &v, sizeof v);
    _exit(w == sizeof v && ms ? 0 : 1);
  }
  close(fds[1]);
  double v = -1;
  const ssize_t r = read(fds[0], &v, sizeof v);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (r != sizeof v || v < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return makeError(Location{}, "the cold compile of W1's training step failed in the child process");
  return v;
}

}  // namespace

Expected<VariantResult> runVariant(const BenchCase &c, bool fuse, const ExecutableOptions &exe,
                                   const RepeatOptions &repeat) {
  ExecutableOptions opts = exe;
  opts.plan.fuse = fuse;
  VariantResult r;
  r.variant = fuse ? "fused" : "unfused";
  r.work = countWork(*c.function, opts.plan);
  const auto t0 = Clock::now();
  DL_TRY(std::unique_ptr<Executable> ex, Executable::compile(*c.function, opts));
  r.compileMs = msSince(t0);
  r.threads = ex->numThreads();
  DL_TRY(r.outputs, ex->run(c.inputs));
  // The profile counts the timed runs (and the warm-up) only, not the first run.
  const std::vector<KernelTime> before = ex->kernelProfile();
  // Timed runs work in place, as a training loop does: donated parameters and optimizer
  // state are updated in the argument tensors, and results land in tensors kept across
  // runs, so no run allocates or copies (Executable::runInPlace).
  std::vector<HostTensor> args(c.inputs.begin(), c.inputs.end());
  std::vector<HostTensor> results(r.outputs.size());
  Error failure;
  bool failed = false;
  r.timing = timeRepeated(
      [&] {
        Expected<void> ok = ex->runInPlace(args, results);
        if (!ok) failure = ok.takeError(), failed = true;
        return !failed;
      },
      repeat);
  if (failed) return failure;
  r.profile = ex->kernelProfile();
  for (size_t k = 0; k < r.profile.size() && k < before.size(); ++k) {
    r.profile[k].launches -= before[k].launches;
    r.profile[k].seconds -= before[k].seconds;
  }
  return r;
}

Expected<Timing> timeCompile(bool cold, int64_t batch, bool fuse, const ExecutableOptions &exe,
                             const RepeatOptions &repeat) {
  ExecutableOptions opts = exe;
  opts.plan.fuse = fuse;
  Error failure;
  bool failed = false;
  auto once = [&]() -> double {
    Expected<double> ms = cold ? compileInChild(batch, opts) : compileOnce(batch, opts);
    if (!ms) {
      failure = ms.takeError(), failed = true;
      return -1;
    }
    return *ms;
  };
  RepeatOptions ro = repeat;
  ro.warmup = cold ? 0 : 1;  // warm: the first compile fills the in-memory cache
  Timing t = sampleRepeated(once, ro);
  if (failed) return failure;
  return t;
}

}  // namespace dlc::bench
