//===- fuzz/graph_generator.h - random valid graphs from fuzz bytes ---------===//
//
// The generator of fuzz_graph.cpp: each step picks an op kind from the op table,
// operands from the values built so far (or new arguments), shapes (numpy broadcasting
// for elementwise operands) and attributes, and keeps the node when the shape rules
// accept it and its result is small. Every op kind has a case (the switch is exhaustive),
// so a new op in ops.def fails to build here until the generator covers it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "ir/builder.h"
#include "ir/shape_inference.h"

namespace dlc::fuzz {

/// Bounds that keep every input fast: elements per value, arguments, generator steps.
constexpr int64_t kMaxElements = 2048;
constexpr size_t kMaxArgs = 8;
constexpr int kMaxNodes = 12;

/// Builds one function into \p f from the bytes of \p in (see the file comment).
class Generator {
 public:
  Generator(FuzzedDataProvider &in, Function &f) : in_(in), f_(f), b_(f) {}

  void build() {
    const int nArgs = in_.ConsumeIntegralInRange<int>(1, 3);
    for (int i = 0; i < nArgs; ++i) newArg(TensorType{DType::F32, shape(3)});
    if (pool_.empty()) newArg(TensorType{DType::F32, {}});  // every shape drawn was too large
    const int nNodes = in_.ConsumeIntegralInRange<int>(1, kMaxNodes);
    for (int i = 0; i < nNodes && in_.remaining_bytes() > 0; ++i) step();
  }

  /// Values of the function, in creation order (arguments first).
  const std::vector<Value *> &values() const { return pool_; }

  int64_t dim() {
    static constexpr int64_t kDims[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 1, 2, 3, 0};
    return kDims[in_.ConsumeIntegralInRange<size_t>(0, std::size(kDims) - 1)];
  }
  Shape shape(int maxRank) {
    Shape s(static_cast<size_t>(in_.ConsumeIntegralInRange<int>(0, maxRank)));
    for (int64_t &d : s) d = dim();
    return s;
  }

 private:
  Value *newArg(TensorType t) {
    if (f_.numArgs() >= kMaxArgs || !small(t)) return nullptr;
    Value *v = f_.addArg(std::move(t), "a" + std::to_string(f_.numArgs()));
    pool_.push_back(v);
    return v;
  }
  static bool small(const TensorType &t) {
    std::optional<int64_t> n = numElements(t.shape);
    return n && *n <= kMaxElements;
  }
  /// A value from the pool, preferring \p d; null if the pool has no value of that dtype.
  Value *pick(std::optional<DType> d = DType::F32) {
    std::vector<Value *> c;
    for (Value *v : pool_)
      if (!d || v->dtype() == *d) c.push_back(v);
    if (c.empty()) return nullptr;
    return c[in_.ConsumeIntegralInRange<size_t>(0, c.size() - 1)];
  }
  /// A value of rank \p r: from the pool, or a new f32 argument.
  Value *pickRank(int64_t r) {
    std::vector<Value *> c;
    for (Value *v : pool_)
      if (v->rank() == r && isFloat(v->dtype())) c.push_back(v);
    if (!c.empty() && in_.ConsumeBool()) return c[in_.ConsumeIntegralInRange<size_t>(0, c.size() - 1)];
    Shape s(static_cast<size_t>(r));
    for (int64_t &d : s) d = dim();
    return newArg(TensorType{DType::F32, s});
  }
  std::vector<int64_t> axesOf(int64_t rank) {
    std::vector<int64_t> axes;
    for (int64_t i = 0; i < rank; ++i)
      if (in_.ConsumeBool()) axes.push_back(i);
    return axes;
  }
  std::vector<int64_t> ints(size_t n, int64_t lo, int64_t hi) {
    std::vector<int64_t> v(n);
    for (int64_t &x : v) x = in_.ConsumeIntegralInRange<int64_t>(lo, hi);
    return v;
  }
  double constantValue() {
    static constexpr double kValues[] = {0.0, 1.0, -1.0, 0.5, 2.0, -3.25, 1e-3, 100.0, -0.0, 1e30};
    return kValues[in_.ConsumeIntegralInRange<size_t>(0, std::size(kValues) - 1)];
  }
  /// Both operands broadcast numpy-style to a common shape (explicit broadcasts).
  bool broadcastPair(Value *&a, Value *&b) {
    if (a->shape() == b->shape()) return true;
    std::optional<Shape> s = broadcastShapes(a->shape(), b->shape());
    if (!s || !small(TensorType{a->dtype(), *s})) return false;
    a = b_.broadcastTo(a, *s);
    b = b_.broadcastTo(b, *s);
    pool_.push_back(a);
    pool_.push_back(b);
    return true;
  }
  /// Adds node \p k when the shape rules accept it and its result is small.
  Value *add(OpKind k, std::vector<Value *> ops, Attrs attrs = NoAttrs{}, std::optional<TensorType> given = {}) {
    for (Value *v : ops)
      if (!v) return nullptr;
    std::vector<TensorType> types;
    for (Value *v : ops) types.push_back(v->type());
    Expected<TensorType> t = inferType(k, types, attrs, given ? &*given : nullptr);
    if (!t || !small(*t)) return nullptr;
    Value *v = b_.create(k, std::move(ops), std::move(attrs), std::move(given));
    pool_.push_back(v);
    return v;
  }

