//===- tests/unit/interp_nn_test.cpp - interpreter: matmul, conv, pooling ---===//
//
// Hand-computed cases, comparisons against naive formulas written here differently from
// the interpreter (explicitly padded inputs, scatter instead of gather), and adjoint
// identities for the gradient ops in f64:
//   <conv2d(x, w), dy> == <x, conv2d_input_grad(dy, w)> == <w, conv2d_filter_grad(x, dy)>
//   <avg_pool2d(x), dy> == <x, avg_pool2d_grad(dy)>
//   <max_pool2d(x), dy> == <x, max_pool2d_grad(x, dy)>  (max pooling is x -> S x locally)
//
//===----------------------------------------------------------------------===//
#include "interp_test_util.h"

namespace dlc::test {
namespace {

class InterpNN : public InterpTest {};

//===--- matmul -------------------------------------------------------------===//

INTERP_TEST(InterpNN, MatMulHandComputed, OpKind::MatMul) {
  // [[1,2,3],[4,5,6]] x [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]
  const std::vector<float> a{1, 2, 3, 4, 5, 6}, b{7, 8, 9, 10, 11, 12};
  const std::vector<float> aT{1, 4, 2, 5, 3, 6}, bT{7, 9, 11, 8, 10, 12};  // stored transposed
  const std::vector<float> want{58, 64, 139, 154};
  auto mm = [&](HostTensor x, HostTensor y, bool ta, bool tb) {
    return runOp(OpKind::MatMul, {std::move(x), std::move(y)}, f32({2, 2}), MatMulAttrs{ta, tb});
  };
  EXPECT_TRUE(tensorEq<float>(mm(f32t({2, 3}, a), f32t({3, 2}, b), false, false), {2, 2}, want));
  EXPECT_TRUE(tensorEq<float>(mm(f32t({3, 2}, aT), f32t({3, 2}, b), true, false), {2, 2}, want));
  EXPECT_TRUE(tensorEq<float>(mm(f32t({2, 3}, a), f32t({2, 3}, bT), false, true), {2, 2}, want));
  EXPECT_TRUE(tensorEq<float>(mm(f32t({3, 2}, aT), f32t({2, 3}, bT), true, true), {2, 2}, want));
  EXPECT_TRUE(tensorEq<int32_t>(runOp(OpKind::MatMul,
                                      {i32t({2, 3}, {1, 2, 3, 4, 5, 6}), i32t({3, 2}, {7, 8, 9, 10, 11, 12})},
                                      i32({2, 2})),
                                {2, 2}, {58, 64, 139, 154}));
  EXPECT_TRUE(tensorEq<double>(
      runOp(OpKind::MatMul, {f64t({1, 2}, {0.5, -2}), f64t({2, 1}, {4, 0.25})}, f64({1, 1})), {1, 1}, {1.5}));
  // Batched: batch 0 is a plain product, batch 1 multiplies by the identity.
  EXPECT_TRUE(tensorEq<float>(
      runOp(OpKind::MatMul,
            {f32t({2, 2, 2}, {1, 2, 3, 4, 1, 0, 0, 1}), f32t({2, 2, 2}, {5, 6, 7, 8, 9, 8, 7, 6})},
            f32({2, 2, 2})),
      {2, 2, 2}, {19, 22, 43, 50, 9, 8, 7, 6}));
  // K == 0 gives zeros; M == 0 gives an empty result.
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::MatMul, {f32t({2, 0}, {}), f32t({0, 3}, {})}, f32({2, 3})),
                              {2, 3}, {0, 0, 0, 0, 0, 0}));
  EXPECT_TRUE(tensorEq<float>(
      runOp(OpKind::MatMul, {f32t({0, 2}, {}), f32t({2, 3}, {1, 2, 3, 4, 5, 6})}, f32({0, 3})), {0, 3}, {}));
  // Integer products wrap.
  EXPECT_TRUE(tensorEq<int32_t>(
      runOp(OpKind::MatMul, {i32t({1, 2}, {65536, 1}), i32t({2, 1}, {65536, 5})}, i32({1, 1})), {1, 1}, {5}));
  // Accumulation is in f32, k ascending: ((0 + 1e8) + 1) + -1e8 == 0 in f32.
  EXPECT_TRUE(tensorEq<float>(
      runOp(OpKind::MatMul, {f32t({1, 3}, {1e8f, 1, -1e8f}), f32t({3, 1}, {1, 1, 1})}, f32({1, 1})), {1, 1},
      {0}));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::MatMul, {f32t({1, 1}, {kInfF}), f32t({1, 1}, {0})}, f32({1, 1})),
                              {1, 1}, {kNanF}));

  EXPECT_EQ(opError(OpKind::MatMul, {f32t({2, 3}, a), f32t({2, 3}, a)}, f32({2, 3})),
            "'matmul' contracting dimensions differ: 3 vs 2");
  EXPECT_EQ(opError(OpKind::MatMul, {f32t({2, 3}, a), f32t({3, 2}, b)}, f32({3, 3})),
            "'matmul' result shape [3,3] should be [2,2]");
  EXPECT_EQ(opError(OpKind::MatMul, {f32t({6}, a), f32t({6}, b)}, f32({})),
            "'matmul' operands f32[6] and f32[6] need equal ranks of at least 2");
  EXPECT_EQ(opError(OpKind::MatMul, {f32t({2, 1, 1}, {1, 2}), f32t({1, 1, 1}, {3})}, f32({2, 1, 1})),
            "'matmul' batch dimensions of f32[2,1,1] and f32[1,1,1] differ");
}

