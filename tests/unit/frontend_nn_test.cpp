//===- tests/unit/frontend_nn_test.cpp - layers and losses in the interpreter -===//
//
// Builds small graphs in f64 with nn:: helpers, evaluates them with the reference
// interpreter, and compares against the same math written directly in the test.
//
//===----------------------------------------------------------------------===//
#include <gtest/gtest.h>

#include <cmath>

#include "frontend/graph.h"
#include "frontend/nn.h"
#include "ir/interpreter.h"
#include "ir/verifier.h"

namespace dlc {
namespace {

/// Logits with a wide range (including values near 1000, which overflow a naive exp).
HostTensor testLogits(int64_t rows, int64_t cols) {
  std::vector<double> v(static_cast<size_t>(rows * cols));
  Rng rng(3);
  for (double &x : v) x = 8.0 * rng.uniform() - 4.0;
  v[1] = 1000.0;
  v[static_cast<size_t>(cols) + 2] = -1000.0;
  return HostTensor::fromVector<double>({rows, cols}, v);
}

/// Runs the single-output function of \p m on \p inputs (after the initial parameters).
HostTensor run(const Model &m, std::vector<HostTensor> inputs) {
  std::vector<HostTensor> args = m.arguments(std::move(inputs));
  Expected<std::vector<HostTensor>> out = interpret(*m.function, args);
  EXPECT_TRUE(out) << out.error().str();
  return out ? out->front() : HostTensor();
}

std::vector<double> rowLogSoftmax(const HostTensor &x, int64_t r, int64_t cols) {
  double m = -INFINITY;
  for (int64_t c = 0; c < cols; ++c) m = std::max(m, x.getDouble(r * cols + c));
  double s = 0;
  for (int64_t c = 0; c < cols; ++c) s += std::exp(x.getDouble(r * cols + c) - m);
  std::vector<double> out;
  for (int64_t c = 0; c < cols; ++c) out.push_back(x.getDouble(r * cols + c) - m - std::log(s));
  return out;
}

TEST(FrontendNn, SoftmaxAndLogSoftmax) {
  const int64_t rows = 3, cols = 5;
  HostTensor x = testLogits(rows, cols);
  for (bool logForm : {false, true}) {
    Graph g(logForm ? "log_softmax" : "softmax");
    Tensor in = g.input("x", f64({rows, cols}));
    Tensor y = logForm ? nn::logSoftmax(in) : nn::softmax(in, 1);
    Expected<Model> m = g.finish(y);
    ASSERT_TRUE(m) << m.error().str();
    HostTensor out = run(*m, {x});
    ASSERT_EQ(out.type(), f64({rows, cols}));
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<double> want = rowLogSoftmax(x, r, cols);
      for (int64_t c = 0; c < cols; ++c) {
        double w = logForm ? want[c] : std::exp(want[c]);
        double got = out.getDouble(r * cols + c);
        EXPECT_TRUE(std::isfinite(got));
        EXPECT_NEAR(got, w, 1e-12 * std::max(1.0, std::abs(w))) << r << "," << c;
      }
    }
  }
}

TEST(FrontendNn, CrossEntropyWithLabelsAndProbabilities) {
  const int64_t rows = 4, cols = 6;
  HostTensor x = testLogits(rows, cols);
  std::vector<int32_t> labels = {1, 5, 0, 3};
  double want = 0;
  for (int64_t r = 0; r < rows; ++r) want -= rowLogSoftmax(x, r, cols)[labels[r]];
  want /= rows;

  Graph g("xent");
  Tensor logits = g.input("logits", f64({rows, cols}));
  Tensor y = g.input("labels", i32({rows}));
  Expected<Model> m = g.finish(nn::crossEntropy(logits, y));
  ASSERT_TRUE(m) << m.error().str();
  ASSERT_TRUE(verify(*m->function)) << verify(*m->function).error().str();
  HostTensor loss = run(*m, {x, HostTensor::fromVector<int32_t>({rows}, labels)});
  ASSERT_EQ(loss.type(), f64({}));
  EXPECT_NEAR(loss.getDouble(0), want, 1e-12 * std::abs(want));

  // Soft targets equal to the one-hot labels give the same loss.
  HostTensor probs(f64({rows, cols}));
  for (int64_t r = 0; r < rows; ++r) probs.setDouble(r * cols + labels[r], 1.0);
  Graph h("xent_soft");
  Tensor hl = h.input("logits", f64({rows, cols}));
  Tensor hp = h.input("probs", f64({rows, cols}));
  Expected<Model> soft = h.finish(nn::crossEntropy(hl, hp));
  ASSERT_TRUE(soft) << soft.error().str();
  EXPECT_NEAR(run(*soft, {x, probs}).getDouble(0), want, 1e-12 * std::abs(want));
}

TEST(FrontendNn, LinearMatchesDirectComputation) {
  Graph g("lin");
  Tensor x = g.input("x", f64({3, 4}));
  Tensor y = nn::linear(g, x, 2, "fc");
  EXPECT_EQ(y.value()->name(), "fc");
  Expected<Model> m = g.finish(y);
  ASSERT_TRUE(m) << m.error().str();
  ASSERT_EQ(m->params.size(), 2u);
  EXPECT_EQ(m->params[0].name, "fc.weight");
  EXPECT_EQ(m->params[0].initial.type(), f64({2, 4}));  // [out, in], PyTorch layout
  EXPECT_EQ(m->params[1].name, "fc.bias");
  HostTensor xs(f64({3, 4}));
  for (int64_t i = 0; i < 12; ++i) xs.setDouble(i, 0.25 * i - 1.0);
  HostTensor out = run(*m, {xs});
  const HostTensor &w = m->params[0].initial, &b = m->params[1].initial;
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t o = 0; o < 2; ++o) {
      double want = b.getDouble(o);
      for (int64_t k = 0; k < 4; ++k) want += xs.getDouble(r * 4 + k) * w.getDouble(o * 4 + k);
      EXPECT_NEAR(out.getDouble(r * 2 + o), want, 1e-12);
    }
}

