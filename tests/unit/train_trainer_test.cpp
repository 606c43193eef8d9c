//===- tests/unit/train_trainer_test.cpp - the embedding API (dlc::Trainer) ===//
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <unistd.h>

#include "frontend/graph.h"
#include "frontend/nn.h"
#include "ir/parser.h"
#include "runtime/data/safetensors.h"
#include "train/trainer.h"

namespace dlc {
namespace {

constexpr int64_t kBatch = 8, kIn = 4, kClasses = 3;

/// A tiny classifier: linear(4 -> hidden) relu linear(-> 3), batch 8.
Model tinyModel(int64_t hidden = 5, uint64_t seed = 1) {
  Graph g("tiny", {.seed = seed, .recordLocations = false});
  Tensor x = g.input("x", f32({kBatch, kIn}));
  Tensor y = g.input("labels", i32({kBatch}));
  Tensor h = nn::relu(nn::linear(g, x, hidden, "fc1"));
  Tensor logits = nn::linear(g, h, kClasses, "fc2").named("logits");
  auto m = g.finish(nn::crossEntropy(logits, y));
  EXPECT_TRUE(m) << m.error().str();
  return std::move(*m);
}

/// A fixed, learnable data set: the label is the index of the largest of the first 3
/// features.
void makeData(int64_t n, HostTensor &x, HostTensor &y) {
  x = HostTensor(f32({n, kIn}));
  y = HostTensor(i32({n}));
  for (int64_t i = 0; i < n; ++i) {
    int best = 0;
    for (int j = 0; j < kIn; ++j) {
      float v = static_cast<float>(std::sin(0.7 * static_cast<double>(i * kIn + j) + 0.3 * j));
      x.data<float>()[i * kIn + j] = v;
      if (j < kClasses && v > x.data<float>()[i * kIn + best]) best = j;
    }
    y.data<int32_t>()[i] = best;
  }
}

std::string tempPath(const std::string &name) {
  return (std::filesystem::temp_directory_path() / fmt::format("dlc_trainer_test_{}_{}", ::getpid(), name)).string();
}

std::unique_ptr<Trainer> makeTrainer(TrainerOptions o = {}, int64_t hidden = 5) {
  o.threads = 1;
  auto t = Trainer::create(tinyModel(hidden), o);
  EXPECT_TRUE(t) << t.error().str();
  return t ? std::move(*t) : nullptr;
}

TEST(Trainer, StepsReduceTheLossAndCountSteps) {
  TrainerOptions o;
  o.schedule = ConstantLr{0.05};
  auto t = makeTrainer(o);
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->hasLogits());
  EXPECT_EQ(t->parameterNames(), (std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}));
  EXPECT_EQ(t->inputNames(), (std::vector<std::string>{"x", "labels"}));
  HostTensor x, y;
  makeData(kBatch, x, y);
  auto first = t->step(x, y);
  ASSERT_TRUE(first) << first.error().str();
  float last = *first;
  for (int i = 0; i < 60; ++i) {
    auto l = t->step(x, y);
    ASSERT_TRUE(l);
    last = *l;
  }
  EXPECT_LT(last, 0.5f * *first);
  EXPECT_EQ(t->stepsTaken(), 61);
}

TEST(Trainer, ReportsBadInputs) {
  auto t = makeTrainer();
  ASSERT_TRUE(t);
  HostTensor x(f32({kBatch, kIn + 1})), y(i32({kBatch}));
  auto r = t->step(x, y);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().str().find("input 'x' must be f32[8,4]"), std::string::npos) << r.error().str();
  EXPECT_EQ(t->stepsTaken(), 0);
}

