//===- frontend/nn.cpp - layers, activations and losses ---------------------===//
#include "frontend/nn.h"

#include <algorithm>
#include <cmath>

#include "frontend/tensor_impl.h"

namespace dlc::nn {

/// PyTorch's default weight initializer for Linear and Conv2d: kaiming_uniform(a=sqrt(5)),
/// which works out to U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
static Init defaultWeightInit() { return Init::kaimingUniform(std::sqrt(5.0)); }

/// PyTorch's default bias initializer: U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
static Init defaultBiasInit(int64_t fanIn) {
  double bound = fanIn > 0 ? 1.0 / std::sqrt(static_cast<double>(fanIn)) : 0.0;
  return Init::uniform(-bound, bound);
}

/// Every dim of a rank-\p rank shape except \p axis (the broadcast_in_dim dims that put
/// a tensor reduced over \p axis back into the full shape).
static std::vector<int64_t> allDimsBut(int64_t rank, int64_t axis) {
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < rank; ++i)
    if (i != axis) dims.push_back(i);
  return dims;
}

/// Normalizes a possibly negative \p axis of \p x, recording an error when out of range.
static std::optional<int64_t> normalizeAxis(Graph &g, const Tensor &x, int64_t axis, std::string_view op,
                                            SrcLoc loc) {
  int64_t a = axis < 0 ? axis + x.rank() : axis;
  if (a < 0 || a >= x.rank()) {
    g.fail(makeDiag(g.locationOf(loc), "'{}' axis {} is out of range for {}", op, axis, x.type()));
    return std::nullopt;
  }
  return a;
}

//===----------------------------------------------------------------------===//
// Layers
//===----------------------------------------------------------------------===//

Tensor linear(Graph &g, const Tensor &x, int64_t outFeatures, const std::string &name, LinearOptions opts,
              SrcLoc loc) {
  Graph::CallSite site(g, loc);
  if (!detail::check(&g, {x}, loc)) return Tensor(&g, nullptr);
  if (x.rank() < 1 || outFeatures <= 0)
    return g.fail(makeDiag(g.locationOf(loc), "'linear' {}: needs an input of rank >= 1 and outFeatures > 0, "
                                              "got {} and {}", name, x.type(), outFeatures));
  int64_t in = x.dim(-1);
  Tensor w = g.param(name + ".weight", TensorType{x.dtype(), {outFeatures, in}},
                     opts.weightInit.value_or(defaultWeightInit()), loc);
  // The IR's matmul is (batched) rank-2: fold any leading dims into one.
  Tensor x2 = x.rank() == 2 ? x : reshape(x, {-1, in}, loc);
  Tensor y = matmul(x2, w, /*transposeA=*/false, /*transposeB=*/true, loc);
  if (opts.bias) {
    Tensor b = g.param(name + ".bias", TensorType{x.dtype(), {outFeatures}},
                       opts.biasInit.value_or(defaultBiasInit(in)), loc);
    y = add(y, b, loc);
  }
  if (x.rank() != 2 && y.valid()) {
    Shape s(x.shape().begin(), x.shape().end() - 1);
    s.push_back(outFeatures);
    y = reshape(y, s, loc);
  }
  return y.named(name, loc);
}

Tensor conv2d(Graph &g, const Tensor &x, int64_t outChannels, Pair2 kernel, Conv2dOptions opts,
              const std::string &name, SrcLoc loc) {
  Graph::CallSite site(g, loc);
  if (!detail::check(&g, {x}, loc)) return Tensor(&g, nullptr);
  if (x.rank() != 4 || outChannels <= 0)
    return g.fail(makeDiag(g.locationOf(loc), "'conv2d' {}: expects x[N,C,H,W] and outChannels > 0, got {} and {}",
                           name, x.type(), outChannels));
  int64_t in = x.dim(1);
  Tensor w = g.param(name + ".weight", TensorType{x.dtype(), {outChannels, in, kernel.h, kernel.w}},
                     opts.weightInit.value_or(defaultWeightInit()), loc);
  ConvAttrs attrs{{opts.stride.h, opts.stride.w}, {opts.padding.h, opts.padding.w},
                  {opts.dilation.h, opts.dilation.w}};
  Tensor y = dlc::conv2d(x, w, std::move(attrs), loc);
  if (opts.bias) {
    Tensor b = g.param(name + ".bias", TensorType{x.dtype(), {outChannels}},
                       opts.biasInit.value_or(defaultBiasInit(in * kernel.h * kernel.w)), loc);
    if (y.valid()) y = add(y, broadcastInDim(b, y.shape(), {1}, loc), loc);
  }
  return y.named(name, loc);
}

static PoolAttrs poolAttrs(Pair2 kernel, const PoolOptions &opts) {
  Pair2 stride = opts.stride.value_or(kernel);
  return PoolAttrs{{kernel.h, kernel.w}, {stride.h, stride.w}, {opts.padding.h, opts.padding.w}};
}

Tensor maxPool2d(const Tensor &x, Pair2 kernel, PoolOptions opts, SrcLoc loc) {
  return dlc::maxPool2d(x, poolAttrs(kernel, opts), loc);
}

Tensor avgPool2d(const Tensor &x, Pair2 kernel, PoolOptions opts, SrcLoc loc) {
  return dlc::avgPool2d(x, poolAttrs(kernel, opts), loc);
}

