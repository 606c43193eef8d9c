//===- tests/unit/interpreter_test.cpp - the reference interpreter's driver -===//
//
// interpret() itself: argument checking and its messages, multi-node functions, results
// that are arguments or repeated, the onNode observer, freed intermediates, Errors on
// unverified IR, evaluateOp/evaluateNode, and the test that every op of ops.def has an
// interpreter test (InterpCoverage.EveryOpHasATest).
//
//===----------------------------------------------------------------------===//
#include "interp_test_util.h"

namespace dlc::test {
namespace {

class InterpDriver : public InterpTest {};

/// The MLP layer of DESIGN.md: relu(x @ w1 + b1).
struct Mlp {
  Function f{"mlp"};
  Mlp(int64_t batch, int64_t in, int64_t out) {
    Value *x = f.addArg(f32({batch, in}), "x");
    Value *w1 = f.addArg(f32({in, out}), "w1");
    Value *b1 = f.addArg(f32({out}), "b1");
    Node *mm = f.createNode(OpKind::MatMul, {x, w1}, f32({batch, out}), MatMulAttrs{});
    Node *bc = f.createNode(OpKind::Broadcast, {b1}, f32({batch, out}), BroadcastAttrs{{1}});
    Node *add = f.createNode(OpKind::Add, {mm->result(), bc->result()}, f32({batch, out}), NoAttrs{});
    Node *zero = f.createNode(OpKind::Constant, {}, f32({batch, out}), ConstantAttrs{{0.0}});
    Node *relu = f.createNode(OpKind::Max, {add->result(), zero->result()}, f32({batch, out}), NoAttrs{});
    f.setResults({relu->result()});
  }
};

TEST_F(InterpDriver, MlpLayer) {
  Mlp m(2, 3, 2);
  const std::vector<HostTensor> args{f32t({2, 3}, {1, 2, 3, -1, -2, -3}), f32t({3, 2}, {1, 0, 0, 1, 1, 1}),
                                     f32t({2}, {0.5f, -10})};
  // x @ w1 = [[4, 5], [-4, -5]]; + b1 = [[4.5, -5], [-3.5, -15]]; relu.
  std::vector<HostTensor> r = run(m.f, args);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(tensorEq<float>(r[0], {2, 2}, {4.5f, 0, 0, 0}));
}

TEST_F(InterpDriver, ArgumentTypeErrorNamesTheArgument) {
  Mlp m(128, 784, 512);
  std::vector<HostTensor> args{HostTensor(f32({128, 784})), HostTensor(f32({784, 500})),
                               HostTensor(f32({512}))};
  Expected<std::vector<HostTensor>> r = interpret(m.f, args);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "argument 2 ('%w1') expects f32[784,512], got f32[784,500]");
  args[1] = HostTensor(f32({784, 512}));
  args[2] = HostTensor(f64({512}));
  r = interpret(m.f, args);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "argument 3 ('%b1') expects f32[512], got f64[512]");
}

TEST_F(InterpDriver, ArgumentCountAndUnnamedArguments) {
  Function f("g");
  Value *a = f.addArg(f32({2}));
  f.addArg(f32({2}));
  Node *n = f.createNode(OpKind::Neg, {a}, f32({2}), NoAttrs{});
  f.setResults({n->result()});
  const HostTensor one = f32t({2}, {1, 2});
  Expected<std::vector<HostTensor>> r = interpret(f, std::vector<HostTensor>{one});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "'@g' expects 2 argument(s), got 1");
  r = interpret(f, std::vector<HostTensor>{one, HostTensor(i32({2}))});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "argument 2 expects f32[2], got i32[2]");
  f.parsedLoc = Location::make("g.dlc", 3, 1);
  r = interpret(f, std::vector<HostTensor>{one});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().str(), "g.dlc:3:1: error: '@g' expects 2 argument(s), got 1");
}

