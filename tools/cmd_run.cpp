//===- tools/cmd_run.cpp - `dlc run`: run a function on random inputs -------===//
//
// `dlc run FILE [--function=NAME] [--seed=N] [--threads=N] [--interp] [--unfused]` draws seeded
// random inputs (floats uniform in [-1, 1), integers in [0, 10), booleans 0/1), runs
// the function JIT-compiled (or in the reference interpreter with --interp) and prints
// each result with formatTensor. The same seed gives the same inputs, so the two modes
// can be compared with diff.
//
// Compiled kernels are kept in the on-disk cache (defaultCacheDir(): $DLC_CACHE_DIR,
// else ~/.cache/dlc) unless --no-disk-cache; --cache-dir=DIR names another directory.
// --check-numerics fails at the first kernel (with --interp: the first node) that writes
// a NaN or Inf, at its location in the IR.
//
// --target=cuda runs it on an NVIDIA GPU (codegen/nvptx.h, runtime/cuda_executable.h);
// --compare-cpu also runs the CPU backend on the same inputs and reports, per result,
// how far the two are apart, failing beyond --tolerance (relative to the largest
// |CPU value|; 0, the default, requires bitwise equality).
//
//===----------------------------------------------------------------------===//
#include <cmath>
#include <optional>
#include <random>

#include "ir/interpreter.h"
#include "runtime/executable.h"
#include "tools/codegen_flags.h"
#include "tools/cuda_tool.h"
#include "tools/gpu_flags.h"
#include "tools/tool_support.h"

