//===- frontend/nn.h - layers, activations and losses -----------------------===//
//
// Composite building blocks written with the primitive ops of tensor.h. Layers create
// their parameters on the graph under "<name>.weight" / "<name>.bias" and name their
// output "<name>". Every function takes the caller's std::source_location and opens a
// Graph::CallSite, so nodes and errors point at the user's line, not at this file.
//
// Conventions follow PyTorch so checkpoints map one to one:
// - linear: weight [out, in], y = x . weight^T + bias (matmul with transpose_b), bias [out];
// - conv2d: NCHW activations, OIHW weight [out, in, kh, kw], bias [out];
// - default initializers: weight kaimingUniform(a = sqrt(5)) = U(-1/sqrt(fanIn),
//   1/sqrt(fanIn)), bias U(-1/sqrt(fanIn), 1/sqrt(fanIn)), fanIn = in (* kh * kw).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "frontend/graph.h"
#include "frontend/init.h"
#include "frontend/tensor.h"

namespace dlc::nn {

/// A pair of spatial extents (height, width); one number means both.
struct Pair2 {
  Pair2(int64_t v) : h(v), w(v) {}
  Pair2(int64_t hv, int64_t wv) : h(hv), w(wv) {}
  int64_t h, w;
};

/// Options of linear().
struct LinearOptions {
  bool bias = true;
  /// Weight initializer; PyTorch's default when unset.
  std::optional<Init> weightInit = std::nullopt;
  /// Bias initializer; PyTorch's default when unset.
  std::optional<Init> biasInit = std::nullopt;
};

/// y = x . weight^T + bias over the last dim of \p x ([..., in] -> [..., outFeatures]).
/// Creates parameters "<name>.weight" [outFeatures, in] and "<name>.bias" [outFeatures].
Tensor linear(Graph &g, const Tensor &x, int64_t outFeatures, const std::string &name, LinearOptions opts = {},
              SrcLoc loc = SrcLoc::current());

/// Options of conv2d().
struct Conv2dOptions {
  Pair2 stride = 1, padding = 0, dilation = 1;
  bool bias = true;
  std::optional<Init> weightInit = std::nullopt;
  std::optional<Init> biasInit = std::nullopt;
};

/// 2-D convolution of x[N, C, H, W] with a [outChannels, C, kernel.h, kernel.w] weight,
/// plus a bias per output channel. `conv2d(g, x, 32, 5, {.padding = 2}, "conv1")`.
Tensor conv2d(Graph &g, const Tensor &x, int64_t outChannels, Pair2 kernel, Conv2dOptions opts,
              const std::string &name, SrcLoc loc = SrcLoc::current());

/// Options of the pooling layers; stride defaults to the kernel.
struct PoolOptions {
  std::optional<Pair2> stride = std::nullopt;
  Pair2 padding = 0;
};

/// Max pooling over the last two dims of x[N, C, H, W].
Tensor maxPool2d(const Tensor &x, Pair2 kernel, PoolOptions opts = {}, SrcLoc loc = SrcLoc::current());
/// Average pooling (padding counts as zeros; divides by the full window).
Tensor avgPool2d(const Tensor &x, Pair2 kernel, PoolOptions opts = {}, SrcLoc loc = SrcLoc::current());

// Activations.
Tensor relu(const Tensor &x, SrcLoc loc = SrcLoc::current());
Tensor sigmoid(const Tensor &x, SrcLoc loc = SrcLoc::current());
Tensor tanh(const Tensor &x, SrcLoc loc = SrcLoc::current());
/// exp(x - max) / sum(exp(x - max)) along \p axis.
Tensor softmax(const Tensor &x, int64_t axis = -1, SrcLoc loc = SrcLoc::current());
/// (x - max) - log(sum(exp(x - max))) along \p axis; stable for large logits.
Tensor logSoftmax(const Tensor &x, int64_t axis = -1, SrcLoc loc = SrcLoc::current());

// Losses; each returns a scalar (rank 0).
/// Mean softmax cross-entropy of logits[N, C] against integer class labels[N] (via
/// one_hot), or against class probabilities of the logits' shape and dtype:
/// -(1/N) sum_n sum_c target[n,c] * logSoftmax(logits)[n,c].
Tensor crossEntropy(const Tensor &logits, const Tensor &labels, SrcLoc loc = SrcLoc::current());
/// Mean squared error, mean((pred - target)^2) over every element.
Tensor mse(const Tensor &pred, const Tensor &target, SrcLoc loc = SrcLoc::current());

/// Collapses dims [startDim, rank) into one: [N, C, H, W] -> [N, C*H*W] by default.
Tensor flatten(const Tensor &x, int64_t startDim = 1, SrcLoc loc = SrcLoc::current());

}  // namespace dlc::nn
