//===- frontend/tensor.cpp - Tensor handles and elementwise ops -------------===//
//
// Elementwise arithmetic, comparisons and selection with numpy-style broadcasting.
// Shapes, reductions and contractions are in tensor_shape.cpp.
//
//===----------------------------------------------------------------------===//
#include "frontend/tensor.h"

#include "frontend/graph.h"
#include "frontend/tensor_impl.h"
#include "ir/shape_inference.h"

namespace dlc {

//===----------------------------------------------------------------------===//
// Tensor
//===----------------------------------------------------------------------===//

const TensorType &Tensor::type() const {
  static const TensorType kInvalidType{DType::F32, {}};
  return value_ ? value_->type() : kInvalidType;
}

int64_t Tensor::dim(int64_t i) const {
  int64_t r = rank();
  if (i < 0) i += r;
  return i >= 0 && i < r ? shape()[static_cast<size_t>(i)] : 0;
}

Tensor Tensor::named(std::string name, std::source_location loc) const {
  if (!graph_) return *this;
  Tensor self[] = {*this};
  if (graph_->checkOperands(self, loc)) graph_->nameValue(value_, std::move(name), loc);
  return *this;
}

//===----------------------------------------------------------------------===//
// Shared helpers (tensor_impl.h)
//===----------------------------------------------------------------------===//

namespace detail {

Graph *graphOf(std::initializer_list<const Tensor *> ts) {
  for (const Tensor *t : ts)
    if (t->graph()) return t->graph();
  return nullptr;
}

bool check(Graph *g, std::initializer_list<Tensor> ts, SrcLoc loc) {
  std::vector<Tensor> v(ts);
  return g->checkOperands(v, loc);
}

Tensor splat(const Tensor &like, double v, SrcLoc loc) {
  return like.graph()->constant(v, like.type(), loc);
}

}  // namespace detail

using detail::graphOf;

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

/// Broadcasts \p a and \p b to their common shape and applies binary op \p k.
static Tensor binary(OpKind k, const Tensor &a, const Tensor &b, Attrs attrs, SrcLoc loc) {
  Graph *g = graphOf({&a, &b});
  if (!g || !detail::check(g, {a, b}, loc)) return Tensor(g, nullptr);
  if (a.dtype() != b.dtype())
    return g->fail(makeDiag(g->locationOf(loc), "'{}' operand types differ: {} vs {}", mnemonic(k),
                            a.type(), b.type()));
  std::optional<Shape> s = broadcastShapes(a.shape(), b.shape());
  if (!s)
    return g->fail(makeDiag(g->locationOf(loc), "'{}' operands cannot be broadcast together: {} vs {}",
                            mnemonic(k), a.type(), b.type()));
  Tensor ops[] = {broadcastTo(a, *s, loc), broadcastTo(b, *s, loc)};
  return g->emit(k, ops, std::move(attrs), std::nullopt, loc);
}

/// Binary op \p k with the C++ scalar \p v on the right (or the left when \p scalarLeft).
static Tensor binaryScalar(OpKind k, const Tensor &x, double v, bool scalarLeft, Attrs attrs, SrcLoc loc) {
  Graph *g = x.graph();
  if (!g || !detail::check(g, {x}, loc)) return Tensor(g, nullptr);
  Tensor c = detail::splat(x, v, loc);
  return scalarLeft ? binary(k, c, x, std::move(attrs), loc) : binary(k, x, c, std::move(attrs), loc);
}

static Tensor unary(OpKind k, const Tensor &x, SrcLoc loc) {
  Graph *g = x.graph();
  if (!g) return Tensor();
  Tensor ops[] = {x};
  return g->emit(k, ops, NoAttrs{}, std::nullopt, loc);
}

Tensor add(const Tensor &a, const Tensor &b, SrcLoc loc) { return binary(OpKind::Add, a, b, NoAttrs{}, loc); }
Tensor sub(const Tensor &a, const Tensor &b, SrcLoc loc) { return binary(OpKind::Sub, a, b, NoAttrs{}, loc); }
Tensor mul(const Tensor &a, const Tensor &b, SrcLoc loc) { return binary(OpKind::Mul, a, b, NoAttrs{}, loc); }
Tensor div(const Tensor &a, const Tensor &b, SrcLoc loc) { return binary(OpKind::Div, a, b, NoAttrs{}, loc); }
Tensor maximum(const Tensor &a, const Tensor &b, SrcLoc loc) { return binary(OpKind::Max, a, b, NoAttrs{}, loc); }
Tensor minimum(const Tensor &a, const Tensor &b, SrcLoc loc) { return binary(OpKind::Min, a, b, NoAttrs{}, loc); }
Tensor pow(const Tensor &a, const Tensor &b, SrcLoc loc) { return binary(OpKind::Pow, a, b, NoAttrs{}, loc); }
Tensor maximum(const Tensor &a, double b, SrcLoc loc) {
  return binaryScalar(OpKind::Max, a, b, false, NoAttrs{}, loc);
}
Tensor minimum(const Tensor &a, double b, SrcLoc loc) {
  return binaryScalar(OpKind::Min, a, b, false, NoAttrs{}, loc);
}
Tensor pow(const Tensor &a, double b, SrcLoc loc) { return binaryScalar(OpKind::Pow, a, b, false, NoAttrs{}, loc); }

Tensor operator+(const Tensor &a, TensorAt b) { return add(a, b.tensor, b.loc); }
Tensor operator-(const Tensor &a, TensorAt b) { return sub(a, b.tensor, b.loc); }
Tensor operator*(const Tensor &a, TensorAt b) { return mul(a, b.tensor, b.loc); }
Tensor operator/(const Tensor &a, TensorAt b) { return div(a, b.tensor, b.loc); }
Tensor operator+(const Tensor &a, ScalarAt b) { return binaryScalar(OpKind::Add, a, b.value, false, NoAttrs{}, b.loc); }
Tensor operator-(const Tensor &a, ScalarAt b) { return binaryScalar(OpKind::Sub, a, b.value, false, NoAttrs{}, b.loc); }
Tensor operator*(const Tensor &a, ScalarAt b) { return binaryScalar(OpKind::Mul, a, b.value, false, NoAttrs{}, b.loc); }
Tensor operator/(const Tensor &a, ScalarAt b) { return binaryScalar(OpKind::Div, a, b.value, false, NoAttrs{}, b.loc); }
Tensor operator+(ScalarAt a, const Tensor &b) { return binaryScalar(OpKind::Add, b, a.value, true, NoAttrs{}, a.loc); }
Tensor operator-(ScalarAt a, const Tensor &b) { return binaryScalar(OpKind::Sub, b, a.value, true, NoAttrs{}, a.loc); }
Tensor operator*(ScalarAt a, const Tensor &b) { return binaryScalar(OpKind::Mul, b, a.value, true, NoAttrs{}, a.loc); }
Tensor operator/(ScalarAt a, const Tensor &b) { return binaryScalar(OpKind::Div, b, a.value, true, NoAttrs{}, a.loc); }
Tensor operator-(TensorAt x) { return neg(x.tensor, x.loc); }

Tensor neg(const Tensor &x, SrcLoc loc) { return unary(OpKind::Neg, x, loc); }
Tensor abs(const Tensor &x, SrcLoc loc) { return unary(OpKind::Abs, x, loc); }
Tensor sign(const Tensor &x, SrcLoc loc) { return unary(OpKind::Sign, x, loc); }
Tensor stopGradient(const Tensor &x, SrcLoc loc) { return unary(OpKind::StopGradient, x, loc); }
Tensor exp(const Tensor &x, SrcLoc loc) { return unary(OpKind::Exp, x, loc); }
Tensor log(const Tensor &x, SrcLoc loc) { return unary(OpKind::Log, x, loc); }
Tensor tanh(const Tensor &x, SrcLoc loc) { return unary(OpKind::Tanh, x, loc); }
Tensor sigmoid(const Tensor &x, SrcLoc loc) { return unary(OpKind::Sigmoid, x, loc); }
Tensor sqrt(const Tensor &x, SrcLoc loc) { return unary(OpKind::Sqrt, x, loc); }
Tensor rsqrt(const Tensor &x, SrcLoc loc) { return unary(OpKind::Rsqrt, x, loc); }
Tensor relu(const Tensor &x, SrcLoc loc) { return maximum(x, 0.0, loc); }

Tensor cast(const Tensor &x, DType to, SrcLoc loc) {
  Graph *g = x.graph();
  if (!g || !detail::check(g, {x}, loc)) return Tensor(g, nullptr);
  if (x.dtype() == to) return x;
  Tensor ops[] = {x};
  return g->emit(OpKind::Cast, ops, NoAttrs{}, TensorType{to, x.shape()}, loc);
}

Tensor compare(const Tensor &a, const Tensor &b, CmpDir dir, SrcLoc loc) {
  return binary(OpKind::Compare, a, b, CompareAttrs{dir}, loc);
}
Tensor compare(const Tensor &a, double b, CmpDir dir, SrcLoc loc) {
  return binaryScalar(OpKind::Compare, a, b, false, CompareAttrs{dir}, loc);
}
Tensor equal(const Tensor &a, const Tensor &b, SrcLoc loc) { return compare(a, b, CmpDir::Eq, loc); }
Tensor notEqual(const Tensor &a, const Tensor &b, SrcLoc loc) { return compare(a, b, CmpDir::Ne, loc); }
Tensor less(const Tensor &a, const Tensor &b, SrcLoc loc) { return compare(a, b, CmpDir::Lt, loc); }
Tensor lessEqual(const Tensor &a, const Tensor &b, SrcLoc loc) { return compare(a, b, CmpDir::Le, loc); }
Tensor greater(const Tensor &a, const Tensor &b, SrcLoc loc) { return compare(a, b, CmpDir::Gt, loc); }
Tensor greaterEqual(const Tensor &a, const Tensor &b, SrcLoc loc) { return compare(a, b, CmpDir::Ge, loc); }

Tensor where(const Tensor &cond, const Tensor &a, const Tensor &b, SrcLoc loc) {
  Graph *g = graphOf({&cond, &a, &b});
  if (!g || !detail::check(g, {cond, a, b}, loc)) return Tensor(g, nullptr);
  if (a.dtype() != b.dtype())
    return g->fail(makeDiag(g->locationOf(loc), "'select' operand types differ: {} vs {}", a.type(), b.type()));
  std::optional<Shape> s = broadcastShapes(cond.shape(), a.shape());
  if (s) s = broadcastShapes(*s, b.shape());
  if (!s)
    return g->fail(makeDiag(g->locationOf(loc), "'select' operands cannot be broadcast together: {}, {} and {}",
                            cond.type(), a.type(), b.type()));
  Tensor ops[] = {broadcastTo(cond, *s, loc), broadcastTo(a, *s, loc), broadcastTo(b, *s, loc)};
  return g->emit(OpKind::Select, ops, NoAttrs{}, std::nullopt, loc);
}

}  // namespace dlc
