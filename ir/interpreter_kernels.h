//===- ir/interpreter_kernels.h - internals shared by the interpreter files -===//
//
// Private to ir/interpreter*.cpp. OpCtx is what one kernel sees of the op it evaluates;
// the arith* helpers give every dtype the interpreter's numeric conventions (integers
// wrap, integer division by zero is 0) without undefined behaviour; forEachIndex walks
// a shape in row-major order. The kernels of each op family are declared at the end.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cmath>
#include <limits>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "ir/approx_math.h"
#include "ir/attrs.h"
#include "ir/diagnostic.h"
#include "ir/host_tensor.h"
#include "ir/op_kind.h"
#include "ir/types.h"

namespace dlc::interp {

/// One op to evaluate: kind, attributes, the stated result type and operand values.
struct OpCtx {
  OpKind kind;
  const Attrs &attrs;
  const TensorType &type;
  std::span<const HostTensor *const> in;
  const Location &loc;
  MathMode math = MathMode::Vector;  ///< f32 exp, log, tanh, sigmoid

  /// An Error at the op's location, prefixed with the op's mnemonic in quotes.
  template <class... Args> Error error(fmt::format_string<Args...> f, Args &&...args) const {
    return makeError(loc, "'{}' {}", mnemonic(kind), fmt::format(f, std::forward<Args>(args)...));
  }
  /// The attributes; evaluateOp has checked that they are the struct ops.def names.
  template <class A> const A &attrsAs() const {
    const A *a = std::get_if<A>(&attrs);
    DL_ASSERT(a != nullptr, "attributes checked by evaluateOp");
    return *a;
  }
  const HostTensor &operand(size_t i) const { return *in[i]; }
};

using Result = Expected<HostTensor>;

/// Returns the Error of an Expected<void> expression from the enclosing kernel.
#define DL_CHECK(expr)                                                                                       \
  do {                                                                                                       \
    if (auto ok_ = (expr); !ok_) return ok_.takeError();                                                     \
  } while (0)

/// Checks that the result has shape \p expected.
inline Expected<void> expectResultShape(const OpCtx &c, const Shape &expected) {
  if (c.type.shape != expected)
    return c.error("result shape {} should be {}", shapeString(c.type.shape), shapeString(expected));
  return {};
}

/// Element types an op accepts.
enum class Domain { Float, Numeric, Any };
/// True when C++ element type T belongs to domain D (Numeric: floats and i32/i64).
template <Domain D, class T>
inline constexpr bool kInDomain = D == Domain::Any || std::is_floating_point_v<T> ||
                                  (D == Domain::Numeric && std::is_signed_v<T>);

/// Wrapping integer arithmetic and plain float arithmetic.
template <class T> T arithAdd(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return a + b;
  }
}
template <class T> T arithSub(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
  } else {
    return a - b;
  }
}
template <class T> T arithMul(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
  } else {
    return a * b;
  }
}
/// acc + a * b of a contraction (matmul, conv2d and its gradients): one fused
/// multiply-add (a single rounding) for floats, wrapping arithmetic for integers.
template <class T> T arithMulAdd(T a, T b, T acc) {
  if constexpr (std::is_integral_v<T>) {
    return arithAdd(acc, arithMul(a, b));
  } else {
    return std::fma(a, b, acc);
  }
}
/// Integer division truncates; x / 0 == 0 and lowest / -1 == lowest.
template <class T> T arithDiv(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    if (b == 0) return 0;
    if (std::is_signed_v<T> && b == T(-1)) return arithSub(T(0), a);
    return static_cast<T>(a / b);
  } else {
    return a / b;
  }
}
/// -a (for floats a sign flip, so -(+0) == -0).
template <class T> T arithNeg(T a) {
  if constexpr (std::is_integral_v<T>)
    return arithSub(T(0), a);
  else
    return -a;
}
/// |a|; for integers |lowest| == lowest.
template <class T> T arithAbs(T a) {
  if constexpr (std::is_integral_v<T>)
    return a < 0 ? arithNeg(a) : a;
  else
    return std::fabs(a);
}

/// max/min propagating NaN; ties return \p a.
template <class T> T arithMax(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return a;
    if (std::isnan(b)) return b;
  }
  return a < b ? b : a;
}
template <class T> T arithMin(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return a;
    if (std::isnan(b)) return b;
  }
  return b < a ? b : a;
}
/// -inf for floats, the lowest value for integers: the identity of max.
template <class T> T lowestOrNegInf() {
  if constexpr (std::is_floating_point_v<T>)
    return -std::numeric_limits<T>::infinity();
  else
    return std::numeric_limits<T>::lowest();
}

/// Calls f(index, flat) for every multi-index of \p s, in row-major order.
template <class F> void forEachIndex(const Shape &s, F &&f) {
  int64_t n = numElements(s).value_or(0);
  std::vector<int64_t> idx(s.size(), 0);
  for (int64_t flat = 0; flat < n; ++flat) {
    f(std::as_const(idx), flat);
    for (size_t d = s.size(); d-- > 0;) {
      if (++idx[d] < s[d]) break;
      idx[d] = 0;
    }
  }
}

/// Flat row-major offset of \p idx with \p strides.
inline int64_t offsetOf(std::span<const int64_t> idx, std::span<const int64_t> strides) {
  int64_t off = 0;
  for (size_t d = 0; d < idx.size(); ++d)
    off += idx[d] * strides[d];
  return off;
}

// Sources, data movement, reductions and labels (interpreter_data.cpp).
Result evalConstant(const OpCtx &c);
Result evalIota(const OpCtx &c);
Result evalBroadcast(const OpCtx &c);
Result evalReshape(const OpCtx &c);
Result evalTranspose(const OpCtx &c);
Result evalSlice(const OpCtx &c);
Result evalConcat(const OpCtx &c);
Result evalPad(const OpCtx &c);
Result evalReduceSum(const OpCtx &c);
Result evalReduceMax(const OpCtx &c);
Result evalOneHot(const OpCtx &c);

// Contractions, convolution and pooling (interpreter_nn.cpp).
Result evalMatMul(const OpCtx &c);
Result evalConv2d(const OpCtx &c);
Result evalConv2dInputGrad(const OpCtx &c);
Result evalConv2dFilterGrad(const OpCtx &c);
Result evalMaxPool2d(const OpCtx &c);
Result evalMaxPool2dGrad(const OpCtx &c);
Result evalAvgPool2d(const OpCtx &c);
Result evalAvgPool2dGrad(const OpCtx &c);

}  // namespace dlc::interp
