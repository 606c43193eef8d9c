//===- examples/train_cnn.cpp - train W2's CNN on Fashion-MNIST -------------===//
//
// The CNN of BENCHMARKS.md (two 5x5 convolutions with max pooling, two linear layers)
// trained with SGD + momentum and a cosine learning-rate schedule, through the
// embedding API. The images are [N, 28, 28]; the model takes [batch, 1, 28, 28], so
// reshapeSamples views them with a channel dimension.
//
//   train_cnn [--epochs=N] [--max-steps=N] [--test-limit=N] [--data-dir=DIR] [--threads=N]
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

template <class E> int fail(const E &e) {
  std::fprintf(stderr, "%s\n", e.error().str().c_str());
  return 1;
}

}  // namespace

int main(int argc, char **argv) {
  int64_t epochs = 2, maxSteps = 0, testLimit = 0;
  int threads = 0;
  std::string dataDir = dlc::data::kFashionMnistDir;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&](const char *key) -> const char * {
      return s.rfind(key, 0) == 0 ? s.c_str() + std::strlen(key) : nullptr;
    };
    if (const char *v = value("--epochs=")) epochs = std::atoll(v);
    else if (const char *v = value("--max-steps=")) maxSteps = std::atoll(v);
    else if (const char *v = value("--test-limit=")) testLimit = std::atoll(v);
    else if (const char *v = value("--threads=")) threads = std::atoi(v);
    else if (const char *v = value("--data-dir=")) dataDir = v;
    else return std::fprintf(stderr, "train_cnn: unknown argument '%s'\n", argv[i]), 1;
  }

  const int64_t batch = 64;
  auto model = dlc::buildCnn(batch, {.seed = 0});
  if (!model) return fail(model);
  const dlc::TensorType xType = model->function->arg(model->params.size())->type();  // f32[64,1,28,28]

  auto train = dlc::data::loadFashionMnist(dataDir, dlc::data::Split::Train);
  if (!train) return fail(train);
  auto test = dlc::data::loadFashionMnist(dataDir, dlc::data::Split::Test);
  if (!test) return fail(test);
  for (dlc::data::Dataset *ds : {&*train, &*test}) {
    auto images = dlc::reshapeSamples(std::move(ds->images), xType);  // [N,28,28] -> [N,1,28,28]
    if (!images) return fail(images);
    ds->images = std::move(*images);
  }

  dlc::data::LoaderOptions lo{.batchSize = batch, .shuffle = true, .seed = 0};
  auto loader = dlc::data::BatchLoader::create(train->images, train->labels, lo);
  if (!loader) return fail(loader);
  const int64_t stepsPerEpoch = maxSteps > 0 ? std::min(maxSteps, loader->batchesPerEpoch()) : loader->batchesPerEpoch();

  dlc::TrainerOptions opts;
  opts.optimizer = dlc::Momentum{.momentum = 0.9};
  opts.schedule = dlc::CosineLr{.lr = 0.01, .tMax = epochs * stepsPerEpoch};
  opts.threads = threads;
  auto trainer = dlc::Trainer::create(std::move(*model), opts);
  if (!trainer) return fail(trainer);
  dlc::Trainer &t = **trainer;
  std::printf("compiled in %.2f s\n", t.compileSeconds());

  dlc::HostTensor x = loader->makeInputBatch(), y = loader->makeLabelBatch();
  for (int64_t epoch = 0; epoch < epochs; ++epoch) {
    loader->startEpoch(epoch);
    double lossSum = 0;
    int64_t steps = 0;
    for (; steps < stepsPerEpoch && loader->next(x, y); ++steps) {
      auto loss = t.step(x, y);
      if (!loss) return fail(loss);
      lossSum += *loss;
    }
    auto eval = t.evaluate(test->images, test->labels, testLimit);
    if (!eval) return fail(eval);
    std::printf("epoch %lld: train loss %.4f, lr now %.5f, test loss %.4f, test accuracy %.2f %% (%lld samples)\n",
                (long long)epoch + 1, lossSum / std::max<int64_t>(steps, 1), t.learningRate(), eval->loss,
                eval->accuracy, (long long)eval->samples);
  }
  return 0;
}
