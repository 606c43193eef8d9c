//===- ir/interpreter_data.cpp - sources, data movement, reductions, one_hot ===//
//
// The interpreter kernels that move elements without arithmetic (they copy bytes, so one
// code path serves every dtype), the two reductions, and one_hot. Each kernel checks the
// attributes and shapes it indexes with against the stated result type, so unverified IR
// gives an Error rather than an out-of-bounds read.
//
//===----------------------------------------------------------------------===//
#include <cstring>

#include "ir/interpreter_kernels.h"
#include "ir/reduce_order.h"

namespace dlc::interp {
namespace {

/// Copies element \p si of \p src to element \p di of \p dst (elements of \p size bytes).
void copyElement(HostTensor &dst, int64_t di, const HostTensor &src, int64_t si, int64_t size) {
  std::memcpy(dst.raw() + di * size, src.raw() + si * size, static_cast<size_t>(size));
}

Expected<void> expectSameDType(const OpCtx &c, const HostTensor &x) {
  if (x.dtype() != c.type.dtype)
    return c.error("operand element type {} differs from the result's {}", x.dtype(), c.type.dtype);
  return {};
}

/// Checks that \p axes is strictly increasing within [0, rank).
Expected<void> expectAxes(const OpCtx &c, std::string_view what, const std::vector<int64_t> &axes,
                          int64_t rank) {
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] < 0 || axes[i] >= rank || (i > 0 && axes[i] <= axes[i - 1]))
      return c.error("{} [{}] must be strictly increasing dimensions below {}", what, fmt::join(axes, ","),
                     rank);
  return {};
}

/// reduce_sum / reduce_max. Contiguous reductions (each output's elements adjacent in
/// memory) combine in the canonical 16-lane order of ir/reduce_order.h; the others do
/// out[o] = combine(out[o], x[i]) over the operand's elements in row-major order, which
/// visits each output's reduced elements in row-major order.
template <class Combine, class Init> Result reduce(const OpCtx &c, Combine combine, Init init) {
  const HostTensor &x = c.operand(0);
  const std::vector<int64_t> &axes = c.attrsAs<ReduceAttrs>().axes;
  DL_CHECK(expectSameDType(c, x));
  DL_CHECK(expectAxes(c, "axes", axes, static_cast<int64_t>(x.shape().size())));
  std::vector<bool> reduced(x.shape().size(), false);
  for (int64_t a : axes)
    reduced[static_cast<size_t>(a)] = true;
  Shape kept;
  for (size_t d = 0; d < x.shape().size(); ++d)
    if (!reduced[d]) kept.push_back(x.shape()[d]);
  DL_CHECK(expectResultShape(c, kept));

  // outStride[d]: the step in the output for a step along operand dimension d.
  std::vector<int64_t> keptStrides = rowMajorStrides(kept), outStride(x.shape().size(), 0);
  for (size_t d = 0, k = 0; d < x.shape().size(); ++d)
    if (!reduced[d]) outStride[d] = keptStrides[k++];

  return dispatchDType(x.dtype(), [&]<class T>() -> Result {
    if constexpr (!kInDomain<Domain::Numeric, T>) {
      return c.error("does not accept {} operands", x.dtype());
    } else {
      HostTensor out(c.type);
      std::span<T> acc = out.data<T>();
      std::span<const T> src = x.data<T>();
      if (isContiguousReduction(x.shape(), axes)) {
        const int64_t len = acc.empty() ? 0 : static_cast<int64_t>(src.size() / acc.size());
        for (size_t o = 0; o < acc.size(); ++o)
          acc[o] = reduceContiguous(src.data() + o * static_cast<size_t>(len), len, init.template operator()<T>(),
                                    combine);
        return out;
      }
      for (T &a : acc)
        a = init.template operator()<T>();
      forEachIndex(x.shape(), [&](const std::vector<int64_t> &idx, int64_t flat) {
        T &a = acc[static_cast<size_t>(offsetOf(idx, outStride))];
        a = combine(a, src[static_cast<size_t>(flat)]);
      });
      return out;
    }
  });
}

}  // namespace

Result evalConstant(const OpCtx &c) {
  const std::vector<double> &values = c.attrsAs<ConstantAttrs>().values;
  HostTensor out(c.type);
  const int64_t n = out.numElements();
  if (values.size() == 1) {
    for (int64_t i = 0; i < n; ++i)
      out.setDouble(i, values[0]);
  } else if (static_cast<int64_t>(values.size()) == n) {
    for (int64_t i = 0; i < n; ++i)
      out.setDouble(i, values[static_cast<size_t>(i)]);
  } else {
    return c.error("has {} value(s) for the {} element(s) of {}", values.size(), n, c.type);
  }
  return out;
}

