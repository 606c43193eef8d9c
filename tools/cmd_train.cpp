//===- tools/cmd_train.cpp - `dlc train`: train a model on an IDX data set ---===//
//
// `dlc train [--model=mlp|cnn | FILE.dlc] [options]` compiles the model's training step
// once (train/trainer.h), trains it on Fashion-MNIST (or any MNIST-layout IDX
// directory), evaluates on the test split after every epoch, and can log, save and
// resume. Compiled kernels persist in the on-disk cache, as for `dlc run`, so a second
// run (a resume, another seed) starts without compiling. docs/training.md describes the
// flags, the defaults and the .dlc convention.
//
//===----------------------------------------------------------------------===//
#include <chrono>
#include <cmath>
#include <cstdio>
#include <unistd.h>

#include "frontend/models.h"
#include "runtime/data/idx.h"
#include "runtime/data/loader.h"
#include "runtime/executable.h"
#include "runtime/cuda_executable.h"
#include "tools/codegen_flags.h"
#include "tools/gpu_flags.h"
#include "tools/tool_support.h"
#include "tools/train_progress.h"
#include "train/trainer.h"

namespace dlc::tool {

namespace cl = llvm::cl;

cl::SubCommand trainCommand("train", "Train a model (built-in or a .dlc loss function) on Fashion-MNIST");

namespace {
cl::opt<std::string> inputPath(cl::Positional, cl::Optional,
                               cl::desc("[<.dlc file with a loss function: inputs %x, %labels; result 0 the loss, "
                                        "optional result 1 the logits>]"),
                               cl::sub(trainCommand), cl::cat(dlcCategory()));
cl::opt<std::string> modelName("model", cl::desc("Built-in model: mlp (W1) or cnn (W2); default mlp"),
                               cl::value_desc("mlp|cnn"), cl::sub(trainCommand), cl::cat(dlcCategory()));
cl::opt<std::string> functionName("function", cl::desc("The loss function of the .dlc file (default: the first)"),
                                  cl::value_desc("name"), cl::sub(trainCommand), cl::cat(dlcCategory()));
cl::opt<std::string> optimizer("optimizer",
                               cl::desc("sgd, momentum, nesterov, rmsprop, adam or adamw (default: the model's)"),
                               cl::value_desc("name"), cl::sub(trainCommand), cl::cat(dlcCategory()));
cl::opt<double> lr("lr", cl::desc("Peak learning rate (default: the model's)"), cl::init(0), cl::sub(trainCommand),
                   cl::cat(dlcCategory()));
cl::opt<double> momentum("momentum", cl::desc("Momentum of momentum/nesterov/rmsprop (default 0.9 / 0)"),
                         cl::init(-1), cl::sub(trainCommand), cl::cat(dlcCategory()));
cl::opt<double> weightDecay("weight-decay", cl::desc("Weight decay (default: the optimizer's; AdamW 0.01)"),
                            cl::init(-1), cl::sub(trainCommand), cl::cat(dlcCategory()));
cl::opt<std::string> lrSchedule("lr-schedule",
                                cl::desc("constant, cosine, warmup-cosine[:STEPS], step:EPOCHS:GAMMA or "
                                         "exp:GAMMA (per epoch); default: the model's"),
                                cl::value_desc("schedule"), cl::sub(trainCommand), cl::cat(dlcCategory()));
cl::opt<int64_t> epochs("epochs", cl::desc("Epochs to train (default: the model's)"), cl::init(-1),
                        cl::sub(trainCommand), cl::cat(dlcCategory()));
cl::opt<int64_t> batch("batch", cl::desc("Batch size (default 128; a .dlc file fixes its own)"), cl::init(0),
                       cl::sub(trainCommand), cl::cat(dlcCategory()));
cl::opt<uint64_t> seed("seed", cl::desc("Seed of the initial parameters and the shuffling"), cl::init(0),
                       cl::sub(trainCommand), cl::cat(dlcCategory()));
cl::opt<int> threads("threads", cl::desc("Kernel threads (default: one per hardware thread)"), cl::init(0),
                     cl::sub(trainCommand), cl::cat(dlcCategory()));
cl::opt<bool> unfused("unfused", cl::desc("One kernel per IR op (no fusion)"), cl::sub(trainCommand),
                      cl::cat(dlcCategory()));
cl::opt<bool> keepDenormals("keep-denormals", cl::desc("Keep IEEE denormals (default: flush to zero)"),
                            cl::sub(trainCommand), cl::cat(dlcCategory()));
cl::opt<std::string> dataDir("data-dir", cl::desc("Directory of the IDX files (MNIST layout)"),
                             cl::init(data::kFashionMnistDir), cl::value_desc("dir"), cl::sub(trainCommand),
                             cl::cat(dlcCategory()));
cl::opt<int64_t> maxSteps("max-steps", cl::desc("At most N steps per epoch (for quick runs and CI)"), cl::init(0),
                          cl::value_desc("N"), cl::sub(trainCommand), cl::cat(dlcCategory()));
cl::opt<int64_t> stopAfter("stop-after",
                           cl::desc("Stop after epoch N as if interrupted (the schedule still spans --epochs); "
                                    "continue later with --resume"),
                           cl::init(0), cl::value_desc("N"), cl::sub(trainCommand), cl::cat(dlcCategory()));
cl::opt<int64_t> testLimit("test-limit", cl::desc("Evaluate on the first N test samples only (default: all)"),
                           cl::init(0), cl::value_desc("N"), cl::sub(trainCommand), cl::cat(dlcCategory()));
cl::opt<std::string> logPath("log", cl::desc("Write the loss and accuracy curves as CSV"), cl::value_desc("file.csv"),
                             cl::sub(trainCommand), cl::cat(dlcCategory()));
cl::opt<std::string> savePath("save", cl::desc("Save a checkpoint (safetensors) at the end of every epoch"),
                              cl::value_desc("file"), cl::sub(trainCommand), cl::cat(dlcCategory()));
cl::opt<std::string> resumePath("resume", cl::desc("Resume from a checkpoint written by --save"),
                                cl::value_desc("file"), cl::sub(trainCommand), cl::cat(dlcCategory()));
cl::opt<std::string> progressMode("progress", cl::desc("auto (a bar on a terminal, else lines), bar, lines, none"),
                                  cl::init("auto"), cl::sub(trainCommand), cl::cat(dlcCategory()));
CodegenFlags codegenFlags(trainCommand);
DiskCacheFlags diskCacheFlags(trainCommand);
GpuFlags trainGpuFlags(trainCommand);
cl::opt<bool> cudaGraph("cuda-graph",
                        cl::desc("--target=cuda: replay the training step as one CUDA graph when the driver "
                                 "has them (default on; --cuda-graph=false launches kernel by kernel)"),
                        cl::init(true), cl::sub(trainCommand), cl::cat(dlcCategory()));

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int fail(const Error &e, const Source *src = nullptr) {
  std::fflush(stdout);
  printDiagnostics(llvm::errs(), e, src ? *src : Source{});
  return 1;
}

int fail(const std::string &msg) {
  std::fflush(stdout);
  llvm::errs() << "dlc train: error: " << msg << "\n";
  return 1;
}

/// Defaults per model (docs/training.md explains the choice).
struct Defaults {
  std::string optimizer = "adam";
  double lr = 1e-3;
  std::string schedule = "constant";
  int64_t epochs = 5;
};

Defaults defaultsFor(const std::string &model) {
  Defaults d;
  if (model == "cnn") {
    d.schedule = "cosine";
    d.epochs = 10;
  }
  return d;
}

Expected<OptimizerConfig> makeOptimizer(const std::string &name) {
  std::optional<OptimizerConfig> o = optimizerFromName(name);
  if (!o) return makeError({}, "unknown optimizer '{}' (sgd, momentum, nesterov, rmsprop, adam, adamw)", name);
  bool m = momentum.getNumOccurrences() > 0, wd = weightDecay.getNumOccurrences() > 0;
  std::visit(
      [&](auto &c) {
        using T = std::decay_t<decltype(c)>;
        if (wd) c.weightDecay = weightDecay;
        if constexpr (std::is_same_v<T, Momentum> || std::is_same_v<T, RmsProp>)
          if (m) c.momentum = momentum;
      },
      *o);
  return *o;
}

/// Parses --lr-schedule for a run of \p totalSteps steps, \p stepsPerEpoch per epoch.
Expected<LrSchedule> makeSchedule(const std::string &spec, double peak, int64_t totalSteps, int64_t stepsPerEpoch) {
  auto parts = llvm::StringRef(spec).split(':');
  std::string kind = parts.first.str(), rest = parts.second.str();
  auto number = [&](llvm::StringRef s, double &v) { return !s.getAsDouble(v); };
  if (kind == "constant" && rest.empty()) return LrSchedule(ConstantLr{peak});
  if (kind == "cosine" && rest.empty()) return LrSchedule(CosineLr{peak, std::max<int64_t>(totalSteps, 1), 0.0});
  if (kind == "warmup-cosine") {
    double w = static_cast<double>(stepsPerEpoch);
    if (!rest.empty() && !number(rest, w)) return makeError({}, "bad warm-up steps in --lr-schedule={}", spec);
    return LrSchedule(WarmupCosineLr{peak, std::max<int64_t>(static_cast<int64_t>(w), 1),
                                     std::max<int64_t>(totalSteps, 1), 0.0});
  }
  if (kind == "step") {
    auto [e, g] = llvm::StringRef(rest).split(':');
    double ev = 0, gv = 0;
    if (!number(e, ev) || !number(g, gv) || ev < 1)
      return makeError({}, "--lr-schedule=step:EPOCHS:GAMMA expects e.g. step:3:0.1, got '{}'", spec);
    return LrSchedule(StepDecayLr{peak, static_cast<int64_t>(ev) * stepsPerEpoch, gv});
  }
  if (kind == "exp") {
    double g = 0;
    if (!number(rest, g) || g <= 0) return makeError({}, "--lr-schedule=exp:GAMMA expects e.g. exp:0.9, got '{}'", spec);
    return LrSchedule(ExponentialLr{peak, std::pow(g, 1.0 / static_cast<double>(std::max<int64_t>(stepsPerEpoch, 1)))});
  }
  return makeError({}, "unknown --lr-schedule '{}' (constant, cosine, warmup-cosine[:STEPS], step:EPOCHS:GAMMA, "
                   "exp:GAMMA)", spec);
}

std::optional<int64_t> metaInt(const data::Metadata &m, const std::string &key) {
  auto it = m.find(key);
  if (it == m.end()) return std::nullopt;
  long long v = 0;
  if (llvm::StringRef(it->second).getAsInteger(10, v)) return std::nullopt;
  return v;
}

}  // namespace

int runTrain() {
  auto t0 = std::chrono::steady_clock::now();
  // The model.
  std::optional<LoadedModule> file;
  std::string model = modelName.empty() ? "mlp" : modelName.getValue();
  if (!inputPath.empty()) {
    if (!modelName.empty()) return fail("give either --model or a .dlc file, not both");
    file = loadModule(inputPath);
    if (!file) return 1;
    model = "file";
  } else if (model != "mlp" && model != "cnn") {
    return fail("unknown --model '" + model + "' (mlp, cnn, or give a .dlc file)");
  }
  const Source *src = file ? &file->source : nullptr;
  Defaults d = defaultsFor(model);
  if (batch < 0) return fail("--batch must be positive");
  int64_t batchSize = batch > 0 ? batch.getValue() : 128;

  // A checkpoint's training state decides the seed and where to start.
  uint64_t runSeed = seed;
  int64_t startEpoch = 0;
  std::optional<data::Checkpoint> resume;
  if (!resumePath.empty()) {
    Expected<data::Checkpoint> ck = data::loadSafetensors(resumePath);
    if (!ck) return fail(ck.error());
    auto e = metaInt(ck->metadata, "train.epoch");
    auto s = metaInt(ck->metadata, "train.seed");
    auto b = metaInt(ck->metadata, "train.batch");
    if (!e || !s || !b) return fail(resumePath + ": not a checkpoint written by dlc train --save (no train.* metadata)");
    if (seed.getNumOccurrences() && static_cast<uint64_t>(*s) != seed)
      return fail(fmt::format("{} was trained with --seed={}, not {}", resumePath, *s, seed.getValue()));
    if (batch.getNumOccurrences() && *b != batch)
      return fail(fmt::format("{} was trained with --batch={}, not {}", resumePath, *b, batch.getValue()));
    auto it = ck->metadata.find("train.model");
    if (it != ck->metadata.end() && it->second != model)
      return fail(fmt::format("{} was trained with model '{}', not '{}'", resumePath, it->second, model));
    runSeed = static_cast<uint64_t>(*s);
    batchSize = *b;
    startEpoch = *e;
  }

  Expected<Model> m = Error();
  if (file) {
    m = modelFromModule(std::move(file->module), functionName, runSeed);
  } else {
    ModelOptions mo;
    mo.seed = runSeed;
    m = model == "mlp" ? buildMlp(batchSize, mo) : buildCnn(batchSize, mo);
  }
  if (!m) return fail(m.error(), src);
  const TensorType xType = m->function->arg(m->params.size())->type();
  if (file && batch.getNumOccurrences() && xType.shape[0] != batch)
    return fail(fmt::format("{} fixes the batch size to {} (%x is {})", inputPath.getValue(), xType.shape[0], xType));
  batchSize = xType.rank() ? xType.shape[0] : 1;

  // The data, shaped like the model's x.
  auto tl = std::chrono::steady_clock::now();
  data::MnistOptions mo;
  Expected<data::Dataset> train = data::loadMnistLike(dataDir, data::Split::Train, mo);
  if (!train) return fail(train.error());
  Expected<data::Dataset> test = data::loadMnistLike(dataDir, data::Split::Test, mo);
  if (!test) return fail(test.error());
  for (data::Dataset *ds : {&*train, &*test}) {
    Expected<HostTensor> x = reshapeSamples(std::move(ds->images), xType);
    if (!x) return fail(x.error());
    ds->images = std::move(*x);
  }
  double loadSeconds = since(tl);

  data::LoaderOptions lo{.batchSize = batchSize, .shuffle = true, .seed = runSeed};
  Expected<data::BatchLoader> loader = data::BatchLoader::create(train->images, train->labels, lo);
  if (!loader) return fail(loader.error());
  const int64_t nEpochs = epochs >= 0 ? epochs.getValue() : d.epochs;
  const int64_t stepsPerEpoch =
      maxSteps > 0 ? std::min(maxSteps.getValue(), loader->batchesPerEpoch()) : loader->batchesPerEpoch();

  // The trainer.
  TrainerOptions to;
  Expected<OptimizerConfig> opt = makeOptimizer(optimizer.empty() ? d.optimizer : optimizer.getValue());
  if (!opt) return fail(opt.error());
  to.optimizer = *opt;
  // Without --lr: the model's default for its default optimizer, else 0.01 for the SGD
  // family and 1e-3 for the adaptive ones.
  double peakLr = lr > 0 ? lr.getValue() : d.lr;
  if (lr <= 0 && !optimizer.empty() && optimizer != d.optimizer)
    peakLr = std::holds_alternative<Sgd>(*opt) || std::holds_alternative<Momentum>(*opt) ? 0.01 : 1e-3;
  Expected<LrSchedule> sched = makeSchedule(lrSchedule.empty() ? d.schedule : lrSchedule.getValue(), peakLr,
                                            nEpochs * stepsPerEpoch, stepsPerEpoch);
  if (!sched) return fail(sched.error());
  to.schedule = *sched;
  to.threads = threads;
  to.fuse = !unfused;
  to.keepDenormals = keepDenormals;
  to.codegen = codegenFlags.toOptions();
  to.codegen.cacheDir = diskCacheFlags.dir();
  if (std::string bad = trainGpuFlags.checkTarget(); !bad.empty()) return fail(bad);
  to.cuda = trainGpuFlags.cuda();
  to.gpu = trainGpuFlags.toOptions(keepDenormals);
  to.cudaGraph = cudaGraph;
  Expected<std::unique_ptr<Trainer>> tr = Trainer::create(std::move(*m), to);
  if (!tr) return fail(tr.error(), src);
  Trainer &trainer = **tr;
  std::printf("dlc train: %s, %s, batch %lld, %lld epoch%s of %lld steps, %d threads, %s; compiled %zu + %zu kernels "
              "in %.2f s (data %.2f s)\n",
              model == "file" ? inputPath.c_str() : model.c_str(), std::string(optimizerName(to.optimizer)).c_str(),
              (long long)batchSize, (long long)nEpochs, nEpochs == 1 ? "" : "s", (long long)stepsPerEpoch,
              trainer.stepExecutable().numThreads(), unfused ? "unfused" : "fused",
              trainer.stepExecutable().kernelNames().size(), trainer.evalExecutable().kernelNames().size(),
              trainer.compileSeconds(), loadSeconds);
  diskCacheFlags.report(trainer.stepExecutable().jit());  // the step's and the evaluation's kernels
  if (CudaExecutable *gpu = trainer.gpuStepExecutable())
    std::printf("training step on %s (--target=cuda): %zu kernels, parameters resident on the device\n",
                gpu->deviceName().c_str(), gpu->numKernels());
  if (!resumePath.empty()) {
    Expected<data::Metadata> md = trainer.load(resumePath);
    if (!md) return fail(md.error());
    std::printf("resumed from %s after epoch %lld (step %lld)\n", resumePath.c_str(), (long long)startEpoch,
                (long long)trainer.stepsTaken());
    if (startEpoch >= nEpochs) {
      std::printf("nothing to train: the checkpoint has %lld of %lld epochs done\n", (long long)startEpoch,
                  (long long)nEpochs);
      return 0;
    }
  }
  std::optional<TrainLog> log;
  if (!logPath.empty()) {
    Expected<TrainLog> l = TrainLog::open(logPath, !resumePath.empty());
    if (!l) return fail(l.error());
    log.emplace(std::move(*l));
  }

  if (progressMode != "auto" && progressMode != "bar" && progressMode != "lines" && progressMode != "none")
    return fail("--progress must be auto, bar, lines or none, not '" + progressMode + "'");
  bool tty = progressMode == "bar" || (progressMode == "auto" && isatty(fileno(stdout)));
  bool quiet = progressMode == "none";
  Progress progress(tty);
  HostTensor x = loader->makeInputBatch(), y = loader->makeLabelBatch();
  double stepSeconds = 0;
  int64_t stepsRun = 0;
  EvalSummary last;
  const int64_t endEpoch = stopAfter > 0 ? std::min(stopAfter.getValue(), nEpochs) : nEpochs;
  for (int64_t epoch = startEpoch; epoch < endEpoch; ++epoch) {
    loader->startEpoch(epoch);
    progress.startEpoch(epoch, nEpochs, stepsPerEpoch);
    double lossSum = 0;
    int64_t s = 0;
    for (; s < stepsPerEpoch && loader->next(x, y); ++s) {
      double stepLr = trainer.learningRate();
      auto ts = std::chrono::steady_clock::now();
      Expected<float> loss = trainer.step(x, y);
      if (!loss) return fail(loss.error());
      stepSeconds += since(ts);
      if (CudaExecutable *gpu = trainer.gpuStepExecutable(); gpu && stepsRun == 0 && !quiet)
        std::printf("%s\n", gpu->usingGraph() ? "the training step runs as one CUDA graph"
                                             : ("CUDA graph: " + (gpu->graphNote().empty() ? std::string("off")
                                                                                           : gpu->graphNote()))
                                                   .c_str());
      ++stepsRun;
      lossSum += *loss;
      if (log) log->step(epoch + 1, trainer.stepsTaken(), *loss, stepLr, since(t0));
      if (!quiet) progress.update(s + 1, lossSum / static_cast<double>(s + 1));
    }
    progress.finishEpoch();
    double trainSeconds = progress.epochSeconds();
    Expected<EvalSummary> ev = trainer.evaluate(test->images, test->labels, testLimit);
    if (!ev) return fail(ev.error());
    last = *ev;
    double meanLoss = s ? lossSum / static_cast<double>(s) : 0;
    std::printf("epoch %lld/%lld: train loss %.4f, test loss %.4f, test accuracy %.2f %% (%lld samples; %.1f s, "
                "%.1f steps/s)\n",
                (long long)epoch + 1, (long long)nEpochs, meanLoss, ev->loss, ev->accuracy, (long long)ev->samples,
                trainSeconds, s / std::max(trainSeconds, 1e-9));
    std::fflush(stdout);
    if (log) log->epoch(epoch + 1, trainer.stepsTaken(), meanLoss, trainer.learningRate(), ev->loss, ev->accuracy,
                        since(t0));
    if (!savePath.empty()) {
      data::Metadata md{{"train.epoch", std::to_string(epoch + 1)},
                        {"train.seed", std::to_string(runSeed)},
                        {"train.batch", std::to_string(batchSize)},
                        {"train.model", model}};
      if (auto r = trainer.save(savePath, md); !r) return fail(r.error());
    }
  }
  std::printf("done: test accuracy %.2f %%, test loss %.4f; compile %.2f s, %lld steps at %.2f ms/step, %.1f s in "
              "all\n",
              last.accuracy, last.loss, trainer.compileSeconds(), (long long)stepsRun,
              1e3 * stepSeconds / static_cast<double>(std::max<int64_t>(stepsRun, 1)), since(t0));
  return 0;
}

}  // namespace dlc::tool
