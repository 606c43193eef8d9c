//===- passes/vjp_util.cpp - transposes of data-movement ops for the VJPs -===//
//
// The linear maps that several VJP rules need and that the op set has no single op for:
// undoing broadcasts, scattering into a strided slice, and gathering at the argmax of
// pooling windows. Each is written with differentiable ops only, so that rules built on
// them stay differentiable (grad-of-grad).
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <limits>

#include "passes/vjp.h"

namespace dlc::ad {

Value *sumToShape(Builder &b, Value *g, const Shape &shape) {
  const Shape &gs = g->shape();
  if (gs == shape) return g;
  DL_ASSERT(gs.size() >= shape.size(), "sumToShape cannot add dims");
  const size_t lead = gs.size() - shape.size();
  std::vector<int64_t> axes;
  for (size_t d = 0; d < gs.size(); ++d)
    if (d < lead || (shape[d - lead] == 1 && gs[d] != 1)) axes.push_back(static_cast<int64_t>(d));
  Value *r = axes.empty() ? g : b.reduceSum(g, axes);
  return b.reshape(r, shape);
}

Value *unbroadcastInDim(Builder &b, Value *g, const Shape &xShape, const std::vector<int64_t> &dims) {
  const Shape &gs = g->shape();
  // A result dim survives the sum when x maps onto it without stretching.
  std::vector<bool> keep(gs.size(), false);
  for (size_t i = 0; i < dims.size(); ++i)
    keep[dims[i]] = xShape[i] == gs[dims[i]];
  std::vector<int64_t> axes;
  for (size_t d = 0; d < gs.size(); ++d)
    if (!keep[d]) axes.push_back(static_cast<int64_t>(d));
  Value *r = axes.empty() ? g : b.reduceSum(g, axes);
  return b.reshape(r, xShape);  // re-inserts the size-1 dims x had
}

Value *scatterSlice(Builder &b, Value *g, const Shape &xShape, const SliceAttrs &a) {
  const size_t rank = xShape.size();
  auto strideAt = [&](size_t d) { return a.stride.empty() ? int64_t{1} : a.stride[d]; };
  Shape cur = g->shape();

  // 1. Spread: element i of a strided dim moves to cell i*k. Reshape [.., n, ..] to
  //    [.., n, 1, ..], pad the new dim to k and merge it back: [.., n*k, ..].
  if (std::any_of(a.stride.begin(), a.stride.end(), [](int64_t k) { return k > 1; })) {
    Shape expanded, merged;
    std::vector<int64_t> low, high;
    for (size_t d = 0; d < rank; ++d) {
      expanded.push_back(cur[d]);
      low.push_back(0);
      high.push_back(0);
      merged.push_back(cur[d] * strideAt(d));
      if (strideAt(d) > 1) {
        expanded.push_back(1);
        low.push_back(0);
        high.push_back(strideAt(d) - 1);
      }
    }
    g = b.reshape(b.pad(b.reshape(g, expanded), low, high), merged);
    cur = merged;
  }

  // 2. Trim the trailing zeros of the last spread group that would run past the end.
  std::vector<int64_t> keep(rank);
  bool trim = false;
  for (size_t d = 0; d < rank; ++d) {
    keep[d] = std::min(cur[d], xShape[d] - a.start[d]);
    trim |= keep[d] != cur[d];
  }
  if (trim) g = b.slice(g, std::vector<int64_t>(rank, 0), keep);

  // 3. Place the block at `start` with zeros around it.
  std::vector<int64_t> low(rank), high(rank);
  bool pad = false;
  for (size_t d = 0; d < rank; ++d) {
    low[d] = a.start[d];
    high[d] = xShape[d] - a.start[d] - keep[d];
    pad |= low[d] != 0 || high[d] != 0;
  }
  return pad ? b.pad(g, low, high) : g;
}

// Algorithm: the windows of max_pool2d are strided slices of the padded input, one per
// window offset (i, j). Visiting the offsets in row-major order, as max_pool2d_grad does,
// `first` marks the offset that holds the window's first maximum and `found` records that
// it has been seen; the result sums first * (the matching slice of c). The masks come from
// compare and select on constants, so they carry no gradient.
Value *gatherAtWindowArgmax(Builder &b, Value *x, Value *c, const PoolAttrs &a) {
  Value *m = b.maxPool2d(x, a);
  const Shape &ys = m->shape();
  const int64_t n = ys[0], ch = ys[1], oh = ys[2], ow = ys[3];
  const std::vector<int64_t> low{0, 0, a.padding[0], a.padding[1]};
  const std::vector<int64_t> high = low;
  Value *xp = x, *cp = c;
  if (a.padding[0] != 0 || a.padding[1] != 0) {  // padding cells never win a window
    xp = b.pad(x, low, high, -std::numeric_limits<double>::infinity());
    cp = b.pad(c, low, high, 0.0);
  }
  Value *one = b.splatLike(1.0, m), *zero = b.splatLike(0.0, m);
  Value *found = nullptr, *out = nullptr;
  for (int64_t i = 0; i < a.window[0]; ++i)
    for (int64_t j = 0; j < a.window[1]; ++j) {
      std::vector<int64_t> start{0, 0, i, j};
      std::vector<int64_t> limit{n, ch, i + (oh - 1) * a.stride[0] + 1, j + (ow - 1) * a.stride[1] + 1};
      std::vector<int64_t> stride{1, 1, a.stride[0], a.stride[1]};
      Value *xs = b.slice(xp, start, limit, stride);
      Value *cs = b.slice(cp, start, limit, stride);
      Value *isMax = b.select(b.compare(xs, m, CmpDir::Eq), one, zero);
      Value *first = found ? b.mul(isMax, b.sub(one, found)) : isMax;
      found = found ? b.add(found, first) : first;
      Value *term = b.mul(first, cs);
      out = out ? b.add(out, term) : term;
    }
  return out;
}

}  // namespace dlc::ad
