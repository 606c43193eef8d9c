//===- ir/shape_inference.cpp - result types of ops ----------------------===//
//
// One case per op, each stating the op's shape rules. The messages name the op and the
// offending types so that a user can fix the builder call or the text.
//
//===----------------------------------------------------------------------===//
#include "ir/shape_inference.h"

#include <algorithm>

namespace dlc {
namespace {

/// Builds a location-less diagnostic for a failed rule of op \p k.
template <class... Args>
Diagnostic fail(OpKind k, fmt::format_string<Args...> f, Args &&...args) {
  return makeDiag(Location{}, "'{}' {}", mnemonic(k), fmt::format(f, std::forward<Args>(args)...));
}

bool isNumeric(DType d) { return d != DType::I1; }

Expected<void> requireFloat(OpKind k, const TensorType &t) {
  if (!isFloat(t.dtype)) return fail(k, "needs a floating-point operand, got {}", t);
  return {};
}
Expected<void> requireNumeric(OpKind k, const TensorType &t) {
  if (!isNumeric(t.dtype)) return fail(k, "needs a numeric operand, got {}", t);
  return {};
}
Expected<void> requireRank(OpKind k, const TensorType &t, int64_t rank, std::string_view what) {
  if (t.rank() != rank) return fail(k, "{} must have rank {}, got {}", what, rank, t);
  return {};
}
/// Checks a per-dimension attribute list: \p n entries, each at least \p min.
Expected<void> requireList(OpKind k, std::string_view name, const std::vector<int64_t> &v, size_t n,
                           int64_t min) {
  if (v.size() != n) return fail(k, "attribute '{}' needs {} entries, got {}", name, n, v.size());
  for (int64_t x : v)
    if (x < min) return fail(k, "attribute '{}' entries must be >= {}, got {}", name, min, shapeString(v));
  return {};
}
/// Checks \p axes is strictly increasing within [0, rank).
Expected<void> requireAxes(OpKind k, std::string_view name, const std::vector<int64_t> &axes, int64_t rank) {
  for (size_t i = 0; i < axes.size(); ++i) {
    if (axes[i] < 0 || axes[i] >= rank)
      return fail(k, "axis {} in '{}' is out of range for rank {}", axes[i], name, rank);
    if (i > 0 && axes[i] <= axes[i - 1])
      return fail(k, "'{}' must be strictly increasing, got {}", name, shapeString(axes));
  }
  return {};
}
Expected<TensorType> requireGiven(OpKind k, const TensorType *given) {
  if (!given) return fail(k, "needs its result type stated");
  return *given;
}

Expected<TensorType> inferConvOutput(OpKind k, const TensorType &x, const TensorType &w, const ConvAttrs &a) {
  if (auto ok = requireRank(k, x, 4, "the input (NCHW)"); !ok) return ok.takeError();
  if (auto ok = requireRank(k, w, 4, "the filter (OIHW)"); !ok) return ok.takeError();
  if (auto ok = requireList(k, "stride", a.stride, 2, 1); !ok) return ok.takeError();
  if (auto ok = requireList(k, "padding", a.padding, 2, 0); !ok) return ok.takeError();
  if (auto ok = requireList(k, "dilation", a.dilation, 2, 1); !ok) return ok.takeError();
  if (x.dtype != w.dtype) return fail(k, "operand types differ: {} vs {}", x, w);
  if (auto ok = requireFloat(k, x); !ok) return ok.takeError();
  if (x.shape[1] != w.shape[1])
    return fail(k, "input channels differ: input {} has {}, filter {} has {}", x, x.shape[1], w, w.shape[1]);
  int64_t oh = windowOutputSize(x.shape[2], w.shape[2], a.stride[0], a.padding[0], a.padding[0], a.dilation[0]);
  int64_t ow = windowOutputSize(x.shape[3], w.shape[3], a.stride[1], a.padding[1], a.padding[1], a.dilation[1]);
  if (oh <= 0 || ow <= 0) return fail(k, "filter {} does not fit the padded input {}", w, x);
  return TensorType{x.dtype, {x.shape[0], w.shape[0], oh, ow}};
}

Expected<TensorType> inferPoolOutput(OpKind k, const TensorType &x, const PoolAttrs &a) {
  if (auto ok = requireRank(k, x, 4, "the input (NCHW)"); !ok) return ok.takeError();
  if (auto ok = requireList(k, "window", a.window, 2, 1); !ok) return ok.takeError();
  if (auto ok = requireList(k, "stride", a.stride, 2, 1); !ok) return ok.takeError();
  if (auto ok = requireList(k, "padding", a.padding, 2, 0); !ok) return ok.takeError();
  if (auto ok = requireFloat(k, x); !ok) return ok.takeError();
  for (int i = 0; i < 2; ++i)
    if (a.padding[i] >= a.window[i])
      return fail(k, "padding {} must be smaller than the window {}", shapeString(a.padding), shapeString(a.window));
  int64_t oh = windowOutputSize(x.shape[2], a.window[0], a.stride[0], a.padding[0], a.padding[0], 1);
  int64_t ow = windowOutputSize(x.shape[3], a.window[1], a.stride[1], a.padding[1], a.padding[1], 1);
  if (oh <= 0 || ow <= 0) return fail(k, "window {} does not fit the padded input {}", shapeString(a.window), x);
  return TensorType{x.dtype, {x.shape[0], x.shape[1], oh, ow}};
}

Expected<TensorType> inferMatMul(OpKind k, const TensorType &a, const TensorType &b, const MatMulAttrs &at) {
  if (a.rank() < 2 || b.rank() < 2) return fail(k, "operands need rank >= 2, got {} and {}", a, b);
  if (a.rank() != b.rank()) return fail(k, "operand ranks differ: {} vs {}", a, b);
  if (a.dtype != b.dtype) return fail(k, "operand types differ: {} vs {}", a, b);
  if (auto ok = requireNumeric(k, a); !ok) return ok.takeError();
  int64_t r = a.rank();
  for (int64_t i = 0; i + 2 < r; ++i)
    if (a.shape[i] != b.shape[i]) return fail(k, "batch dims differ: {} vs {}", a, b);
  int64_t m = at.transposeA ? a.shape[r - 1] : a.shape[r - 2];
  int64_t ka = at.transposeA ? a.shape[r - 2] : a.shape[r - 1];
  int64_t kb = at.transposeB ? b.shape[r - 1] : b.shape[r - 2];
  int64_t n = at.transposeB ? b.shape[r - 2] : b.shape[r - 1];
  if (ka != kb) return fail(k, "contraction dims differ: {} vs {} ({} vs {})", a, b, ka, kb);
  Shape out(a.shape.begin(), a.shape.end() - 2);
  out.push_back(m);
  out.push_back(n);
  return TensorType{a.dtype, out};
}

Expected<TensorType> inferElementwise(OpKind k, std::span<const TensorType> in, const TensorType *given) {
  switch (in.size()) {
  case 1: {
    const TensorType &x = in[0];
    if (k == OpKind::Cast) {
      DL_TRY(TensorType t, requireGiven(k, given));
      if (t.shape != x.shape) return fail(k, "cannot change the shape: {} to {}", x, t);
      return t;
    }
    if (k == OpKind::Neg || k == OpKind::Abs || k == OpKind::Sign || k == OpKind::StopGradient) {
      if (auto ok = requireNumeric(k, x); !ok) return ok.takeError();
    } else if (auto ok = requireFloat(k, x); !ok) {
      return ok.takeError();
    }
    return x;
  }
  case 2: {
    if (in[0] != in[1]) return fail(k, "operand types differ: {} vs {}", in[0], in[1]);
    if (k == OpKind::Compare) return TensorType{DType::I1, in[0].shape};
    if (k == OpKind::Pow) {
      if (auto ok = requireFloat(k, in[0]); !ok) return ok.takeError();
    } else if (auto ok = requireNumeric(k, in[0]); !ok) {
      return ok.takeError();
    }
    return in[0];
  }
  case 3: {  // select(pred, a, b)
    if (in[0].dtype != DType::I1) return fail(k, "predicate must be i1, got {}", in[0]);
    if (in[1] != in[2]) return fail(k, "branch types differ: {} vs {}", in[1], in[2]);
    if (in[0].shape != in[1].shape) return fail(k, "predicate shape differs: {} vs {}", in[0], in[1]);
    return in[1];
  }
  default: DL_UNREACHABLE("elementwise arity");
  }
}

/// The type of op \p k before comparing with a stated type.
Expected<TensorType> inferImpl(OpKind k, std::span<const TensorType> in, const Attrs &attrs,
                               const TensorType *given) {
  const int arity = opInfo(k).arity;
  if (arity >= 0 && static_cast<int>(in.size()) != arity)
    return fail(k, "expects {} operand{}, got {}", arity, arity == 1 ? "" : "s", in.size());
  if (arity < 0 && in.empty()) return fail(k, "expects at least one operand");
  if (!attrsMatchKind(k, attrs)) return fail(k, "has attributes of the wrong kind");

  switch (k) {
  case OpKind::Constant: {
    DL_TRY(TensorType t, requireGiven(k, given));
    const auto &v = std::get<ConstantAttrs>(attrs).values;
    if (v.size() != 1 && static_cast<int64_t>(v.size()) != t.numElements())
      return fail(k, "has {} values for {} ({} elements)", v.size(), t, t.numElements());
    return t;
  }
  case OpKind::Iota: {
    DL_TRY(TensorType t, requireGiven(k, given));
    int64_t dim = std::get<IotaAttrs>(attrs).dim;
    if (dim < 0 || dim >= t.rank()) return fail(k, "dim {} is out of range for {}", dim, t);
    if (auto ok = requireNumeric(k, t); !ok) return ok.takeError();
    return t;
  }
  case OpKind::Neg:
  case OpKind::Abs:
  case OpKind::Sign:
  case OpKind::Exp:
  case OpKind::Log:
  case OpKind::Tanh:
  case OpKind::Sigmoid:
  case OpKind::Sqrt:
  case OpKind::Rsqrt:
  case OpKind::Cast:
  case OpKind::StopGradient:
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Max:
  case OpKind::Min:
  case OpKind::Pow:
  case OpKind::Compare:
  case OpKind::Select:
    return inferElementwise(k, in, given);
  case OpKind::Broadcast: {
    DL_TRY(TensorType t, requireGiven(k, given));
    const auto &dims = std::get<BroadcastAttrs>(attrs).dims;
    const TensorType &x = in[0];
    if (t.dtype != x.dtype) return fail(k, "cannot change the element type: {} to {}", x, t);
    if (static_cast<int64_t>(dims.size()) != x.rank())
      return fail(k, "needs one entry in 'dims' per operand dim: {} for {}", shapeString(dims), x);
    if (auto ok = requireAxes(k, "dims", dims, t.rank()); !ok) return ok.takeError();
    for (size_t i = 0; i < dims.size(); ++i)
      if (x.shape[i] != 1 && x.shape[i] != t.shape[dims[i]])
        return fail(k, "operand dim {} ({}) cannot broadcast to result dim {} ({}): {} to {}", i, x.shape[i],
                    dims[i], t.shape[dims[i]], x, t);
    return t;
  }
  case OpKind::Reshape: {
    DL_TRY(TensorType t, requireGiven(k, given));
    if (t.dtype != in[0].dtype) return fail(k, "cannot change the element type: {} to {}", in[0], t);
    if (t.numElements() != in[0].numElements())
      return fail(k, "element counts differ: {} to {}", in[0], t);
    return t;
  }
  case OpKind::Transpose: {
    const auto &perm = std::get<TransposeAttrs>(attrs).perm;
    const TensorType &x = in[0];
    std::vector<int64_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    bool isPerm = static_cast<int64_t>(perm.size()) == x.rank();
    for (size_t i = 0; isPerm && i < sorted.size(); ++i) isPerm = sorted[i] == static_cast<int64_t>(i);
    if (!isPerm) return fail(k, "'perm' {} is not a permutation of the dims of {}", shapeString(perm), x);
    Shape s;
    for (int64_t p : perm) s.push_back(x.shape[p]);
    return TensorType{x.dtype, s};
  }
  case OpKind::Slice: {
    const auto &a = std::get<SliceAttrs>(attrs);
    const TensorType &x = in[0];
    size_t r = static_cast<size_t>(x.rank());
    if (a.start.size() != r || a.limit.size() != r || a.stride.size() != r)
      return fail(k, "needs 'start', 'limit' and 'stride' with one entry per dim of {}", x);
    Shape s;
    for (size_t i = 0; i < r; ++i) {
      if (a.stride[i] < 1) return fail(k, "stride must be >= 1, got {}", shapeString(a.stride));
      if (a.start[i] < 0 || a.start[i] > a.limit[i] || a.limit[i] > x.shape[i])
        return fail(k, "range [{}, {}) of dim {} is out of bounds for {}", a.start[i], a.limit[i], i, x);
      int64_t extent = a.limit[i] - a.start[i];  // >= 0, no overflow: 0 <= start <= limit
      s.push_back(extent / a.stride[i] + (extent % a.stride[i] != 0 ? 1 : 0));
    }
    return TensorType{x.dtype, s};
  }
  case OpKind::Concat: {
    int64_t axis = std::get<ConcatAttrs>(attrs).axis;
    const TensorType &first = in[0];
    if (axis < 0 || axis >= first.rank()) return fail(k, "axis {} is out of range for {}", axis, first);
    TensorType out = first;
    for (size_t i = 1; i < in.size(); ++i) {
      const TensorType &t = in[i];
      bool same = t.dtype == first.dtype && t.rank() == first.rank();
      for (int64_t d = 0; same && d < t.rank(); ++d) same = d == axis || t.shape[d] == first.shape[d];
      if (!same) return fail(k, "operand {} ({}) does not match {} outside axis {}", i, t, first, axis);
      if (__builtin_add_overflow(out.shape[axis], t.shape[axis], &out.shape[axis]))
        return fail(k, "result extent along axis {} overflows", axis);
    }
    return out;
  }
  case OpKind::Pad: {
    const auto &a = std::get<PadAttrs>(attrs);
    const TensorType &x = in[0];
    if (auto ok = requireList(k, "low", a.low, x.shape.size(), 0); !ok) return ok.takeError();
    if (auto ok = requireList(k, "high", a.high, x.shape.size(), 0); !ok) return ok.takeError();
    TensorType out = x;
    for (size_t i = 0; i < x.shape.size(); ++i)
      if (__builtin_add_overflow(out.shape[i], a.low[i], &out.shape[i]) ||
          __builtin_add_overflow(out.shape[i], a.high[i], &out.shape[i]))
        return fail(k, "padding {} + {} of {} overflows", shapeString(a.low), shapeString(a.high), x);
    return out;
  }
  case OpKind::ReduceSum:
  case OpKind::ReduceMax: {
    const auto &axes = std::get<ReduceAttrs>(attrs).axes;
    const TensorType &x = in[0];
    if (auto ok = requireNumeric(k, x); !ok) return ok.takeError();
    if (auto ok = requireAxes(k, "axes", axes, x.rank()); !ok) return ok.takeError();
    Shape s;
    for (int64_t d = 0; d < x.rank(); ++d)
      if (!std::binary_search(axes.begin(), axes.end(), d)) s.push_back(x.shape[d]);
    return TensorType{x.dtype, s};
  }
  case OpKind::MatMul:
    return inferMatMul(k, in[0], in[1], std::get<MatMulAttrs>(attrs));
  case OpKind::Conv2d:
    return inferConvOutput(k, in[0], in[1], std::get<ConvAttrs>(attrs));
  case OpKind::Conv2dInputGrad: {  // (dy, w) -> x
    DL_TRY(TensorType x, requireGiven(k, given));
    DL_TRY(TensorType y, inferConvOutput(k, x, in[1], std::get<ConvAttrs>(attrs)));
    if (y != in[0]) return fail(k, "output gradient {} does not match the conv2d output {} of {}", in[0], y, x);
    return x;
  }
  case OpKind::Conv2dFilterGrad: {  // (x, dy) -> w
    DL_TRY(TensorType w, requireGiven(k, given));
    DL_TRY(TensorType y, inferConvOutput(k, in[0], w, std::get<ConvAttrs>(attrs)));
    if (y != in[1]) return fail(k, "output gradient {} does not match the conv2d output {} of filter {}", in[1], y, w);
    return w;
  }
  case OpKind::MaxPool2d:
  case OpKind::AvgPool2d:
    return inferPoolOutput(k, in[0], std::get<PoolAttrs>(attrs));
  case OpKind::MaxPool2dGrad: {  // (x, dy) -> x
    DL_TRY(TensorType y, inferPoolOutput(k, in[0], std::get<PoolAttrs>(attrs)));
    if (y != in[1]) return fail(k, "output gradient {} does not match the pooled {}", in[1], y);
    return in[0];
  }
  case OpKind::AvgPool2dGrad: {  // (dy) -> x
    DL_TRY(TensorType x, requireGiven(k, given));
    DL_TRY(TensorType y, inferPoolOutput(k, x, std::get<PoolAttrs>(attrs)));
    if (y != in[0]) return fail(k, "output gradient {} does not match the pooled {} of {}", in[0], y, x);
    return x;
  }
  case OpKind::OneHot: {
    DL_TRY(TensorType t, requireGiven(k, given));
    const TensorType &l = in[0];
    if (!isInteger(l.dtype)) return fail(k, "labels must be integers, got {}", l);
    if (auto ok = requireNumeric(k, t); !ok) return ok.takeError();
    if (t.rank() != l.rank() + 1 || !std::equal(l.shape.begin(), l.shape.end(), t.shape.begin()))
      return fail(k, "result {} must be the labels' shape {} plus a depth dim", t, l);
    return t;
  }
  }
  DL_UNREACHABLE("covered switch");
}

}  // namespace

std::optional<Shape> broadcastShapes(const Shape &a, const Shape &b) {
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1) return std::nullopt;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int64_t windowOutputSize(int64_t in, int64_t window, int64_t stride, int64_t padLo, int64_t padHi,
                         int64_t dilation) {
  if (window < 1 || stride < 1 || dilation < 1 || in < 0 || padLo < 0 || padHi < 0) return -1;
  int64_t effective, padded, span;
  if (__builtin_mul_overflow(dilation, window - 1, &effective) || __builtin_add_overflow(effective, 1, &effective) ||
      __builtin_add_overflow(in, padLo, &padded) || __builtin_add_overflow(padded, padHi, &padded))
    return -1;
  span = padded - effective;
  if (span < 0) return -1;
  return span / stride + 1;
}

Expected<TensorType> inferType(OpKind k, std::span<const TensorType> in, const Attrs &a,
                               const TensorType *given) {
  for (const TensorType &t : in)
    if (!numElements(t.shape)) return fail(k, "operand type {} is too large", t);
  DL_TRY(TensorType t, inferImpl(k, in, a, given));
  if (given && *given != t) return fail(k, "result type {} does not match the inferred type {}", *given, t);
  if (!numElements(t.shape)) return fail(k, "result type {} is too large", t);
  return t;
}

}  // namespace dlc
