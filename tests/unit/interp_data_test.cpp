//===- tests/unit/interp_data_test.cpp - interpreter: data movement, reductions ===//
//
// broadcast, reshape, transpose, slice, concat, pad, reduce_sum, reduce_max and one_hot
// against hand-computed results, with size-1, scalar and empty shapes, the fixed
// reduction order, and the Errors given for inconsistent attributes.
//
//===----------------------------------------------------------------------===//
#include <climits>

#include "interp_test_util.h"

namespace dlc::test {
namespace {

class InterpData : public InterpTest {};

/// 0, 1, 2, ... as T, in shape \p s.
template <class T> HostTensor counting(const Shape &s, T start = T(0)) {
  HostTensor h(TensorType{dtypeOf<T>(), s});
  std::span<T> d = h.data<T>();
  for (size_t i = 0; i < d.size(); ++i)
    d[i] = static_cast<T>(start + static_cast<T>(i));
  return h;
}

INTERP_TEST(InterpData, Broadcast, OpKind::Broadcast) {
  auto bc = [&](const HostTensor &x, TensorType t, std::vector<int64_t> dims) {
    return runOp(OpKind::Broadcast, {x}, std::move(t), BroadcastAttrs{std::move(dims)});
  };
  // A row vector along the last dimension, a column along the first.
  EXPECT_TRUE(tensorEq<float>(bc(f32t({3}, {1, 2, 3}), f32({2, 3}), {1}), {2, 3}, {1, 2, 3, 1, 2, 3}));
  EXPECT_TRUE(tensorEq<int32_t>(bc(i32t({2}, {7, 8}), i32({2, 3}), {0}), {2, 3}, {7, 7, 7, 8, 8, 8}));
  // Size-1 dims stretch.
  EXPECT_TRUE(tensorEq<double>(bc(f64t({1, 3}, {1, 2, 3}), f64({2, 3}), {0, 1}), {2, 3}, {1, 2, 3, 1, 2, 3}));
  EXPECT_TRUE(tensorEq<float>(bc(f32t({2, 1}, {4, 5}), f32({2, 3}), {0, 1}), {2, 3}, {4, 4, 4, 5, 5, 5}));
  EXPECT_TRUE(tensorEq<float>(bc(f32t({1}, {9}), f32({1}), {0}), {1}, {9}));
  // Into a middle dimension: out[i,j,k] = x[j].
  EXPECT_TRUE(
      tensorEq<int64_t>(bc(i64t({2}, {1, 2}), i64({2, 2, 2}), {1}), {2, 2, 2}, {1, 1, 2, 2, 1, 1, 2, 2}));
  // A scalar everywhere; into an empty result.
  EXPECT_TRUE(tensorEq<float>(bc(f32t({}, {5}), f32({2, 2}), {}), {2, 2}, {5, 5, 5, 5}));
  EXPECT_TRUE(tensorEq<float>(bc(f32t({3}, {1, 2, 3}), f32({0, 3}), {1}), {0, 3}, {}));
  EXPECT_TRUE(tensorEq<uint8_t>(bc(i1t({1}, {1}), i1({3}), {0}), {3}, {1, 1, 1}));
  EXPECT_TRUE(tensorEq<float>(bc(f32t({}, {5}), f32({}), {}), {}, {5}));

  EXPECT_EQ(opError(OpKind::Broadcast, {f32t({3}, {1, 2, 3})}, f32({2, 3}), BroadcastAttrs{{0}}),
            "'broadcast' operand dimension 0 (extent 3) does not broadcast to result dimension 0 (extent 2)");
  EXPECT_EQ(opError(OpKind::Broadcast, {f32t({3}, {1, 2, 3})}, f32({2, 3}), BroadcastAttrs{{2}}),
            "'broadcast' dims [2] must be strictly increasing dimensions below 2");
  EXPECT_EQ(opError(OpKind::Broadcast, {f32t({3}, {1, 2, 3})}, f32({2, 3}), BroadcastAttrs{{}}),
            "'broadcast' has 0 dims for an operand of rank 1");
  EXPECT_EQ(opError(OpKind::Broadcast, {f32t({1, 1}, {1})}, f32({2, 3}), BroadcastAttrs{{1, 0}}),
            "'broadcast' dims [1,0] must be strictly increasing dimensions below 2");
  EXPECT_EQ(opError(OpKind::Broadcast, {f32t({1}, {1})}, f64({2}), BroadcastAttrs{{0}}),
            "'broadcast' operand element type f32 differs from the result's f64");
}

INTERP_TEST(InterpData, Reshape, OpKind::Reshape) {
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Reshape, {counting<float>({2, 3})}, f32({3, 2})), {3, 2},
                              {0, 1, 2, 3, 4, 5}));
  EXPECT_TRUE(tensorEq<int32_t>(runOp(OpKind::Reshape, {counting<int32_t>({6}, 1)}, i32({1, 6, 1})),
                                {1, 6, 1}, {1, 2, 3, 4, 5, 6}));
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Reshape, {f64t({}, {2.5})}, f64({1, 1})), {1, 1}, {2.5}));
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Reshape, {f64t({1}, {2.5})}, f64({})), {}, {2.5}));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Reshape, {f32t({0, 3}, {})}, f32({3, 0})), {3, 0}, {}));
  EXPECT_EQ(opError(OpKind::Reshape, {counting<float>({5})}, f32({2, 3})),
            "'reshape' cannot reshape 5 elements into f32[2,3]");
}

