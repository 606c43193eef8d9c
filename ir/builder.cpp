//===- ir/builder.cpp - creating typed nodes -------------------------------===//
#include "ir/builder.h"

#include "ir/shape_inference.h"

namespace dlc {

Expected<Value *> Builder::tryCreate(OpKind k, std::vector<Value *> operands, Attrs attrs,
                                     std::optional<TensorType> given) {
  std::vector<TensorType> types;
  types.reserve(operands.size());
  for (Value *v : operands) {
    DL_ASSERT(v != nullptr, "null operand");
    types.push_back(v->type());
  }
  Expected<TensorType> t = inferType(k, types, attrs, given ? &*given : nullptr);
  if (!t) {
    Error e = t.takeError();
    for (Diagnostic &d : e.diagnostics())
      if (!d.loc.isKnown()) d.loc = loc_;
    return e;
  }
  return f_.createNode(k, std::move(operands), std::move(*t), std::move(attrs), loc_, before_)->result();
}

Value *Builder::create(OpKind k, std::vector<Value *> operands, Attrs attrs, std::optional<TensorType> given) {
  Expected<Value *> v = tryCreate(k, std::move(operands), std::move(attrs), std::move(given));
  if (!v) DL_UNREACHABLE(fmt::format("building invalid IR: {}", v.error().str()));
  return *v;
}

Value *Builder::constant(double v, TensorType t) {
  return create(OpKind::Constant, {}, ConstantAttrs{{v}}, std::move(t));
}

Value *Builder::constant(std::vector<double> v, TensorType t) {
  return create(OpKind::Constant, {}, ConstantAttrs{std::move(v)}, std::move(t));
}

Value *Builder::iota(TensorType t, int64_t dim) { return create(OpKind::Iota, {}, IotaAttrs{dim}, std::move(t)); }

Value *Builder::cast(Value *x, DType d) {
  if (x->dtype() == d) return x;
  return create(OpKind::Cast, {x}, NoAttrs{}, TensorType{d, x->shape()});
}

Value *Builder::broadcast(Value *x, Shape shape, std::vector<int64_t> dims) {
  return create(OpKind::Broadcast, {x}, BroadcastAttrs{std::move(dims)}, TensorType{x->dtype(), std::move(shape)});
}

Value *Builder::broadcastTo(Value *x, const Shape &shape) {
  if (x->shape() == shape) return x;
  const int64_t r = x->rank(), target = static_cast<int64_t>(shape.size());
  DL_ASSERT(r <= target, "broadcastTo cannot drop dims");
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < r; ++i) dims.push_back(target - r + i);
  return broadcast(x, shape, std::move(dims));
}

Value *Builder::reshape(Value *x, Shape shape) {
  if (x->shape() == shape) return x;
  return create(OpKind::Reshape, {x}, NoAttrs{}, TensorType{x->dtype(), std::move(shape)});
}

Value *Builder::transpose(Value *x, std::vector<int64_t> perm) {
  return create(OpKind::Transpose, {x}, TransposeAttrs{std::move(perm)});
}

Value *Builder::slice(Value *x, std::vector<int64_t> start, std::vector<int64_t> limit, std::vector<int64_t> stride) {
  if (stride.empty()) stride.assign(start.size(), 1);
  return create(OpKind::Slice, {x}, SliceAttrs{std::move(start), std::move(limit), std::move(stride)});
}

Value *Builder::concat(std::vector<Value *> xs, int64_t axis) {
  return create(OpKind::Concat, std::move(xs), ConcatAttrs{axis});
}

Value *Builder::pad(Value *x, std::vector<int64_t> low, std::vector<int64_t> high, double value) {
  return create(OpKind::Pad, {x}, PadAttrs{std::move(low), std::move(high), value});
}

Value *Builder::oneHot(Value *labels, int64_t depth, DType d) {
  Shape s = labels->shape();
  s.push_back(depth);
  return create(OpKind::OneHot, {labels}, NoAttrs{}, TensorType{d, std::move(s)});
}

}  // namespace dlc
