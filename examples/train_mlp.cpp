//===- examples/train_mlp.cpp - train W1's MLP on Fashion-MNIST with the JIT ===//
//
// The whole pipeline through the C++ API, in one readable program:
//   frontend (buildMlp) -> train step (autodiff + Adam, passes) -> simplify/cse/dce
//   -> JIT (codegen + runtime) -> a loop over seeded, shuffled Fashion-MNIST batches.
// Test accuracy is computed after each epoch with a second compiled function (the
// logits of the same network), fed the trained parameters.
//
//   train_mlp [--epochs=N] [--max-steps=N] [--data-dir=DIR] [--threads=N]
//             [--cache-dir=DIR] [--compile-only]
//
// --max-steps stops each epoch early (CI uses it to keep the run short). --cache-dir
// keeps compiled kernels on disk for the next run; --compile-only compiles the step,
// compiles it again (all in-memory cache hits), prints both times and exits.
//
//===----------------------------------------------------------------------===//
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>

#include "frontend/graph.h"
#include "frontend/models.h"
#include "frontend/nn.h"
#include "passes/pipeline.h"
#include "passes/train_step.h"
#include "runtime/data/idx.h"
#include "runtime/data/loader.h"
#include "runtime/executable.h"

using namespace dlc;

namespace {

struct Args {
  int64_t epochs = 5, maxSteps = -1, threads = 0;
  std::string dataDir = data::kFashionMnistDir;
  std::string cacheDir;
  bool compileOnly = false;
};

bool parseArgs(int argc, char **argv, Args &a) {
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&](const char *key) -> const char * {
      size_t n = std::strlen(key);
      return s.compare(0, n, key) == 0 ? s.c_str() + n : nullptr;
    };
    if (const char *v = value("--epochs=")) a.epochs = std::atoll(v);
    else if (const char *v = value("--max-steps=")) a.maxSteps = std::atoll(v);
    else if (const char *v = value("--threads=")) a.threads = std::atoll(v);
    else if (const char *v = value("--data-dir=")) a.dataDir = v;
    else if (const char *v = value("--cache-dir=")) a.cacheDir = v;
    else if (s == "--compile-only") a.compileOnly = true;
    else {
      std::fprintf(stderr, "usage: train_mlp [--epochs=N] [--max-steps=N] [--data-dir=DIR] [--threads=N]\n"
                           "                 [--cache-dir=DIR] [--compile-only]\n"
                           "unknown argument '%s'\n", argv[i]);
      return false;
    }
  }
  return true;
}

/// The logits of W1's network, with parameters named as buildMlp names them.
Expected<Model> buildLogits(int64_t batch) {
  Graph g("mlp_logits", {.recordLocations = false});
  Tensor x = g.input("x", f32({batch, 784}));
  Tensor h1 = nn::relu(nn::linear(g, x, 512, "fc1"));
  Tensor h2 = nn::relu(nn::linear(g, h1, 512, "fc2"));
  return g.finish(nn::linear(g, h2, 10, "fc3"));
}

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Test accuracy of the parameters \p params (the first arguments of \p eval).
double accuracy(Executable &eval, const std::vector<HostTensor> &params, const data::Dataset &test, int64_t batch) {
  data::LoaderOptions lo{.batchSize = batch, .shuffle = false, .lastBatch = data::LastBatch::Pad};
  auto loader = data::BatchLoader::create(test.images, test.labels, lo);
  if (!loader) return -1;
  HostTensor x = loader->makeInputBatch(), y = loader->makeLabelBatch();
  std::vector<HostTensor> in = params;
  in.push_back(HostTensor());
  int64_t correct = 0, total = 0;
  while (int64_t valid = loader->next(x, y)) {
    in.back() = x;
    auto out = eval.run(in);
    if (!out) return -1;
    auto logits = (*out)[0].data<float>();
    auto labels = y.data<int32_t>();
    for (int64_t r = 0; r < valid; ++r) {
      int best = 0;
      for (int c = 1; c < 10; ++c)
        if (logits[r * 10 + c] > logits[r * 10 + best]) best = c;
      correct += best == labels[r];
    }
    total += valid;
  }
  return 100.0 * static_cast<double>(correct) / static_cast<double>(total);
}

