//===- tests/unit/passes_simplify_test.cpp - every simplify rule fires and is exact ===//
//
// One case per rule (some rules have several): the function is interpreted on inputs
// that include -0, inf, NaN and subnormals before and after `simplify`; strict rules must
// give bitwise-equal results, fast-math rules equal results on finite inputs. The debug
// output must name the rule. RuleTable.EveryRuleHasACase keeps the table and the cases in
// step.
//
//===----------------------------------------------------------------------===//
#include <set>

#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/simplify.h"
#include "passes_test_util.h"

namespace dlc {
namespace {

struct RuleCase {
  std::string_view rule;
  std::string_view ir;
  bool fastMath = false;
  OpKind gone = OpKind::Constant;  ///< a kind that must not remain (Constant: no check)
};

const RuleCase kCases[] = {
    {"mul-by-one", R"(func @f(%x: f32[9]) -> f32[9] {
  %c = constant 1 : f32[9]
  %y = mul %x, %c : f32[9]
  return %y
})", false, OpKind::Mul},
    {"mul-by-one", R"(func @f(%x: i32[5]) -> i32[5] {
  %c = constant 1 : i32[5]
  %y = mul %c, %x : i32[5]
  return %y
})", false, OpKind::Mul},
    {"mul-by-neg-one", R"(func @f(%x: f32[9]) -> f32[9] {
  %c = constant -1 : f32[9]
  %y = mul %c, %x : f32[9]
  return %y
})", false, OpKind::Mul},
    {"mul-by-zero", R"(func @f(%x: i32[5]) -> i32[5] {
  %c = constant 0 : i32[5]
  %y = mul %x, %c : i32[5]
  return %y
})", false, OpKind::Mul},
    {"mul-by-zero", R"(func @f(%x: f32[9]) -> f32[9] {
  %c = constant 0 : f32[9]
  %y = mul %x, %c : f32[9]
  return %y
})", true, OpKind::Mul},
    {"neg-mul-neg", R"(func @f(%x: f32[9], %z: f32[9]) -> f32[9] {
  %a = neg %x : f32[9]
  %b = neg %z : f32[9]
  %y = mul %a, %b : f32[9]
  return %y
})", false, OpKind::Neg},
    {"add-zero", R"(func @f(%x: f32[9]) -> f32[9] {
  %c = constant -0.0 : f32[9]
  %y = add %c, %x : f32[9]
  return %y
})", false, OpKind::Add},
    {"add-zero", R"(func @f(%x: i64[5]) -> i64[5] {
  %c = constant 0 : i64[5]
  %y = add %x, %c : i64[5]
  return %y
})", false, OpKind::Add},
    {"add-zero", R"(func @f(%x: f32[9]) -> f32[9] {
  %c = constant 0 : f32[9]
  %y = add %x, %c : f32[9]
  return %y
})", true, OpKind::Add},
    {"add-of-neg", R"(func @f(%x: f32[9], %z: f32[9]) -> f32[9] {
  %n = neg %z : f32[9]
  %y = add %n, %x : f32[9]
  return %y
})", false, OpKind::Neg},
    {"sub-zero", R"(func @f(%x: f32[9]) -> f32[9] {
  %c = constant 0 : f32[9]
  %y = sub %x, %c : f32[9]
  return %y
})", false, OpKind::Sub},
    {"sub-self", R"(func @f(%x: i32[5]) -> i32[5] {
  %y = sub %x, %x : i32[5]
  return %y
})", false, OpKind::Sub},
    {"sub-of-neg", R"(func @f(%x: f32[9], %z: f32[9]) -> f32[9] {
  %n = neg %z : f32[9]
  %y = sub %x, %n : f32[9]
  return %y
})", false, OpKind::Neg},
    {"div-by-one", R"(func @f(%x: f32[9]) -> f32[9] {
  %c = constant 1 : f32[9]
  %y = div %x, %c : f32[9]
  return %y
})", false, OpKind::Div},
    {"div-by-pow2", R"(func @f(%x: f32[9]) -> f32[9] {
  %c = constant -0.125 : f32[9]
  %y = div %x, %c : f32[9]
  return %y
})", false, OpKind::Div},
    {"div-by-pow2", R"(func @f(%x: f64[9]) -> f64[9] {
  %c = constant 1024 : f64[9]
  %y = div %x, %c : f64[9]
  return %y
})", false, OpKind::Div},
    {"neg-of-neg", R"(func @f(%x: f32[9]) -> f32[9] {
  %a = neg %x : f32[9]
  %y = neg %a : f32[9]
  return %y
})", false, OpKind::Neg},
    {"neg-into-constant", R"(func @f(%x: f32[9]) -> (f32[9], f32[9]) {
  %k = constant 0.3 : f32[9]
  %a = mul %k, %x : f32[9]
  %y = neg %a : f32[9]
  %b = div %k, %x : f32[9]
  %z = neg %b : f32[9]
  return %y, %z
})", false, OpKind::Neg},
    {"abs-of-neg", R"(func @f(%x: i32[5]) -> i32[5] {
  %a = neg %x : i32[5]
  %y = abs %a : i32[5]
  return %y
})", false, OpKind::Neg},
    {"abs-of-abs", R"(func @f(%x: f32[9]) -> f32[9] {
  %a = abs %x : f32[9]
  %y = abs %a : f32[9]
  return %y
})"},
    {"max-self", R"(func @f(%x: f32[9]) -> f32[9] {
  %y = max %x, %x : f32[9]
  return %y
})", false, OpKind::Max},
    {"min-self", R"(func @f(%x: f32[9]) -> f32[9] {
  %y = min %x, %x : f32[9]
  return %y
})", false, OpKind::Min},
    {"pow-one", R"(func @f(%x: f32[9]) -> f32[9] {
  %c = constant 1 : f32[9]
  %y = pow %x, %c : f32[9]
  return %y
})", false, OpKind::Pow},
    {"select-constant-pred", R"(func @f(%x: f32[9], %z: f32[9]) -> (f32[9], f32[9]) {
  %t = constant 1 : i1[9]
  %e = constant 0 : i1[9]
  %a = select %t, %x, %z : f32[9]
  %b = select %e, %x, %z : f32[9]
  return %a, %b
})", false, OpKind::Select},
    {"select-same-arms", R"(func @f(%x: f32[9], %z: f32[9]) -> f32[9] {
  %p = compare %x, %z dir=lt : i1[9]
  %y = select %p, %x, %x : f32[9]
  return %y
})", false, OpKind::Select},
    {"select-to-cast", R"(func @f(%x: f32[9], %z: f32[9]) -> (f32[9], i32[9]) {
  %p = compare %x, %z dir=le : i1[9]
  %one = constant 1 : f32[9]
  %zero = constant 0 : f32[9]
  %y = select %p, %one, %zero : f32[9]
  %i1 = constant 1 : i32[9]
  %i0 = constant 0 : i32[9]
  %w = select %p, %i1, %i0 : i32[9]
  return %y, %w
})", false, OpKind::Select},
    {"cast-same-type", R"(func @f(%x: i64[5]) -> i64[5] {
  %y = cast %x : i64[5]
  return %y
})", false, OpKind::Cast},
    {"transpose-identity", R"(func @f(%m: f32[2,3]) -> f32[2,3] {
  %y = transpose %m perm=[0,1] : f32[2,3]
  return %y
})", false, OpKind::Transpose},
    {"transpose-of-transpose", R"(func @f(%m: f32[2,3]) -> f32[2,3] {
  %a = transpose %m perm=[1,0] : f32[3,2]
  %y = transpose %a perm=[1,0] : f32[2,3]
  return %y
})", false, OpKind::Transpose},
    {"transpose-of-transpose", R"(func @f(%m: f32[2,3,4]) -> f32[3,4,2] {
  %a = transpose %m perm=[2,0,1] : f32[4,2,3]
  %y = transpose %a perm=[2,0,1] : f32[3,4,2]
  return %y
})"},
    {"transpose-of-broadcast", R"(func @f(%b: f32[3]) -> f32[3,4] {
  %a = broadcast %b dims=[1] : f32[4,3]
  %y = transpose %a perm=[1,0] : f32[3,4]
  return %y
})", false, OpKind::Transpose},
    {"reshape-same-shape", R"(func @f(%m: f32[2,3]) -> f32[2,3] {
  %y = reshape %m : f32[2,3]
  return %y
})", false, OpKind::Reshape},
    {"reshape-of-reshape", R"(func @f(%m: f32[2,3]) -> f32[3,2] {
  %a = reshape %m : f32[6]
  %y = reshape %a : f32[3,2]
  return %y
})"},
    {"reshape-of-unit-broadcast", R"(func @f(%s: f32[1]) -> f32[6] {
  %a = broadcast %s dims=[1] : f32[2,3]
  %y = reshape %a : f32[6]
  return %y
})"},
    {"broadcast-identity", R"(func @f(%m: f32[2,3]) -> f32[2,3] {
  %y = broadcast %m dims=[0,1] : f32[2,3]
  return %y
})", false, OpKind::Broadcast},
    {"broadcast-of-broadcast", R"(func @f(%b: f32[3]) -> f32[4,3,2] {
  %a = broadcast %b dims=[0] : f32[3,2]
  %y = broadcast %a dims=[1,2] : f32[4,3,2]
  return %y
})"},
    {"broadcast-of-splat", R"(func @f(%x: f32[4,3]) -> f32[4,3] {
  %c = constant 2.5 : f32[3]
  %a = broadcast %c dims=[1] : f32[4,3]
  %y = add %x, %a : f32[4,3]
  return %y
})", false, OpKind::Broadcast},
    {"reshape-of-splat", R"(func @f(%x: f32[6]) -> f32[6] {
  %c = constant -3 : f32[2,3]
  %a = reshape %c : f32[6]
  %y = mul %x, %a : f32[6]
  return %y
})", false, OpKind::Reshape},
    {"constant-fold", R"(func @f(%x: f32[3]) -> f32[3] {
  %c = constant [1, -0.0, 3] : f32[3]
  %d = constant [0.5, 0, -2] : f32[3]
  %e = mul %c, %d : f32[3]
  %y = sub %x, %e : f32[3]
  return %y
})", false, OpKind::Mul},
    {"slice-full", R"(func @f(%m: f32[2,3]) -> f32[2,3] {
  %y = slice %m start=[0,0] limit=[2,3] stride=[1,1] : f32[2,3]
  return %y
})", false, OpKind::Slice},
    {"concat-single", R"(func @f(%m: f32[2,3]) -> f32[2,3] {
  %y = concat %m axis=1 : f32[2,3]
  return %y
})", false, OpKind::Concat},
    {"pad-nothing", R"(func @f(%m: f32[2,3]) -> f32[2,3] {
  %y = pad %m low=[0,0] high=[0,0] value=0 : f32[2,3]
  return %y
})", false, OpKind::Pad},
    {"matmul-of-transpose", R"(func @f(%a: f32[3,2], %b: f32[4,3]) -> f32[2,4] {
  %t = transpose %a perm=[1,0] : f32[2,3]
  %y = matmul %t, %b transpose_a=false transpose_b=true : f32[2,4]
  return %y
})", false, OpKind::Transpose},
    {"reduce-max-unit-axes", R"(func @f(%m: f32[3,1,3]) -> f32[3,3] {
  %y = reduce_max %m axes=[1] : f32[3,3]
  return %y
})", false, OpKind::ReduceMax},
    {"reduce-sum-unit-axes", R"(func @f(%m: i32[2,1,3]) -> i32[2,3] {
  %y = reduce_sum %m axes=[1] : i32[2,3]
  return %y
})", false, OpKind::ReduceSum},
    {"reduce-sum-unit-axes", R"(func @f(%m: f32[3,3]) -> f32[3,3] {
  %y = reduce_sum %m axes=[] : f32[3,3]
  return %y
})", true, OpKind::ReduceSum},
    {"reduce-sum-of-broadcast", R"(func @f(%b: i32[3]) -> i32[3] {
  %a = broadcast %b dims=[1] : i32[4,3]
  %y = reduce_sum %a axes=[0] : i32[3]
  return %y
})", false, OpKind::ReduceSum},
    {"reduce-sum-of-broadcast", R"(func @f(%b: f32[3,1]) -> f32[2] {
  %a = broadcast %b dims=[1,2] : f32[2,3,5]
  %y = reduce_sum %a axes=[0,2] : f32[3]
  %z = reshape %y : f32[3]
  %w = slice %z start=[0] limit=[2] stride=[1] : f32[2]
  return %w
})", true, OpKind::ReduceSum},
};