TEST(Trainer, ReadsAndWritesParametersByName) {
  auto t = makeTrainer();
  ASSERT_TRUE(t);
  const HostTensor *b = t->parameter("fc2.bias");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->type(), f32({kClasses}));
  EXPECT_EQ(t->parameter("nope"), nullptr);
  HostTensor v = HostTensor::full(f32({kClasses}), 0.25);
  ASSERT_TRUE(t->setParameter("fc2.bias", v));
  EXPECT_EQ(*t->parameter("fc2.bias"), v);
  auto wrongType = t->setParameter("fc2.bias", HostTensor(f32({kClasses + 1})));
  ASSERT_FALSE(wrongType);
  EXPECT_NE(wrongType.error().str().find("'fc2.bias' is f32[3], not f32[4]"), std::string::npos)
      << wrongType.error().str();
  auto unknown = t->setParameter("fc9.bias", v);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().str().find("no parameter 'fc9.bias'"), std::string::npos);
}

TEST(Trainer, EvaluateCountsOnlyRealRowsOfAPaddedBatch) {
  auto t = makeTrainer();
  ASSERT_TRUE(t);
  HostTensor x, y;
  makeData(11, x, y);  // one full batch of 8 and a padded one with 3 real rows
  auto s = t->evaluate(x, y);
  ASSERT_TRUE(s) << s.error().str();
  EXPECT_EQ(s->samples, 11);
  // The same figures batch by batch from evaluateBatch.
  double lossSum = 0;
  int64_t correct = 0;
  for (int64_t start = 0; start < 11; start += kBatch) {
    int64_t rows = std::min<int64_t>(kBatch, 11 - start);
    HostTensor xb(f32({kBatch, kIn})), yb(i32({kBatch}));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < kIn; ++j) xb.data<float>()[r * kIn + j] = x.data<float>()[(start + r) * kIn + j];
      yb.data<int32_t>()[r] = y.data<int32_t>()[start + r];
    }
    HostTensor in[2] = {xb, yb};
    auto e = t->evaluateBatch(in, rows);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->rows, rows);
    EXPECT_EQ(e->logits.type(), f32({kBatch, kClasses}));
    lossSum += e->loss * static_cast<double>(rows);
    correct += e->correct;
  }
  EXPECT_NEAR(s->loss, lossSum / 11, 1e-12);
  EXPECT_NEAR(s->accuracy, 100.0 * static_cast<double>(correct) / 11, 1e-12);
  // The loss from the logits equals the model's own loss on a full batch.
  HostTensor in[2] = {HostTensor(f32({kBatch, kIn})), HostTensor(i32({kBatch}))};
  std::copy_n(x.data<float>().begin(), kBatch * kIn, in[0].data<float>().begin());
  std::copy_n(y.data<int32_t>().begin(), kBatch, in[1].data<int32_t>().begin());
  TrainerOptions o;
  o.schedule = ConstantLr{0.0};
  auto t2 = makeTrainer(o);
  auto full = t2->evaluateBatch(in);
  auto stepLoss = t2->step(in[0], in[1]);  // lr 0: the loss of the same parameters
  ASSERT_TRUE(full && stepLoss);
  EXPECT_NEAR(full->loss, *stepLoss, 1e-5);
}

TEST(Trainer, SaveThenLoadContinuesBitwise) {
  HostTensor x, y;
  makeData(kBatch, x, y);
  TrainerOptions o;
  o.optimizer = Adam{};
  o.schedule = CosineLr{0.05, 6, 0.0};
  auto a = makeTrainer(o);
  std::vector<float> uninterrupted;
  for (int i = 0; i < 6; ++i) uninterrupted.push_back(*a->step(x, y));

  std::string path = tempPath("ck.safetensors");
  auto b = makeTrainer(o);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(*b->step(x, y), uninterrupted[static_cast<size_t>(i)]);
  ASSERT_TRUE(b->save(path, {{"note", "hello"}}));
  auto c = makeTrainer(o);
  auto md = c->load(path);
  ASSERT_TRUE(md) << md.error().str();
  EXPECT_EQ(md->at("note"), "hello");
  EXPECT_EQ(md->at("dlc.optimizer"), "adam");
  EXPECT_EQ(c->stepsTaken(), 3);
  EXPECT_EQ(c->learningRate(), b->learningRate());
  for (int i = 3; i < 6; ++i) EXPECT_EQ(*c->step(x, y), uninterrupted[static_cast<size_t>(i)]) << "step " << i;
  for (const std::string &n : a->parameterNames()) EXPECT_EQ(*a->parameter(n), *c->parameter(n)) << n;

  // The file: parameters by name, Adam's state under optimizer.*, the step counter.
  auto ck = data::loadSafetensors(path);
  ASSERT_TRUE(ck);
  ASSERT_NE(ck->find("fc1.weight"), nullptr);
  ASSERT_NE(ck->find("optimizer.fc1.weight.exp_avg_sq"), nullptr);
  ASSERT_NE(ck->find("optimizer.step"), nullptr);
  EXPECT_EQ(ck->find("optimizer.step")->data<int32_t>()[0], 3);
  std::remove(path.c_str());
}