INTERP_TEST(InterpNN, MatMulMatchesNaiveFormula, OpKind::MatMul) {
  // Random batched operands in all four transpose layouts against sum_k a[m,k] b[k,n].
  const int64_t batch = 3, m = 4, k = 5, n = 2;
  const HostTensor a = randomTensor(f64({batch, m, k}), 1), b = randomTensor(f64({batch, k, n}), 2);
  auto at = [](const HostTensor &t, int64_t p, int64_t i, int64_t j, int64_t rows, int64_t cols) {
    return t.data<double>()[static_cast<size_t>((p * rows + i) * cols + j)];
  };
  HostTensor want(f64({batch, m, n}));
  for (int64_t p = 0; p < batch; ++p)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t q = 0; q < k; ++q)
          s += at(a, p, i, q, m, k) * at(b, p, q, j, k, n);
        want.data<double>()[static_cast<size_t>((p * m + i) * n + j)] = s;
      }
  HostTensor aT(f64({batch, k, m})), bT(f64({batch, n, k}));
  for (int64_t p = 0; p < batch; ++p) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t q = 0; q < k; ++q)
        aT.data<double>()[static_cast<size_t>((p * k + q) * m + i)] = at(a, p, i, q, m, k);
    for (int64_t q = 0; q < k; ++q)
      for (int64_t j = 0; j < n; ++j)
        bT.data<double>()[static_cast<size_t>((p * n + j) * k + q)] = at(b, p, q, j, k, n);
  }
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      HostTensor got =
          runOp(OpKind::MatMul, {ta ? aT : a, tb ? bT : b}, f64({batch, m, n}), MatMulAttrs{ta, tb});
      EXPECT_TRUE(tensorNear(got, want, 1e-15)) << "transpose_a=" << ta << " transpose_b=" << tb;
    }
}

//===--- convolution ----------------------------------------------------------===//

struct ConvCase {
  int64_t n, c, h, w, o, kh, kw;
  ConvAttrs attrs;
};

