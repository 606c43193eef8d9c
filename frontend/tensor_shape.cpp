//===- frontend/tensor_shape.cpp - shape, reduction and contraction ops -----===//
//
// Data movement (broadcast, reshape, transpose, slice, concat, pad), reductions with
// keepDims, matmul with batch broadcasting, convolution, pooling and one_hot.
//
//===----------------------------------------------------------------------===//
#include <algorithm>

#include "frontend/graph.h"
#include "frontend/tensor.h"
#include "frontend/tensor_impl.h"
#include "ir/shape_inference.h"

namespace dlc {

using detail::graphOf;

static Tensor emit1(OpKind k, const Tensor &x, Attrs attrs, std::optional<TensorType> given, SrcLoc loc) {
  Graph *g = x.graph();
  if (!g) return Tensor();
  Tensor ops[] = {x};
  return g->emit(k, ops, std::move(attrs), std::move(given), loc);
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

Tensor broadcastTo(const Tensor &x, const Shape &shape, SrcLoc loc) {
  Graph *g = x.graph();
  if (!g || !detail::check(g, {x}, loc)) return Tensor(g, nullptr);
  if (x.shape() == shape) return x;
  int64_t offset = static_cast<int64_t>(shape.size()) - x.rank();
  bool fits = offset >= 0;
  std::vector<int64_t> dims;
  for (int64_t i = 0; fits && i < x.rank(); ++i) {
    int64_t from = x.shape()[i], to = shape[offset + i];
    fits = from == 1 || from == to;
    dims.push_back(offset + i);
  }
  if (!fits)
    return g->fail(makeDiag(g->locationOf(loc), "cannot broadcast {} to {}", x.type(), shapeString(shape)));
  return emit1(OpKind::Broadcast, x, BroadcastAttrs{std::move(dims)}, TensorType{x.dtype(), shape}, loc);
}

Tensor broadcastInDim(const Tensor &x, const Shape &shape, std::vector<int64_t> dims, SrcLoc loc) {
  return emit1(OpKind::Broadcast, x, BroadcastAttrs{std::move(dims)}, TensorType{x.dtype(), shape}, loc);
}

Tensor reshape(const Tensor &x, Shape shape, SrcLoc loc) {
  Graph *g = x.graph();
  if (!g || !detail::check(g, {x}, loc)) return Tensor(g, nullptr);
  const Shape asked = shape;
  int64_t known = 1, inferred = -1;
  bool bad = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1 && inferred < 0) {
      inferred = static_cast<int64_t>(i);
    } else if (shape[i] < 0) {
      bad = true;
    } else {
      known *= shape[i];
    }
  }
  int64_t n = x.numElements();
  if (!bad && inferred >= 0) {
    bad = known == 0 || n % known != 0;
    if (!bad) shape[static_cast<size_t>(inferred)] = n / known;
  }
  if (bad || numElements(shape) != n)
    return g->fail(makeDiag(g->locationOf(loc), "'reshape' cannot reshape {} ({} elements) to {}", x.type(), n,
                            shapeString(asked)));
  if (shape == x.shape()) return x;
  return emit1(OpKind::Reshape, x, NoAttrs{}, TensorType{x.dtype(), std::move(shape)}, loc);
}

Tensor transpose(const Tensor &x, std::vector<int64_t> perm, SrcLoc loc) {
  if (perm.empty() && x.valid())
    for (int64_t i = x.rank() - 1; i >= 0; --i) perm.push_back(i);
  return emit1(OpKind::Transpose, x, TransposeAttrs{std::move(perm)}, std::nullopt, loc);
}

Tensor slice(const Tensor &x, std::vector<int64_t> start, std::vector<int64_t> limit,
             std::vector<int64_t> stride, SrcLoc loc) {
  if (stride.empty()) stride.assign(start.size(), 1);
  return emit1(OpKind::Slice, x, SliceAttrs{std::move(start), std::move(limit), std::move(stride)},
               std::nullopt, loc);
}

Tensor concat(const std::vector<Tensor> &xs, int64_t axis, SrcLoc loc) {
  Graph *g = nullptr;
  for (const Tensor &t : xs)
    if (!g) g = t.graph();
  if (!g) return Tensor();
  if (!g->checkOperands(xs, loc)) return Tensor(g, nullptr);
  if (axis < 0) axis += xs.front().rank();
  return g->emit(OpKind::Concat, xs, ConcatAttrs{axis}, std::nullopt, loc);
}