Tensor flatten(const Tensor &x, int64_t startDim, SrcLoc loc) {
  Graph *g = x.graph();
  if (!g || !detail::check(g, {x}, loc)) return Tensor(g, nullptr);
  std::optional<int64_t> start = normalizeAxis(*g, x, startDim, "flatten", loc);
  if (!start) return Tensor(g, nullptr);
  Shape s(x.shape().begin(), x.shape().begin() + *start);
  s.push_back(-1);
  return reshape(x, std::move(s), loc);
}

//===----------------------------------------------------------------------===//
// Activations
//===----------------------------------------------------------------------===//

Tensor relu(const Tensor &x, SrcLoc loc) { return dlc::relu(x, loc); }
Tensor sigmoid(const Tensor &x, SrcLoc loc) { return dlc::sigmoid(x, loc); }
Tensor tanh(const Tensor &x, SrcLoc loc) { return dlc::tanh(x, loc); }

/// x - max(x) along \p axis, with the max broadcast back (the stable shift of softmax).
// x minus its maximum along the axis, which keeps exp from overflowing. The maximum is a
// constant for autodiff (stopGradient, as frameworks detach it): softmax and logSoftmax
// do not depend on it, so the gradient through it is zero in exact arithmetic, but
// strict numerics would compute its rounding noise -- for W5 a whole pass over every
// row (the ties of the max counted and a sum of the gradient spread over them).
static Tensor shiftByMax(const Tensor &x, int64_t axis, SrcLoc loc) {
  Tensor m = stopGradient(max(x, axis, /*keepDims=*/false, loc), loc);
  return sub(x, broadcastInDim(m, x.shape(), allDimsBut(x.rank(), axis), loc), loc);
}

Tensor softmax(const Tensor &x, int64_t axis, SrcLoc loc) {
  Graph *g = x.graph();
  if (!g || !detail::check(g, {x}, loc)) return Tensor(g, nullptr);
  Graph::CallSite site(*g, loc);
  std::optional<int64_t> a = normalizeAxis(*g, x, axis, "softmax", loc);
  if (!a) return Tensor(g, nullptr);
  Tensor e = exp(shiftByMax(x, *a, loc), loc);
  Tensor s = sum(e, *a, /*keepDims=*/false, loc);
  return div(e, broadcastInDim(s, x.shape(), allDimsBut(x.rank(), *a), loc), loc);
}

Tensor logSoftmax(const Tensor &x, int64_t axis, SrcLoc loc) {
  Graph *g = x.graph();
  if (!g || !detail::check(g, {x}, loc)) return Tensor(g, nullptr);
  Graph::CallSite site(*g, loc);
  std::optional<int64_t> a = normalizeAxis(*g, x, axis, "logSoftmax", loc);
  if (!a) return Tensor(g, nullptr);
  Tensor shifted = shiftByMax(x, *a, loc);
  Tensor lse = log(sum(exp(shifted, loc), *a, /*keepDims=*/false, loc), loc);
  return sub(shifted, broadcastInDim(lse, x.shape(), allDimsBut(x.rank(), *a), loc), loc);
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

Tensor crossEntropy(const Tensor &logits, const Tensor &labels, SrcLoc loc) {
  Graph *g = detail::graphOf({&logits, &labels});
  if (!g || !detail::check(g, {logits, labels}, loc)) return Tensor(g, nullptr);
  Graph::CallSite site(*g, loc);
  if (logits.rank() < 1 || !isFloat(logits.dtype()))
    return g->fail(makeDiag(g->locationOf(loc), "'crossEntropy' expects floating-point logits[..., C], got {}",
                            logits.type()));
  int64_t classes = logits.dim(-1);
  Tensor target = labels;
  if (isInteger(labels.dtype())) {
    Shape expected(logits.shape().begin(), logits.shape().end() - 1);
    if (labels.shape() != expected)
      return g->fail(makeDiag(g->locationOf(loc), "'crossEntropy' labels {} do not match logits {}: expected {}",
                              labels.type(), logits.type(), shapeString(expected)));
    target = oneHot(labels, classes, logits.dtype(), loc);
  } else if (labels.type() != logits.type()) {
    return g->fail(makeDiag(g->locationOf(loc),
                            "'crossEntropy' targets {} must be integer labels or probabilities like logits {}",
                            labels.type(), logits.type()));
  }
  int64_t rows = logits.numElements() / std::max<int64_t>(classes, 1);
  // Per-row sums first, then their sum: the row sums run in parallel over the rows (and
  // fuse into the softmax's row kernel); one flat sum over all of [rows, C] would be a
  // single-threaded pass over the whole tensor.
  Tensor perRow = sum(mul(target, logSoftmax(logits, -1, loc), loc), {-1}, false, loc);
  Tensor total = sum(perRow, {}, false, loc);
  return neg(div(total, g->scalar(static_cast<double>(rows), logits.dtype(), loc), loc), loc);
}

Tensor mse(const Tensor &pred, const Tensor &target, SrcLoc loc) {
  Graph *g = detail::graphOf({&pred, &target});
  if (!g) return Tensor();
  Graph::CallSite site(*g, loc);
  Tensor d = sub(pred, target, loc);
  return mean(mul(d, d, loc), {}, false, loc);
}

}  // namespace dlc::nn