int64_t convOut(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

TensorType convOutType(const ConvCase &cc, DType dt) {
  return {dt,
          {cc.n, cc.o, convOut(cc.h, cc.kh, cc.attrs.stride[0], cc.attrs.padding[0], cc.attrs.dilation[0]),
           convOut(cc.w, cc.kw, cc.attrs.stride[1], cc.attrs.padding[1], cc.attrs.dilation[1])}};
}

/// conv2d by the book: copy x into a zero-padded buffer, then
/// y[n,o,i,j] = sum_{c,p,q} xp[n, c, i*s + p*d, j*s + q*d] * w[o,c,p,q].
HostTensor naiveConv(const HostTensor &x, const HostTensor &w, const ConvCase &cc) {
  const ConvAttrs &a = cc.attrs;
  const int64_t hp = cc.h + 2 * a.padding[0], wp = cc.w + 2 * a.padding[1];
  std::vector<double> xp(static_cast<size_t>(cc.n * cc.c * hp * wp), 0.0);
  for (int64_t n = 0; n < cc.n; ++n)
    for (int64_t c = 0; c < cc.c; ++c)
      for (int64_t i = 0; i < cc.h; ++i)
        for (int64_t j = 0; j < cc.w; ++j)
          xp[static_cast<size_t>(((n * cc.c + c) * hp + i + a.padding[0]) * wp + j + a.padding[1])] =
              x.getDouble(((n * cc.c + c) * cc.h + i) * cc.w + j);
  const TensorType yt = convOutType(cc, DType::F64);
  const int64_t oh = yt.shape[2], ow = yt.shape[3];
  HostTensor y(yt);
  for (int64_t n = 0; n < cc.n; ++n)
    for (int64_t o = 0; o < cc.o; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double s = 0;
          for (int64_t c = 0; c < cc.c; ++c)
            for (int64_t p = 0; p < cc.kh; ++p)
              for (int64_t q = 0; q < cc.kw; ++q)
                s += xp[static_cast<size_t>(((n * cc.c + c) * hp + i * a.stride[0] + p * a.dilation[0]) * wp +
                                            j * a.stride[1] + q * a.dilation[1])] *
                     w.getDouble(((o * cc.c + c) * cc.kh + p) * cc.kw + q);
          y.setDouble(((n * cc.o + o) * oh + i) * ow + j, s);
        }
  return y;
}

/// conv2d_input_grad by scattering every product of dy and w into dx (padding dropped).
HostTensor naiveConvInputGrad(const HostTensor &dy, const HostTensor &w, const ConvCase &cc) {
  const ConvAttrs &a = cc.attrs;
  const int64_t oh = dy.shape()[2], ow = dy.shape()[3];
  HostTensor dx(f64({cc.n, cc.c, cc.h, cc.w}));
  for (int64_t n = 0; n < cc.n; ++n)
    for (int64_t o = 0; o < cc.o; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j)
          for (int64_t c = 0; c < cc.c; ++c)
            for (int64_t p = 0; p < cc.kh; ++p)
              for (int64_t q = 0; q < cc.kw; ++q) {
                const int64_t y = i * a.stride[0] - a.padding[0] + p * a.dilation[0];
                const int64_t x = j * a.stride[1] - a.padding[1] + q * a.dilation[1];
                if (y < 0 || y >= cc.h || x < 0 || x >= cc.w) continue;
                const int64_t at = ((n * cc.c + c) * cc.h + y) * cc.w + x;
                dx.setDouble(at,
                             dx.getDouble(at) + dy.getDouble(((n * cc.o + o) * oh + i) * ow + j) *
                                                    w.getDouble(((o * cc.c + c) * cc.kh + p) * cc.kw + q));
              }
  return dx;
}

const std::vector<ConvCase> &convCases() {
  static const std::vector<ConvCase> cases{
      {1, 1, 3, 3, 1, 2, 2, ConvAttrs{{1, 1}, {0, 0}, {1, 1}}},
      {2, 3, 7, 6, 4, 3, 2, ConvAttrs{{2, 1}, {1, 0}, {1, 2}}},
      {1, 2, 8, 8, 3, 3, 3, ConvAttrs{{2, 2}, {2, 2}, {2, 2}}},
      {2, 2, 5, 7, 3, 1, 1, ConvAttrs{{3, 2}, {0, 0}, {1, 1}}},  // 1x1 filter, rows left over
      {1, 1, 4, 4, 2, 4, 4, ConvAttrs{{1, 1}, {1, 1}, {1, 1}}},  // filter as large as the input
      {3, 2, 6, 5, 2, 2, 3, ConvAttrs{{2, 3}, {1, 2}, {2, 1}}},
      {1, 1, 1, 1, 1, 3, 3, ConvAttrs{{1, 1}, {1, 1}, {1, 1}}},  // only the centre tap is inside
  };
  return cases;
}

INTERP_TEST(InterpNN, Conv2dHandComputed, OpKind::Conv2d) {
  const HostTensor x = f32t({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const HostTensor w = f32t({1, 1, 2, 2}, {1, 0, 0, 1});  // x[i,j] + x[i+1,j+1]
  EXPECT_TRUE(
      tensorEq<float>(runOp(OpKind::Conv2d, {x, w}, f32({1, 1, 2, 2})), {1, 1, 2, 2}, {6, 8, 12, 14}));
  // stride 2, padding 1: y[i,j] = x[2i-1, 2j-1] + x[2i, 2j], padding cells absent.
  EXPECT_TRUE(
      tensorEq<float>(runOp(OpKind::Conv2d, {x, w}, f32({1, 1, 2, 2}), ConvAttrs{{2, 2}, {1, 1}, {1, 1}}),
                      {1, 1, 2, 2}, {1, 3, 7, 14}));
  // dilation 2: the taps are x[0,0] and x[2,2].
  EXPECT_TRUE(
      tensorEq<float>(runOp(OpKind::Conv2d, {x, w}, f32({1, 1, 1, 1}), ConvAttrs{{1, 1}, {0, 0}, {2, 2}}),
                      {1, 1, 1, 1}, {10}));
  // Two input channels, two filters, in i32 and f64.
  const HostTensor xi = i32t({1, 2, 2, 2}, {1, 2, 3, 4, 10, 20, 30, 40});
  const HostTensor wi = i32t({2, 2, 1, 1}, {1, 1, 2, -1});  // o0 = c0 + c1, o1 = 2*c0 - c1
  EXPECT_TRUE(tensorEq<int32_t>(runOp(OpKind::Conv2d, {xi, wi}, i32({1, 2, 2, 2})), {1, 2, 2, 2},
                                {11, 22, 33, 44, -8, -16, -24, -32}));
  EXPECT_TRUE(tensorEq<double>(
      runOp(OpKind::Conv2d, {xi.castTo(DType::F64), wi.castTo(DType::F64)}, f64({1, 2, 2, 2})), {1, 2, 2, 2},
      {11, 22, 33, 44, -8, -16, -24, -32}));
  // An inf weight on a padding tap does not turn the result into NaN.
  HostTensor winf = f32t({1, 1, 3, 3}, {kInfF, 0, 0, 0, 2, 0, 0, 0, 0});
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Conv2d, {f32t({1, 1, 1, 1}, {3}), winf}, f32({1, 1, 1, 1}),
                                    ConvAttrs{{1, 1}, {1, 1}, {1, 1}}),
                              {1, 1, 1, 1}, {6}));
  // Edge shapes: an empty batch; zero input channels give zeros.
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Conv2d, {f32t({0, 1, 3, 3}, {}), w}, f32({0, 1, 2, 2})),
                              {0, 1, 2, 2}, {}));
  EXPECT_TRUE(tensorEq<float>(
      runOp(OpKind::Conv2d, {f32t({1, 0, 2, 2}, {}), f32t({1, 0, 2, 2}, {})}, f32({1, 1, 1, 1})),
      {1, 1, 1, 1}, {0}));

  EXPECT_EQ(opError(OpKind::Conv2d, {x, w}, f32({1, 1, 3, 3})),
            "'conv2d' result shape [1,1,3,3] should be [1,1,2,2]");
  EXPECT_EQ(opError(OpKind::Conv2d, {x, f32t({1, 2, 1, 1}, {1, 1})}, f32({1, 1, 3, 3})),
            "'conv2d' filter has 2 input channels, the input has 1");
  EXPECT_EQ(opError(OpKind::Conv2d, {x, f32t({1, 1, 4, 1}, {1, 1, 1, 1})}, f32({1, 1, 1, 3})),
            "'conv2d' a 4x1 filter (dilation [1,1]) does not fit a 3x3 input padded by [0,0]");
  EXPECT_EQ(opError(OpKind::Conv2d, {x, w}, f32({1, 1, 2, 2}), ConvAttrs{{0, 1}, {0, 0}, {1, 1}}),
            "'conv2d' stride [0,1] must be two values >= 1");
  EXPECT_EQ(opError(OpKind::Conv2d, {HostTensor(f32({3, 3})), w}, f32({1, 1, 2, 2})),
            "'conv2d' input must have rank 4, got f32[3,3]");
}

