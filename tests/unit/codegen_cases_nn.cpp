//===- tests/unit/codegen_cases_nn.cpp - cases: matmul, convolution, pooling ===//
#include "codegen_cases.h"
#include "ir/shape_inference.h"

namespace dlc::test {

std::vector<JitCase> matmulCases(Rng &r) {
  std::vector<JitCase> cases;
  for (DType d : {DType::F32, DType::F64, DType::I32})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        Shape batch = r.shape(r.uniformInt(0, 1));
        const int64_t m = r.dim(), n = r.dim(), k = r.dim();
        Shape a = batch, b = batch;
        a.insert(a.end(), ta ? std::initializer_list<int64_t>{k, m} : std::initializer_list<int64_t>{m, k});
        b.insert(b.end(), tb ? std::initializer_list<int64_t>{n, k} : std::initializer_list<int64_t>{k, n});
        cases.push_back(opCase(r, OpKind::MatMul, {TensorType{d, a}, TensorType{d, b}}, MatMulAttrs{ta, tb}));
      }
  // Wider than one column block of the blocked kernel, and an empty contraction.
  cases.push_back(opCase(r, OpKind::MatMul, {f32({3, 37}), f32({37, 531})}, MatMulAttrs{}));
  cases.push_back(opCase(r, OpKind::MatMul, {f32({4, 0}), f32({0, 5})}, MatMulAttrs{}));
  return cases;
}

namespace {

struct PoolCase {
  TensorType x, y;
  PoolAttrs a;
};

PoolCase randomPool(Rng &r, DType d) {
  while (true) {
    PoolCase c;
    c.a.window = {r.uniformInt(1, 3), r.uniformInt(1, 3)};
    c.a.stride = {r.uniformInt(1, 3), r.uniformInt(1, 3)};
    c.a.padding = {r.uniformInt(0, c.a.window[0] - 1), r.uniformInt(0, c.a.window[1] - 1)};
    c.x = TensorType{d, {r.uniformInt(1, 2), r.uniformInt(1, 3), r.uniformInt(1, 9), r.uniformInt(1, 9)}};
    Expected<TensorType> y = inferType(OpKind::MaxPool2d, std::vector<TensorType>{c.x}, c.a);
    if (!y) continue;
    c.y = *y;
    return c;
  }
}

}  // namespace

ConvGeometry randomConvGeometry(Rng &r, DType d, const ConvBounds &b) {
  while (true) {
    ConvGeometry g;
    const int64_t n = r.uniformInt(1, b.batch), c = r.uniformInt(1, b.channels), o = r.uniformInt(1, b.outChannels);
    const int64_t h = r.uniformInt(1, b.height), w = r.uniformInt(1, b.width);
    const int64_t kh = r.uniformInt(1, b.kernel), kw = r.uniformInt(1, b.kernel);
    g.a.stride = {r.uniformInt(1, b.stride), r.uniformInt(1, b.stride)};
    g.a.padding = {r.uniformInt(0, b.padding), r.uniformInt(0, b.padding)};
    g.a.dilation = {r.uniformInt(1, 2), r.uniformInt(1, 2)};
    g.x = TensorType{d, {n, c, h, w}};
    g.w = TensorType{d, {o, c, kh, kw}};
    Expected<TensorType> y = inferType(OpKind::Conv2d, std::vector<TensorType>{g.x, g.w}, g.a);
    if (!y) continue;
    g.y = *y;
    return g;
  }
}

JitCase convCaseOf(Rng &r, OpKind k, const ConvGeometry &g) {
  if (k == OpKind::Conv2d) return opCase(r, k, {g.x, g.w}, g.a);
  if (k == OpKind::Conv2dInputGrad) return opCase(r, k, {g.y, g.w}, g.a, g.x);
  return opCase(r, k, {g.x, g.y}, g.a, g.w);
}

std::vector<JitCase> convCases(OpKind k, Rng &r) {
  std::vector<JitCase> cases;
  for (DType d : {DType::F32, DType::F64})
    for (int i = 0; i < 3; ++i) cases.push_back(convCaseOf(r, k, randomConvGeometry(r, d)));
  return cases;
}

std::vector<JitCase> poolCases(OpKind k, Rng &r) {
  std::vector<JitCase> cases;
  for (DType d : {DType::F32, DType::F64})
    for (int i = 0; i < 3; ++i) {
      PoolCase c = randomPool(r, d);
      InputStyle style;
      style.ties = i == 0;  // equal maxima: the first one wins
      style.special = 0.05;
      if (k == OpKind::MaxPool2d || k == OpKind::AvgPool2d) cases.push_back(opCase(r, k, {c.x}, c.a, {}, style));
      else if (k == OpKind::MaxPool2dGrad) cases.push_back(opCase(r, k, {c.x, c.y}, c.a, {}, style));
      else cases.push_back(opCase(r, k, {c.y}, c.a, c.x, style));
    }
  // Windows that tile the input (stride = window, no padding): the row kernel of max
  // pooling's gradient (conv.cpp), rows and columns past the last window included.
  if (k == OpKind::MaxPool2d || k == OpKind::MaxPool2dGrad)
    for (DType d : {DType::F32, DType::F64})
      for (int i = 0; i < 3; ++i) {
        PoolCase c;
        c.a.window = {r.uniformInt(1, 3), r.uniformInt(1, 3)};
        c.a.stride = c.a.window;
        c.a.padding = {0, 0};
        c.x = TensorType{d, {r.uniformInt(1, 2), r.uniformInt(1, 3), r.uniformInt(3, 9), r.uniformInt(3, 37)}};
        c.y = *inferType(OpKind::MaxPool2d, std::vector<TensorType>{c.x}, c.a);
        InputStyle style;
        style.ties = i != 1;
        style.special = 0.05;
        cases.push_back(k == OpKind::MaxPool2d ? opCase(r, k, {c.x}, c.a, {}, style)
                                               : opCase(r, k, {c.x, c.y}, c.a, {}, style));
      }
  return cases;
}

}  // namespace dlc::test