Result evalIota(const OpCtx &c) {
  const int64_t dim = c.attrsAs<IotaAttrs>().dim;
  if (dim < 0 || dim >= c.type.rank()) return c.error("dim {} is not a dimension of {}", dim, c.type);
  HostTensor out(c.type);
  forEachIndex(c.type.shape, [&](const std::vector<int64_t> &idx, int64_t flat) {
    out.setDouble(flat, static_cast<double>(idx[static_cast<size_t>(dim)]));
  });
  return out;
}

Result evalBroadcast(const OpCtx &c) {
  const HostTensor &x = c.operand(0);
  const std::vector<int64_t> &dims = c.attrsAs<BroadcastAttrs>().dims;
  DL_CHECK(expectSameDType(c, x));
  if (dims.size() != x.shape().size())
    return c.error("has {} dims for an operand of rank {}", dims.size(), x.shape().size());
  DL_CHECK(expectAxes(c, "dims", dims, c.type.rank()));
  // The result's stride into the operand: 0 for new and stretched dimensions.
  std::vector<int64_t> xStrides = rowMajorStrides(x.shape()), srcStride(c.type.shape.size(), 0);
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t from = x.shape()[i], to = c.type.shape[static_cast<size_t>(dims[i])];
    if (from != 1 && from != to)
      return c.error("operand dimension {} (extent {}) does not broadcast to result dimension {} "
                     "(extent {})",
                     i, from, dims[i], to);
    if (from != 1) srcStride[static_cast<size_t>(dims[i])] = xStrides[i];
  }
  HostTensor out(c.type);
  const int64_t size = dtypeSize(x.dtype());
  forEachIndex(c.type.shape, [&](const std::vector<int64_t> &idx, int64_t flat) {
    copyElement(out, flat, x, offsetOf(idx, srcStride), size);
  });
  return out;
}

Result evalReshape(const OpCtx &c) {
  const HostTensor &x = c.operand(0);
  DL_CHECK(expectSameDType(c, x));
  HostTensor out(c.type);
  if (out.numElements() != x.numElements())
    return c.error("cannot reshape {} elements into {}", x.numElements(), c.type);
  if (x.numBytes() > 0) std::memcpy(out.raw(), x.raw(), static_cast<size_t>(x.numBytes()));
  return out;
}

Result evalTranspose(const OpCtx &c) {
  const HostTensor &x = c.operand(0);
  const std::vector<int64_t> &perm = c.attrsAs<TransposeAttrs>().perm;
  DL_CHECK(expectSameDType(c, x));
  const size_t rank = x.shape().size();
  std::vector<bool> seen(rank, false);
  bool isPerm = perm.size() == rank;
  for (size_t i = 0; isPerm && i < perm.size(); ++i) {
    isPerm = perm[i] >= 0 && perm[i] < static_cast<int64_t>(rank) && !seen[static_cast<size_t>(perm[i])];
    if (isPerm) seen[static_cast<size_t>(perm[i])] = true;
  }
  if (!isPerm) return c.error("perm [{}] is not a permutation of {} dimensions", fmt::join(perm, ","), rank);
  Shape expected(rank);
  std::vector<int64_t> xStrides = rowMajorStrides(x.shape()), srcStride(rank);
  for (size_t i = 0; i < rank; ++i) {
    expected[i] = x.shape()[static_cast<size_t>(perm[i])];
    srcStride[i] = xStrides[static_cast<size_t>(perm[i])];
  }
  DL_CHECK(expectResultShape(c, expected));
  HostTensor out(c.type);
  const int64_t size = dtypeSize(x.dtype());
  forEachIndex(c.type.shape, [&](const std::vector<int64_t> &idx, int64_t flat) {
    copyElement(out, flat, x, offsetOf(idx, srcStride), size);
  });
  return out;
}

Result evalSlice(const OpCtx &c) {
  const HostTensor &x = c.operand(0);
  const SliceAttrs &a = c.attrsAs<SliceAttrs>();
  DL_CHECK(expectSameDType(c, x));
  const size_t rank = x.shape().size();
  if (a.start.size() != rank || a.limit.size() != rank || a.stride.size() != rank)
    return c.error("start, limit and stride need {} entries each", rank);
  Shape expected(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (a.start[d] < 0 || a.start[d] > a.limit[d] || a.limit[d] > x.shape()[d] || a.stride[d] < 1)
      return c.error("dimension {}: start {}, limit {}, stride {} do not fit extent {}", d, a.start[d],
                     a.limit[d], a.stride[d], x.shape()[d]);
    expected[d] = (a.limit[d] - a.start[d] + a.stride[d] - 1) / a.stride[d];
  }
  DL_CHECK(expectResultShape(c, expected));
  std::vector<int64_t> xStrides = rowMajorStrides(x.shape()), srcStride(rank);
  int64_t base = 0;
  for (size_t d = 0; d < rank; ++d) {
    base += a.start[d] * xStrides[d];
    srcStride[d] = a.stride[d] * xStrides[d];
  }
  HostTensor out(c.type);
  const int64_t size = dtypeSize(x.dtype());
  forEachIndex(c.type.shape, [&](const std::vector<int64_t> &idx, int64_t flat) {
    copyElement(out, flat, x, base + offsetOf(idx, srcStride), size);
  });
  return out;
}