TEST_F(InterpDriver, ResultsMayBeArgumentsAndRepeat) {
  Function f("h");
  Value *a = f.addArg(i32({2}), "a");
  Node *n = f.createNode(OpKind::Add, {a, a}, i32({2}), NoAttrs{});
  f.setResults({a, n->result(), n->result()});
  std::vector<HostTensor> r = run(f, std::vector<HostTensor>{i32t({2}, {3, -4})});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_TRUE(tensorEq<int32_t>(r[0], {2}, {3, -4}));
  EXPECT_TRUE(tensorEq<int32_t>(r[1], {2}, {6, -8}));
  EXPECT_TRUE(tensorEq<int32_t>(r[2], {2}, {6, -8}));
  // No nodes at all.
  Function id("id");
  id.setResults({id.addArg(f32({}))});
  r = run(id, std::vector<HostTensor>{f32t({}, {7})});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(tensorEq<float>(r[0], {}, {7}));
}

TEST_F(InterpDriver, IntermediatesAreFreedResultsKept) {
  // %0 = exp x; %1 = neg %0; %2 = add %1, %0; return %0, %2. %0 is used after %1 and is a
  // result, %1 dies at %2; the dead %3 = sqrt x is computed and dropped.
  Function f("chain");
  Value *x = f.addArg(f64({2}), "x");
  Node *e = f.createNode(OpKind::Exp, {x}, f64({2}), NoAttrs{});
  Node *ng = f.createNode(OpKind::Neg, {e->result()}, f64({2}), NoAttrs{});
  Node *ad = f.createNode(OpKind::Add, {ng->result(), e->result()}, f64({2}), NoAttrs{});
  f.createNode(OpKind::Sqrt, {x}, f64({2}), NoAttrs{});
  Node *mul = f.createNode(OpKind::Mul, {ad->result(), ng->result()}, f64({2}), NoAttrs{});
  f.setResults({e->result(), mul->result()});
  std::vector<HostTensor> r = run(f, std::vector<HostTensor>{f64t({2}, {0, 1})});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(tensorEq<double>(r[0], {2}, {1, std::exp(1.0)}));
  EXPECT_TRUE(tensorEq<double>(r[1], {2}, {-0.0, -0.0}));  // (-e + e) * -e
}

TEST_F(InterpDriver, OnNodeSeesEveryNodeInOrder) {
  Mlp m(1, 2, 2);
  std::vector<std::string> seen;
  std::vector<std::string> values;
  InterpreterOptions opts;
  opts.onNode = [&](const Node &n, const HostTensor &v) {
    seen.emplace_back(n.mnemonic());
    EXPECT_EQ(v.type(), n.type());
    values.push_back(formatTensor(v));
  };
  const std::vector<HostTensor> args{f32t({1, 2}, {1, -1}), f32t({2, 2}, {1, 2, 3, 4}), f32t({2}, {0, -1})};
  Expected<std::vector<HostTensor>> r = interpret(m.f, args, opts);
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(seen, (std::vector<std::string>{"matmul", "broadcast", "add", "constant", "max"}));
  EXPECT_EQ(values.front(), "f32[1,2] [-2, -2]");
  EXPECT_EQ(values.back(), "f32[1,2] [0, 0]");
}

TEST_F(InterpDriver, OnNodeFindsTheFirstNaN) {
  // What a NaN checker does: log(-1) is the first node to produce a NaN.
  Function f("nan");
  Value *x = f.addArg(f32({2}), "x");
  Node *lg = f.createNode(OpKind::Log, {x}, f32({2}), NoAttrs{});
  Node *ex = f.createNode(OpKind::Exp, {lg->result()}, f32({2}), NoAttrs{});
  f.setResults({ex->result()});
  const Node *firstNaN = nullptr;
  InterpreterOptions opts;
  opts.onNode = [&](const Node &n, const HostTensor &v) {
    for (float e : v.data<float>())
      if (std::isnan(e) && !firstNaN) firstNaN = &n;
  };
  ASSERT_TRUE(interpret(f, std::vector<HostTensor>{f32t({2}, {1, -1})}, opts));
  EXPECT_EQ(firstNaN, lg);
}

