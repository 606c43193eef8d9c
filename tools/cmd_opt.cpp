//===- tools/cmd_opt.cpp - `dlc opt`: run a pass pipeline over a .dlc file ----===//
//
//   dlc opt FILE --passes=autodiff,simplify [--print-after-all] [--print-after=NAME]
//       [--verify-each] [--time-passes] [--debug-only=simplify] [--function=F] [--wrt=a,b]
//       [--fast-math] [--optimizer=adam --lr=0.01 --weight-decay=... --clip-norm=...]
//
// The result goes to stdout (or -o FILE) as IR text that `dlc print` reads back (after
// `fuse`, with each kernel's nodes nested in a comment-delimited region);
// --print-after* dumps, debug output and the timing table go to stderr, each dump under a
// `// ----- IR after NAME -----` comment so that it parses too. The options map onto
// PipelineOptions / PassOptions (passes/pipeline.h); this file only parses them.
//
//===----------------------------------------------------------------------===//
#include <algorithm>

#include <llvm/Support/FileSystem.h>

#include "ir/printer.h"
#include "passes/fuse.h"
#include "passes/pipeline.h"
#include "tools/tool_support.h"

namespace dlc::tool {

namespace cl = llvm::cl;

cl::SubCommand optCommand("opt", "Run a pipeline of passes over a .dlc file and print the result");

namespace {

cl::OptionCategory &cat() { return dlcCategory(); }

cl::opt<std::string> inputPath(cl::Positional, cl::Required, cl::desc("<input .dlc file, or - for stdin>"),
                               cl::sub(optCommand), cl::cat(cat()));
cl::opt<std::string> outputPath("o", cl::desc("Write the result here (default: stdout)"), cl::value_desc("file"),
                                cl::init("-"), cl::sub(optCommand), cl::cat(cat()));
cl::opt<std::string> passList("passes", cl::desc("Comma-separated passes to run in order (see passes/passes.def)"),
                              cl::value_desc("a,b,c"), cl::sub(optCommand), cl::cat(cat()));
cl::opt<bool> printAfterAll("print-after-all", cl::desc("Print the IR to stderr after every pass"),
                            cl::sub(optCommand), cl::cat(cat()));
cl::list<std::string> printAfter("print-after", cl::desc("Print the IR to stderr after these passes"),
                                 cl::CommaSeparated, cl::value_desc("pass"), cl::sub(optCommand), cl::cat(cat()));
cl::opt<bool> verifyEach("verify-each", cl::desc("Verify the IR after every pass (always on in debug builds)"),
                         cl::sub(optCommand), cl::cat(cat()));
cl::opt<bool> timePasses("time-passes", cl::desc("Print a table of pass times to stderr"), cl::sub(optCommand),
                         cl::cat(cat()));
cl::list<std::string> debugOnly("debug-only", cl::desc("Print the debug output of these passes (e.g. simplify)"),
                                cl::CommaSeparated, cl::value_desc("pass"), cl::sub(optCommand), cl::cat(cat()));
cl::opt<std::string> function("function", cl::desc("Run the passes on this function only"),
                              cl::value_desc("name"), cl::sub(optCommand), cl::cat(cat()));
cl::list<std::string> wrt("wrt", cl::desc("autodiff / train-step: the arguments to differentiate (parameters)"),
                          cl::CommaSeparated, cl::value_desc("arg"), cl::sub(optCommand), cl::cat(cat()));
cl::opt<bool> fastMath("fast-math",
                       cl::desc("simplify: allow rewrites exact only up to signed zeros, NaN/inf and rounding"),
                       cl::sub(optCommand), cl::cat(cat()));

// train-step options. Hyperparameters left unset keep the optimizer's PyTorch defaults.
cl::opt<std::string> optimizer("optimizer", cl::desc("train-step: sgd, momentum, nesterov, rmsprop, adam or adamw"),
                               cl::init("sgd"), cl::sub(optCommand), cl::cat(cat()));
cl::opt<double> lr("lr", cl::desc("train-step: bake in this learning rate instead of the %lr argument"),
                   cl::sub(optCommand), cl::cat(cat()));
cl::opt<double> momentum("momentum", cl::desc("train-step: momentum (momentum, nesterov, rmsprop)"),
                         cl::sub(optCommand), cl::cat(cat()));
cl::opt<double> weightDecay("weight-decay", cl::desc("train-step: weight decay (L2; decoupled for adamw)"),
                            cl::sub(optCommand), cl::cat(cat()));
cl::opt<double> beta1("beta1", cl::desc("train-step: adam/adamw beta1"), cl::sub(optCommand), cl::cat(cat()));
cl::opt<double> beta2("beta2", cl::desc("train-step: adam/adamw beta2"), cl::sub(optCommand), cl::cat(cat()));
cl::opt<double> eps("eps", cl::desc("train-step: rmsprop/adam/adamw epsilon"), cl::sub(optCommand), cl::cat(cat()));
cl::opt<double> alpha("alpha", cl::desc("train-step: rmsprop smoothing constant"), cl::sub(optCommand),
                      cl::cat(cat()));
cl::opt<bool> centered("centered", cl::desc("train-step: centered rmsprop"), cl::sub(optCommand), cl::cat(cat()));
cl::opt<double> clipNorm("clip-norm", cl::desc("train-step: clip gradients to this global L2 norm (0: off)"),
                         cl::init(0.0), cl::sub(optCommand), cl::cat(cat()));
cl::list<std::string> inputs("inputs", cl::desc("train-step: the per-batch input arguments (default: the last two)"),
                             cl::CommaSeparated, cl::value_desc("arg"), cl::sub(optCommand), cl::cat(cat()));
cl::opt<std::string> lossName("loss", cl::desc("train-step: the loss function (default: the first returning a scalar)"),
                              cl::value_desc("name"), cl::sub(optCommand), cl::cat(cat()));
cl::opt<std::string> stepName("step-name", cl::desc("train-step: name of the generated function"),
                              cl::init("train_step"), cl::sub(optCommand), cl::cat(cat()));

/// Sets \p field from \p opt when it was given; an error when the optimizer has no such
/// hyperparameter (field is null).
template <class T> bool applyIfGiven(const cl::opt<T> &opt, T *field, const OptimizerConfig &o, std::string &err) {
  if (opt.getNumOccurrences() == 0) return true;
  if (!field) {
    err = fmt::format("--{} does not apply to --optimizer={}", opt.ArgStr.str(), optimizerName(o));
    return false;
  }
  *field = opt;
  return true;
}

/// The optimizer named by --optimizer with the given hyperparameters applied.
Expected<OptimizerConfig> optimizerFromFlags() {
  std::optional<OptimizerConfig> o = optimizerFromName(optimizer);
  if (!o)
    return makeError(Location{}, "unknown optimizer '{}'; known: sgd, momentum, nesterov, rmsprop, adam, adamw",
                     optimizer.getValue());
  std::string err;
  bool ok = std::visit(
      [&](auto &cfg) {
        using T = std::decay_t<decltype(cfg)>;
        double *mom = nullptr, *b1 = nullptr, *b2 = nullptr, *ep = nullptr, *al = nullptr;
        bool *cent = nullptr;
        if constexpr (std::is_same_v<T, Momentum>) mom = &cfg.momentum;
        if constexpr (std::is_same_v<T, RmsProp>) {
          mom = &cfg.momentum;
          ep = &cfg.eps;
          al = &cfg.alpha;
          cent = &cfg.centered;
        }
        if constexpr (std::is_same_v<T, Adam> || std::is_same_v<T, AdamW>) {
          b1 = &cfg.beta1;
          b2 = &cfg.beta2;
          ep = &cfg.eps;
        }
        return applyIfGiven(weightDecay, &cfg.weightDecay, *o, err) && applyIfGiven(momentum, mom, *o, err) &&
               applyIfGiven(beta1, b1, *o, err) && applyIfGiven(beta2, b2, *o, err) &&
               applyIfGiven(eps, ep, *o, err) && applyIfGiven(alpha, al, *o, err) &&
               applyIfGiven(centered, cent, *o, err);
      },
      *o);
  if (!ok) return makeError(Location{}, "{}", err);
  return *o;
}

/// The pipeline options the flags describe.
Expected<PipelineOptions> pipelineFromFlags() {
  PipelineOptions po;
  po.verifyEach = verifyEach;
  po.printAfterAll = printAfterAll;
  po.timePasses = timePasses;
  for (const std::string &p : printAfter) {
    if (!lookupPass(p))
      return makeError(Location{}, "--print-after: unknown pass '{}'; known passes: {}", p, knownPassNames());
    po.printAfter.insert(p);
  }
  PassOptions &opts = po.passOpts;
  opts.function = function;
  opts.wrt.assign(wrt.begin(), wrt.end());
  opts.debugOnly.insert(debugOnly.begin(), debugOnly.end());
  opts.fastMath = fastMath;
  DL_TRY(opts.trainStep.optimizer, optimizerFromFlags());
  opts.trainStep.inputs.assign(inputs.begin(), inputs.end());
  opts.trainStep.clipNorm = clipNorm;
  if (lr.getNumOccurrences()) opts.trainStep.fixedLr = lr;
  opts.trainStep.name = stepName;
  opts.trainStep.loss = lossName;
  return po;
}

}  // namespace

int runOpt() {
  std::optional<LoadedModule> input = loadModule(inputPath);
  if (!input) return 1;
  const Source *src = &input->source;
  Module *m = &input->module;
  // No --passes: parse, verify and print, like `dlc print`.
  Expected<std::vector<PassEntry>> passes =
      passList.empty() ? Expected<std::vector<PassEntry>>(std::vector<PassEntry>{}) : parsePassPipeline(passList);
  if (!passes) {
    llvm::errs() << "dlc opt: error: " << passes.error().message() << "\n";
    return 1;
  }
  Expected<PipelineOptions> po = pipelineFromFlags();
  if (!po) {
    llvm::errs() << "dlc opt: error: " << po.error().message() << "\n";
    return 1;
  }
  Expected<bool> ran = runPipeline(*m, *passes, *po);
  if (!ran) {
    printDiagnostics(llvm::errs(), ran.error(), *src);
    return 1;
  }
  std::error_code ec;
  llvm::raw_fd_ostream out(outputPath, ec, llvm::sys::fs::OF_Text);
  if (ec) {
    llvm::errs() << "dlc opt: error: cannot write '" << outputPath << "': " << ec.message() << "\n";
    return 1;
  }
  // After `fuse` the kernel groups print as nested regions (comment-delimited, so the
  // text still parses as the same functions); passes/fuse.h.
  const bool fused = std::any_of(passes->begin(), passes->end(), [](const PassEntry &p) { return p.name == "fuse"; });
  if (!fused) {
    out << printModule(*m);
    return 0;
  }
  std::string text;
  for (const auto &f : m->functions()) {
    if (!text.empty()) text += '\n';
    text += printFusedFunction(*f, planFusion(*f));
  }
  out << text;
  return 0;
}

}  // namespace dlc::tool
