//===- frontend/tensor.h - Tensor handles and the op functions on them ------===//
//
// A Tensor is a cheap handle (graph + SSA value) returned by dlc::Graph. Arithmetic
// operators and the free functions below append typed nodes to the handle's graph.
// Binary elementwise ops broadcast numpy-style: both operands are broadcast to the
// common shape with explicit `broadcast` nodes (the IR itself never broadcasts
// implicitly); a C++ scalar becomes a splat `constant` of the other operand's type.
//
// Errors: no function here throws or aborts on a user mistake. The first error (bad
// shapes, mismatched dtypes, ...) is recorded in the Graph with the C++ call site, the
// result is an invalid Tensor, and every later op on that graph is a no-op returning an
// invalid Tensor. Graph::finish() reports the recorded error (see graph.h). Every public
// function takes a defaulted std::source_location so nodes and errors point at the
// user's line. C++ operators cannot have default arguments, so the operator overloads
// capture the location through the implicit conversion of one operand to TensorAt /
// ScalarAt; the reported column is that operand's.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <initializer_list>
#include <source_location>
#include <string>
#include <vector>

#include "ir/attrs.h"
#include "ir/ir.h"
#include "ir/types.h"

namespace dlc {

class Graph;

/// A handle to one SSA value of a Graph under construction. Copying is cheap. A
/// default-constructed Tensor, or the result of an op that failed, is invalid.
class Tensor {
 public:
  Tensor() = default;
  Tensor(Graph *g, Value *v) : graph_(g), value_(v) {}

  /// False for the result of a failed op (the graph holds the error).
  bool valid() const { return value_ != nullptr; }
  Graph *graph() const { return graph_; }
  Value *value() const { return value_; }

  /// The value's type; `f32[]` for an invalid Tensor.
  const TensorType &type() const;
  const Shape &shape() const { return type().shape; }
  DType dtype() const { return type().dtype; }
  int64_t rank() const { return type().rank(); }
  /// Extent of dimension \p i; negative \p i counts from the end. 0 when out of range.
  int64_t dim(int64_t i) const;
  int64_t numElements() const { return type().numElements(); }

  /// Names the value in the printed IR (`%name`); returns *this. A name already in use
  /// gets a numeric suffix (names are for people only). Invalid names (empty, or not of
  /// letters, digits, `_` and `.`, starting with a non-digit) and renaming a parameter or
  /// input are recorded as errors.
  Tensor named(std::string name, std::source_location loc = std::source_location::current()) const;

