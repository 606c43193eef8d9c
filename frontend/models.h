//===- frontend/models.h - the benchmark models W1 and W2 ------------------===//
//
// The two training workloads of BENCHMARKS.md as forward functions from
// (parameters..., x, labels) to the scalar mean softmax cross-entropy loss, with the
// parameters' seeded initial values (PyTorch's default initializers, see nn.h).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>

#include "frontend/graph.h"

namespace dlc {

/// Options of the model builders.
struct ModelOptions {
  /// Seed of the parameter initializers.
  uint64_t seed = 0;
  /// Record C++ call sites as node locations. Off by default: they would point at
  /// frontend/models.cpp, which tells a reader of the IR nothing.
  bool recordLocations = false;
};

/// W1 `mlp`: x f32[batch,784], labels i32[batch]; Linear 784->512, ReLU, Linear
/// 512->512, ReLU, Linear 512->10; mean softmax cross-entropy. Function `mlp` with
/// arguments fc1.weight, fc1.bias, fc2.weight, fc2.bias, fc3.weight, fc3.bias, x, labels.
Expected<Model> buildMlp(int64_t batch, ModelOptions opts = {});

/// W2 `cnn`: x f32[batch,1,28,28], labels i32[batch]; Conv2d 1->32 5x5 pad 2, ReLU,
/// MaxPool 2x2; Conv2d 32->64 5x5 pad 2, ReLU, MaxPool 2x2; flatten 3136; Linear
/// 3136->128, ReLU; Linear 128->10; mean softmax cross-entropy. Function `cnn` with
/// arguments conv1.*, conv2.*, fc1.*, fc2.* (weight then bias), x, labels.
Expected<Model> buildCnn(int64_t batch, ModelOptions opts = {});

}  // namespace dlc