  ConvAttrs convAttrs() {
    ConvAttrs a;
    a.stride = ints(2, 1, 3);
    a.padding = ints(2, 0, 2);
    a.dilation = ints(2, 1, 2);
    return a;
  }
  PoolAttrs poolAttrs() {
    PoolAttrs a;
    a.window = ints(2, 1, 3);
    a.stride = ints(2, 1, 3);
    a.padding = ints(2, 0, 1);
    return a;
  }
  Value *nchw() {
    return newArg(TensorType{DType::F32, {dim() % 3 + 1, dim() % 4 + 1, dim() % 9 + 1, dim() % 9 + 1}});
  }

  void step() {
    const OpKind k = opKindAt(in_.ConsumeIntegralInRange<int>(0, kNumOps - 1));
    switch (k) {
      case OpKind::Constant: {
        TensorType t{in_.ConsumeBool() ? DType::F32 : DType::F64, shape(3)};
        if (!small(t)) return;
        std::vector<double> values{constantValue()};
        if (in_.ConsumeBool() && numElements(t.shape).value_or(0) > 0) {
          values.resize(static_cast<size_t>(*numElements(t.shape)));
          for (double &v : values) v = constantValue();
        }
        add(k, {}, ConstantAttrs{values}, t);
        return;
      }
      case OpKind::Iota: {
        const DType d = in_.ConsumeBool() ? DType::F32 : DType::I32;
        Shape s = shape(3);
        if (s.empty()) s.push_back(dim());
        add(k, {}, IotaAttrs{in_.ConsumeIntegralInRange<int64_t>(0, static_cast<int64_t>(s.size()) - 1)},
            TensorType{d, s});
        return;
      }
      case OpKind::Neg:
      case OpKind::StopGradient:
      case OpKind::Abs:
      case OpKind::Sign:
      case OpKind::Exp:
      case OpKind::Log:
      case OpKind::Tanh:
      case OpKind::Sigmoid:
      case OpKind::Sqrt:
      case OpKind::Rsqrt:
        add(k, {pick(in_.ConsumeBool() ? std::optional<DType>() : DType::F32)});
        return;
      case OpKind::Cast: {
        static constexpr DType kTo[] = {DType::F32, DType::F64, DType::I32, DType::I64, DType::I1};
        Value *x = pick(std::nullopt);
        if (!x) return;
        add(k, {x}, NoAttrs{}, TensorType{kTo[in_.ConsumeIntegralInRange<size_t>(0, 4)], x->shape()});
        return;
      }
      case OpKind::Add:
      case OpKind::Sub:
      case OpKind::Mul:
      case OpKind::Div:
      case OpKind::Max:
      case OpKind::Min:
      case OpKind::Pow:
      case OpKind::Compare: {
        Value *a = pick(), *b = pick();
        if (!a || !b || !broadcastPair(a, b)) return;
        Attrs attrs = NoAttrs{};
        if (k == OpKind::Compare) attrs = CompareAttrs{static_cast<CmpDir>(in_.ConsumeIntegralInRange<int>(0, 5))};
        add(k, {a, b}, attrs);
        return;
      }
      case OpKind::Select: {
        Value *a = pick(), *b = pick(), *c = pick(), *d = pick();
        if (!a || !b || !c || !d || !broadcastPair(a, b) || !broadcastPair(c, d) || !broadcastPair(a, c)) return;
        if (a->shape() != b->shape()) return;
        Value *p = add(OpKind::Compare, {a, b}, CompareAttrs{static_cast<CmpDir>(in_.ConsumeIntegralInRange<int>(0, 5))});
        add(k, {p, c, d});
        return;
      }
      case OpKind::Broadcast: {
        Value *x = pick(std::nullopt);
        if (!x) return;
        const int64_t r = x->rank(), extra = in_.ConsumeIntegralInRange<int64_t>(0, 2);
        std::vector<int64_t> dims;
        for (int64_t i = 0, next = 0; i < r; ++i) {  // increasing positions in the result
          next += in_.ConsumeIntegralInRange<int64_t>(0, extra);
          dims.push_back(std::min(next + i, r + extra - 1));
        }
        Shape s(static_cast<size_t>(r + extra), 0);
        for (int64_t &d : s) d = dim();
        for (int64_t i = 0; i < r; ++i)
          if (x->shape()[i] != 1 || in_.ConsumeBool()) s[dims[i]] = x->shape()[i];
        add(k, {x}, BroadcastAttrs{dims}, TensorType{x->dtype(), s});
        return;
      }
      case OpKind::Reshape: {
        Value *x = pick(std::nullopt);
        if (!x) return;
        const int64_t n = numElements(x->shape()).value_or(0);
        Shape s;
        int64_t left = n;
        for (int64_t f : {2, 3, 4, 5}) {  // split off small factors, the rest last
          if (left > 0 && left % f == 0 && in_.ConsumeBool()) {
            s.push_back(f);
            left /= f;
          }
        }
        if (left != 1 || s.empty() || in_.ConsumeBool()) s.push_back(left);
        add(k, {x}, NoAttrs{}, TensorType{x->dtype(), s});
        return;
      }
      case OpKind::Transpose: {
        Value *x = pick(std::nullopt);
        if (!x) return;
        std::vector<int64_t> perm(static_cast<size_t>(x->rank()));
        for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(i);
        for (size_t i = perm.size(); i > 1; --i) std::swap(perm[i - 1], perm[in_.ConsumeIntegralInRange<size_t>(0, i - 1)]);
        add(k, {x}, TransposeAttrs{perm});
        return;
      }
      case OpKind::Slice: {
        Value *x = pick(std::nullopt);
        if (!x) return;
        SliceAttrs a;
        for (int64_t d : x->shape()) {
          const int64_t lo = in_.ConsumeIntegralInRange<int64_t>(0, d);
          a.start.push_back(lo);
          a.limit.push_back(in_.ConsumeIntegralInRange<int64_t>(lo, d));
          a.stride.push_back(in_.ConsumeIntegralInRange<int64_t>(1, 3));
        }
        add(k, {x}, a);
        return;
      }
      case OpKind::Concat: {
        Value *x = pick(std::nullopt);
        if (!x || x->rank() == 0) return;
        const int64_t axis = in_.ConsumeIntegralInRange<int64_t>(0, x->rank() - 1);
        std::vector<Value *> ops{x};
        for (Value *v : pool_)  // others of the same shape apart from `axis`
          if (v != x && v->dtype() == x->dtype() && v->rank() == x->rank() && ops.size() < 3 && in_.ConsumeBool()) {
            bool fits = true;
            for (int64_t i = 0; i < x->rank(); ++i) fits &= i == axis || v->shape()[i] == x->shape()[i];
            if (fits) ops.push_back(v);
          }
        if (in_.ConsumeBool()) ops.push_back(x);
        add(k, ops, ConcatAttrs{axis});
        return;
      }
      case OpKind::Pad: {
        Value *x = pick(std::nullopt);
        if (!x) return;
        const size_t r = static_cast<size_t>(x->rank());
        add(k, {x}, PadAttrs{ints(r, -1, 2), ints(r, -1, 2), constantValue()});
        return;
      }
      case OpKind::ReduceSum:
      case OpKind::ReduceMax: {
        Value *x = pick(in_.ConsumeBool() ? std::optional<DType>() : DType::F32);
        if (!x) return;
        add(k, {x}, ReduceAttrs{axesOf(x->rank())});
        return;
      }
      case OpKind::MatMul: {
        const bool ta = in_.ConsumeBool(), tb = in_.ConsumeBool();
        Value *a = pickRank(2);
        if (!a) return;
        const int64_t kdim = a->shape()[ta ? 0 : 1], n = dim();
        Value *b = newArg(TensorType{DType::F32, tb ? Shape{n, kdim} : Shape{kdim, n}});
        add(k, {a, b}, MatMulAttrs{ta, tb});
        return;
      }
      case OpKind::Conv2d:
      case OpKind::Conv2dInputGrad:
      case OpKind::Conv2dFilterGrad: {
        Value *x = nchw();
        if (!x) return;
        const int64_t c = x->shape()[1];
        Value *w = newArg(TensorType{DType::F32, {dim() % 4 + 1, c, dim() % 3 + 1, dim() % 3 + 1}});
        const ConvAttrs a = convAttrs();
        Value *y = add(OpKind::Conv2d, {x, w}, a);
        if (!y || k == OpKind::Conv2d) return;
        Value *dy = newArg(y->type());
        if (k == OpKind::Conv2dInputGrad) add(k, {dy, w}, a, x->type());
        else add(k, {x, dy}, a, w->type());
        return;
      }
      case OpKind::MaxPool2d:
      case OpKind::MaxPool2dGrad:
      case OpKind::AvgPool2d:
      case OpKind::AvgPool2dGrad: {
        Value *x = nchw();
        if (!x) return;
        const PoolAttrs a = poolAttrs();
        const bool isMax = k == OpKind::MaxPool2d || k == OpKind::MaxPool2dGrad;
        Value *y = add(isMax ? OpKind::MaxPool2d : OpKind::AvgPool2d, {x}, a);
        if (!y || k == OpKind::MaxPool2d || k == OpKind::AvgPool2d) return;
        Value *dy = newArg(y->type());
        if (k == OpKind::MaxPool2dGrad) add(k, {x, dy}, a);
        else add(k, {dy}, a, x->type());
        return;
      }
      case OpKind::OneHot: {
        Value *labels = newArg(TensorType{DType::I32, shape(2)});
        if (!labels) return;
        Shape s = labels->shape();
        s.push_back(in_.ConsumeIntegralInRange<int64_t>(1, 10));
        add(k, {labels}, NoAttrs{}, TensorType{DType::F32, s});
        return;
      }
    }
  }

  FuzzedDataProvider &in_;
  Function &f_;
  Builder b_;
  std::vector<Value *> pool_;
};

}  // namespace dlc::fuzz
