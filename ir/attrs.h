//===- ir/attrs.h - typed attribute structs, one per op family -------------===//
//
// Attributes are plain structs, never string maps. Each struct lists its fields once in
// `fields(F&&)`, which the printer, the parser, equality and hashing (for CSE) use, so a
// new field is printed, parsed and compared without further code. ops.def names the
// struct of each op.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "ir/op_kind.h"

namespace dlc {

/// Comparison direction of `compare`.
enum class CmpDir : uint8_t { Eq, Ne, Lt, Le, Gt, Ge };
std::string_view cmpDirName(CmpDir d);

struct NoAttrs {
  template <class F> void fields(F &&) {}
  template <class F> void fields(F &&) const {}
  friend bool operator==(const NoAttrs &, const NoAttrs &) = default;
};

/// `constant`: one value (a splat) or one value per element, row-major. Values are kept
/// as double: exact for f32, f64, i1 and integers up to 2^53.
struct ConstantAttrs {
  std::vector<double> values;
  bool isSplat() const { return values.size() == 1; }
  template <class F> void fields(F &&f) { f("value", values); }
  template <class F> void fields(F &&f) const { f("value", values); }
  friend bool operator==(const ConstantAttrs &, const ConstantAttrs &) = default;
};

/// `iota`: element = its index along `dim`.
struct IotaAttrs {
  int64_t dim = 0;
  template <class F> void fields(F &&f) { f("dim", dim); }
  template <class F> void fields(F &&f) const { f("dim", dim); }
  friend bool operator==(const IotaAttrs &, const IotaAttrs &) = default;
};

struct CompareAttrs {
  CmpDir dir = CmpDir::Eq;
  template <class F> void fields(F &&f) { f("dir", dir); }
  template <class F> void fields(F &&f) const { f("dir", dir); }
  friend bool operator==(const CompareAttrs &, const CompareAttrs &) = default;
};

/// `broadcast` (XLA's broadcast_in_dim): operand dimension i becomes result dimension
/// dims[i]; dims is strictly increasing; an operand extent is 1 or equal to the result's.
struct BroadcastAttrs {
  std::vector<int64_t> dims;
  template <class F> void fields(F &&f) { f("dims", dims); }
  template <class F> void fields(F &&f) const { f("dims", dims); }
  friend bool operator==(const BroadcastAttrs &, const BroadcastAttrs &) = default;
};

/// `transpose`: result dimension i is operand dimension perm[i].
struct TransposeAttrs {
  std::vector<int64_t> perm;
  template <class F> void fields(F &&f) { f("perm", perm); }
  template <class F> void fields(F &&f) const { f("perm", perm); }
  friend bool operator==(const TransposeAttrs &, const TransposeAttrs &) = default;
};

/// `slice`: elements start[i], start[i]+stride[i], ... below limit[i] in each dimension.
struct SliceAttrs {
  std::vector<int64_t> start, limit, stride;
  template <class F> void fields(F &&f) { f("start", start); f("limit", limit); f("stride", stride); }
  template <class F> void fields(F &&f) const { f("start", start); f("limit", limit); f("stride", stride); }
  friend bool operator==(const SliceAttrs &, const SliceAttrs &) = default;
};

struct ConcatAttrs {
  int64_t axis = 0;
  template <class F> void fields(F &&f) { f("axis", axis); }
  template <class F> void fields(F &&f) const { f("axis", axis); }
  friend bool operator==(const ConcatAttrs &, const ConcatAttrs &) = default;
};

/// `pad`: low[i] / high[i] elements of `value` before / after each dimension (>= 0).
struct PadAttrs {
  std::vector<int64_t> low, high;
  double value = 0.0;
  template <class F> void fields(F &&f) { f("low", low); f("high", high); f("value", value); }
  template <class F> void fields(F &&f) const { f("low", low); f("high", high); f("value", value); }
  friend bool operator==(const PadAttrs &, const PadAttrs &) = default;
};

/// `reduce_sum` / `reduce_max`: the axes (strictly increasing) are removed from the shape.
/// Reducing an empty axis gives 0 for sum and -inf (lowest for integers) for max.
struct ReduceAttrs {
  std::vector<int64_t> axes;
  template <class F> void fields(F &&f) { f("axes", axes); }
  template <class F> void fields(F &&f) const { f("axes", axes); }
  friend bool operator==(const ReduceAttrs &, const ReduceAttrs &) = default;
};

/// `matmul`: a[..., M, K] x b[..., K, N] -> [..., M, N]; batch dims equal. A transpose
/// flag means that operand is stored with its last two dims swapped.
struct MatMulAttrs {
  bool transposeA = false, transposeB = false;
  template <class F> void fields(F &&f) { f("transpose_a", transposeA); f("transpose_b", transposeB); }
  template <class F> void fields(F &&f) const { f("transpose_a", transposeA); f("transpose_b", transposeB); }
  friend bool operator==(const MatMulAttrs &, const MatMulAttrs &) = default;
};

/// `conv2d` and its gradients: x[N,C,H,W], w[O,C,KH,KW] -> y[N,O,OH,OW],
/// OH = (H + 2*padding[0] - dilation[0]*(KH-1) - 1) / stride[0] + 1 (likewise OW).
/// conv2d_input_grad(dy, w) -> dx; conv2d_filter_grad(x, dy) -> dw.
struct ConvAttrs {
  std::vector<int64_t> stride{1, 1}, padding{0, 0}, dilation{1, 1};
  template <class F> void fields(F &&f) { f("stride", stride); f("padding", padding); f("dilation", dilation); }
  template <class F> void fields(F &&f) const { f("stride", stride); f("padding", padding); f("dilation", dilation); }
  friend bool operator==(const ConvAttrs &, const ConvAttrs &) = default;
};

/// Pooling over the last two dims of x[N,C,H,W]: OH = (H + 2*padding[0] - window[0]) /
/// stride[0] + 1. Max pooling ignores padding cells; average pooling divides by the full
/// window size (padding counts as zeros). max_pool2d_grad(x, dy) routes dy to the first
/// maximum of each window; avg_pool2d_grad(dy) spreads it evenly.
struct PoolAttrs {
  std::vector<int64_t> window{2, 2}, stride{2, 2}, padding{0, 0};
  template <class F> void fields(F &&f) { f("window", window); f("stride", stride); f("padding", padding); }
  template <class F> void fields(F &&f) const { f("window", window); f("stride", stride); f("padding", padding); }
  friend bool operator==(const PoolAttrs &, const PoolAttrs &) = default;
};

/// The attributes of any node: exactly the alternative that ops.def names for its kind.
using Attrs = std::variant<NoAttrs, ConstantAttrs, IotaAttrs, CompareAttrs, BroadcastAttrs,
                           TransposeAttrs, SliceAttrs, ConcatAttrs, PadAttrs, ReduceAttrs,
                           MatMulAttrs, ConvAttrs, PoolAttrs>;

/// Default-constructed attributes of the struct type ops.def names for \p k.
Attrs defaultAttrs(OpKind k);
/// True when \p a holds the alternative ops.def names for \p k.
bool attrsMatchKind(OpKind k, const Attrs &a);

}  // namespace dlc
