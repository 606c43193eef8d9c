//===- examples/train_mlp.cpp - train W1's MLP on Fashion-MNIST -------------===//
//
// The embedding API (train/trainer.h) in one readable program: build the model, compile
// its training step once, loop over seeded, shuffled batches, evaluate after each
// epoch, save a checkpoint.
//
//   train_mlp [--epochs=N] [--max-steps=N] [--data-dir=DIR] [--threads=N] [--save=FILE]
//
// --max-steps stops each epoch early (CI uses it to keep the run short).
//
//===----------------------------------------------------------------------===//
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "frontend/models.h"
#include "runtime/data/idx.h"
#include "runtime/data/loader.h"
#include "train/trainer.h"

namespace {

struct Args {
  int64_t epochs = 5, maxSteps = 0;
  int threads = 0;
  std::string dataDir = dlc::data::kFashionMnistDir, save;
};

bool parseArgs(int argc, char **argv, Args &a) {
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&](const char *key) -> const char * {
      return s.rfind(key, 0) == 0 ? s.c_str() + std::strlen(key) : nullptr;
    };
    if (const char *v = value("--epochs=")) a.epochs = std::atoll(v);
    else if (const char *v = value("--max-steps=")) a.maxSteps = std::atoll(v);
    else if (const char *v = value("--threads=")) a.threads = std::atoi(v);
    else if (const char *v = value("--data-dir=")) a.dataDir = v;
    else if (const char *v = value("--save=")) a.save = v;
    else {
      std::fprintf(stderr, "usage: train_mlp [--epochs=N] [--max-steps=N] [--data-dir=DIR] [--threads=N] "
                           "[--save=FILE]\nunknown argument '%s'\n", argv[i]);
      return false;
    }
  }
  return true;
}

/// Prints the error and returns 1, for `return fail(x)` on a failed Expected.
template <class E> int fail(const E &e) {
  std::fprintf(stderr, "%s\n", e.error().str().c_str());
  return 1;
}

}  // namespace

int main(int argc, char **argv) {
  Args args;
  if (!parseArgs(argc, argv, args)) return 1;

  // Data: Fashion-MNIST scaled to [0, 1], each image flattened to 784 features.
  dlc::data::MnistOptions mo;
  mo.flatten = true;
  auto train = dlc::data::loadFashionMnist(args.dataDir, dlc::data::Split::Train, mo);
  if (!train) return fail(train);
  auto test = dlc::data::loadFashionMnist(args.dataDir, dlc::data::Split::Test, mo);
  if (!test) return fail(test);

  // Model and trainer: W1 (784-512-512-10, batch 128) with Adam at lr 1e-3.
  const int64_t batch = 128;
  auto model = dlc::buildMlp(batch, {.seed = 0});
  if (!model) return fail(model);
  dlc::TrainerOptions opts;
  opts.optimizer = dlc::Adam{};
  opts.schedule = dlc::ConstantLr{1e-3};
  opts.threads = args.threads;
  auto trainer = dlc::Trainer::create(std::move(*model), opts);
  if (!trainer) return fail(trainer);
  dlc::Trainer &t = **trainer;
  std::printf("compiled the training step and the evaluation in %.2f s\n", t.compileSeconds());

  // Seeded, shuffled batches; the last partial batch of an epoch is dropped.
  dlc::data::LoaderOptions lo{.batchSize = batch, .shuffle = true, .seed = 0};
  auto loader = dlc::data::BatchLoader::create(train->images, train->labels, lo);
  if (!loader) return fail(loader);
  dlc::HostTensor x = loader->makeInputBatch(), y = loader->makeLabelBatch();

  for (int64_t epoch = 0; epoch < args.epochs; ++epoch) {
    loader->startEpoch(epoch);
    double lossSum = 0;
    int64_t steps = 0;
    while (loader->next(x, y) && (args.maxSteps == 0 || steps < args.maxSteps)) {
      auto loss = t.step(x, y);
      if (!loss) return fail(loss);
      lossSum += *loss;
      if (++steps % 100 == 0) std::printf("  step %lld: loss %.4f\n", (long long)steps, lossSum / steps);
    }
    auto eval = t.evaluate(test->images, test->labels);
    if (!eval) return fail(eval);
    std::printf("epoch %lld: train loss %.4f, test loss %.4f, test accuracy %.2f %%\n", (long long)epoch + 1,
                lossSum / std::max<int64_t>(steps, 1), eval->loss, eval->accuracy);
  }

  // Parameters are readable by name; a checkpoint holds them and Adam's state.
  const dlc::HostTensor *w = t.parameter("fc3.bias");
  std::printf("fc3.bias[0..2] = %.5f %.5f %.5f\n", w->data<float>()[0], w->data<float>()[1], w->data<float>()[2]);
  if (!args.save.empty()) {
    if (auto r = t.save(args.save); !r) return fail(r);
    std::printf("saved %s\n", args.save.c_str());
  }
  return 0;
}
