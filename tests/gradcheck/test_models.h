//===- tests/gradcheck/test_models.h - small f64 models for gradient checks ===//
//
// The W1 MLP and the W2 CNN of BENCHMARKS.md, scaled down (batch, width, spatial size)
// but with their structure kept, built with ir::Builder in f64 so that central
// differences are accurate to ~1e-10. Each returns the loss function `@loss` and random
// inputs for it (parameters scaled by 1/sqrt(fan-in), labels in range).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <vector>

#include "ir/builder.h"
#include "tests/gradcheck/gradcheck.h"

namespace dlc::gradcheck {

/// Mean softmax cross-entropy of logits[B,K] against integer labels[B], from primitives
/// (the max-shifted log-sum-exp form the frontend uses).
Value *softmaxCrossEntropy(Builder &b, Value *logits, Value *labels);
/// max(x, 0).
Value *relu(Builder &b, Value *x);
/// x[B,I] w[I,O] + b[O].
Value *linear(Builder &b, Value *x, Value *w, Value *bias);

/// A loss function with its inputs.
struct TestModel {
  std::vector<HostTensor> inputs;   ///< one per argument of @loss
  std::vector<std::string> params;  ///< names of the trainable arguments
};

/// @loss(x[B,I], labels i32[B], w1, b1, w2, b2, w3, b3): linear, relu, linear, relu,
/// linear, mean softmax CE (W1 has 784 -> 512 -> 512 -> 10).
TestModel buildMlp(Module &m, Rng &rng, int64_t batch = 4, int64_t in = 20, int64_t hidden = 16,
                   int64_t classes = 10);

/// @loss(x[B,1,H,W], labels, c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b): conv 5x5 pad 2,
/// relu, max-pool 2x2, conv 5x5 pad 2, relu, max-pool 2x2, flatten, linear, relu, linear,
/// mean softmax CE.
TestModel buildCnn(Module &m, Rng &rng, int64_t batch = 2, int64_t size = 8, int64_t c1 = 4, int64_t c2 = 8,
                   int64_t hidden = 16, int64_t classes = 10);

}  // namespace dlc::gradcheck
