//===- tests/unit/determinism_test.cpp - bitwise-reproducible training -----===//
//
// W1 (buildMlp, batch 128) with Adam, simplified by simplify,cse,dce, JIT-compiled and
// trained for a few steps on seeded synthetic data. The same seed must give the same
// parameters, optimizer state and losses bit for bit: across two independent runs
// (fresh model, fresh compile), across 1 and 2 kernel threads, and fused vs unfused
// kernels (ExecutableOptions::plan.fuse; today both plan one kernel per op, and the test
// covers fusion as soon as it lands). Denormals are flushed as in real training: the
// mode must not make results depend on the thread count either.
//
//===----------------------------------------------------------------------===//
#include <cmath>
#include <cstring>
#include <random>

#include <gtest/gtest.h>

#include "frontend/models.h"
#include "passes/pipeline.h"
#include "passes/train_step.h"
#include "runtime/executable.h"

namespace dlc {
namespace {

constexpr int64_t kBatch = 128;
constexpr int kSteps = 3;

struct Config {
  int threads = 1;
  bool fuse = true;
};

/// Everything a training run produces: the final carried tensors and the losses.
struct Trace {
  std::vector<HostTensor> carried;
  std::vector<float> losses;
};

Trace train(const Config &c, uint64_t seed) {
  Trace trace;
  Expected<Model> model = buildMlp(kBatch, {.seed = seed});
  EXPECT_TRUE(model) << model.error().str();
  if (!model) return trace;
  TrainStepOptions tso;
  tso.optimizer = Adam{};
  Expected<Function *> step = buildTrainStep(model->module, *model->function, tso);
  EXPECT_TRUE(step) << step.error().str();
  if (!step) return trace;
  PipelineOptions po;
  po.passOpts.function = (*step)->name();
  Expected<std::vector<PassEntry>> passes = parsePassPipeline("simplify,cse,dce");
  EXPECT_TRUE(passes && runPipeline(model->module, *passes, po));

  ExecutableOptions eo;
  eo.codegen.threads = c.threads;
  eo.plan.fuse = c.fuse;
  Expected<std::unique_ptr<Executable>> ex = Executable::compile(**step, eo);
  EXPECT_TRUE(ex) << ex.error().str();
  if (!ex) return trace;

  // Arguments: params..., optimizer state (zeros)..., x, labels, lr.
  const Function &f = **step;
  std::vector<HostTensor> in = model->initialParams();
  const size_t xi = f.numArgs() - 3;
  for (size_t i = in.size(); i < xi; ++i) in.emplace_back(f.arg(i)->type());
  in.emplace_back(f.arg(xi)->type());
  in.emplace_back(f.arg(xi + 1)->type());
  in.push_back(HostTensor::full(f32({}), 1e-3));
  std::mt19937_64 g(seed);
  for (int s = 0; s < kSteps; ++s) {
    for (float &x : in[xi].data<float>()) x = std::uniform_real_distribution<float>(0, 1)(g);
    for (int32_t &y : in[xi + 1].data<int32_t>()) y = static_cast<int32_t>(g() % 10);
    Expected<std::vector<HostTensor>> out = (*ex)->run(in);
    EXPECT_TRUE(out) << out.error().str();
    if (!out) return trace;
    for (size_t i = 0; i < xi; ++i) in[i] = std::move((*out)[i]);
    trace.losses.push_back(out->back().data<float>()[0]);
  }
  trace.carried.assign(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(xi));
  return trace;
}

void expectIdentical(const Trace &a, const Trace &b, const std::string &what) {
  ASSERT_EQ(a.losses.size(), static_cast<size_t>(kSteps)) << what;
  ASSERT_EQ(a.carried.size(), b.carried.size()) << what;
  EXPECT_EQ(std::memcmp(a.losses.data(), b.losses.data(), a.losses.size() * sizeof(float)), 0)
      << what << ": losses differ, e.g. " << a.losses.back() << " vs " << b.losses.back();
  for (size_t i = 0; i < a.carried.size(); ++i) {
    ASSERT_EQ(a.carried[i].type(), b.carried[i].type());
    EXPECT_EQ(std::memcmp(a.carried[i].raw(), b.carried[i].raw(), static_cast<size_t>(a.carried[i].numBytes())), 0)
        << what << ": carried tensor " << i << " differs";
  }
}

TEST(Determinism, W1TrainingIsBitwiseReproducible) {
  const Trace base = train({.threads = 1, .fuse = true}, 42);
  ASSERT_EQ(base.losses.size(), static_cast<size_t>(kSteps));
  EXPECT_TRUE(std::isfinite(base.losses.back()));
  expectIdentical(base, train({.threads = 1, .fuse = true}, 42), "a second run");
  expectIdentical(base, train({.threads = 2, .fuse = true}, 42), "2 threads");
  expectIdentical(base, train({.threads = 1, .fuse = false}, 42), "unfused");
  expectIdentical(base, train({.threads = 2, .fuse = false}, 42), "unfused, 2 threads");
  // The seed matters: another one gives another trajectory.
  const Trace other = train({.threads = 1, .fuse = true}, 43);
  ASSERT_EQ(other.losses.size(), static_cast<size_t>(kSteps));
  EXPECT_NE(std::memcmp(base.losses.data(), other.losses.data(), sizeof(float) * kSteps), 0);
}

}  // namespace
}  // namespace dlc
