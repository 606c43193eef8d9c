//===- codegen/conv_plan.cpp - which convolutions run on the direct kernels --===//
#include "codegen/conv_plan.h"

#include <algorithm>

#include "ir/attrs.h"

namespace dlc {
namespace {

/// Stack bytes the direct kernels may use for their per-unit buffers (the threads that
/// run kernels have 8 MiB stacks; the GEMM uses up to 704 KiB).
constexpr int64_t kMaxStackBytes = 256 * 1024;
/// Entries of the forward kernel's segment-by-tap mask table.
constexpr int64_t kMaxMaskEntries = int64_t{1} << 14;
/// Widest filter the direct kernels unroll.
constexpr int64_t kMaxTaps = 16;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

TapRange tapRange(int64_t k, int64_t s, int64_t p, int64_t d, int64_t in, int64_t out) {
  const int64_t first = p - k * d, last = in - 1 + p - k * d;
  const int64_t lo = std::min(first > 0 ? ceilDiv(first, s) : 0, out);
  const int64_t hi = last < 0 ? 0 : std::min(last / s + 1, out);
  return {lo, std::max(lo, hi)};
}

Shape directConvDomain(const Node &n) {
  const OpKind k = n.kind();
  if (k == OpKind::MaxPool2dGrad) {
    // Windows that tile the input (stride = window, no padding): one plane per index.
    const PoolAttrs &a = n.attrsAs<PoolAttrs>();
    const Shape &r = n.type().shape;
    if (a.stride != a.window || a.padding[0] != 0 || a.padding[1] != 0 || r.size() != 4 ||
        n.type().numElements() == 0 || a.window[0] * a.window[1] > 64)
      return {};
    return {r[0] * r[1]};
  }
  if (k != OpKind::Conv2d && k != OpKind::Conv2dInputGrad && k != OpKind::Conv2dFilterGrad) return {};
  if (n.type().dtype != DType::F32 || n.type().numElements() == 0) return {};
  const ConvAttrs &a = n.attrsAs<ConvAttrs>();
  const Shape &r = n.type().shape, &a0 = n.operand(0)->shape(), &a1 = n.operand(1)->shape();
  if (r.size() != 4 || a0.size() != 4 || a1.size() != 4) return {};
  for (const Shape *s : {&r, &a0, &a1})
    for (int64_t e : *s)
      if (e <= 0) return {};
  if (k == OpKind::Conv2dFilterGrad) {
    // x [N,C,H,W], dy [N,O,OH,OW] -> dw [O,C,KH,KW]
    const int64_t kh = r[2], kw = r[3], c = r[1];
    if (kh > kMaxTaps || kw > kMaxTaps) return {};
    if (a1[2] * a1[3] * kConvGroup * 4 > kMaxStackBytes) return {};
    if (c * kh * kw * kConvGroup * 4 > kMaxStackBytes) return {};
    return {ceilDiv(r[0], kConvGroup)};
  }
  // conv2d: strides up to kMaxDirectStride (a term loads W*stride cells); the input
  // gradient: stride 1 (a strided one scatters, and keeps the row kernels).
  const int64_t maxStride = k == OpKind::Conv2d ? kMaxDirectStride : 1;
  if (a.stride[0] > maxStride || a.stride[1] > maxStride) return {};
  const Shape &w = a1;  // [O,C,KH,KW]
  if (w[3] > kMaxTaps) return {};
  // Segments of the result plane times taps: the mask table.
  const int64_t segs = ceilDiv(r[2] * r[3], 4) + r[2];
  if (segs * w[2] * w[3] > kMaxMaskEntries) return {};
  return {r[0], ceilDiv(r[1], kConvGroup)};
}

}  // namespace dlc