INTERP_TEST(InterpData, Transpose, OpKind::Transpose) {
  EXPECT_TRUE(tensorEq<float>(
      runOp(OpKind::Transpose, {f32t({2, 3}, {1, 2, 3, 4, 5, 6})}, f32({3, 2}), TransposeAttrs{{1, 0}}),
      {3, 2}, {1, 4, 2, 5, 3, 6}));
  // Rank 3: result dimension i is operand dimension perm[i], so with perm [2,0,1]
  // result[i,j,k] = x[j,k,i]; x[a,b,c] = 100a + 10b + c.
  HostTensor x(i32({2, 3, 4}));
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 4; ++c)
        x.data<int32_t>()[(a * 3 + b) * 4 + c] = 100 * a + 10 * b + c;
  std::vector<int32_t> want;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 3; ++k)
        want.push_back(100 * j + 10 * k + i);
  EXPECT_TRUE(tensorEq<int32_t>(runOp(OpKind::Transpose, {x}, i32({4, 2, 3}), TransposeAttrs{{2, 0, 1}}),
                                {4, 2, 3}, want));
  EXPECT_TRUE(tensorEq<double>(
      runOp(OpKind::Transpose, {f64t({1, 2}, {7, 8})}, f64({2, 1}), TransposeAttrs{{1, 0}}), {2, 1}, {7, 8}));
  EXPECT_TRUE(
      tensorEq<float>(runOp(OpKind::Transpose, {f32t({}, {3})}, f32({}), TransposeAttrs{{}}), {}, {3}));
  EXPECT_TRUE(tensorEq<float>(
      runOp(OpKind::Transpose, {f32t({0, 2}, {})}, f32({2, 0}), TransposeAttrs{{1, 0}}), {2, 0}, {}));
  EXPECT_EQ(opError(OpKind::Transpose, {counting<float>({2, 3})}, f32({3, 2}), TransposeAttrs{{0, 0}}),
            "'transpose' perm [0,0] is not a permutation of 2 dimensions");
  EXPECT_EQ(opError(OpKind::Transpose, {counting<float>({2, 3})}, f32({2, 3}), TransposeAttrs{{1, 0}}),
            "'transpose' result shape [2,3] should be [3,2]");
}

