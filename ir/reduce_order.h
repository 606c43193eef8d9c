//===- ir/reduce_order.h - the canonical order of contiguous reductions -----===//
//
// reduce_sum and reduce_max whose reduced elements are contiguous in memory for each
// output -- the reduced axes are the last ones, apart from kept dims of extent 1 after
// them: the last axis of a matrix, the last two, all of them -- combine those R elements
// x_0 .. x_{R-1} (row-major) in one fixed order that does not depend on any vector width
// or thread count:
//
//   a_0 .. a_15 = init                       (+0 for sum; -inf, or lowest, for max)
//   for i = 0 .. R-1:     a_{i mod 16} = combine(a_{i mod 16}, x_i)
//   for w = 8, 4, 2, 1:   for l < w: a_l = combine(a_l, a_{l+w})
//   result = a_0
//
// combine is the IR op's own add or max (ir/interpreter_kernels.h: max propagates NaN,
// ties keep the first operand). The interpreter (the reference) and the backend
// (codegen/elemental_data.cpp) both implement exactly this, so they agree bit for bit;
// the backend computes the 16 partial accumulators as one 16-lane vector (AVX-512), two
// 8-lane ones (AVX2) or four 4-lane ones (SSE). Every other reduction (e.g. a bias
// gradient over the batch axis) keeps the row-major sequential order,
// acc = combine(acc, x_i) from init, and is vectorized across outputs instead.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <span>

namespace dlc {

/// Partial accumulators of a contiguous reduction (a power of two).
inline constexpr int64_t kReduceLanes = 16;

/// True when reducing \p axes (strictly increasing, at least one) of an operand of shape
/// \p shape reads contiguous elements for each output: every dim after the first reduced
/// axis is reduced or has extent 1. These reductions use the canonical order above.
inline bool isContiguousReduction(std::span<const int64_t> shape, std::span<const int64_t> axes) {
  if (axes.empty()) return false;
  size_t next = 0;  // the next reduced axis to meet
  for (size_t d = static_cast<size_t>(axes[0]); d < shape.size(); ++d) {
    if (next < axes.size() && axes[next] == static_cast<int64_t>(d)) {
      ++next;
    } else if (shape[d] != 1) {
      return false;
    }
  }
  return true;
}

/// The canonical order over x[0 .. n): see the top of this file.
template <class T, class Combine> T reduceContiguous(const T *x, int64_t n, T init, Combine combine) {
  T a[kReduceLanes];
  for (T &v : a) v = init;
  for (int64_t i = 0; i < n; ++i) a[i % kReduceLanes] = combine(a[i % kReduceLanes], x[i]);
  for (int64_t w = kReduceLanes / 2; w >= 1; w /= 2)
    for (int64_t l = 0; l < w; ++l) a[l] = combine(a[l], a[l + w]);
  return a[0];
}

}  // namespace dlc