 private:
  Graph *graph_ = nullptr;
  Value *value_ = nullptr;
};

/// A Tensor operand of an operator, with the C++ location where it is used. Converted
/// implicitly from Tensor; users never name this type.
struct TensorAt {
  TensorAt(const Tensor &t, std::source_location l = std::source_location::current())
      : tensor(t), loc(l) {}
  Tensor tensor;
  std::source_location loc;
};

/// A C++ number used as an operand of an operator (becomes a splat constant).
struct ScalarAt {
  ScalarAt(double v, std::source_location l = std::source_location::current()) : value(v), loc(l) {}
  double value;
  std::source_location loc;
};

/// Axes of a reduction: `{}` (the default) means every axis; negative axes count from
/// the end; an explicitly empty std::vector reduces nothing. `sum(x)`, `sum(x, 1)`,
/// `sum(x, {0, 2}, /*keepDims=*/true)`.
struct Axes {
  Axes() = default;
  Axes(int64_t axis) : list{axis}, all(false) {}
  Axes(std::initializer_list<int64_t> axes) : list(axes), all(false) {}
  Axes(std::vector<int64_t> axes) : list(std::move(axes)), all(false) {}
  std::vector<int64_t> list;
  bool all = true;
};

using SrcLoc = std::source_location;

// Arithmetic with numpy broadcasting. `a + b`, `x * 0.5`, `1.0 - x`, `-x`.
Tensor operator+(const Tensor &a, TensorAt b);
Tensor operator-(const Tensor &a, TensorAt b);
Tensor operator*(const Tensor &a, TensorAt b);
Tensor operator/(const Tensor &a, TensorAt b);
Tensor operator+(const Tensor &a, ScalarAt b);
Tensor operator-(const Tensor &a, ScalarAt b);
Tensor operator*(const Tensor &a, ScalarAt b);
Tensor operator/(const Tensor &a, ScalarAt b);
Tensor operator+(ScalarAt a, const Tensor &b);
Tensor operator-(ScalarAt a, const Tensor &b);
Tensor operator*(ScalarAt a, const Tensor &b);
Tensor operator/(ScalarAt a, const Tensor &b);
/// Negation (`neg`).
Tensor operator-(TensorAt x);

// Named elementwise binary ops (broadcasting), also with a scalar on either side.
Tensor add(const Tensor &a, const Tensor &b, SrcLoc loc = SrcLoc::current());
Tensor sub(const Tensor &a, const Tensor &b, SrcLoc loc = SrcLoc::current());
Tensor mul(const Tensor &a, const Tensor &b, SrcLoc loc = SrcLoc::current());
Tensor div(const Tensor &a, const Tensor &b, SrcLoc loc = SrcLoc::current());
/// Elementwise maximum / minimum (not reductions; see max() for those).
Tensor maximum(const Tensor &a, const Tensor &b, SrcLoc loc = SrcLoc::current());
Tensor maximum(const Tensor &a, double b, SrcLoc loc = SrcLoc::current());
Tensor minimum(const Tensor &a, const Tensor &b, SrcLoc loc = SrcLoc::current());
Tensor minimum(const Tensor &a, double b, SrcLoc loc = SrcLoc::current());
/// a ** b, elementwise.
Tensor pow(const Tensor &a, const Tensor &b, SrcLoc loc = SrcLoc::current());
Tensor pow(const Tensor &a, double b, SrcLoc loc = SrcLoc::current());

// Elementwise unary ops.
Tensor neg(const Tensor &x, SrcLoc loc = SrcLoc::current());
Tensor abs(const Tensor &x, SrcLoc loc = SrcLoc::current());
Tensor sign(const Tensor &x, SrcLoc loc = SrcLoc::current());
/// x itself, through which no gradient flows: autodiff treats it as a constant (JAX's
/// `stop_gradient`, PyTorch's `detach`).
Tensor stopGradient(const Tensor &x, SrcLoc loc = SrcLoc::current());
Tensor exp(const Tensor &x, SrcLoc loc = SrcLoc::current());
Tensor log(const Tensor &x, SrcLoc loc = SrcLoc::current());
Tensor tanh(const Tensor &x, SrcLoc loc = SrcLoc::current());
Tensor sigmoid(const Tensor &x, SrcLoc loc = SrcLoc::current());
Tensor sqrt(const Tensor &x, SrcLoc loc = SrcLoc::current());
Tensor rsqrt(const Tensor &x, SrcLoc loc = SrcLoc::current());
/// max(x, 0), written as the primitive `max` with a splat zero.
Tensor relu(const Tensor &x, SrcLoc loc = SrcLoc::current());
/// Converts the element type (`cast`).
Tensor cast(const Tensor &x, DType to, SrcLoc loc = SrcLoc::current());

// Comparisons (result i1, broadcasting) and selection.
Tensor compare(const Tensor &a, const Tensor &b, CmpDir dir, SrcLoc loc = SrcLoc::current());
Tensor compare(const Tensor &a, double b, CmpDir dir, SrcLoc loc = SrcLoc::current());
Tensor equal(const Tensor &a, const Tensor &b, SrcLoc loc = SrcLoc::current());
Tensor notEqual(const Tensor &a, const Tensor &b, SrcLoc loc = SrcLoc::current());
Tensor less(const Tensor &a, const Tensor &b, SrcLoc loc = SrcLoc::current());
Tensor lessEqual(const Tensor &a, const Tensor &b, SrcLoc loc = SrcLoc::current());
Tensor greater(const Tensor &a, const Tensor &b, SrcLoc loc = SrcLoc::current());
Tensor greaterEqual(const Tensor &a, const Tensor &b, SrcLoc loc = SrcLoc::current());
/// cond ? a : b elementwise (`select`); the three operands broadcast together; cond is i1.
Tensor where(const Tensor &cond, const Tensor &a, const Tensor &b, SrcLoc loc = SrcLoc::current());

// Reductions. keepDims keeps each reduced axis with extent 1.
Tensor sum(const Tensor &x, Axes axes = {}, bool keepDims = false, SrcLoc loc = SrcLoc::current());
Tensor max(const Tensor &x, Axes axes = {}, bool keepDims = false, SrcLoc loc = SrcLoc::current());
/// sum / (number of reduced elements).
Tensor mean(const Tensor &x, Axes axes = {}, bool keepDims = false, SrcLoc loc = SrcLoc::current());

// Shapes and data movement.
/// Numpy-style broadcast of \p x to \p shape (trailing dims aligned); x itself when equal.
Tensor broadcastTo(const Tensor &x, const Shape &shape, SrcLoc loc = SrcLoc::current());
/// XLA's broadcast_in_dim: operand dimension i becomes result dimension dims[i].
Tensor broadcastInDim(const Tensor &x, const Shape &shape, std::vector<int64_t> dims,
                      SrcLoc loc = SrcLoc::current());
/// Same elements, new shape; one extent may be -1 (inferred).
Tensor reshape(const Tensor &x, Shape shape, SrcLoc loc = SrcLoc::current());
/// Result dimension i is operand dimension perm[i]; an empty perm reverses the dims.
Tensor transpose(const Tensor &x, std::vector<int64_t> perm = {}, SrcLoc loc = SrcLoc::current());
/// Elements start, start+stride, ... below limit in each dim (stride defaults to 1).
Tensor slice(const Tensor &x, std::vector<int64_t> start, std::vector<int64_t> limit,
             std::vector<int64_t> stride = {}, SrcLoc loc = SrcLoc::current());
Tensor concat(const std::vector<Tensor> &xs, int64_t axis, SrcLoc loc = SrcLoc::current());
/// Pads low[i] / high[i] elements of \p value before / after each dim.
Tensor pad(const Tensor &x, std::vector<int64_t> low, std::vector<int64_t> high, double value = 0.0,
           SrcLoc loc = SrcLoc::current());

// Contractions, convolution and pooling.
/// a[..., M, K] x b[..., K, N] -> [..., M, N]; a transpose flag means that operand is
/// stored with its last two dims swapped. Batch dims broadcast numpy-style.
Tensor matmul(const Tensor &a, const Tensor &b, bool transposeA = false, bool transposeB = false,
              SrcLoc loc = SrcLoc::current());
/// x[N,C,H,W] * w[O,C,KH,KW] -> [N,O,OH,OW] (no bias; see nn::conv2d).
Tensor conv2d(const Tensor &x, const Tensor &w, ConvAttrs attrs = {}, SrcLoc loc = SrcLoc::current());
Tensor maxPool2d(const Tensor &x, PoolAttrs attrs = {}, SrcLoc loc = SrcLoc::current());
Tensor avgPool2d(const Tensor &x, PoolAttrs attrs = {}, SrcLoc loc = SrcLoc::current());

/// labels[...] (integer) -> dtype[..., depth]: 1 where the last index equals the label.
Tensor oneHot(const Tensor &labels, int64_t depth, DType dtype = DType::F32, SrcLoc loc = SrcLoc::current());

}  // namespace dlc