TEST_F(InterpDriver, UnverifiedIrGivesErrors) {
  // An operand from another function, i.e. never defined here.
  Function other("other");
  Value *foreign = other.addArg(f32({2}));
  Function f("bad");
  f.addArg(f32({2}));
  Node *n = f.createNode(OpKind::Neg, {foreign}, f32({2}), NoAttrs{}, Location::make("bad.dlc", 4, 3));
  f.setResults({n->result()});
  const std::vector<HostTensor> args{f32t({2}, {1, 2})};
  Expected<std::vector<HostTensor>> r = interpret(f, args);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().str(), "bad.dlc:4:3: error: 'neg' operand 0 is not defined before its use");

  // A use before the definition (program order is not topological).
  Function g("order");
  Value *x = g.addArg(f32({2}));
  Node *second = g.createNode(OpKind::Neg, {x}, f32({2}), NoAttrs{});
  Node *first = g.createNode(OpKind::Exp, {second->result()}, f32({2}), NoAttrs{}, Location{}, second);
  g.setResults({first->result()});
  r = interpret(g, args);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "'exp' operand 0 is not defined before its use");

  // A result that is not defined in the function.
  Function h("res");
  h.addArg(f32({2}));
  h.setResults({foreign});
  r = interpret(h, args);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "'@res' result 0 is not defined");
}

TEST_F(InterpDriver, InconsistentNodesGiveErrors) {
  const HostTensor two = f32t({2}, {1, 2});
  EXPECT_EQ(opError(OpKind::Add, {two, two}, f32({3})),
            "'add' operand 0 has type f32[2], but the result type is f32[3]");
  EXPECT_EQ(opError(OpKind::Add, {two, f64t({2}, {1, 2})}, f32({2})),
            "'add' operand 1 has type f64[2], but the result type is f32[2]");
  EXPECT_EQ(opError(OpKind::Add, {two}, f32({2})), "'add' expects 2 operand(s), got 1");
  EXPECT_EQ(opError(OpKind::Concat, {}, f32({2}), ConcatAttrs{0}), "'concat' expects at least one operand");
  EXPECT_EQ(opError(OpKind::Transpose, {two}, f32({2}), ReduceAttrs{{0}}),
            "'transpose' has attributes of another op");
  EXPECT_EQ(opError(OpKind::Neg, {two}, f32({-2})),
            "'neg' result type f32[-2] has a negative extent or is too large");
  EXPECT_EQ(opError(OpKind::Constant, {}, f32({INT64_MAX, 4}), ConstantAttrs{{0}}),
            "'constant' result type f32[9223372036854775807,4] has a negative extent or is too large");
  EXPECT_EQ(opError(OpKind::Constant, {}, f64({INT64_MAX / 4}), ConstantAttrs{{0}}),
            "'constant' result type f64[2305843009213693951] has a negative extent or is too large");
}

TEST_F(InterpDriver, EvaluateOpAndNode) {
  const HostTensor a = f32t({2}, {1, 2}), b = f32t({2}, {3, 5});
  const HostTensor *ops[] = {&a, &b};
  Expected<HostTensor> r = evaluateOp(OpKind::Mul, NoAttrs{}, f32({2}), ops);
  ASSERT_TRUE(r);
  EXPECT_TRUE(tensorEq<float>(*r, {2}, {3, 10}));

  Function f("n");
  Value *x = f.addArg(f32({2}));
  Value *y = f.addArg(f32({2}));
  Node *n = f.createNode(OpKind::Sub, {x, y}, f32({2}), NoAttrs{});
  r = evaluateNode(*n, ops);
  ASSERT_TRUE(r);
  EXPECT_TRUE(tensorEq<float>(*r, {2}, {-2, -3}));
  r = evaluateNode(*n, std::span<const HostTensor *const>(ops, 1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "'sub' has 2 operand(s), but 1 value(s) were given");
}

// The coverage test: every op in ops.def is declared by some INTERP_TEST, and each
// INTERP_TEST checks at its end that it really evaluated the ops it declares.
TEST(InterpCoverage, EveryOpHasATest) {
  std::set<OpKind> covered;
  for (const auto &[test, ops] : interpCoverage())
    covered.insert(ops.begin(), ops.end());
  for (int i = 0; i < kNumOps; ++i)
    EXPECT_TRUE(covered.count(opKindAt(i)))
        << "op '" << mnemonic(opKindAt(i)) << "' has no interpreter test (INTERP_TEST(..., OpKind::...))";
}

}  // namespace
}  // namespace dlc::test