INTERP_TEST(InterpData, Slice, OpKind::Slice) {
  auto slice = [&](const HostTensor &x, TensorType t, SliceAttrs a) {
    return runOp(OpKind::Slice, {x}, std::move(t), std::move(a));
  };
  EXPECT_TRUE(tensorEq<float>(slice(counting<float>({6}), f32({3}), {{1}, {6}, {2}}), {3}, {1, 3, 5}));
  EXPECT_TRUE(tensorEq<float>(slice(counting<float>({6}), f32({2}), {{0}, {4}, {3}}), {2}, {0, 3}));
  // Rows 1..2, columns 0 and 3 of a 3x4 matrix.
  EXPECT_TRUE(tensorEq<int32_t>(slice(counting<int32_t>({3, 4}), i32({2, 2}), {{1, 0}, {3, 4}, {1, 3}}),
                                {2, 2}, {4, 7, 8, 11}));
  EXPECT_TRUE(
      tensorEq<double>(slice(counting<double>({2, 3}), f64({1, 1}), {{1, 2}, {2, 3}, {1, 1}}), {1, 1}, {5}));
  EXPECT_TRUE(tensorEq<float>(slice(counting<float>({4}), f32({0}), {{2}, {2}, {1}}), {0}, {}));
  EXPECT_TRUE(tensorEq<float>(slice(counting<float>({4}), f32({0}), {{4}, {4}, {1}}), {0}, {}));
  EXPECT_TRUE(tensorEq<float>(slice(f32t({}, {1}), f32({}), {{}, {}, {}}), {}, {1}));
  EXPECT_EQ(opError(OpKind::Slice, {counting<float>({4})}, f32({2}), SliceAttrs{{2}, {5}, {1}}),
            "'slice' dimension 0: start 2, limit 5, stride 1 do not fit extent 4");
  EXPECT_EQ(opError(OpKind::Slice, {counting<float>({4})}, f32({2}), SliceAttrs{{0}, {4}, {0}}),
            "'slice' dimension 0: start 0, limit 4, stride 0 do not fit extent 4");
  EXPECT_EQ(opError(OpKind::Slice, {counting<float>({4})}, f32({3}), SliceAttrs{{0}, {4}, {2}}),
            "'slice' result shape [3] should be [2]");
  EXPECT_EQ(opError(OpKind::Slice, {counting<float>({4})}, f32({2}), SliceAttrs{{0}, {4}, {}}),
            "'slice' start, limit and stride need 1 entries each");
}

INTERP_TEST(InterpData, Concat, OpKind::Concat) {
  EXPECT_TRUE(tensorEq<float>(
      runOp(OpKind::Concat, {f32t({1, 2}, {1, 2}), f32t({2, 2}, {3, 4, 5, 6})}, f32({3, 2}), ConcatAttrs{0}),
      {3, 2}, {1, 2, 3, 4, 5, 6}));
  EXPECT_TRUE(tensorEq<int32_t>(
      runOp(OpKind::Concat, {i32t({2, 1}, {1, 2}), i32t({2, 2}, {3, 4, 5, 6})}, i32({2, 3}), ConcatAttrs{1}),
      {2, 3}, {1, 3, 4, 2, 5, 6}));
  // Three operands, one of them empty along the axis.
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Concat,
                                     {f64t({2, 1}, {1, 2}), f64t({2, 0}, {}), f64t({2, 2}, {3, 4, 5, 6})},
                                     f64({2, 3}), ConcatAttrs{1}),
                               {2, 3}, {1, 3, 4, 2, 5, 6}));
  EXPECT_TRUE(
      tensorEq<float>(runOp(OpKind::Concat, {f32t({2}, {1, 2})}, f32({2}), ConcatAttrs{0}), {2}, {1, 2}));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Concat, {f32t({0}, {}), f32t({0}, {})}, f32({0}), ConcatAttrs{0}),
                              {0}, {}));
  EXPECT_EQ(opError(OpKind::Concat, {f32t({2}, {1, 2}), f32t({1}, {3})}, f32({4}), ConcatAttrs{0}),
            "'concat' operands add up to 3 along axis 0, the result has 4");
  EXPECT_EQ(
      opError(OpKind::Concat, {f32t({1, 2}, {1, 2}), f32t({1, 3}, {3, 4, 5})}, f32({2, 2}), ConcatAttrs{0}),
      "'concat' operand 1 of type f32[1,3] does not fit the result f32[2,2] along axis 0");
  EXPECT_EQ(opError(OpKind::Concat, {f32t({}, {1})}, f32({}), ConcatAttrs{0}),
            "'concat' axis 0 is not a dimension of f32[]");
}