TEST(Trainer, RefusesMismatchedCheckpointsSayingWhich) {
  std::string path = tempPath("mismatch.safetensors");
  auto small = makeTrainer({}, 5);
  ASSERT_TRUE(small->save(path));
  auto big = makeTrainer({}, 6);
  HostTensor before = *big->parameter("fc1.weight");
  auto r = big->load(path);
  ASSERT_FALSE(r);
  std::string msg = r.error().str();
  EXPECT_NE(msg.find("fc1.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("f32[5,4]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("f32[6,4]"), std::string::npos) << msg;
  EXPECT_EQ(*big->parameter("fc1.weight"), before);  // unchanged

  TrainerOptions sgd;
  sgd.optimizer = Momentum{};
  auto other = makeTrainer(sgd, 5);
  auto r2 = other->load(path);
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().str().find("written with optimizer 'adam', this trainer uses 'momentum'"), std::string::npos)
      << r2.error().str();
  // The parameters alone load into a trainer with another optimizer.
  auto p = other->loadParameters(path);
  ASSERT_TRUE(p) << p.error().str();
  EXPECT_EQ(*other->parameter("fc2.weight"), *small->parameter("fc2.weight"));
  std::remove(path.c_str());
}

TEST(Trainer, ModelFromAModuleFollowsTheConvention) {
  // Arguments in any order: %labels and %x are inputs, the rest parameters.
  auto m = parseModule(R"(
func @lin(%labels: i32[2], %w: f32[3,4], %x: f32[2,4], %b: f32[3]) -> (f32[], f32[2,3]) {
  %0 = matmul %x, %w transpose_a=false transpose_b=true : f32[2,3]
  %1 = broadcast %b dims=[1] : f32[2,3]
  %logits = add %0, %1 : f32[2,3]
  %2 = one_hot %labels : f32[2,3]
  %3 = mul %2, %logits : f32[2,3]
  %4 = reduce_sum %3 axes=[0,1] : f32[]
  %loss = neg %4 : f32[]
  return %loss, %logits
}
)", "lin.dlc");
  ASSERT_TRUE(m) << m.error().str();
  auto model = modelFromModule(std::move(*m), "", 7);
  ASSERT_TRUE(model) << model.error().str();
  ASSERT_EQ(model->params.size(), 2u);
  EXPECT_EQ(model->params[0].name, "w");
  EXPECT_EQ(model->params[1].name, "b");
  EXPECT_EQ(model->inputNames, (std::vector<std::string>{"x", "labels"}));
  EXPECT_EQ(model->params[1].initial, HostTensor(f32({3})));  // biases start at zero
  for (float v : model->params[0].initial.data<float>()) EXPECT_LE(std::fabs(v), 0.5f);  // 1/sqrt(4)
  auto t = Trainer::create(std::move(*model), {});
  ASSERT_TRUE(t) << t.error().str();
  EXPECT_TRUE((*t)->hasLogits());

  auto bad = parseModule("func @f(%w: f32[2], %k: i32[2], %x: f32[2], %labels: i32[2]) -> f32[] {\n"
                         "  %0 = reduce_sum %w axes=[0] : f32[]\n  return %0\n}\n",
                         "bad.dlc");
  ASSERT_TRUE(bad);
  auto r = modelFromModule(std::move(*bad), "", 0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().str().find("argument %k of '@f' is i32[2]: parameters must be floating-point"),
            std::string::npos)
      << r.error().str();
}

}  // namespace
}  // namespace dlc