Result evalConcat(const OpCtx &c) {
  const int64_t axis = c.attrsAs<ConcatAttrs>().axis;
  const Shape &rs = c.type.shape;
  if (axis < 0 || axis >= c.type.rank()) return c.error("axis {} is not a dimension of {}", axis, c.type);
  const size_t ax = static_cast<size_t>(axis);
  int64_t total = 0;
  for (size_t i = 0; i < c.in.size(); ++i) {
    const HostTensor &x = c.operand(i);
    DL_CHECK(expectSameDType(c, x));
    bool fits = x.shape().size() == rs.size();
    for (size_t d = 0; fits && d < rs.size(); ++d)
      fits = d == ax || x.shape()[d] == rs[d];
    if (!fits)
      return c.error("operand {} of type {} does not fit the result {} along axis {}", i, x.type(), c.type,
                     axis);
    total += x.shape()[ax];
  }
  if (total != rs[ax])
    return c.error("operands add up to {} along axis {}, the result has {}", total, axis, rs[ax]);
  HostTensor out(c.type);
  const std::vector<int64_t> outStrides = rowMajorStrides(rs);
  const int64_t size = dtypeSize(c.type.dtype);
  int64_t offset = 0;  // position of the current operand along the axis
  for (const HostTensor *x : c.in) {
    forEachIndex(x->shape(), [&](const std::vector<int64_t> &idx, int64_t flat) {
      copyElement(out, offsetOf(idx, outStrides) + offset * outStrides[ax], *x, flat, size);
    });
    offset += x->shape()[ax];
  }
  return out;
}

Result evalPad(const OpCtx &c) {
  const HostTensor &x = c.operand(0);
  const PadAttrs &a = c.attrsAs<PadAttrs>();
  DL_CHECK(expectSameDType(c, x));
  const size_t rank = x.shape().size();
  if (a.low.size() != rank || a.high.size() != rank)
    return c.error("low and high need {} entries each", rank);
  Shape expected(rank);
  for (size_t d = 0; d < rank; ++d) {
    if (a.low[d] < 0 || a.high[d] < 0)
      return c.error("padding of dimension {} is negative ({}, {})", d, a.low[d], a.high[d]);
    expected[d] = a.low[d] + x.shape()[d] + a.high[d];
  }
  DL_CHECK(expectResultShape(c, expected));
  HostTensor out = HostTensor::full(c.type, a.value);
  const std::vector<int64_t> outStrides = rowMajorStrides(c.type.shape);
  const int64_t base = offsetOf(a.low, outStrides), size = dtypeSize(x.dtype());
  forEachIndex(x.shape(), [&](const std::vector<int64_t> &idx, int64_t flat) {
    copyElement(out, base + offsetOf(idx, outStrides), x, flat, size);
  });
  return out;
}

Result evalReduceSum(const OpCtx &c) {
  return reduce(
      c, [](auto acc, auto v) { return arithAdd(acc, v); }, []<class T>() { return T(0); });
}

Result evalReduceMax(const OpCtx &c) {
  return reduce(
      c, [](auto acc, auto v) { return arithMax(acc, v); }, []<class T>() { return lowestOrNegInf<T>(); });
}

Result evalOneHot(const OpCtx &c) {
  const HostTensor &labels = c.operand(0);
  if (!isInteger(labels.dtype())) return c.error("labels must be i32 or i64, got {}", labels.dtype());
  Shape expected = labels.shape();
  if (c.type.rank() != labels.type().rank() + 1)
    return c.error("result {} should have rank {} (labels {} plus depth)", c.type, labels.type().rank() + 1,
                   labels.type());
  const int64_t depth = c.type.shape.back();
  expected.push_back(depth);
  DL_CHECK(expectResultShape(c, expected));
  HostTensor out(c.type);  // zeros
  for (int64_t i = 0; i < labels.numElements(); ++i) {
    int64_t label = dispatchDType(labels.dtype(), [&]<class T>() -> int64_t {
      if constexpr (std::is_integral_v<T>)
        return static_cast<int64_t>(labels.data<T>()[static_cast<size_t>(i)]);
      else
        DL_UNREACHABLE("labels are integers");
    });
    if (label >= 0 && label < depth) out.setDouble(i * depth + label, 1.0);
  }
  return out;
}

}  // namespace dlc::interp