INTERP_TEST(InterpData, Pad, OpKind::Pad) {
  EXPECT_TRUE(tensorEq<float>(
      runOp(OpKind::Pad, {f32t({2, 2}, {1, 2, 3, 4})}, f32({3, 4}), PadAttrs{{1, 0}, {0, 2}, 9}), {3, 4},
      {9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9}));
  // The value converts as `cast` does.
  EXPECT_TRUE(tensorEq<int32_t>(runOp(OpKind::Pad, {i32t({1}, {5})}, i32({3}), PadAttrs{{1}, {1}, -1.5}), {3},
                                {-1, 5, -1}));
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::Pad, {f64t({2}, {1, 2})}, f64({5}), PadAttrs{{2}, {1}, kNan}),
                               {5}, {kNan, kNan, 1, 2, kNan}));
  EXPECT_TRUE(
      tensorEq<float>(runOp(OpKind::Pad, {f32t({0}, {})}, f32({2}), PadAttrs{{1}, {1}, 3}), {2}, {3, 3}));
  EXPECT_TRUE(
      tensorEq<float>(runOp(OpKind::Pad, {f32t({2}, {1, 2})}, f32({2}), PadAttrs{{0}, {0}, 3}), {2}, {1, 2}));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::Pad, {f32t({}, {4})}, f32({}), PadAttrs{{}, {}, 3}), {}, {4}));
  EXPECT_EQ(opError(OpKind::Pad, {f32t({2}, {1, 2})}, f32({1}), PadAttrs{{-1}, {0}, 0}),
            "'pad' padding of dimension 0 is negative (-1, 0)");
  EXPECT_EQ(opError(OpKind::Pad, {f32t({2}, {1, 2})}, f32({5}), PadAttrs{{1}, {1}, 0}),
            "'pad' result shape [5] should be [4]");
}