Tensor pad(const Tensor &x, std::vector<int64_t> low, std::vector<int64_t> high, double value, SrcLoc loc) {
  return emit1(OpKind::Pad, x, PadAttrs{std::move(low), std::move(high), value}, std::nullopt, loc);
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

/// The sorted, non-negative axes of \p axes for rank \p rank, or an error at \p loc.
static std::optional<std::vector<int64_t>> normalizeAxes(Graph *g, const Axes &axes, int64_t rank,
                                                         std::string_view op, SrcLoc loc) {
  std::vector<int64_t> out;
  if (axes.all) {
    for (int64_t i = 0; i < rank; ++i) out.push_back(i);
    return out;
  }
  for (int64_t a : axes.list) {
    int64_t n = a < 0 ? a + rank : a;
    if (n < 0 || n >= rank) {
      g->fail(makeDiag(g->locationOf(loc), "'{}' axis {} is out of range for rank {}", op, a, rank));
      return std::nullopt;
    }
    out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end()) {
    g->fail(makeDiag(g->locationOf(loc), "'{}' axes [{}] repeat an axis", op, fmt::join(axes.list, ",")));
    return std::nullopt;
  }
  return out;
}

static Tensor reduce(OpKind k, const Tensor &x, const Axes &axes, bool keepDims, SrcLoc loc) {
  Graph *g = x.graph();
  if (!g || !detail::check(g, {x}, loc)) return Tensor(g, nullptr);
  std::optional<std::vector<int64_t>> ax = normalizeAxes(g, axes, x.rank(), mnemonic(k), loc);
  if (!ax) return Tensor(g, nullptr);
  if (ax->empty()) return x;
  Tensor r = emit1(k, x, ReduceAttrs{*ax}, std::nullopt, loc);
  if (!keepDims) return r;
  Shape kept = x.shape();
  for (int64_t a : *ax) kept[static_cast<size_t>(a)] = 1;
  return reshape(r, std::move(kept), loc);
}

Tensor sum(const Tensor &x, Axes axes, bool keepDims, SrcLoc loc) {
  return reduce(OpKind::ReduceSum, x, axes, keepDims, loc);
}

Tensor max(const Tensor &x, Axes axes, bool keepDims, SrcLoc loc) {
  return reduce(OpKind::ReduceMax, x, axes, keepDims, loc);
}

Tensor mean(const Tensor &x, Axes axes, bool keepDims, SrcLoc loc) {
  Graph *g = x.graph();
  if (!g || !detail::check(g, {x}, loc)) return Tensor(g, nullptr);
  Tensor s = sum(x, axes, keepDims, loc);
  if (!s.valid()) return s;
  int64_t count = x.numElements() / std::max<int64_t>(s.numElements(), 1);
  if (count == 1) return s;
  return div(s, detail::splat(s, static_cast<double>(count), loc), loc);
}

//===----------------------------------------------------------------------===//
// Contractions, convolution, pooling, labels
//===----------------------------------------------------------------------===//

Tensor matmul(const Tensor &a, const Tensor &b, bool transposeA, bool transposeB, SrcLoc loc) {
  Graph *g = graphOf({&a, &b});
  if (!g || !detail::check(g, {a, b}, loc)) return Tensor(g, nullptr);
  Tensor x = a, y = b;
  if (a.rank() >= 2 && b.rank() >= 2 && (a.rank() > 2 || b.rank() > 2)) {
    // Broadcast the batch dims numpy-style; the IR's matmul needs them equal.
    Shape batchA(a.shape().begin(), a.shape().end() - 2), batchB(b.shape().begin(), b.shape().end() - 2);
    if (std::optional<Shape> batch = broadcastShapes(batchA, batchB); batch && batchA != batchB) {
      Shape sa = *batch, sb = *batch;
      sa.insert(sa.end(), a.shape().end() - 2, a.shape().end());
      sb.insert(sb.end(), b.shape().end() - 2, b.shape().end());
      x = broadcastTo(a, sa, loc);
      y = broadcastTo(b, sb, loc);
    }
  }
  Tensor ops[] = {x, y};
  return g->emit(OpKind::MatMul, ops, MatMulAttrs{transposeA, transposeB}, std::nullopt, loc);
}

Tensor conv2d(const Tensor &x, const Tensor &w, ConvAttrs attrs, SrcLoc loc) {
  Graph *g = graphOf({&x, &w});
  if (!g) return Tensor();
  Tensor ops[] = {x, w};
  return g->emit(OpKind::Conv2d, ops, std::move(attrs), std::nullopt, loc);
}

Tensor maxPool2d(const Tensor &x, PoolAttrs attrs, SrcLoc loc) {
  return emit1(OpKind::MaxPool2d, x, std::move(attrs), std::nullopt, loc);
}

Tensor avgPool2d(const Tensor &x, PoolAttrs attrs, SrcLoc loc) {
  return emit1(OpKind::AvgPool2d, x, std::move(attrs), std::nullopt, loc);
}

Tensor oneHot(const Tensor &labels, int64_t depth, DType dtype, SrcLoc loc) {
  Graph *g = labels.graph();
  if (!g || !detail::check(g, {labels}, loc)) return Tensor(g, nullptr);
  if (depth <= 0)
    return g->fail(makeDiag(g->locationOf(loc), "'one_hot' depth must be positive, got {}", depth));
  Shape s = labels.shape();
  s.push_back(depth);
  return emit1(OpKind::OneHot, labels, NoAttrs{}, TensorType{dtype, std::move(s)}, loc);
}

}  // namespace dlc
