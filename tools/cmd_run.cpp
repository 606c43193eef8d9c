//===- tools/cmd_run.cpp - `dlc run`: run a function on random inputs -------===//
//
// `dlc run FILE [--function=NAME] [--seed=N] [--threads=N] [--interp] [--unfused]` draws seeded
// random inputs (floats uniform in [-1, 1), integers in [0, 10), booleans 0/1), runs
// the function JIT-compiled (or in the reference interpreter with --interp) and prints
// each result with formatTensor. The same seed gives the same inputs, so the two modes
// can be compared with diff.
//
//===----------------------------------------------------------------------===//
#include <random>

#include "ir/interpreter.h"
#include "runtime/executable.h"
#include "tools/codegen_flags.h"
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
CodegenFlags codegenFlags(runCommand);

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
  if (useInterpreter) {
    results = interpret(*f, inputs);
  } else {
    ExecutableOptions opts;
    opts.codegen = codegenFlags.toOptions();
    opts.codegen.threads = threads;
    opts.keepDenormals = keepDenormals;
    opts.plan.fuse = !unfused;
    Expected<std::unique_ptr<Executable>> ex = Executable::compile(*f, opts);
    if (!ex) {
      printDiagnostics(llvm::errs(), ex.error(), *src);
      return 1;
    }
    results = (*ex)->run(inputs);
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
