//===- tests/unit/passes_train_mlp_test.cpp - training W1's MLP in the interpreter ===//
//
// W1's architecture (Linear, ReLU, Linear, ReLU, Linear, softmax cross-entropy; built with
// the frontend) at small sizes, on a synthetic 3-class problem whose labels are a linear
// function of the inputs. Each optimizer's training step, run in the reference
// interpreter, must lower the loss; simplify + cse + dce must not change a single bit.
//
//===----------------------------------------------------------------------===//
#include <random>

#include "frontend/nn.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/lr_schedule.h"
#include "passes/pipeline.h"
#include "passes/train_step.h"
#include "passes_test_util.h"

namespace dlc {
namespace {

constexpr int64_t kBatch = 32, kIn = 8, kHidden = 16, kClasses = 3;

Model buildSmallMlp() {
  Graph g("mlp");
  Tensor x = g.input("x", f32({kBatch, kIn}));
  Tensor labels = g.input("labels", i32({kBatch}));
  Tensor h1 = nn::relu(nn::linear(g, x, kHidden, "fc1"));
  Tensor h2 = nn::relu(nn::linear(g, h1, kHidden, "fc2"));
  Tensor logits = nn::linear(g, h2, kClasses, "fc3");
  Expected<Model> m = g.finish(nn::crossEntropy(logits, labels));
  EXPECT_TRUE(m.ok()) << (m ? "" : m.error().str());
  return std::move(*m);
}

/// Batch k of the synthetic problem: x uniform in [-1, 1), label = argmax(x A).
std::pair<HostTensor, HostTensor> batch(int k) {
  std::mt19937 rng(1234 + static_cast<uint32_t>(k));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> x(kBatch * kIn);
  std::vector<int32_t> y(kBatch);
  for (float &v : x) v = u(rng);
  for (int64_t n = 0; n < kBatch; ++n) {
    float best = -1e30f;
    for (int64_t c = 0; c < kClasses; ++c) {
      float s = 0;
      for (int64_t i = 0; i < kIn; ++i) s += x[n * kIn + i] * static_cast<float>(((i + 2 * c) % 5) - 2);
      if (s > best) {
        best = s;
        y[n] = static_cast<int32_t>(c);
      }
    }
  }
  return {HostTensor::fromVector<float>({kBatch, kIn}, x), HostTensor::fromVector<int32_t>({kBatch}, y)};
}

struct TrainCase {
  std::string_view name;
  OptimizerConfig cfg;
  LrSchedule lr;
};

void PrintTo(const TrainCase &c, std::ostream *os) { *os << c.name; }

class TrainMlp : public ::testing::TestWithParam<TrainCase> {};

TEST_P(TrainMlp, LossGoesDown) {
  const TrainCase &c = GetParam();
  Model model = buildSmallMlp();
  TrainStepOptions o;
  o.optimizer = c.cfg;
  o.clipNorm = 5.0;
  Expected<Function *> built = buildTrainStep(model.module, *model.function, o);
  ASSERT_TRUE(built.ok()) << built.error().str();
  Function &step = **built;

  // Simplify the step and check, on the first batch, that it computes the same bits.
  const size_t numCarried = step.numArgs() - 3;  // params and state; then x, labels, lr
  std::vector<HostTensor> carried = model.initialParams();
  for (size_t i = carried.size(); i < numCarried; ++i) carried.push_back(HostTensor(step.arg(i)->type()));
  auto argsFor = [&](int k, int64_t stepNo) {
    std::vector<HostTensor> args = carried;
    auto [x, y] = batch(k);
    args.push_back(std::move(x));
    args.push_back(std::move(y));
    args.push_back(HostTensor::fromVector<float>({}, {static_cast<float>(lrAt(c.lr, stepNo))}));
    return args;
  };
  std::vector<HostTensor> reference = test::runOrFail(step, argsFor(0, 0));
  PipelineOptions po;
  po.verifyEach = true;
  po.passOpts.function = step.name();
  Expected<std::vector<PassEntry>> passes = parsePassPipeline("simplify,cse,dce");
  ASSERT_TRUE(passes.ok());
  const size_t nodesBefore = step.numNodes();
  ASSERT_TRUE(runPipeline(model.module, *passes, po).ok());
  EXPECT_LT(step.numNodes(), nodesBefore);
  EXPECT_TRUE(test::sameBits(reference, test::runOrFail(step, argsFor(0, 0))));

  // Train: 8 distinct batches, 60 steps.
  double first = 0, last = 0;
  for (int64_t s = 0; s < 60; ++s) {
    std::vector<HostTensor> out = test::runOrFail(step, argsFor(static_cast<int>(s % 8), s));
    ASSERT_EQ(out.size(), numCarried + 1);
    const double loss = out.back().getDouble(0);
    ASSERT_TRUE(std::isfinite(loss)) << "step " << s;
    if (s < 8) first += loss / 8;
    if (s >= 52) last += loss / 8;
    for (size_t i = 0; i < numCarried; ++i) carried[i] = std::move(out[i]);
  }
  EXPECT_LT(last, 0.5 * first) << c.name << ": mean loss of the first 8 steps " << first << ", of the last 8 " << last;
}

const TrainCase kTrainCases[] = {
    {"sgd", Sgd{}, ConstantLr{0.5}},
    {"momentum_step_decay", Momentum{.momentum = 0.9}, StepDecayLr{0.1, 40, 0.5}},
    {"nesterov", Momentum{.momentum = 0.9, .nesterov = true}, ConstantLr{0.1}},
    {"rmsprop", RmsProp{}, ConstantLr{0.01}},
    {"adam_cosine", Adam{}, CosineLr{0.02, 60, 0.001}},
    {"adamw_warmup", AdamW{}, WarmupCosineLr{0.02, 5, 60, 0.0}},
};

std::string trainName(const ::testing::TestParamInfo<TrainCase> &info) { return std::string(info.param.name); }

INSTANTIATE_TEST_SUITE_P(Optimizers, TrainMlp, ::testing::ValuesIn(kTrainCases), trainName);

TEST(LrSchedule, ClosedForms) {
  EXPECT_DOUBLE_EQ(lrAt(ConstantLr{0.1}, 1000), 0.1);
  EXPECT_DOUBLE_EQ(lrAt(StepDecayLr{1.0, 10, 0.5}, 9), 1.0);
  EXPECT_DOUBLE_EQ(lrAt(StepDecayLr{1.0, 10, 0.5}, 10), 0.5);
  EXPECT_DOUBLE_EQ(lrAt(StepDecayLr{1.0, 10, 0.5}, 25), 0.25);
  EXPECT_DOUBLE_EQ(lrAt(ExponentialLr{2.0, 0.5}, 3), 0.25);
  EXPECT_DOUBLE_EQ(lrAt(CosineLr{1.0, 100, 0.0}, 0), 1.0);
  EXPECT_NEAR(lrAt(CosineLr{1.0, 100, 0.0}, 50), 0.5, 1e-15);
  EXPECT_DOUBLE_EQ(lrAt(CosineLr{1.0, 100, 0.1}, 100), 0.1);
  EXPECT_DOUBLE_EQ(lrAt(CosineLr{1.0, 100, 0.1}, 500), 0.1);  // held after tMax
  EXPECT_DOUBLE_EQ(lrAt(WarmupCosineLr{1.0, 4, 104, 0.0}, 0), 0.25);
  EXPECT_DOUBLE_EQ(lrAt(WarmupCosineLr{1.0, 4, 104, 0.0}, 3), 1.0);
  EXPECT_DOUBLE_EQ(lrAt(WarmupCosineLr{1.0, 4, 104, 0.0}, 4), 1.0);
  EXPECT_NEAR(lrAt(WarmupCosineLr{1.0, 4, 104, 0.0}, 54), 0.5, 1e-15);
}

}  // namespace
}  // namespace dlc