INTERP_TEST(InterpNN, Conv2dMatchesNaiveFormula, OpKind::Conv2d) {
  uint32_t seed = 10;
  for (const ConvCase &cc : convCases()) {
    const HostTensor x = randomTensor(f64({cc.n, cc.c, cc.h, cc.w}), seed++);
    const HostTensor w = randomTensor(f64({cc.o, cc.c, cc.kh, cc.kw}), seed++);
    const HostTensor want = naiveConv(x, w, cc);
    EXPECT_TRUE(
        tensorNear(runOp(OpKind::Conv2d, {x, w}, convOutType(cc, DType::F64), cc.attrs), want, 1e-13));
    // f32 against the f64 formula on the same (f32-representable) inputs.
    const HostTensor got32 = runOp(OpKind::Conv2d, {x.castTo(DType::F32), w.castTo(DType::F32)},
                                   convOutType(cc, DType::F32), cc.attrs);
    EXPECT_TRUE(tensorNear(got32.castTo(DType::F64),
                           naiveConv(x.castTo(DType::F32), w.castTo(DType::F32), cc), 1e-5));
  }
}

INTERP_TEST(InterpNN, Conv2dGradHandComputed, OpKind::Conv2dInputGrad, OpKind::Conv2dFilterGrad) {
  const HostTensor x = f32t({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const HostTensor w = f32t({1, 1, 2, 2}, {1, 0, 0, 1});
  const HostTensor dy = f32t({1, 1, 2, 2}, {1, 1, 1, 1});
  // dx[h,w] counts the diagonal taps (0,0) and (1,1) that land on (h,w).
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Conv2dInputGrad, {dy, w}, f32({1, 1, 3, 3})), {1, 1, 3, 3},
                              {1, 1, 0, 1, 2, 1, 0, 1, 1}));
  // dw[p,q] sums the 2x2 block of x at offset (p,q).
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Conv2dFilterGrad, {x, dy}, f32({1, 1, 2, 2})), {1, 1, 2, 2},
                              {12, 16, 24, 28}));
  // The result type decides dx's extent where the stride leaves rows unused: a 4x4 and a
  // 5x5 input both give a 2x2 output with a 2x2 filter at stride 2; row 4 gets nothing.
  const ConvAttrs s2{{2, 2}, {0, 0}, {1, 1}};
  const HostTensor dy2 = i32t({1, 1, 2, 2}, {1, 2, 3, 4});
  const HostTensor wi = i32t({1, 1, 2, 2}, {1, 10, 100, 1000});
  std::vector<int32_t> want5(25, 0);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      for (int p = 0; p < 2; ++p)
        for (int q = 0; q < 2; ++q)
          want5[static_cast<size_t>((2 * i + p) * 5 + 2 * j + q)] =
              (1 + 2 * i + j) * wi.data<int32_t>()[static_cast<size_t>(p * 2 + q)];
  EXPECT_TRUE(tensorEq<int32_t>(runOp(OpKind::Conv2dInputGrad, {dy2, wi}, i32({1, 1, 5, 5}), s2),
                                {1, 1, 5, 5}, want5));
  EXPECT_TRUE(
      tensorEq<double>(runOp(OpKind::Conv2dFilterGrad,
                             {f64t({1, 1, 5, 5}, std::vector<double>(25, 1.0)), dy2.castTo(DType::F64)},
                             f64({1, 1, 2, 2}), s2),
                       {1, 1, 2, 2}, {10, 10, 10, 10}));

  EXPECT_EQ(opError(OpKind::Conv2dInputGrad, {dy, w}, f32({1, 1, 4, 4})),
            "'conv2d_input_grad' output gradient shape [1,1,2,2] should be [1,1,3,3]");
  EXPECT_EQ(
      opError(OpKind::Conv2dInputGrad, {dy, f32t({2, 1, 2, 2}, std::vector<float>(8, 1))}, f32({1, 1, 3, 3})),
      "'conv2d_input_grad' output gradient has 1 channels, the filter 2");
  EXPECT_EQ(opError(OpKind::Conv2dFilterGrad, {x, dy}, f32({1, 1, 3, 3})),
            "'conv2d_filter_grad' output gradient shape [1,1,2,2] should be [1,1,1,1]");
  EXPECT_EQ(opError(OpKind::Conv2dFilterGrad, {x, dy}, f32({2, 1, 2, 2})),
            "'conv2d_filter_grad' output gradient has 1 channels, the filter 2");
}