void PrintTo(const RuleCase &c, std::ostream *os) { *os << c.rule << (c.fastMath ? " (fast-math)" : ""); }

/// Runs simplify on the case's module; returns the debug output.
std::string simplifyCase(Module &m, bool fastMath) {
  test::CapturedStream debug;
  PassOptions opts;
  opts.fastMath = fastMath;
  opts.debugOnly.insert("simplify");
  opts.debugStream = debug.file();
  Expected<bool> changed = simplify(m, opts);
  EXPECT_TRUE(changed.ok()) << (changed ? "" : changed.error().str());
  return debug.str();
}

class SimplifyRule : public ::testing::TestWithParam<RuleCase> {};

TEST_P(SimplifyRule, FiresAndPreservesResults) {
  const RuleCase &c = GetParam();
  Module m = test::parseOrFail(c.ir);
  ASSERT_EQ(m.functions().size(), 1u);
  Function &f = *m.functions()[0];
  // Fast-math rules may change the sign of zero, NaN-ness and rounding: compare them on
  // finite inputs with a tolerance.
  std::vector<HostTensor> args = test::sampleArgs(f, 1, /*specials=*/!c.fastMath);
  std::vector<HostTensor> before = test::runOrFail(f, args);
  const std::string log = simplifyCase(m, c.fastMath);
  EXPECT_NE(log.find(fmt::format("simplify: {} on", c.rule)), std::string::npos) << log << printFunction(f);
  ASSERT_TRUE(verify(m).ok()) << printFunction(f);
  if (c.gone != OpKind::Constant) {
    EXPECT_EQ(test::countNodes(f, c.gone), 0u) << printFunction(f);
  }
  std::vector<HostTensor> after = test::runOrFail(f, args);
  if (c.fastMath)
    EXPECT_TRUE(test::closeTo(before, after, 1e-6)) << printFunction(f);
  else
    EXPECT_TRUE(test::sameBits(before, after)) << printFunction(f);
}