INTERP_TEST(InterpData, ReduceSum, OpKind::ReduceSum) {
  auto sum = [&](const HostTensor &x, TensorType t, std::vector<int64_t> axes) {
    return runOp(OpKind::ReduceSum, {x}, std::move(t), ReduceAttrs{std::move(axes)});
  };
  const HostTensor x = f32t({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(tensorEq<float>(sum(x, f32({2}), {1}), {2}, {6, 15}));
  EXPECT_TRUE(tensorEq<float>(sum(x, f32({3}), {0}), {3}, {5, 7, 9}));
  EXPECT_TRUE(tensorEq<float>(sum(x, f32({}), {0, 1}), {}, {21}));
  EXPECT_TRUE(tensorEq<float>(sum(x, f32({2, 3}), {}), {2, 3}, {1, 2, 3, 4, 5, 6}));
  // x[a,b,c] = 1..8 over axes {0,2}: b=0 -> 1+2+5+6, b=1 -> 3+4+7+8.
  EXPECT_TRUE(tensorEq<double>(sum(counting<double>({2, 2, 2}, 1), f64({2}), {0, 2}), {2}, {14, 22}));
  EXPECT_TRUE(tensorEq<int32_t>(sum(i32t({2, 2}, {1, 2, 3, 4}), i32({2}), {0}), {2}, {4, 6}));
  // Empty reductions give 0; reducing an empty tensor's other axis gives an empty one.
  EXPECT_TRUE(tensorEq<float>(sum(f32t({2, 0}, {}), f32({2}), {1}), {2}, {0, 0}));
  EXPECT_TRUE(tensorEq<int32_t>(sum(i32t({0, 3}, {}), i32({3}), {0}), {3}, {0, 0, 0}));
  EXPECT_TRUE(tensorEq<float>(sum(f32t({0, 3}, {}), f32({0}), {1}), {0}, {}));
  EXPECT_TRUE(tensorEq<double>(sum(f64t({}, {2}), f64({}), {}), {}, {2}));
  // Integers wrap.
  EXPECT_TRUE(tensorEq<int32_t>(sum(i32t({2}, {INT32_MAX, 1}), i32({}), {0}), {}, {INT32_MIN}));
  // inf and NaN.
  EXPECT_TRUE(
      tensorEq<float>(sum(f32t({2, 2}, {kInfF, -kInfF, kNanF, 1}), f32({2}), {1}), {2}, {kNanF, kNanF}));
  EXPECT_TRUE(tensorEq<float>(sum(f32t({2}, {-0.0f, -0.0f}), f32({}), {0}), {}, {0.0f}));  // starts from +0

  EXPECT_EQ(opError(OpKind::ReduceSum, {x}, f32({3}), ReduceAttrs{{1}}),
            "'reduce_sum' result shape [3] should be [2]");
  EXPECT_EQ(opError(OpKind::ReduceSum, {x}, f32({}), ReduceAttrs{{1, 0}}),
            "'reduce_sum' axes [1,0] must be strictly increasing dimensions below 2");
  EXPECT_EQ(opError(OpKind::ReduceSum, {x}, f32({2}), ReduceAttrs{{2}}),
            "'reduce_sum' axes [2] must be strictly increasing dimensions below 2");
}

INTERP_TEST(InterpData, ReduceSumOrder, OpKind::ReduceSum) {
  // In f32, 1e8 + 1 == 1e8. Contiguous reductions use the canonical 16-lane order
  // (ir/reduce_order.h): lanes 1e8, 1, -1e8, 1, then the tree adds lanes 0+2 and 1+3,
  // then (1e8 - 1e8) + (1 + 1) == 2. Row-major order would give ((1e8 + 1) - 1e8) + 1 == 1.
  EXPECT_TRUE(tensorEq<float>(
      runOp(OpKind::ReduceSum, {f32t({4}, {1e8f, 1, -1e8f, 1})}, f32({}), ReduceAttrs{{0}}), {}, {2}));
  // Axes {0,2} of x[2,1,2] are contiguous too (the kept dim between has extent 1).
  EXPECT_TRUE(tensorEq<float>(
      runOp(OpKind::ReduceSum, {f32t({2, 1, 2}, {1e8f, 1, -1e8f, 1})}, f32({1}), ReduceAttrs{{0, 2}}), {1},
      {2}));
  // Lane 16 goes back to lane 0: x_0 + x_16 is formed before the tree.
  std::vector<float> v(17, 0.0f);
  v[0] = 1e8f, v[16] = -1e8f, v[1] = 1;
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::ReduceSum, {f32t({1, 17}, v)}, f32({1}), ReduceAttrs{{1}}), {1}, {1}));
  // Column sums of x[4,2] are not contiguous: they visit the rows in order.
  EXPECT_TRUE(tensorEq<float>(
      runOp(OpKind::ReduceSum, {f32t({4, 2}, {1e8f, 1, 1, 2, -1e8f, 3, 1, 4})}, f32({2}), ReduceAttrs{{0}}),
      {2}, {1, 10}));
}

