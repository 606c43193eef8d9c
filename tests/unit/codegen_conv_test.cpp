//===- tests/unit/codegen_conv_test.cpp - row convolution kernels vs interpreter ===//
//
// Conv2d and its input and filter gradients are computed a row at a time
// (codegen/conv.cpp), vectorized across the row. These cases use rows longer than a
// vector (remainders included), strides, padding and dilation, and require the JIT to
// equal the interpreter bitwise on the host, AVX2 and generic targets, 1 and 2 threads
// (checkJitCase), special values (NaN, inf, -0, denormals) included.
//
//===----------------------------------------------------------------------===//
#include <gtest/gtest.h>

#include "codegen/conv_plan.h"
#include "codegen_cases.h"
#include "ir/shape_inference.h"

namespace dlc::test {
namespace {

/// Wider than codegen_cases' defaults: channel counts around the direct kernels' blocks,
/// rows longer than a vector, strides up to 3.
const ConvBounds kRowBounds{.batch = 2, .channels = 5, .outChannels = 6, .height = 12, .width = 41, .kernel = 5,
                            .stride = 3, .padding = 3};

class ConvRows : public ::testing::TestWithParam<OpKind> {};

TEST_P(ConvRows, RandomGeometriesMatchInterpreter) {
  Rng r(0xC0417 + static_cast<uint64_t>(GetParam()));
  for (DType d : {DType::F32, DType::F64})
    for (int i = 0; i < 6; ++i) {
      JitCase c = convCaseOf(r, GetParam(), randomConvGeometry(r, d, kRowBounds));
      SCOPED_TRACE(c.label);
      checkJitCase(c);
    }
  // A kernel wider than the filter gradient's unrolled rows (kw > 16), strided.
  ConvGeometry g;
  g.a.stride = {1, 2};
  g.a.padding = {1, 3};
  g.x = TensorType{DType::F32, {2, 2, 3, 23}};
  g.w = TensorType{DType::F32, {3, 2, 2, 17}};
  g.y = *inferType(OpKind::Conv2d, std::vector<TensorType>{g.x, g.w}, g.a);
  JitCase c = convCaseOf(r, GetParam(), g);
  SCOPED_TRACE(c.label);
  checkJitCase(c);
}

TEST_P(ConvRows, CnnLayerShapesMatchInterpreter) {
  // The W2 layers (5x5, padding 2) at batch 1 and fewer channels.
  Rng r(7);
  for (const auto &[c, o, hw] : {std::tuple<int64_t, int64_t, int64_t>{1, 4, 28}, {3, 5, 14}}) {
    ConvGeometry g;
    g.a.padding = {2, 2};
    g.x = TensorType{DType::F32, {1, c, hw, hw}};
    g.w = TensorType{DType::F32, {o, c, 5, 5}};
    g.y = TensorType{DType::F32, {1, o, hw, hw}};
    JitCase jc = convCaseOf(r, GetParam(), g);
    SCOPED_TRACE(jc.label);
    checkJitCase(jc);
  }
}

TEST_P(ConvRows, DirectKernelShapesMatchInterpreter) {
  // f32 convolutions on the direct kernels (conv_direct.cpp): channel counts around the
  // micro-blocks (8/4 channels, 16-channel groups, 24/6/3-row filter gradient blocks),
  // planes whose rows are and are not as wide as the source's (flat vs row segments),
  // 'same' and 'valid' padding, dilation, size-1 dims, strided conv2d (a term's wide
  // load and shuffle) and strided filter gradients. Each case must take the direct path.
  Rng r(0xD1EC7 + static_cast<uint64_t>(GetParam()));
  const int64_t channels[] = {1, 3, 7, 17, 26, 33};
  for (int i = 0; i < 7; ++i) {
    ConvGeometry g;
    while (true) {
      const int64_t n = r.uniformInt(1, 2), c = r.pick(std::vector<int64_t>(std::begin(channels), std::end(channels)));
      const int64_t o = r.pick(std::vector<int64_t>(std::begin(channels), std::end(channels)));
      const int64_t kh = r.uniformInt(1, 5), kw = r.uniformInt(1, 5), h = r.uniformInt(1, 9), w = r.uniformInt(1, 19);
      const int64_t s = GetParam() == OpKind::Conv2dFilterGrad ? r.uniformInt(1, 2)
                        : GetParam() == OpKind::Conv2d        ? r.uniformInt(1, kMaxDirectStride)
                                                              : 1;
      g.a.stride = {s, s};
      g.a.dilation = {r.uniformInt(1, 2), 1};
      g.a.padding = i % 2 ? std::vector<int64_t>{(kh - 1) * g.a.dilation[0] / 2, (kw - 1) / 2}
                          : std::vector<int64_t>{r.uniformInt(0, 2), r.uniformInt(0, 2)};
      g.x = TensorType{DType::F32, {n, c, h, w}};
      g.w = TensorType{DType::F32, {o, c, kh, kw}};
      Expected<TensorType> y = inferType(OpKind::Conv2d, std::vector<TensorType>{g.x, g.w}, g.a);
      if (!y || y->numElements() == 0) continue;
      g.y = *y;
      break;
    }
    JitCase c = convCaseOf(r, GetParam(), g);
    SCOPED_TRACE(c.label);
    int direct = 0;
    for (const auto &node : c.fn->nodes()) direct += !directConvDomain(*node).empty();
    EXPECT_EQ(direct, 1) << "the case does not run on the direct kernel";
    checkJitCase(c);
  }
}

INSTANTIATE_TEST_SUITE_P(Conv, ConvRows,
                         ::testing::Values(OpKind::Conv2d, OpKind::Conv2dInputGrad, OpKind::Conv2dFilterGrad),
                         [](const ::testing::TestParamInfo<OpKind> &p) { return std::string(mnemonic(p.param)); });

TEST(ConvRowsFused, ConvReluMatchesInterpreter) {
  // conv2d read by an elementwise consumer in the same kernel: the row buffer is read at
  // the current index.
  Rng r(11);
  for (int i = 0; i < 4; ++i) {
    ConvGeometry g = randomConvGeometry(r, DType::F32, kRowBounds);
    JitCase c;
    c.fn = std::make_unique<Function>("f");
    Value *x = c.fn->addArg(g.x, "x"), *w = c.fn->addArg(g.w, "w");
    Builder b(*c.fn);
    Value *y = b.conv2d(x, w, g.a);
    c.fn->setResults({b.max(y, b.splatLike(0.0, y))});
    c.inputs = {r.tensor(g.x), r.tensor(g.w)};
    c.label = "relu(conv2d)";
    checkJitCase(c);
  }
}

// Forward pooling (the elemental generators in row kernels): planes wider than a few
// vectors, so that vectorized row loops have remainders, with windows of 1-4 cells a
// side, strides 1-3 and padding, ties and special values; W2's 2x2 / stride 2 on even
// and odd planes. (codegen_ops_test's pool cases keep planes of <= 9 x 9.)
class PoolForward : public ::testing::TestWithParam<OpKind> {};

TEST_P(PoolForward, RandomGeometriesMatchInterpreter) {
  Rng r(0x9001 + static_cast<uint64_t>(GetParam()));
  for (DType d : {DType::F32, DType::F64})
    for (int i = 0; i < 8; ++i) {
      PoolAttrs a;
      a.window = {r.uniformInt(1, 4), r.uniformInt(1, 4)};
      a.stride = {r.uniformInt(1, 3), r.uniformInt(1, 3)};
      a.padding = {r.uniformInt(0, a.window[0] - 1), r.uniformInt(0, a.window[1] - 1)};
      if (i < 2) a = PoolAttrs{{2, 2}, {2, 2}, {0, 0}};
      const TensorType x{d, {r.uniformInt(1, 2), r.uniformInt(1, 3), r.uniformInt(1, 13), r.uniformInt(1, 70)}};
      if (!inferType(GetParam(), std::vector<TensorType>{x}, a)) continue;
      InputStyle style;
      style.ties = i % 2 == 0;
      style.special = 0.05;
      JitCase c = opCase(r, GetParam(), {x}, a, {}, style);
      c.label += fmt::format(" {} window {}x{} stride {}x{} pad {}x{}", fmt::join(x.shape, "x"), a.window[0],
                             a.window[1], a.stride[0], a.stride[1], a.padding[0], a.padding[1]);
      SCOPED_TRACE(c.label);
      checkJitCase(c);
    }
}

INSTANTIATE_TEST_SUITE_P(Pool, PoolForward, ::testing::Values(OpKind::MaxPool2d, OpKind::AvgPool2d),
                         [](const ::testing::TestParamInfo<OpKind> &p) { return std::string(mnemonic(p.param)); });

}  // namespace
}  // namespace dlc::test