std::string caseName(const ::testing::TestParamInfo<RuleCase> &info) {
  std::string name;
  for (char ch : info.param.rule) name += ch == '-' ? '_' : ch;
  return fmt::format("{}_{}", name, info.index);
}

INSTANTIATE_TEST_SUITE_P(AllRules, SimplifyRule, ::testing::ValuesIn(kCases), caseName);

TEST(SimplifyRuleTable, EveryRuleHasACase) {
  std::set<std::string_view> covered;
  for (const RuleCase &c : kCases) covered.insert(c.rule);
  std::set<std::string_view> names;
  for (const RewriteRule &r : simplifyRules()) {
    EXPECT_TRUE(names.insert(r.name).second) << "duplicate rule name " << r.name;
    EXPECT_TRUE(covered.count(r.name)) << "rule '" << r.name << "' has no test case";
    EXPECT_FALSE(r.pattern.empty()) << r.name;
  }
  for (std::string_view c : covered) EXPECT_TRUE(names.count(c)) << "case for unknown rule " << c;
}

// Rewrites that are not exact must not fire in strict mode.
TEST(SimplifyStrict, KeepsInexactRewritesOff) {
  Module m = test::parseOrFail(R"(func @f(%x: f32[9], %m: f32[3,1,3], %b: f32[3]) -> (f32[9], f32[9], f32[9], f32[3,3], f32[3], f32[9]) {
  %zero = constant 0 : f32[9]
  %nz = constant -0.0 : f32[9]
  %a = add %x, %zero : f32[9]
  %s = sub %x, %nz : f32[9]
  %p = mul %x, %zero : f32[9]
  %r = reduce_sum %m axes=[1] : f32[3,3]
  %bb = broadcast %b dims=[1] : f32[4,3]
  %q = reduce_sum %bb axes=[0] : f32[3]
  %three = constant 3 : f32[9]
  %d = div %x, %three : f32[9]
  return %a, %s, %p, %r, %q, %d
})");
  const std::string before = printModule(m);
  const std::string log = simplifyCase(m, /*fastMath=*/false);
  EXPECT_EQ(log, "");
  EXPECT_EQ(printModule(m), before);
}

