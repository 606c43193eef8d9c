//===- ir/builder.h - creating typed nodes ---------------------------------===//
//
// Builder appends nodes to a Function (or inserts them before a given node), inferring
// each result type with inferType. The plain methods are for compiler code, where a type
// error is a bug (assertion); `tryCreate` returns the diagnostic instead, for code that
// builds from user input. The frontend's Graph sits on top of this.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <optional>
#include <vector>

#include "ir/ir.h"

namespace dlc {

class Builder {
 public:
  explicit Builder(Function &f) : f_(f) {}

  Function &function() const { return f_; }
  /// New nodes go before \p n; null (the default) appends at the end.
  void setInsertionPoint(const Node *n) { before_ = n; }
  /// The location given to new nodes.
  void setLoc(Location l) { loc_ = std::move(l); }
  const Location &loc() const { return loc_; }

  /// Creates a node, or returns the shape/type error (located at loc()).
  Expected<Value *> tryCreate(OpKind k, std::vector<Value *> operands, Attrs attrs = NoAttrs{},
                              std::optional<TensorType> given = std::nullopt);
  /// Creates a node; a type error is a compiler bug.
  Value *create(OpKind k, std::vector<Value *> operands, Attrs attrs = NoAttrs{},
                std::optional<TensorType> given = std::nullopt);

  // Sources.
  Value *constant(double v, TensorType t);                 ///< splat
  Value *constant(std::vector<double> v, TensorType t);    ///< one value per element
  Value *scalar(double v, DType d) { return constant(v, TensorType{d, {}}); }
  /// Splat constant with the type of \p like.
  Value *splatLike(double v, const Value *like) { return constant(v, like->type()); }
  Value *iota(TensorType t, int64_t dim);

  // Elementwise.
  Value *neg(Value *x) { return create(OpKind::Neg, {x}); }
  /// x, through which no gradient flows (autodiff treats it as a constant).
  Value *stopGradient(Value *x) { return create(OpKind::StopGradient, {x}); }
  Value *abs(Value *x) { return create(OpKind::Abs, {x}); }
  Value *sign(Value *x) { return create(OpKind::Sign, {x}); }
  Value *exp(Value *x) { return create(OpKind::Exp, {x}); }
  Value *log(Value *x) { return create(OpKind::Log, {x}); }
  Value *tanh(Value *x) { return create(OpKind::Tanh, {x}); }
  Value *sigmoid(Value *x) { return create(OpKind::Sigmoid, {x}); }
  Value *sqrt(Value *x) { return create(OpKind::Sqrt, {x}); }
  Value *rsqrt(Value *x) { return create(OpKind::Rsqrt, {x}); }
  Value *cast(Value *x, DType d);
  Value *add(Value *a, Value *b) { return create(OpKind::Add, {a, b}); }
  Value *sub(Value *a, Value *b) { return create(OpKind::Sub, {a, b}); }
  Value *mul(Value *a, Value *b) { return create(OpKind::Mul, {a, b}); }
  Value *div(Value *a, Value *b) { return create(OpKind::Div, {a, b}); }
  Value *max(Value *a, Value *b) { return create(OpKind::Max, {a, b}); }
  Value *min(Value *a, Value *b) { return create(OpKind::Min, {a, b}); }
  Value *pow(Value *a, Value *b) { return create(OpKind::Pow, {a, b}); }
  Value *compare(Value *a, Value *b, CmpDir d) { return create(OpKind::Compare, {a, b}, CompareAttrs{d}); }
  Value *select(Value *p, Value *a, Value *b) { return create(OpKind::Select, {p, a, b}); }

  // Data movement.
  /// broadcast_in_dim: operand dim i -> result dim dims[i].
  Value *broadcast(Value *x, Shape shape, std::vector<int64_t> dims);
  /// Numpy-style broadcast of \p x to \p shape (trailing dims aligned); x itself when equal.
  Value *broadcastTo(Value *x, const Shape &shape);
  Value *reshape(Value *x, Shape shape);
  Value *transpose(Value *x, std::vector<int64_t> perm);
  Value *slice(Value *x, std::vector<int64_t> start, std::vector<int64_t> limit,
               std::vector<int64_t> stride = {});
  Value *concat(std::vector<Value *> xs, int64_t axis);
  Value *pad(Value *x, std::vector<int64_t> low, std::vector<int64_t> high, double value = 0.0);

  // Reductions.
  Value *reduceSum(Value *x, std::vector<int64_t> axes) { return create(OpKind::ReduceSum, {x}, ReduceAttrs{std::move(axes)}); }
  Value *reduceMax(Value *x, std::vector<int64_t> axes) { return create(OpKind::ReduceMax, {x}, ReduceAttrs{std::move(axes)}); }

  // Contractions, convolution, pooling.
  Value *matmul(Value *a, Value *b, bool transposeA = false, bool transposeB = false) {
    return create(OpKind::MatMul, {a, b}, MatMulAttrs{transposeA, transposeB});
  }
  Value *conv2d(Value *x, Value *w, ConvAttrs a) { return create(OpKind::Conv2d, {x, w}, std::move(a)); }
  Value *conv2dInputGrad(Value *dy, Value *w, ConvAttrs a, TensorType xType) {
    return create(OpKind::Conv2dInputGrad, {dy, w}, std::move(a), std::move(xType));
  }
  Value *conv2dFilterGrad(Value *x, Value *dy, ConvAttrs a, TensorType wType) {
    return create(OpKind::Conv2dFilterGrad, {x, dy}, std::move(a), std::move(wType));
  }
  Value *maxPool2d(Value *x, PoolAttrs a) { return create(OpKind::MaxPool2d, {x}, std::move(a)); }
  Value *maxPool2dGrad(Value *x, Value *dy, PoolAttrs a) { return create(OpKind::MaxPool2dGrad, {x, dy}, std::move(a)); }
  Value *avgPool2d(Value *x, PoolAttrs a) { return create(OpKind::AvgPool2d, {x}, std::move(a)); }
  Value *avgPool2dGrad(Value *dy, PoolAttrs a, TensorType xType) {
    return create(OpKind::AvgPool2dGrad, {dy}, std::move(a), std::move(xType));
  }

  // Labels.
  /// labels[...] (integer) -> dtype[..., depth]: 1 where the last index equals the label.
  Value *oneHot(Value *labels, int64_t depth, DType d = DType::F32);

 private:
  Function &f_;
  const Node *before_ = nullptr;
  Location loc_;
};

}  // namespace dlc
