//===- tests/unit/passes_cleanup_test.cpp - dce, cse and constant folding ----===//
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/constant_fold.h"
#include "passes/cse.h"
#include "passes/dce.h"
#include "passes_test_util.h"

namespace dlc {
namespace {

/// Runs \p pass over \p text and returns the printed result; results must stay bitwise.
std::string runPass(PassFn pass, std::string_view text, bool expectChange = true) {
  Module m = test::parseOrFail(text);
  const Function &f = *m.functions()[0];
  std::vector<HostTensor> args = test::sampleArgs(f, 3);
  std::vector<HostTensor> before = test::runOrFail(f, args);
  Expected<bool> changed = pass(m, PassOptions{});
  EXPECT_TRUE(changed.ok());
  if (changed) {
    EXPECT_EQ(*changed, expectChange);
  }
  EXPECT_TRUE(verify(m).ok()) << printModule(m);
  EXPECT_TRUE(test::sameBits(before, test::runOrFail(f, args))) << printModule(m);
  return printModule(m);
}

TEST(Dce, RemovesDeadNodesKeepsUnusedArguments) {
  EXPECT_EQ(runPass(eliminateDeadCode, R"(func @f(%x: f32[2], %unused: f32[3]) -> f32[2] {
  %a = exp %x : f32[2]
  %dead = neg %a : f32[2]
  %dead2 = add %dead, %dead : f32[2]
  %y = log %a : f32[2]
  return %y
})"),
            "func @f(%x: f32[2], %unused: f32[3]) -> f32[2] {\n"
            "  %a = exp %x : f32[2]\n"
            "  %y = log %a : f32[2]\n"
            "  return %y\n"
            "}\n");
}

TEST(Dce, NothingToDoReportsNoChange) {
  runPass(eliminateDeadCode, R"(func @f(%x: f32[2]) -> f32[2] {
  %y = neg %x : f32[2]
  return %y
})", /*expectChange=*/false);
}

TEST(Cse, MergesEqualNodesAndChains) {
  EXPECT_EQ(runPass(eliminateCommonSubexpressions, R"(func @f(%x: f32[2], %z: f32[2]) -> (f32[2], f32[2]) {
  %a = mul %x, %z : f32[2]
  %b = mul %x, %z : f32[2]
  %c = exp %a : f32[2]
  %d = exp %b : f32[2]
  %e = add %c, %d : f32[2]
  return %e, %d
})"),
            "func @f(%x: f32[2], %z: f32[2]) -> (f32[2], f32[2]) {\n"
            "  %a = mul %x, %z : f32[2]\n"
            "  %c = exp %a : f32[2]\n"
            "  %e = add %c, %c : f32[2]\n"
            "  return %e, %c\n"
            "}\n");
}

TEST(Cse, KeepsDifferentAttributesTypesAndOperandOrder) {
  // Different attributes (dims), signed zeros, result types and operand order stay apart:
  // max(a, b) and max(b, a) differ on ties of +0 and -0.
  runPass(eliminateCommonSubexpressions, R"(func @f(%x: f32[2], %z: f32[2]) -> (f32[2,2], f32[2,2], f32[2], f32[2], f32[2], f32[2], i32[2], i64[2]) {
  %a = broadcast %x dims=[0] : f32[2,2]
  %b = broadcast %x dims=[1] : f32[2,2]
  %p = constant 0 : f32[2]
  %n = constant -0.0 : f32[2]
  %m1 = max %x, %z : f32[2]
  %m2 = max %z, %x : f32[2]
  %c1 = cast %x : i32[2]
  %c2 = cast %x : i64[2]
  return %a, %b, %p, %n, %m1, %m2, %c1, %c2
})", /*expectChange=*/false);
}

TEST(Cse, AttrsKeyComparesFieldsBitwise) {
  EXPECT_EQ(attrsKey(ReduceAttrs{{0, 1}}), attrsKey(ReduceAttrs{{0, 1}}));
  EXPECT_NE(attrsKey(ReduceAttrs{{0, 1}}), attrsKey(ReduceAttrs{{0}}));
  EXPECT_NE(attrsKey(ConstantAttrs{{0.0}}), attrsKey(ConstantAttrs{{-0.0}}));
  EXPECT_NE(attrsKey(MatMulAttrs{true, false}), attrsKey(MatMulAttrs{false, true}));
  EXPECT_NE(attrsKey(ReduceAttrs{{}}), attrsKey(BroadcastAttrs{{}}));  // the struct counts
}

TEST(ConstantFold, FoldsDenseAndSplatChains) {
  EXPECT_EQ(runPass(foldConstants, R"(func @f(%x: f32[3]) -> f32[3] {
  %c = constant [1, 2, 3] : f32[3]
  %d = constant 0.5 : f32[3]
  %e = mul %c, %d : f32[3]
  %s = reduce_sum %e axes=[0] : f32[]
  %b = broadcast %s dims=[] : f32[3]
  %y = add %x, %b : f32[3]
  return %y
})"),
            "func @f(%x: f32[3]) -> f32[3] {\n"
            "  %b = constant 3 : f32[3]\n"
            "  %y = add %x, %b : f32[3]\n"
            "  return %y\n"
            "}\n");
}

TEST(ConstantFold, HugeSplatsStaySplats) {
  // 2^18 elements (over the dense limit): elementwise, broadcast and the reduction fold
  // without materializing; the sum of 4096 copies of 0.1f is not 409.6.
  EXPECT_EQ(runPass(foldConstants, R"(func @f() -> (f32[4096,64], f32[64], i1[4096,64]) {
  %c = constant 0.1 : f32[64]
  %b = broadcast %c dims=[1] : f32[4096,64]
  %e = exp %b : f32[4096,64]
  %s = reduce_sum %b axes=[0] : f32[64]
  %t = compare %e, %b dir=gt : i1[4096,64]
  return %e, %s, %t
})"),
            "func @f() -> (f32[4096,64], f32[64], i1[4096,64]) {\n"
            "  %e = constant 1.1051709651947021 : f32[4096,64]\n"
            "  %s = constant 409.61578369140625 : f32[64]\n"
            "  %t = constant 1 : i1[4096,64]\n"
            "  return %e, %s, %t\n"
            "}\n");
}

TEST(ConstantFold, LeavesLargeDenseResultsAndIota) {
  runPass(foldConstants, R"(func @f() -> (f32[100,100], f32[5000]) {
  %i = iota dim=0 : f32[100,100]
  %c = constant [1, 2] : f32[2]
  %p = pad %c low=[0] high=[4998] value=0 : f32[5000]
  return %i, %p
})", /*expectChange=*/false);
}

TEST(ConstantFold, SplatMatmulAndDenseOps) {
  const std::string out = runPass(foldConstants, R"(func @f() -> (f32[2,3], f32[2,2], i32[4]) {
  %a = constant 0.1 : f32[2,7]
  %b = constant 3 : f32[3,7]
  %m = matmul %a, %b transpose_a=false transpose_b=true : f32[2,3]
  %d = constant [1, 2, 3, 4] : f32[2,2]
  %t = transpose %d perm=[1,0] : f32[2,2]
  %i = constant [1, -2, 3, -4] : i32[4]
  %n = neg %i : i32[4]
  return %m, %t, %n
})");
  EXPECT_NE(out.find("constant [1, 3, 2, 4] : f32[2,2]"), std::string::npos) << out;
  EXPECT_NE(out.find("constant [-1, 2, -3, 4] : i32[4]"), std::string::npos) << out;
  EXPECT_EQ(out.find("matmul"), std::string::npos) << out;
}

}  // namespace
}  // namespace dlc