TEST(SimplifyStrict, ReachesAFixpointThroughChains) {
  // neg(neg(neg(neg x))) * 1 + -0.0 -> x, over several sweeps.
  Module m = test::parseOrFail(R"(func @f(%x: f32[9]) -> f32[9] {
  %a = neg %x : f32[9]
  %b = neg %a : f32[9]
  %c = neg %b : f32[9]
  %d = neg %c : f32[9]
  %one = constant 1 : f32[9]
  %e = mul %d, %one : f32[9]
  %nz = constant -0.0 : f32[9]
  %y = add %e, %nz : f32[9]
  return %y
})");
  simplifyCase(m, false);
  EXPECT_EQ(printModule(m), "func @f(%x: f32[9]) -> f32[9] {\n  return %x\n}\n");
}

TEST(SimplifyStrict, RespectsTheFunctionOption) {
  Module m = test::parseOrFail(R"(func @f(%x: f32[2]) -> f32[2] {
  %a = neg %x : f32[2]
  %y = neg %a : f32[2]
  return %y
}
func @g(%x: f32[2]) -> f32[2] {
  %a = neg %x : f32[2]
  %y = neg %a : f32[2]
  return %y
})");
  PassOptions opts;
  opts.function = "g";
  ASSERT_TRUE(simplify(m, opts).ok());
  EXPECT_EQ(m.lookup("f")->numNodes(), 2u);
  EXPECT_EQ(m.lookup("g")->numNodes(), 0u);
  opts.function = "nope";
  Expected<bool> r = simplify(m, opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "no function named '@nope' in the module");
}

}  // namespace
}  // namespace dlc