TEST(FrontendNn, LinearOnRank3AndWithoutBias) {
  Graph g("lin3");
  Tensor x = g.input("x", f32({2, 5, 4}));
  Tensor y = nn::linear(g, x, 3, "proj", {.bias = false});
  EXPECT_EQ(y.shape(), (Shape{2, 5, 3}));
  EXPECT_EQ(g.params().size(), 1u);
  Expected<Model> m = g.finish(y);
  ASSERT_TRUE(m) << m.error().str();
}

TEST(FrontendNn, ConvPoolFlattenShapes) {
  Graph g("conv");
  Tensor x = g.input("x", f32({2, 3, 8, 8}));
  Tensor c = nn::conv2d(g, x, 4, 3, {.stride = 2, .padding = 1}, "conv");
  EXPECT_EQ(c.shape(), (Shape{2, 4, 4, 4}));
  EXPECT_EQ(g.params()[0].initial.type(), f32({4, 3, 3, 3}));
  EXPECT_EQ(g.params()[1].initial.type(), f32({4}));
  double bound = 1.0 / std::sqrt(27.0);
  for (int64_t i = 0; i < g.params()[1].initial.numElements(); ++i)
    EXPECT_LE(std::abs(g.params()[1].initial.getDouble(i)), bound);
  EXPECT_EQ(nn::maxPool2d(c, 2).shape(), (Shape{2, 4, 2, 2}));
  EXPECT_EQ(nn::avgPool2d(c, 3, {.stride = 1, .padding = 1}).shape(), (Shape{2, 4, 4, 4}));
  EXPECT_EQ(nn::flatten(c).shape(), (Shape{2, 64}));
  EXPECT_EQ(nn::flatten(c, 2).shape(), (Shape{2, 4, 16}));
  EXPECT_TRUE(g.ok());
}

TEST(FrontendNn, ConvMatchesDirectComputation) {
  Graph g("conv");
  Tensor x = g.input("x", f64({1, 2, 4, 4}));
  Expected<Model> m = g.finish(nn::conv2d(g, x, 3, 3, {.padding = 1}, "c"));
  ASSERT_TRUE(m) << m.error().str();
  HostTensor xs(f64({1, 2, 4, 4}));
  for (int64_t i = 0; i < xs.numElements(); ++i) xs.setDouble(i, std::sin(0.7 * i));
  HostTensor out = run(*m, {xs});
  ASSERT_EQ(out.type(), f64({1, 3, 4, 4}));
  const HostTensor &w = m->params[0].initial, &b = m->params[1].initial;
  for (int64_t o = 0; o < 3; ++o)
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < 4; ++j) {
        double want = b.getDouble(o);
        for (int64_t c = 0; c < 2; ++c)
          for (int64_t ki = 0; ki < 3; ++ki)
            for (int64_t kj = 0; kj < 3; ++kj) {
              int64_t y = i + ki - 1, z = j + kj - 1;
              if (y < 0 || y >= 4 || z < 0 || z >= 4) continue;
              want += xs.getDouble((c * 4 + y) * 4 + z) * w.getDouble(((o * 2 + c) * 3 + ki) * 3 + kj);
            }
        EXPECT_NEAR(out.getDouble((o * 4 + i) * 4 + j), want, 1e-12);
      }
}

TEST(FrontendNn, MseAndActivations) {
  Graph g("mse");
  Tensor p = g.input("p", f64({2, 3}));
  Tensor t = g.input("t", f64({2, 3}));
  Tensor act = nn::sigmoid(p) + nn::tanh(p) + nn::relu(p);
  Expected<Model> m = g.finish({nn::mse(p, t), act});
  ASSERT_TRUE(m) << m.error().str();
  HostTensor ps = HostTensor::fromVector<double>({2, 3}, {1, -2, 3, 0.5, 0, -1});
  HostTensor ts = HostTensor::fromVector<double>({2, 3}, {0, 0, 1, 1, 2, -1});
  Expected<std::vector<HostTensor>> out = interpret(*m->function, std::vector<HostTensor>{ps, ts});
  ASSERT_TRUE(out) << out.error().str();
  double want = (1 + 4 + 4 + 0.25 + 4 + 0) / 6.0;
  EXPECT_NEAR((*out)[0].getDouble(0), want, 1e-15);
  for (int64_t i = 0; i < 6; ++i) {
    double v = ps.getDouble(i);
    EXPECT_NEAR((*out)[1].getDouble(i), 1 / (1 + std::exp(-v)) + std::tanh(v) + std::max(v, 0.0), 1e-12);
  }
}

}  // namespace
}  // namespace dlc
