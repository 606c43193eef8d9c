//===- tests/unit/shape_inference_test.cpp - result types and shape rules --===//
#include <gtest/gtest.h>

#include "ir/builder.h"
#include "ir/shape_inference.h"
#include "ir/verifier.h"

namespace dlc {
namespace {

TensorType infer(OpKind k, std::vector<TensorType> in, Attrs a = NoAttrs{}, const TensorType *given = nullptr) {
  Expected<TensorType> t = inferType(k, in, a, given);
  EXPECT_TRUE(t.ok()) << (t ? "" : t.error().str());
  return t ? *t : TensorType{};
}

std::string inferError(OpKind k, std::vector<TensorType> in, Attrs a = NoAttrs{}, const TensorType *given = nullptr) {
  Expected<TensorType> t = inferType(k, in, a, given);
  EXPECT_FALSE(t.ok()) << "unexpectedly inferred " << (t ? typeString(*t) : "");
  return t ? "" : t.error().message();
}

TEST(ShapeInference, ElementwiseKeepsTypeAndNeedsEqualOperands) {
  EXPECT_EQ(infer(OpKind::Add, {f32({2, 3}), f32({2, 3})}), f32({2, 3}));
  EXPECT_EQ(infer(OpKind::Exp, {f64({})}), f64({}));
  EXPECT_EQ(infer(OpKind::Neg, {i32({4})}), i32({4}));
  EXPECT_EQ(inferError(OpKind::Add, {f32({4}), f32({8})}), "'add' operand types differ: f32[4] vs f32[8]");
  EXPECT_EQ(inferError(OpKind::Mul, {f32({4}), f64({4})}), "'mul' operand types differ: f32[4] vs f64[4]");
  EXPECT_EQ(inferError(OpKind::Exp, {i32({4})}), "'exp' needs a floating-point operand, got i32[4]");
  EXPECT_EQ(inferError(OpKind::Add, {i1({4}), i1({4})}), "'add' needs a numeric operand, got i1[4]");
}

TEST(ShapeInference, CompareGivesI1AndSelectNeedsI1) {
  EXPECT_EQ(infer(OpKind::Compare, {f32({3}), f32({3})}, CompareAttrs{CmpDir::Lt}), i1({3}));
  EXPECT_EQ(infer(OpKind::Select, {i1({3}), f32({3}), f32({3})}), f32({3}));
  EXPECT_EQ(inferError(OpKind::Select, {f32({3}), f32({3}), f32({3})}), "'select' predicate must be i1, got f32[3]");
  EXPECT_EQ(inferError(OpKind::Select, {i1({2}), f32({3}), f32({3})}),
            "'select' predicate shape differs: i1[2] vs f32[3]");
}

TEST(ShapeInference, ArityAndAttributeKindAreChecked) {
  EXPECT_EQ(inferError(OpKind::Add, {f32({1})}), "'add' expects 2 operands, got 1");
  EXPECT_EQ(inferError(OpKind::Concat, {}), "'concat' expects at least one operand");
  EXPECT_EQ(inferError(OpKind::Add, {f32({1}), f32({1})}, ReduceAttrs{}), "'add' has attributes of the wrong kind");
}

TEST(ShapeInference, TypeGivenOpsNeedAndCheckTheStatedType) {
  EXPECT_EQ(inferError(OpKind::Reshape, {f32({2, 3})}), "'reshape' needs its result type stated");
  TensorType six = f32({6});
  EXPECT_EQ(infer(OpKind::Reshape, {f32({2, 3})}, NoAttrs{}, &six), six);
  TensorType seven = f32({7});
  EXPECT_EQ(inferError(OpKind::Reshape, {f32({2, 3})}, NoAttrs{}, &seven),
            "'reshape' element counts differ: f32[2,3] to f32[7]");
  TensorType c = f32({2, 2});
  EXPECT_TRUE(inferType(OpKind::Constant, {}, ConstantAttrs{{1, 2, 3, 4}}, &c).ok());
  EXPECT_TRUE(inferType(OpKind::Constant, {}, ConstantAttrs{{0.5}}, &c).ok());
  EXPECT_EQ(inferError(OpKind::Constant, {}, ConstantAttrs{{1, 2, 3}}, &c),
            "'constant' has 3 values for f32[2,2] (4 elements)");
}

TEST(ShapeInference, StatedTypeMustEqualInferred) {
  TensorType wrong = f32({3});
  EXPECT_EQ(inferError(OpKind::Add, {f32({2}), f32({2})}, NoAttrs{}, &wrong),
            "'add' result type f32[3] does not match the inferred type f32[2]");
}

TEST(ShapeInference, BroadcastInDim) {
  TensorType out = f32({4, 3});
  EXPECT_EQ(infer(OpKind::Broadcast, {f32({3})}, BroadcastAttrs{{1}}, &out), out);
  EXPECT_EQ(infer(OpKind::Broadcast, {f32({1, 3})}, BroadcastAttrs{{0, 1}}, &out), out);
  EXPECT_EQ(inferError(OpKind::Broadcast, {f32({3})}, BroadcastAttrs{{0}}, &out),
            "'broadcast' operand dim 0 (3) cannot broadcast to result dim 0 (4): f32[3] to f32[4,3]");
  EXPECT_EQ(inferError(OpKind::Broadcast, {f32({3, 1})}, BroadcastAttrs{{1, 0}}, &out),
            "'broadcast' 'dims' must be strictly increasing, got [1,0]");
}

TEST(ShapeInference, TransposeSliceConcatPad) {
  EXPECT_EQ(infer(OpKind::Transpose, {f32({2, 3, 4})}, TransposeAttrs{{2, 0, 1}}), f32({4, 2, 3}));
  EXPECT_EQ(inferError(OpKind::Transpose, {f32({2, 3})}, TransposeAttrs{{0, 0}}),
            "'transpose' 'perm' [0,0] is not a permutation of the dims of f32[2,3]");
  EXPECT_EQ(infer(OpKind::Slice, {f32({10, 4})}, SliceAttrs{{1, 0}, {8, 4}, {3, 1}}), f32({3, 4}));
  EXPECT_EQ(infer(OpKind::Slice, {f32({10})}, SliceAttrs{{5}, {5}, {1}}), f32({0}));
  EXPECT_FALSE(inferType(OpKind::Slice, std::vector{f32({10})}, SliceAttrs{{0}, {11}, {1}}).ok());
  EXPECT_EQ(infer(OpKind::Concat, {f32({2, 3}), f32({2, 5})}, ConcatAttrs{1}), f32({2, 8}));
  EXPECT_FALSE(inferType(OpKind::Concat, std::vector{f32({2, 3}), f32({3, 3})}, ConcatAttrs{1}).ok());
  EXPECT_EQ(infer(OpKind::Pad, {f32({2, 3})}, PadAttrs{{1, 0}, {2, 3}, 0.0}), f32({5, 6}));
  EXPECT_FALSE(inferType(OpKind::Pad, std::vector{f32({2})}, PadAttrs{{-1}, {0}, 0.0}).ok());
}

TEST(ShapeInference, ReductionsDropAxes) {
  EXPECT_EQ(infer(OpKind::ReduceSum, {f32({2, 3, 4})}, ReduceAttrs{{0, 2}}), f32({3}));
  EXPECT_EQ(infer(OpKind::ReduceMax, {f32({2, 3})}, ReduceAttrs{{0, 1}}), f32({}));
  EXPECT_EQ(infer(OpKind::ReduceSum, {f32({2, 0})}, ReduceAttrs{{1}}), f32({2}));
  EXPECT_EQ(inferError(OpKind::ReduceSum, {f32({2})}, ReduceAttrs{{1}}),
            "'reduce_sum' axis 1 in 'axes' is out of range for rank 1");
}

TEST(ShapeInference, MatMulWithTransposesAndBatch) {
  EXPECT_EQ(infer(OpKind::MatMul, {f32({128, 784}), f32({784, 512})}, MatMulAttrs{}), f32({128, 512}));
  EXPECT_EQ(infer(OpKind::MatMul, {f32({784, 128}), f32({784, 512})}, MatMulAttrs{true, false}), f32({128, 512}));
  EXPECT_EQ(infer(OpKind::MatMul, {f32({128, 784}), f32({512, 784})}, MatMulAttrs{false, true}), f32({128, 512}));
  EXPECT_EQ(infer(OpKind::MatMul, {f32({5, 2, 3}), f32({5, 3, 4})}, MatMulAttrs{}), f32({5, 2, 4}));
  EXPECT_EQ(inferError(OpKind::MatMul, {f32({128, 784}), f32({500, 512})}, MatMulAttrs{}),
            "'matmul' contraction dims differ: f32[128,784] vs f32[500,512] (784 vs 500)");
  EXPECT_EQ(inferError(OpKind::MatMul, {f32({4, 2, 3}), f32({5, 3, 4})}, MatMulAttrs{}),
            "'matmul' batch dims differ: f32[4,2,3] vs f32[5,3,4]");
}

TEST(ShapeInference, ConvolutionAndItsGradients) {
  ConvAttrs same{{1, 1}, {2, 2}, {1, 1}};
  EXPECT_EQ(infer(OpKind::Conv2d, {f32({64, 1, 28, 28}), f32({32, 1, 5, 5})}, same), f32({64, 32, 28, 28}));
  ConvAttrs strided{{2, 2}, {1, 1}, {2, 2}};
  // (9 + 2 - 2*(3-1) - 1) / 2 + 1 = 4
  EXPECT_EQ(infer(OpKind::Conv2d, {f32({1, 3, 9, 9}), f32({8, 3, 3, 3})}, strided), f32({1, 8, 4, 4}));
  TensorType x = f32({1, 3, 9, 9}), w = f32({8, 3, 3, 3});
  EXPECT_EQ(infer(OpKind::Conv2dInputGrad, {f32({1, 8, 4, 4}), w}, strided, &x), x);
  EXPECT_EQ(infer(OpKind::Conv2dFilterGrad, {x, f32({1, 8, 4, 4})}, strided, &w), w);
  EXPECT_FALSE(inferType(OpKind::Conv2dInputGrad, std::vector{f32({1, 8, 5, 5}), w}, strided, &x).ok());
  EXPECT_EQ(inferError(OpKind::Conv2d, {f32({1, 2, 9, 9}), w}, strided),
            "'conv2d' input channels differ: input f32[1,2,9,9] has 2, filter f32[8,3,3,3] has 3");
  EXPECT_FALSE(inferType(OpKind::Conv2d, std::vector{f32({1, 3, 2, 2}), w}, ConvAttrs{}).ok());
}

TEST(ShapeInference, Pooling) {
  PoolAttrs p{{2, 2}, {2, 2}, {0, 0}};
  EXPECT_EQ(infer(OpKind::MaxPool2d, {f32({64, 32, 28, 28})}, p), f32({64, 32, 14, 14}));
  EXPECT_EQ(infer(OpKind::MaxPool2d, {f32({1, 1, 5, 5})}, p), f32({1, 1, 2, 2}));
  EXPECT_EQ(infer(OpKind::MaxPool2dGrad, {f32({1, 1, 5, 5}), f32({1, 1, 2, 2})}, p), f32({1, 1, 5, 5}));
  TensorType x = f32({1, 1, 5, 5});
  EXPECT_EQ(infer(OpKind::AvgPool2dGrad, {f32({1, 1, 2, 2})}, p, &x), x);
  EXPECT_EQ(inferError(OpKind::MaxPool2d, {f32({1, 1, 5, 5})}, PoolAttrs{{2, 2}, {1, 1}, {2, 2}}),
            "'max_pool2d' padding [2,2] must be smaller than the window [2,2]");
}

TEST(ShapeInference, OneHotAndIota) {
  TensorType out = f32({128, 10});
  EXPECT_EQ(infer(OpKind::OneHot, {i32({128})}, NoAttrs{}, &out), out);
  EXPECT_EQ(inferError(OpKind::OneHot, {f32({128})}, NoAttrs{}, &out), "'one_hot' labels must be integers, got f32[128]");
  TensorType it = i32({3, 4});
  EXPECT_EQ(infer(OpKind::Iota, {}, IotaAttrs{1}, &it), it);
  EXPECT_FALSE(inferType(OpKind::Iota, {}, IotaAttrs{2}, &it).ok());
}

TEST(ShapeInference, OverflowingShapesAreRejected) {
  TensorType huge = f32({INT64_MAX / 2, 4});
  EXPECT_FALSE(inferType(OpKind::Neg, std::vector{huge}, NoAttrs{}).ok());
}

TEST(ShapeInference, HugeAttributesAreRejectedWithoutOverflow) {
  constexpr int64_t kMax = INT64_MAX;
  EXPECT_FALSE(inferType(OpKind::Pad, std::vector{f32({4})}, PadAttrs{{kMax}, {1}, 0.0}).ok());
  EXPECT_EQ(infer(OpKind::Slice, {f32({4})}, SliceAttrs{{0}, {4}, {kMax}}), f32({1}));
  EXPECT_FALSE(inferType(OpKind::Conv2d, std::vector{f32({1, 1, 4, 4}), f32({1, 1, 2, 2})},
                         ConvAttrs{{1, 1}, {0, 0}, {kMax, 1}}).ok());
  EXPECT_FALSE(inferType(OpKind::Conv2d, std::vector{f32({1, 1, 4, 4}), f32({1, 1, 2, 2})},
                         ConvAttrs{{1, 1}, {kMax, 0}, {1, 1}}).ok());
  EXPECT_FALSE(inferType(OpKind::Concat, std::vector{f32({kMax / 2 + 1}), f32({kMax / 2 + 1})}, ConcatAttrs{0}).ok());
}

TEST(ShapeInference, NumpyBroadcastShapes) {
  EXPECT_EQ(broadcastShapes({3}, {2, 1}), Shape({2, 3}));
  EXPECT_EQ(broadcastShapes({}, {4}), Shape({4}));
  EXPECT_EQ(broadcastShapes({2, 3}, {3, 3}), std::nullopt);
}

TEST(Builder, InfersTypesAndReportsLocatedErrors) {
  Function f("f");
  Builder b(f);
  b.setLoc(Location::make("model.cpp", 12, 7));
  Value *x = f.addArg(f32({128, 784}), "x");
  Value *w = f.addArg(f32({500, 512}), "w");
  Expected<Value *> bad = b.tryCreate(OpKind::MatMul, {x, w}, MatMulAttrs{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().str(),
            "model.cpp:12:7: error: 'matmul' contraction dims differ: f32[128,784] vs f32[500,512] (784 vs 500)");
  EXPECT_EQ(f.numNodes(), 0u) << "a failed create must not add a node";

  Value *bias = f.addArg(f32({784}), "b");
  Value *bb = b.broadcastTo(bias, {128, 784});
  EXPECT_EQ(bb->type(), f32({128, 784}));
  EXPECT_EQ(bb->def()->attrsAs<BroadcastAttrs>().dims, std::vector<int64_t>{1});
  EXPECT_EQ(b.broadcastTo(x, {128, 784}), x) << "no-op broadcast adds nothing";
  Value *s = b.add(x, bb);
  f.setResults({s});
  EXPECT_TRUE(verify(f).ok());
  EXPECT_EQ(s->def()->loc, Location::make("model.cpp", 12, 7));
}

}  // namespace
}  // namespace dlc
