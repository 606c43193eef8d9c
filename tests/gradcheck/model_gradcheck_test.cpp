//===- tests/gradcheck/model_gradcheck_test.cpp - whole-model gradient checks ===//
//
// The gradients of the W1 MLP and W2 CNN losses (test_models.h: same structure, small
// sizes, f64) against central differences on a random sample of parameter coordinates,
// and Hessian-vector products (grad-of-grad) of tanh, the MLP loss, softmax
// cross-entropy and the CNN loss against central differences of the gradient.
//
//===----------------------------------------------------------------------===//
#include <gtest/gtest.h>

#include "tests/gradcheck/test_models.h"

namespace dlc::gradcheck {
namespace {

constexpr double kModelTol = 1e-6;
constexpr double kHvpTol = 1e-6;

void report(std::string_view what, const ErrorStats &s) {
  fmt::print("[gradcheck] {:32} max rel err {:.2e} over {} coordinates\n", what, s.maxRel, s.count);
}

TEST(ModelGradCheck, MlpLoss) {
  Rng rng(11);
  Module m;
  TestModel tm = buildMlp(m, rng);
  ErrorStats s =
      checkGradients(m, "loss", tm.inputs, tm.params, {.eps = 1e-5, .samplePerArg = 24, .seed = 3});
  report("mlp loss", s);
  EXPECT_LE(s.maxRel, kModelTol) << "worst: " << s.worst;
  EXPECT_GT(s.count, 100);
}

TEST(ModelGradCheck, CnnLoss) {
  Rng rng(12);
  Module m;
  TestModel tm = buildCnn(m, rng);
  ErrorStats s =
      checkGradients(m, "loss", tm.inputs, tm.params, {.eps = 1e-5, .samplePerArg = 24, .seed = 4});
  report("cnn loss", s);
  EXPECT_LE(s.maxRel, kModelTol) << "worst: " << s.worst;
  EXPECT_GT(s.count, 100);
}

TEST(ModelGradCheck, CnnLossWithRespectToTheInputImage) {
  Rng rng(13);
  Module m;
  TestModel tm = buildCnn(m, rng);
  // One pixel moves the loss little (gradients ~1e-5), so the step is larger than for
  // the parameters to keep the differences above the loss's rounding noise.
  ErrorStats s = checkGradients(m, "loss", tm.inputs, {"x"}, {.eps = 1e-4, .samplePerArg = 40, .seed = 5});
  report("cnn loss d/dx", s);
  EXPECT_LE(s.maxRel, kModelTol) << "worst: " << s.worst;
}

TEST(HessianVectorProduct, Tanh) {
  Module m;
  Function &f = *m.addFunction("f");
  Value *x = f.addArg(f64({3, 5}), "x");
  Builder b(f);
  Rng rng(21);
  Value *w = b.constant(randomValues(15, rng), f64({3, 5}));
  f.setResults({b.reduceSum(b.mul(b.tanh(x), w), {0, 1})});
  std::vector<HostTensor> args{randomTensor(f64({3, 5}), Fill::Uniform, rng)};
  ErrorStats s = checkHvp(m, "f", args, {"x"}, {.eps = 1e-5});
  report("hvp tanh", s);
  EXPECT_LE(s.maxRel, kHvpTol) << "worst: " << s.worst;
}

TEST(HessianVectorProduct, TwoLayerMlpLoss) {
  // A 2-layer MLP (linear, tanh, linear, softmax CE): tanh gives the Hessian a
  // curvature term besides the matmul cross terms and the cross-entropy.
  Rng rng(22);
  Module m;
  Function &f = *m.addFunction("loss");
  Value *x = f.addArg(f64({4, 6}), "x");
  Value *labels = f.addArg(i32({4}), "labels");
  Value *w1 = f.addArg(f64({6, 5}), "w1");
  Value *b1 = f.addArg(f64({5}), "b1");
  Value *w2 = f.addArg(f64({5, 3}), "w2");
  Value *b2 = f.addArg(f64({3}), "b2");
  Builder b(f);
  Value *h = b.tanh(linear(b, x, w1, b1));
  f.setResults({softmaxCrossEntropy(b, linear(b, h, w2, b2), labels)});
  std::vector<HostTensor> args{
      randomTensor(x->type(), Fill::Uniform, rng),  randomTensor(labels->type(), Fill::Uniform, rng),
      randomTensor(w1->type(), Fill::Uniform, rng), randomTensor(b1->type(), Fill::Uniform, rng),
      randomTensor(w2->type(), Fill::Uniform, rng), randomTensor(b2->type(), Fill::Uniform, rng)};
  ErrorStats s = checkHvp(m, "loss", args, {"w1", "b1", "w2", "b2"}, {.eps = 1e-5});
  report("hvp 2-layer mlp", s);
  EXPECT_LE(s.maxRel, kHvpTol) << "worst: " << s.worst;
}

TEST(HessianVectorProduct, ReluMlpLoss) {
  Rng rng(23);
  Module m;
  TestModel tm = buildMlp(m, rng, 4, 8, 6, 5);
  ErrorStats s = checkHvp(m, "loss", tm.inputs, tm.params, {.eps = 1e-5});
  report("hvp relu mlp", s);
  EXPECT_LE(s.maxRel, kHvpTol) << "worst: " << s.worst;
}

TEST(HessianVectorProduct, SoftmaxCrossEntropy) {
  Rng rng(24);
  Module m;
  Function &f = *m.addFunction("xent");
  Value *logits = f.addArg(f64({5, 7}), "logits");
  Value *labels = f.addArg(i32({5}), "labels");
  Builder b(f);
  f.setResults({softmaxCrossEntropy(b, logits, labels)});
  std::vector<HostTensor> args{randomTensor(logits->type(), Fill::Distinct, rng),
                               randomTensor(labels->type(), Fill::Uniform, rng)};
  ErrorStats s = checkHvp(m, "xent", args, {"logits"}, {.eps = 1e-5});
  report("hvp softmax xent", s);
  EXPECT_LE(s.maxRel, kHvpTol) << "worst: " << s.worst;
}

TEST(HessianVectorProduct, CnnLoss) {
  // Exercises the VJPs of conv2d_input_grad, conv2d_filter_grad and max_pool2d_grad.
  Rng rng(25);
  Module m;
  TestModel tm = buildCnn(m, rng);
  std::vector<std::string> wrt = tm.params;
  wrt.push_back("x");
  ErrorStats s = checkHvp(m, "loss", tm.inputs, wrt, {.eps = 1e-5});
  report("hvp cnn", s);
  EXPECT_LE(s.maxRel, kHvpTol) << "worst: " << s.worst;
}

}  // namespace
}  // namespace dlc::gradcheck