INTERP_TEST(InterpData, ReduceMax, OpKind::ReduceMax) {
  auto max = [&](const HostTensor &x, TensorType t, std::vector<int64_t> axes) {
    return runOp(OpKind::ReduceMax, {x}, std::move(t), ReduceAttrs{std::move(axes)});
  };
  EXPECT_TRUE(tensorEq<float>(max(f32t({2, 3}, {1, 5, 3, -kInfF, -2, -7}), f32({2}), {1}), {2}, {5, -2}));
  EXPECT_TRUE(tensorEq<float>(max(f32t({2, 3}, {1, 5, 3, -kInfF, -2, -7}), f32({3}), {0}), {3}, {1, 5, 3}));
  // NaN propagates wherever it is.
  EXPECT_TRUE(tensorEq<float>(max(f32t({3, 3}, {1, kNanF, 3, kNanF, 0, 1, 4, 5, kNanF}), f32({3}), {1}), {3},
                              {kNanF, kNanF, kNanF}));
  EXPECT_TRUE(tensorEq<double>(max(f64t({2, 2}, {-1, -2, -3, kNan}), f64({}), {0, 1}), {}, {kNan}));
  EXPECT_TRUE(tensorEq<double>(max(f64t({2, 2}, {-1, -2, -3, -0.5}), f64({}), {0, 1}), {}, {-0.5}));
  EXPECT_TRUE(tensorEq<int32_t>(max(i32t({2, 2}, {INT32_MIN, 3, -4, 2}), i32({2}), {0}), {2}, {-4, 3}));
  // Empty reductions: -inf, or the lowest integer.
  EXPECT_TRUE(tensorEq<float>(max(f32t({2, 0}, {}), f32({2}), {1}), {2}, {-kInfF, -kInfF}));
  EXPECT_TRUE(tensorEq<int32_t>(max(i32t({0}, {}), i32({}), {0}), {}, {INT32_MIN}));
  EXPECT_TRUE(tensorEq<int64_t>(max(i64t({0, 2}, {}), i64({2}), {0}), {2},
                                {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::min()}));
  EXPECT_TRUE(tensorEq<float>(max(f32t({1}, {-kInfF}), f32({}), {0}), {}, {-kInfF}));
}

INTERP_TEST(InterpData, OneHot, OpKind::OneHot) {
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::OneHot, {i32t({3}, {0, 2, 3})}, f32({3, 4})), {3, 4},
                              {1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}));
  // Out-of-range labels give an all-zero row.
  EXPECT_TRUE(tensorEq<double>(runOp(OpKind::OneHot, {i32t({3}, {-1, 4, 1})}, f64({3, 4})), {3, 4},
                               {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}));
  EXPECT_TRUE(tensorEq<int32_t>(runOp(OpKind::OneHot, {i64t({2, 1}, {1, 0})}, i32({2, 1, 2})), {2, 1, 2},
                                {0, 1, 1, 0}));
  EXPECT_TRUE(tensorEq<int64_t>(
      runOp(OpKind::OneHot, {i64t({1}, {std::numeric_limits<int64_t>::max()})}, i64({1, 3})), {1, 3},
      {0, 0, 0}));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::OneHot, {i32t({}, {1})}, f32({3})), {3}, {0, 1, 0}));
  EXPECT_TRUE(
      tensorEq<uint8_t>(runOp(OpKind::OneHot, {i32t({2}, {1, 0})}, i1({2, 2})), {2, 2}, {0, 1, 1, 0}));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::OneHot, {i32t({0}, {})}, f32({0, 5})), {0, 5}, {}));
  EXPECT_TRUE(tensorEq<float>(runOp(OpKind::OneHot, {i32t({2}, {0, 1})}, f32({2, 0})), {2, 0}, {}));
  EXPECT_EQ(opError(OpKind::OneHot, {f32t({2}, {0, 1})}, f32({2, 2})),
            "'one_hot' labels must be i32 or i64, got f32");
  EXPECT_EQ(opError(OpKind::OneHot, {i32t({2}, {0, 1})}, f32({3, 2})),
            "'one_hot' result shape [3,2] should be [2,2]");
  EXPECT_EQ(opError(OpKind::OneHot, {i32t({2}, {0, 1})}, f32({2})),
            "'one_hot' result f32[2] should have rank 2 (labels i32[2] plus depth)");
}

}  // namespace
}  // namespace dlc::test