namespace dlc::tool {

namespace cl = llvm::cl;

cl::SubCommand runCommand("run", "Run a function of a .dlc file on random inputs and print its results");

namespace {
cl::opt<std::string> inputPath(cl::Positional, cl::Required, cl::desc("<input .dlc file, or - for stdin>"),
                               cl::sub(runCommand), cl::cat(dlcCategory()));
cl::opt<std::string> functionName("function", cl::desc("The function to run (default: the first)"),
                                  cl::value_desc("name"), cl::sub(runCommand), cl::cat(dlcCategory()));
cl::opt<uint64_t> seed("seed", cl::desc("Seed of the random inputs"), cl::init(0), cl::sub(runCommand),
                       cl::cat(dlcCategory()));
cl::opt<int> threads("threads", cl::desc("Kernel threads (default: one per hardware thread)"), cl::init(0),
                     cl::sub(runCommand), cl::cat(dlcCategory()));
cl::opt<bool> useInterpreter("interp", cl::desc("Run in the reference interpreter instead of the JIT"),
                             cl::sub(runCommand), cl::cat(dlcCategory()));
cl::opt<bool> keepDenormals("keep-denormals", cl::desc("Keep IEEE denormals (default: flush to zero)"),
                            cl::sub(runCommand), cl::cat(dlcCategory()));
cl::opt<int64_t> maxElements("max-elements", cl::desc("Elements printed per result"), cl::init(64),
                             cl::sub(runCommand), cl::cat(dlcCategory()));
cl::opt<bool> unfused("unfused", cl::desc("One kernel per IR op (no fusion); results equal the fused run's"),
                      cl::sub(runCommand), cl::cat(dlcCategory()));
cl::opt<bool> checkNumerics("check-numerics",
                            cl::desc("Fail at the first kernel that produces a NaN or Inf, naming its op and location"),
                            cl::sub(runCommand), cl::cat(dlcCategory()));
CodegenFlags codegenFlags(runCommand);
DiskCacheFlags diskCacheFlags(runCommand);
GpuFlags gpuFlags(runCommand);
cl::opt<bool> compareCpu("compare-cpu", cl::desc("--target=cuda: also run on the CPU and compare the results"),
                         cl::sub(runCommand), cl::cat(dlcCategory()));
cl::opt<double> tolerance("tolerance",
                          cl::desc("--compare-cpu: allowed max |gpu - cpu| relative to max |cpu| (default 0: bitwise)"),
                          cl::init(0.0), cl::sub(runCommand), cl::cat(dlcCategory()));

HostTensor randomInput(const TensorType &t, std::mt19937_64 &g) {
  HostTensor h(t);
  dispatchDType(t.dtype, [&]<class T>() {
    for (T &x : h.data<T>()) {
      if constexpr (std::is_floating_point_v<T>) x = static_cast<T>(std::uniform_real_distribution<double>(-1, 1)(g));
      else if constexpr (std::is_same_v<T, uint8_t>) x = static_cast<T>(g() & 1);
      else x = static_cast<T>(std::uniform_int_distribution<int64_t>(0, 9)(g));
    }
  });
  return h;
}
}  // namespace

int runRun() {
  std::optional<LoadedModule> input = loadModule(inputPath);
  if (!input) return 1;
  const Source *src = &input->source;
  Module *m = &input->module;
  const Function *f = functionName.empty() ? (m->functions().empty() ? nullptr : m->functions().front().get())
                                           : m->lookup(functionName);
  if (!f) {
    llvm::errs() << "dlc run: error: no function " << (functionName.empty() ? "" : "@" + functionName) << " in "
                 << src->name << "\n";
    return 1;
  }
  std::mt19937_64 g(seed);
  std::vector<HostTensor> inputs;
  for (size_t i = 0; i < f->numArgs(); ++i) inputs.push_back(randomInput(f->arg(i)->type(), g));

  Expected<std::vector<HostTensor>> results = std::vector<HostTensor>{};
  if (std::string bad = gpuFlags.checkTarget(); !bad.empty()) {
    llvm::errs() << "dlc run: error: " << bad << "\n";
    return 1;
  }
  if (gpuFlags.cuda()) {
    if (useInterpreter || checkNumerics) {
      llvm::errs() << "dlc run: error: --target=cuda does not combine with --interp or --check-numerics\n";
      return 1;
    }
    CudaOptions co;
    co.codegen = codegenFlags.toOptions();
    co.gpu = gpuFlags.toOptions(keepDenormals);
    co.plan.fuse = !unfused;
    Expected<std::unique_ptr<CudaExecutable>> ex = CudaExecutable::compile(*f, co);
    if (!ex) {
      printDiagnostics(llvm::errs(), ex.error(), *src);
      return 1;
    }
    results = (*ex)->run(inputs);
    if (results && compareCpu) {
      ExecutableOptions opts;
      opts.codegen = codegenFlags.toOptions();
      opts.codegen.threads = threads;
      opts.keepDenormals = keepDenormals;
      opts.plan.fuse = !unfused;
      Expected<std::unique_ptr<Executable>> cpu = Executable::compile(*f, opts);
      Expected<std::vector<HostTensor>> cpuResults =
          cpu ? (*cpu)->run(inputs) : Expected<std::vector<HostTensor>>(cpu.takeError());
      if (!cpuResults) {
        printDiagnostics(llvm::errs(), cpuResults.error(), *src);
        return 1;
      }
      bool ok = true;
      llvm::outs() << "GPU (" << (*ex)->deviceName() << ") vs CPU on @" << f->name() << ":\n"
                   << compareWithCpu(*results, *cpuResults, tolerance, ok);
      llvm::outs().flush();
      return ok ? 0 : 1;
    }
  } else if (useInterpreter) {
    // --check-numerics in the interpreter: the first node whose value is not finite.
    std::optional<Error> firstBad;
    InterpreterOptions io;
    io.math = codegenFlags.math();
    if (checkNumerics)
      io.onNode = [&](const Node &n, const HostTensor &v) {
        if (firstBad || !isFloat(v.dtype())) return;
        dispatchDType(v.dtype(), [&]<class T>() {
          if constexpr (std::is_floating_point_v<T>) {
            auto d = v.data<T>();
            for (size_t i = 0; i < d.size() && !firstBad; ++i)
              if (!std::isfinite(d[i]))
                firstBad = makeError(n.diagLoc(), "--check-numerics: op '{}' produced {} at element {} of {}",
                                     n.mnemonic(), std::isnan(d[i]) ? "NaN" : d[i] > 0 ? "+Inf" : "-Inf", i,
                                     typeString(v.type()));
          }
        });
      };
    results = interpret(*f, inputs, io);
    if (results && firstBad) results = std::move(*firstBad);
  } else {
    ExecutableOptions opts;
    opts.codegen = codegenFlags.toOptions();
    opts.codegen.threads = threads;
    opts.keepDenormals = keepDenormals;
    opts.plan.fuse = !unfused;
    opts.checkNumerics = checkNumerics;
    opts.codegen.cacheDir = diskCacheFlags.dir();
    Expected<std::unique_ptr<Executable>> ex = Executable::compile(*f, opts);
    if (!ex) {
      printDiagnostics(llvm::errs(), ex.error(), *src);
      return 1;
    }
    results = (*ex)->run(inputs);
    diskCacheFlags.report((*ex)->jit());
  }
  if (!results) {
    printDiagnostics(llvm::errs(), results.error(), *src);
    return 1;
  }
  for (size_t r = 0; r < results->size(); ++r)
    llvm::outs() << "result " << r << ": " << formatTensor((*results)[r], maxElements) << "\n";
  return 0;
}

}  // namespace dlc::tool