INTERP_TEST(InterpNN, Conv2dGradsAreAdjoints, OpKind::Conv2d, OpKind::Conv2dInputGrad,
            OpKind::Conv2dFilterGrad) {
  uint32_t seed = 100;
  for (const ConvCase &cc : convCases()) {
    const TensorType xt = f64({cc.n, cc.c, cc.h, cc.w}), wt = f64({cc.o, cc.c, cc.kh, cc.kw});
    const TensorType yt = convOutType(cc, DType::F64);
    const HostTensor x = randomTensor(xt, seed++), w = randomTensor(wt, seed++),
                     dy = randomTensor(yt, seed++);
    const HostTensor y = runOp(OpKind::Conv2d, {x, w}, yt, cc.attrs);
    const HostTensor dx = runOp(OpKind::Conv2dInputGrad, {dy, w}, xt, cc.attrs);
    const HostTensor dw = runOp(OpKind::Conv2dFilterGrad, {x, dy}, wt, cc.attrs);
    const double lhs = dot(y, dy);
    const double scale = 1.0 + std::fabs(lhs);
    EXPECT_NEAR(dot(x, dx), lhs, 1e-12 * scale);
    EXPECT_NEAR(dot(w, dw), lhs, 1e-12 * scale);
    // And the input gradient equals the scatter formula.
    EXPECT_TRUE(tensorNear(dx, naiveConvInputGrad(dy, w, cc), 1e-13));
    // f32 gradients run too.
    const HostTensor dx32 = runOp(OpKind::Conv2dInputGrad, {dy.castTo(DType::F32), w.castTo(DType::F32)},
                                  {DType::F32, xt.shape}, cc.attrs);
    EXPECT_TRUE(tensorNear(dx32.castTo(DType::F64), dx, 1e-5));
  }
}

//===--- pooling ------------------------------------------------------------===//

struct PoolCase {
  int64_t n, c, h, w;
  PoolAttrs attrs;
};

TensorType poolOutType(const PoolCase &pc, DType dt) {
  const PoolAttrs &a = pc.attrs;
  return {dt,
          {pc.n, pc.c, (pc.h + 2 * a.padding[0] - a.window[0]) / a.stride[0] + 1,
           (pc.w + 2 * a.padding[1] - a.window[1]) / a.stride[1] + 1}};
}

