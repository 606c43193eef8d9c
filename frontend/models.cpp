//===- frontend/models.cpp - the benchmark models W1 and W2 ----------------===//
#include "frontend/models.h"

#include "frontend/nn.h"

namespace dlc {

Expected<Model> buildMlp(int64_t batch, ModelOptions opts) {
  Graph g("mlp", {.seed = opts.seed, .recordLocations = opts.recordLocations});
  Tensor x = g.input("x", f32({batch, 784}));
  Tensor labels = g.input("labels", i32({batch}));
  Tensor h1 = nn::relu(nn::linear(g, x, 512, "fc1")).named("h1");
  Tensor h2 = nn::relu(nn::linear(g, h1, 512, "fc2")).named("h2");
  Tensor logits = nn::linear(g, h2, 10, "fc3").named("logits");
  Tensor loss = nn::crossEntropy(logits, labels).named("loss");
  return g.finish(loss);
}

Expected<Model> buildCnn(int64_t batch, ModelOptions opts) {
  Graph g("cnn", {.seed = opts.seed, .recordLocations = opts.recordLocations});
  Tensor x = g.input("x", f32({batch, 1, 28, 28}));
  Tensor labels = g.input("labels", i32({batch}));
  Tensor c1 = nn::relu(nn::conv2d(g, x, 32, 5, {.padding = 2}, "conv1")).named("relu1");
  Tensor p1 = nn::maxPool2d(c1, 2).named("pool1");
  Tensor c2 = nn::relu(nn::conv2d(g, p1, 64, 5, {.padding = 2}, "conv2")).named("relu2");
  Tensor p2 = nn::maxPool2d(c2, 2).named("pool2");
  Tensor flat = nn::flatten(p2).named("flat");
  Tensor h = nn::relu(nn::linear(g, flat, 128, "fc1")).named("h");
  Tensor logits = nn::linear(g, h, 10, "fc2").named("logits");
  Tensor loss = nn::crossEntropy(logits, labels).named("loss");
  return g.finish(loss);
}

}  // namespace dlc
