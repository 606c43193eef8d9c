//===- codegen/conv_plan.h - which convolutions run on the direct kernels ----===//
//
// LLVM-free, shapes only (like gemm_plan.h): the kernel plan asks it whether a
// convolution node gets the direct kernels of codegen/conv_direct.cpp and, if so, for
// their parallel index space. Everything else keeps the row kernels of conv.cpp.
//
//   conv2d (f32, strides up to kMaxDirectStride), conv2d_input_grad (f32, stride 1):
//     [N, ceil(D / kConvGroup)] -- a batch item and a group of output channels per
//     parallel index;
//   conv2d_filter_grad (f32): [ceil(O / kConvGroup)] -- a group of the filter's output
//     channels per parallel index, over the whole batch;
//   max_pool2d_grad whose windows tile the input (stride = window, no padding, any
//     float type): [N * C] -- a plane per parallel index.
//
// The space depends on the shapes only, never on the target or the thread count, and
// every output element is computed by one parallel index in the interpreter's order.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>

#include "ir/ir.h"

namespace dlc {

/// Output channels (conv2d, input gradient) or filter output channels (filter gradient)
/// per parallel index of the direct convolution kernels.
constexpr int64_t kConvGroup = 16;
/// The largest conv2d stride (per dimension) of the direct kernels.
constexpr int64_t kMaxDirectStride = 4;

/// The parallel index space of \p n's direct kernel, or an empty shape when \p n is not
/// a convolution (or max pooling gradient) the direct kernels compute.
Shape directConvDomain(const Node &n);

/// The extents of one window dimension: the o in [0, out) whose tap k reads an input
/// cell, o*s - p + k*d in [0, in): [lo, hi) (lo == hi when none).
struct TapRange {
  int64_t lo, hi;
};
TapRange tapRange(int64_t k, int64_t s, int64_t p, int64_t d, int64_t in, int64_t out);

}  // namespace dlc