const std::vector<PoolCase> &poolCases() {
  static const std::vector<PoolCase> cases{
      {1, 1, 4, 4, PoolAttrs{{2, 2}, {2, 2}, {0, 0}}}, {2, 3, 7, 6, PoolAttrs{{3, 3}, {2, 2}, {1, 1}}},
      {1, 2, 5, 8, PoolAttrs{{3, 2}, {1, 2}, {1, 0}}},  // overlapping rows
      {2, 1, 5, 5, PoolAttrs{{2, 2}, {1, 1}, {1, 1}}}, {1, 1, 1, 1, PoolAttrs{{1, 1}, {1, 1}, {0, 0}}},
  };
  return cases;
}

/// Pooling by the book: pad x with \p padValue, then reduce each window with \p combine.
template <class Combine>
HostTensor naivePool(const HostTensor &x, const PoolCase &pc, double padValue, double init, Combine combine) {
  const PoolAttrs &a = pc.attrs;
  const int64_t hp = pc.h + 2 * a.padding[0], wp = pc.w + 2 * a.padding[1];
  std::vector<double> xp(static_cast<size_t>(pc.n * pc.c * hp * wp), padValue);
  for (int64_t nc = 0; nc < pc.n * pc.c; ++nc)
    for (int64_t i = 0; i < pc.h; ++i)
      for (int64_t j = 0; j < pc.w; ++j)
        xp[static_cast<size_t>((nc * hp + i + a.padding[0]) * wp + j + a.padding[1])] =
            x.getDouble((nc * pc.h + i) * pc.w + j);
  const TensorType yt = poolOutType(pc, DType::F64);
  const int64_t oh = yt.shape[2], ow = yt.shape[3];
  HostTensor y(yt);
  for (int64_t nc = 0; nc < pc.n * pc.c; ++nc)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        double acc = init;
        for (int64_t p = 0; p < a.window[0]; ++p)
          for (int64_t q = 0; q < a.window[1]; ++q)
            acc = combine(
                acc, xp[static_cast<size_t>((nc * hp + i * a.stride[0] + p) * wp + j * a.stride[1] + q)]);
        y.setDouble((nc * oh + i) * ow + j, acc);
      }
  return y;
}

INTERP_TEST(InterpNN, MaxPool2d, OpKind::MaxPool2d) {
  auto pool = [&](const HostTensor &x, TensorType t, PoolAttrs a = {}) {
    return runOp(OpKind::MaxPool2d, {x}, std::move(t), std::move(a));
  };
  HostTensor x16(f32({1, 1, 4, 4}));
  for (int i = 0; i < 16; ++i)
    x16.data<float>()[static_cast<size_t>(i)] = static_cast<float>(i + 1);
  EXPECT_TRUE(tensorEq<float>(pool(x16, f32({1, 1, 2, 2})), {1, 1, 2, 2}, {6, 8, 14, 16}));
  // Padding cells are ignored, not zeros: each padded window sees one negative value.
  EXPECT_TRUE(tensorEq<float>(
      pool(f32t({1, 1, 2, 2}, {-1, -2, -3, -4}), f32({1, 1, 2, 2}), PoolAttrs{{2, 2}, {2, 2}, {1, 1}}),
      {1, 1, 2, 2}, {-1, -2, -3, -4}));
  // Overlapping 3x3 windows at stride 1 with padding 1 on a 3x3 input.
  EXPECT_TRUE(tensorEq<double>(pool(f64t({1, 1, 3, 3}, {9, 1, 2, 3, 4, 5, 6, 7, 8}), f64({1, 1, 3, 3}),
                                    PoolAttrs{{3, 3}, {1, 1}, {1, 1}}),
                               {1, 1, 3, 3}, {9, 9, 5, 9, 9, 8, 7, 8, 8}));
  // NaN propagates; -inf is an ordinary value.
  EXPECT_TRUE(tensorEq<float>(
      pool(f32t({1, 2, 2, 2}, {1, kNanF, 3, 2, -kInfF, -kInfF, -kInfF, -kInfF}), f32({1, 2, 1, 1})),
      {1, 2, 1, 1}, {kNanF, -kInfF}));
  EXPECT_TRUE(tensorEq<int32_t>(pool(i32t({1, 1, 2, 4}, {1, -5, 7, 2, 3, 0, -1, -8}), i32({1, 1, 1, 2})),
                                {1, 1, 1, 2}, {3, 7}));
  // A window made only of padding gives -inf.
  EXPECT_TRUE(
      tensorEq<float>(pool(f32t({1, 1, 1, 1}, {5}), f32({1, 1, 3, 3}), PoolAttrs{{1, 1}, {1, 1}, {1, 1}}),
                      {1, 1, 3, 3}, {-kInfF, -kInfF, -kInfF, -kInfF, 5, -kInfF, -kInfF, -kInfF, -kInfF}));
  EXPECT_TRUE(tensorEq<float>(pool(f32t({0, 1, 2, 2}, {}), f32({0, 1, 1, 1})), {0, 1, 1, 1}, {}));
  uint32_t seed = 300;
  for (const PoolCase &pc : poolCases()) {
    const HostTensor x = randomTensor(f64({pc.n, pc.c, pc.h, pc.w}), seed++);
    const HostTensor want = naivePool(x, pc, -kInf, -kInf, [](double a, double b) { return std::max(a, b); });
    EXPECT_TRUE(tensorNear(pool(x, poolOutType(pc, DType::F64), pc.attrs), want, 0.0));
  }
  EXPECT_EQ(opError(OpKind::MaxPool2d, {x16}, f32({1, 1, 3, 3})),
            "'max_pool2d' pooled shape [1,1,3,3] should be [1,1,2,2]");
  EXPECT_EQ(opError(OpKind::MaxPool2d, {x16}, f32({1, 1, 1, 1}), PoolAttrs{{5, 5}, {1, 1}, {0, 0}}),
            "'max_pool2d' a 5x5 window does not fit a 4x4 input padded by [0,0]");
  EXPECT_EQ(opError(OpKind::MaxPool2d, {x16}, f32({1, 1, 2, 2}), PoolAttrs{{2}, {2, 2}, {0, 0}}),
            "'max_pool2d' window [2] must be two values >= 1");
}