int run(const Args &args) {
  const int64_t batch = 128;
  const bool tty = isatty(fileno(stdout));
  auto t0 = std::chrono::steady_clock::now();

  // Data: Fashion-MNIST scaled to [0, 1], flattened to 784 features.
  data::MnistOptions mo;
  mo.flatten = true;
  Expected<data::Dataset> train = data::Dataset{}, test = data::Dataset{};
  if (!args.compileOnly) {
    train = data::loadFashionMnist(args.dataDir, data::Split::Train, mo);
    if (!train) return std::fprintf(stderr, "%s\n", train.error().str().c_str()), 1;
    test = data::loadFashionMnist(args.dataDir, data::Split::Test, mo);
    if (!test) return std::fprintf(stderr, "%s\n", test.error().str().c_str()), 1;
  }

  // Model, training step (Adam, lr as a step input), clean-up passes.
  auto model = buildMlp(batch);
  if (!model) return std::fprintf(stderr, "%s\n", model.error().str().c_str()), 1;
  TrainStepOptions tso;
  tso.optimizer = Adam{};
  auto step = buildTrainStep(model->module, *model->function, tso);
  if (!step) return std::fprintf(stderr, "%s\n", step.error().str().c_str()), 1;
  PipelineOptions po;
  po.passOpts.function = (*step)->name();
  auto passes = parsePassPipeline("simplify,cse,dce");
  if (!passes) return std::fprintf(stderr, "%s\n", passes.error().str().c_str()), 1;
  if (auto r = runPipeline(model->module, *passes, po); !r)
    return std::fprintf(stderr, "%s\n", r.error().str().c_str()), 1;
  auto logits = buildLogits(batch);
  if (!logits) return std::fprintf(stderr, "%s\n", logits.error().str().c_str()), 1;

  ExecutableOptions eo;
  eo.codegen.threads = static_cast<int>(args.threads);
  eo.codegen.cacheDir = args.cacheDir;
  auto tc = std::chrono::steady_clock::now();
  auto exe = Executable::compile(**step, eo);
  if (!exe) return std::fprintf(stderr, "%s\n", exe.error().str().c_str()), 1;
  const double stepCompile = seconds(tc);
  auto eval = Executable::compile(*logits->function, eo);
  if (!eval) return std::fprintf(stderr, "%s\n", eval.error().str().c_str()), 1;
  std::printf("compiled the training step (%zu kernels) and the evaluation in %.2f s\n",
              (*exe)->kernelNames().size(), seconds(tc));
  if (args.compileOnly) {
    const Jit::Stats js = (*exe)->jit().stats();
    std::printf("compiled the training step in %.3f s\n", stepCompile);
    std::printf("kernels: %lld compiled, %lld from the disk cache, %lld in-memory hits\n", (long long)js.compiled,
                (long long)js.diskHits, (long long)js.cacheHits);
    auto tw = std::chrono::steady_clock::now();
    auto again = Executable::compile(**step, eo);
    if (!again) return std::fprintf(stderr, "%s\n", again.error().str().c_str()), 1;
    std::printf("compiled the training step again (in-memory cache) in %.3f s\n", seconds(tw));
    return 0;
  }

  // Step arguments: params..., optimizer state..., x, labels, lr. State starts at zero.
  const Function &f = **step;
  const size_t nParams = model->params.size();
  std::vector<HostTensor> in;
  for (HostTensor &p : model->initialParams()) in.push_back(std::move(p));
  for (size_t i = nParams; i + 3 < f.numArgs(); ++i) in.emplace_back(f.arg(i)->type());
  const size_t xi = f.numArgs() - 3, yi = xi + 1;  // then lr, the last argument
  in.emplace_back(f.arg(xi)->type());
  in.emplace_back(f.arg(yi)->type());
  in.push_back(HostTensor::full(f32({}), 1e-3));
  const size_t nState = xi - nParams;

  data::LoaderOptions lo{.batchSize = batch, .shuffle = true, .seed = 0};
  auto loader = data::BatchLoader::create(train->images, train->labels, lo);
  if (!loader) return std::fprintf(stderr, "%s\n", loader.error().str().c_str()), 1;
  const int64_t stepsPerEpoch = args.maxSteps > 0 ? std::min(args.maxSteps, loader->batchesPerEpoch())
                                                  : loader->batchesPerEpoch();
  double stepSeconds = 0;
  int64_t stepsRun = 0;
  for (int64_t epoch = 0; epoch < args.epochs; ++epoch) {
    loader->startEpoch(epoch);
    auto te = std::chrono::steady_clock::now();
    double lossSum = 0;
    for (int64_t s = 0; s < stepsPerEpoch && loader->next(in[xi], in[yi]); ++s) {
      auto ts = std::chrono::steady_clock::now();
      auto out = (*exe)->run(in);
      if (!out) return std::fprintf(stderr, "%s\n", out.error().str().c_str()), 1;
      stepSeconds += seconds(ts);
      ++stepsRun;
      for (size_t i = 0; i < nParams + nState; ++i) in[i] = std::move((*out)[i]);
      float loss = out->back().data<float>()[0];
      lossSum += loss;
      if (tty || s + 1 == stepsPerEpoch || (s + 1) % 100 == 0) {
        double el = seconds(te), rate = (s + 1) / el;
        int width = 30, filled = static_cast<int>(width * (s + 1) / stepsPerEpoch);
        std::printf("%sepoch %lld/%lld [%.*s%*s] %lld/%lld  loss %.4f  %.1f steps/s  ETA %.0fs%s",
                    tty ? "\r" : "", (long long)epoch + 1, (long long)args.epochs, filled,
                    "==============================", width - filled, "", (long long)s + 1,
                    (long long)stepsPerEpoch, lossSum / (s + 1), rate, (stepsPerEpoch - s - 1) / rate,
                    tty ? "" : "\n");
        std::fflush(stdout);
      }
    }
    std::vector<HostTensor> params(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(nParams));
    double acc = accuracy(**eval, params, *test, batch);
    if (acc < 0) return std::fprintf(stderr, "evaluation failed\n"), 1;
    std::printf("%sepoch %lld: train loss %.4f, test accuracy %.2f %% (%.1f s)\n", tty ? "\n" : "",
                (long long)epoch + 1, lossSum / stepsPerEpoch, acc, seconds(te));
  }
  std::printf("%lld steps, %.2f ms per step, %.1f s in all\n", (long long)stepsRun,
              1e3 * stepSeconds / std::max<int64_t>(stepsRun, 1), seconds(t0));
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  Args a;
  if (!parseArgs(argc, argv, a)) return 1;
  return run(a);
}