INTERP_TEST(InterpNN, MaxPool2dGrad, OpKind::MaxPool2d, OpKind::MaxPool2dGrad) {
  auto grad = [&](const HostTensor &x, const HostTensor &dy, PoolAttrs a = {}) {
    return runOp(OpKind::MaxPool2dGrad, {x, dy}, x.type(), std::move(a));
  };
  // Ties: the first maximum in row-major window order gets everything.
  EXPECT_TRUE(tensorEq<float>(grad(f32t({1, 1, 2, 2}, {5, 5, 5, 5}), f32t({1, 1, 1, 1}, {1})), {1, 1, 2, 2},
                              {1, 0, 0, 0}));
  EXPECT_TRUE(tensorEq<float>(grad(f32t({1, 1, 2, 2}, {1, 7, 7, 2}), f32t({1, 1, 1, 1}, {3})), {1, 1, 2, 2},
                              {0, 3, 0, 0}));
  // Overlapping windows add: both 1x2 windows of [1, 3, 2] pick the 3.
  EXPECT_TRUE(tensorEq<double>(
      grad(f64t({1, 1, 1, 3}, {1, 3, 2}), f64t({1, 1, 1, 2}, {10, 20}), PoolAttrs{{1, 2}, {1, 1}, {0, 0}}),
      {1, 1, 1, 3}, {0, 30, 0}));
  // NaN: the first NaN is the maximum.
  EXPECT_TRUE(tensorEq<float>(grad(f32t({1, 1, 2, 2}, {1, kNanF, kNanF, 2}), f32t({1, 1, 1, 1}, {4})),
                              {1, 1, 2, 2}, {0, 4, 0, 0}));
  EXPECT_TRUE(
      tensorEq<int32_t>(grad(i32t({1, 1, 2, 4}, {1, -5, 7, 2, 3, 0, -1, -8}), i32t({1, 1, 1, 2}, {10, 20})),
                        {1, 1, 2, 4}, {0, 0, 20, 0, 10, 0, 0, 0}));
  // Padding cells never receive gradient.
  EXPECT_TRUE(tensorEq<float>(grad(f32t({1, 1, 2, 2}, {-1, -2, -3, -4}), f32t({1, 1, 2, 2}, {1, 2, 3, 4}),
                                   PoolAttrs{{2, 2}, {2, 2}, {1, 1}}),
                              {1, 1, 2, 2}, {1, 2, 3, 4}));
  // Adjoint of the selection: <max_pool(x), dy> == <x, max_pool_grad(x, dy)>.
  uint32_t seed = 400;
  for (const PoolCase &pc : poolCases()) {
    const TensorType xt = f64({pc.n, pc.c, pc.h, pc.w}), yt = poolOutType(pc, DType::F64);
    const HostTensor x = randomTensor(xt, seed++), dy = randomTensor(yt, seed++);
    const HostTensor y = runOp(OpKind::MaxPool2d, {x}, yt, pc.attrs);
    const HostTensor dx = grad(x, dy, pc.attrs);
    EXPECT_NEAR(dot(x, dx), dot(y, dy), 1e-12 * (1.0 + std::fabs(dot(y, dy))));
  }
  EXPECT_EQ(opError(OpKind::MaxPool2dGrad,
                    {f32t({1, 1, 2, 2}, {1, 2, 3, 4}), f32t({1, 1, 2, 2}, {1, 2, 3, 4})}, f32({1, 1, 2, 2})),
            "'max_pool2d_grad' pooled shape [1,1,2,2] should be [1,1,1,1]");
  EXPECT_EQ(opError(OpKind::MaxPool2dGrad, {f32t({1, 1, 2, 2}, {1, 2, 3, 4}), f32t({1, 1, 1, 1}, {1})},
                    f32({1, 1, 1, 1})),
            "'max_pool2d_grad' result shape [1,1,1,1] should be [1,1,2,2]");
}

INTERP_TEST(InterpNN, AvgPool2d, OpKind::AvgPool2d) {
  HostTensor x16(f32({1, 1, 4, 4}));
  for (int i = 0; i < 16; ++i)
    x16.data<float>()[static_cast<size_t>(i)] = static_cast<float>(i + 1);
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::AvgPool2d, {x16}, f32({1, 1, 2, 2})), {1, 1, 2, 2},
                              {3.5, 5.5, 11.5, 13.5}));
  // Padding counts as zeros: each padded window holds one of the four values.
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::AvgPool2d, {f64t({1, 1, 2, 2}, {4, 8, 12, 16})},
                                     f64({1, 1, 2, 2}), PoolAttrs{{2, 2}, {2, 2}, {1, 1}}),
                               {1, 1, 2, 2}, {1, 2, 3, 4}));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::AvgPool2d, {f32t({1, 1, 1, 2}, {kInfF, 1})}, f32({1, 1, 1, 1}),
                                    PoolAttrs{{1, 2}, {1, 1}, {0, 0}}),
                              {1, 1, 1, 1}, {kInfF}));
  uint32_t seed = 500;
  for (const PoolCase &pc : poolCases()) {
    const HostTensor x = randomTensor(f64({pc.n, pc.c, pc.h, pc.w}), seed++);
    const double size = static_cast<double>(pc.attrs.window[0] * pc.attrs.window[1]);
    HostTensor want = naivePool(x, pc, 0.0, 0.0, [](double a, double b) { return a + b; });
    for (int64_t i = 0; i < want.numElements(); ++i)
      want.setDouble(i, want.getDouble(i) / size);
    EXPECT_TRUE(
        tensorNear(runOp(OpKind::AvgPool2d, {x}, poolOutType(pc, DType::F64), pc.attrs), want, 1e-14));
  }
  EXPECT_EQ(opError(OpKind::AvgPool2d, {i32t({1, 1, 2, 2}, {1, 2, 3, 4})}, i32({1, 1, 1, 1})),
            "'avg_pool2d' does not accept i32 operands");
}

INTERP_TEST(InterpNN, AvgPool2dGrad, OpKind::AvgPool2d, OpKind::AvgPool2dGrad) {
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::AvgPool2dGrad, {f32t({1, 1, 1, 1}, {8})}, f32({1, 1, 2, 2})),
                              {1, 1, 2, 2}, {2, 2, 2, 2}));
  // Overlapping 1x2 windows at stride 1 over [a, b, c]: b is in both.
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::AvgPool2dGrad, {f64t({1, 1, 1, 2}, {4, 8})}, f64({1, 1, 1, 3}),
                                     PoolAttrs{{1, 2}, {1, 1}, {0, 0}}),
                               {1, 1, 1, 3}, {2, 6, 4}));
  // A row the stride skips (5x5 input, 2x2 windows at stride 2) gets nothing.
  std::vector<float> want(25, 0.25f);
  for (int i = 0; i < 5; ++i)
    want[static_cast<size_t>(4 * 5 + i)] = want[static_cast<size_t>(i * 5 + 4)] = 0;
  EXPECT_TRUE(
      tensorEq<float>(runOp(OpKind::AvgPool2dGrad, {f32t({1, 1, 2, 2}, {1, 1, 1, 1})}, f32({1, 1, 5, 5})),
                      {1, 1, 5, 5}, want));
  uint32_t seed = 600;
  for (const PoolCase &pc : poolCases()) {
    const TensorType xt = f64({pc.n, pc.c, pc.h, pc.w}), yt = poolOutType(pc, DType::F64);
    const HostTensor x = randomTensor(xt, seed++), dy = randomTensor(yt, seed++);
    const HostTensor y = runOp(OpKind::AvgPool2d, {x}, yt, pc.attrs);
    const HostTensor dx = runOp(OpKind::AvgPool2dGrad, {dy}, xt, pc.attrs);
    EXPECT_NEAR(dot(x, dx), dot(y, dy), 1e-12 * (1.0 + std::fabs(dot(y, dy))));
  }
  EXPECT_EQ(opError(OpKind::AvgPool2dGrad, {f32t({1, 1, 2, 2}, {1, 1, 1, 1})}, f32({1, 1, 2, 2})),
            "'avg_pool2d_grad' pooled shape [1,1,2,2] should be [1,1,1,1]");
}

}  // namespace
}  // namespace dlc::test
