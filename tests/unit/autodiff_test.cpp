//===- tests/unit/autodiff_test.cpp - gradients() and the autodiff pass ----===//
//
// The contract of passes/autodiff.h apart from numeric accuracy (tests/gradcheck checks
// that): errors, zeros for unreachable arguments, integer paths, fan-out, tie rules,
// seeds, locations, and what the pass does to a function's signature.
//
//===----------------------------------------------------------------------===//
#include <gtest/gtest.h>

#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/autodiff.h"

namespace dlc {
namespace {

/// Interprets \p f on f64 vectors (one per argument) and returns result \p r as doubles.
std::vector<double> run(const Function &f, const std::vector<std::vector<double>> &args, size_t r) {
  std::vector<HostTensor> in;
  for (size_t i = 0; i < args.size(); ++i)
    in.push_back(HostTensor::fromVector(f.arg(i)->shape(), args[i]));
  Expected<std::vector<HostTensor>> out = interpret(f, in);
  EXPECT_TRUE(out.ok()) << out.error().str();
  if (!out) return {};
  std::vector<double> v;
  for (int64_t i = 0; i < (*out)[r].numElements(); ++i)
    v.push_back((*out)[r].getDouble(i));
  return v;
}

/// d/dx sum(body(x)) for x: f64[n], as a function returning the gradient.
std::vector<double> gradOfSum(std::vector<double> x, Value *(*body)(Builder &, Value *)) {
  Function f("f");
  Value *arg = f.addArg(f64({static_cast<int64_t>(x.size())}), "x");
  Builder b(f);
  Value *y = b.reduceSum(body(b, arg), {0});
  Value *const wrt[] = {arg};
  Expected<std::vector<Value *>> g = gradients(b, y, wrt);
  EXPECT_TRUE(g.ok()) << g.error().str();
  if (!g) return {};
  f.setResults({(*g)[0]});
  EXPECT_TRUE(verify(f).ok());
  return run(f, {x}, 0);
}

TEST(Gradients, RejectsNonFloatWrt) {
  Function f("f");
  Value *x = f.addArg(f32({128}), "x");
  Value *y = f.addArg(i32({128}), "y");
  Builder b(f);
  Value *loss = b.reduceSum(b.mul(x, b.cast(y, DType::F32)), {0});
  Value *const wrt[] = {x, y};
  Expected<std::vector<Value *>> g = gradients(b, loss, wrt);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().message(),
            "cannot differentiate with respect to '%y': i32[128] is not a floating-point type");
}

TEST(Gradients, NeedsASeedForANonScalar) {
  Function f("f");
  Value *x = f.addArg(f32({4}), "x");
  Builder b(f);
  Value *y = b.exp(x);
  Value *const wrt[] = {x};
  Expected<std::vector<Value *>> g = gradients(b, y, wrt);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message().find("without a seed"), std::string::npos) << g.error().message();
  // With a seed s, the result is d(sum(s * exp(x)))/dx = s * exp(x).
  Value *s = f.addArg(f32({4}), "s");
  Expected<std::vector<Value *>> seeded = gradients(b, y, wrt, s);
  ASSERT_TRUE(seeded.ok()) << seeded.error().str();
}

TEST(Gradients, UnreachableAndIntegerPathsGiveZeros) {
  Function f("f");
  Value *x = f.addArg(f64({3}), "x");
  Value *unused = f.addArg(f64({2, 2}), "unused");
  Value *viaInt = f.addArg(f64({3}), "via_int");
  Builder b(f);
  // via_int reaches the loss only through an integer cast: no gradient flows.
  Value *rounded = b.cast(b.cast(viaInt, DType::I32), DType::F64);
  Value *loss = b.reduceSum(b.mul(x, rounded), {0});
  Value *const wrt[] = {x, unused, viaInt};
  Expected<std::vector<Value *>> g = gradients(b, loss, wrt);
  ASSERT_TRUE(g.ok()) << g.error().str();
  ASSERT_NE((*g)[1]->def(), nullptr);
  EXPECT_EQ((*g)[1]->def()->kind(), OpKind::Constant);
  EXPECT_EQ((*g)[1]->type(), unused->type());
  EXPECT_EQ((*g)[1]->def()->attrsAs<ConstantAttrs>().values, std::vector<double>{0.0});
  f.setResults({(*g)[0], (*g)[1], (*g)[2]});
  ASSERT_TRUE(verify(f).ok());
  std::vector<std::vector<double>> args{{1, 2, 3}, {1, 2, 3, 4}, {4.5, 5.5, -6.5}};
  EXPECT_EQ(run(f, args, 0), (std::vector<double>{4, 5, -6}));
  EXPECT_EQ(run(f, args, 1), (std::vector<double>{0, 0, 0, 0}));
  EXPECT_EQ(run(f, args, 2), (std::vector<double>{0, 0, 0}));
}

TEST(Gradients, FanOutCotangentsAreSummed) {
  // d/dx sum(x*x + exp(x)) = 2x + exp(x)
  std::vector<double> g =
      gradOfSum({0.5, -1.0}, [](Builder &b, Value *x) { return b.add(b.mul(x, x), b.exp(x)); });
  ASSERT_EQ(g.size(), 2u);
  EXPECT_DOUBLE_EQ(g[0], 1.0 + std::exp(0.5));
  EXPECT_DOUBLE_EQ(g[1], -2.0 + std::exp(-1.0));
}

TEST(Gradients, MaxSplitsTiesEvenly) {
  // relu(x) = max(x, 0): 1 above zero, 1/2 at zero, 0 below; max(x, x) = x has slope 1.
  EXPECT_EQ(gradOfSum({-1, 0, 2}, [](Builder &b, Value *x) { return b.max(x, b.splatLike(0.0, x)); }),
            (std::vector<double>{0, 0.5, 1}));
  EXPECT_EQ(gradOfSum({-1, 0, 2}, [](Builder &b, Value *x) { return b.max(x, x); }),
            (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(gradOfSum({-1, 0, 2}, [](Builder &b, Value *x) { return b.min(x, b.splatLike(0.0, x)); }),
            (std::vector<double>{1, 0.5, 0}));
}

TEST(Gradients, StopGradientPassesNone) {
  // d/dx sum(x * stop_gradient(x)) = stop_gradient(x) = x (not 2x), and through
  // stop_gradient alone nothing: sum(stop_gradient(x)) has a zero gradient.
  EXPECT_EQ(gradOfSum({-1, 0.5, 2}, [](Builder &b, Value *x) { return b.mul(x, b.stopGradient(x)); }),
            (std::vector<double>{-1, 0.5, 2}));
  EXPECT_EQ(gradOfSum({-1, 0.5, 2}, [](Builder &b, Value *x) { return b.stopGradient(x); }),
            (std::vector<double>{0, 0, 0}));
}

TEST(Gradients, ReduceMaxDividesAmongTies) {
  Function f("f");
  Value *x = f.addArg(f64({2, 3}), "x");
  Builder b(f);
  Value *loss = b.reduceSum(b.reduceMax(x, {1}), {0});
  Value *const wrt[] = {x};
  Expected<std::vector<Value *>> g = gradients(b, loss, wrt);
  ASSERT_TRUE(g.ok());
  f.setResults({(*g)[0]});
  EXPECT_EQ(run(f, {{1, 3, 3, 5, 2, 1}}, 0), (std::vector<double>{0, 0.5, 0.5, 1, 0, 0}));
}

TEST(Gradients, MaxPoolRoutesToTheFirstMaximum) {
  Function f("f");
  Value *x = f.addArg(f64({1, 1, 2, 4}), "x");
  Builder b(f);
  Value *loss = b.reduceSum(b.maxPool2d(x, PoolAttrs{}), {0, 1, 2, 3});
  Value *const wrt[] = {x};
  Expected<std::vector<Value *>> g = gradients(b, loss, wrt);
  ASSERT_TRUE(g.ok());
  f.setResults({(*g)[0]});
  EXPECT_EQ(run(f, {{7, 7, 1, 2, 7, 0, 3, 3}}, 0), (std::vector<double>{1, 0, 0, 0, 0, 0, 1, 0}));
}

TEST(Gradients, BackwardNodesTakeTheForwardLocation) {
  Function f("f");
  Value *x = f.addArg(f64({3}), "x");
  Builder b(f);
  b.setLoc(Location::make("model.cpp", 12, 7));
  Value *e = b.exp(x);
  b.setLoc(Location::make("model.cpp", 13, 3));
  Value *loss = b.reduceSum(e, {0});
  const size_t forward = f.numNodes();
  b.setLoc({});
  Value *const wrt[] = {x};
  ASSERT_TRUE(gradients(b, loss, wrt).ok());
  bool sawExpLoc = false;
  for (size_t i = forward; i < f.numNodes(); ++i)
    if (f.nodes()[i]->kind() == OpKind::Mul) sawExpLoc |= f.nodes()[i]->loc.line == 12;  // g * exp(x)
  EXPECT_TRUE(sawExpLoc);
  EXPECT_FALSE(b.loc().isKnown()) << "the builder's location is restored";
}

TEST(Gradients, GradOfGradIsOrdinaryIrThatRoundTrips) {
  // The second-order rule of max_pool2d_grad pads with -inf and gathers with masks; the
  // whole graph still verifies, prints and parses back identically.
  Module m;
  Function &f = *m.addFunction("hvp");
  Value *x = f.addArg(f32({1, 2, 5, 5}), "x");
  Value *v = f.addArg(f32({1, 2, 5, 5}), "v");
  Builder b(f);
  Value *p = b.maxPool2d(b.tanh(x), PoolAttrs{{3, 3}, {2, 2}, {1, 1}});
  Value *loss = b.reduceSum(b.mul(p, p), {0, 1, 2, 3});
  Value *const wrt[] = {x};
  Expected<std::vector<Value *>> g = gradients(b, loss, wrt);
  ASSERT_TRUE(g.ok()) << g.error().str();
  Expected<std::vector<Value *>> hv = gradients(b, (*g)[0], wrt, v);
  ASSERT_TRUE(hv.ok()) << hv.error().str();
  f.setResults({(*hv)[0]});
  ASSERT_TRUE(verify(m).ok());
  std::string text = printModule(m);
  EXPECT_NE(text.find("value=-inf"), std::string::npos) << text;
  Expected<Module> again = parseModule(text, "hvp.dlc");
  ASSERT_TRUE(again.ok()) << again.error().str();
  EXPECT_EQ(printModule(*again), text);
}

/// @f(%w: f64[3], %b: f64[], %n: i32[3]) -> f64[]: sum(w * cast(n)) * b
Function &lossFunction(Module &m) {
  Function &f = *m.addFunction("f");
  Value *w = f.addArg(f64({3}), "w");
  Value *bias = f.addArg(f64({}), "b");
  Value *n = f.addArg(i32({3}), "n");
  Builder b(f);
  f.setResults({b.mul(b.reduceSum(b.mul(w, b.cast(n, DType::F64)), {0}), bias)});
  return f;
}

TEST(DifferentiatePass, ReturnsLossAndGradientsOfFloatArguments) {
  Module m;
  Function &f = lossFunction(m);
  Expected<bool> changed = differentiate(m, {});
  ASSERT_TRUE(changed.ok()) << changed.error().str();
  EXPECT_TRUE(*changed);
  ASSERT_TRUE(verify(m).ok());
  ASSERT_EQ(f.results().size(), 3u);
  EXPECT_EQ(f.results()[1]->name(), "d_w");
  EXPECT_EQ(f.results()[2]->name(), "d_b");
  std::vector<HostTensor> args{HostTensor::fromVector<double>({3}, {1, 2, 3}),
                               HostTensor::fromVector<double>({}, {2}),
                               HostTensor::fromVector<int32_t>({3}, {4, 5, 6})};
  Expected<std::vector<HostTensor>> out = interpret(f, args);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)[0].getDouble(0), 64.0);  // (4 + 10 + 18) * 2
  EXPECT_EQ((*out)[1].getDouble(2), 12.0);  // b * n[2]
  EXPECT_EQ((*out)[2].getDouble(0), 32.0);  // sum(w * n)
}

TEST(DifferentiatePass, WrtSelectsArgumentsInArgumentOrder) {
  Module m;
  Function &f = lossFunction(m);
  PassOptions o;
  o.wrt = {"b", "%w"};
  ASSERT_TRUE(differentiate(m, o).ok());
  ASSERT_EQ(f.results().size(), 3u);
  EXPECT_EQ(f.results()[1]->type(), f64({3}));
  EXPECT_EQ(f.results()[2]->type(), f64({}));
}

TEST(DifferentiatePass, Errors) {
  {
    Module m;
    lossFunction(m);
    PassOptions o;
    o.wrt = {"n"};
    Expected<bool> r = differentiate(m, o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message(),
              "cannot differentiate with respect to '%n': i32[3] is not a floating-point type");
    o.wrt = {"nope"};
    r = differentiate(m, o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message(), "autodiff: @f has no argument named '%nope'");
  }
  {
    Module m;
    Function &f = *m.addFunction("f");
    Value *x = f.addArg(f32({4}), "x");
    Builder b(f);
    f.setResults({b.exp(x)});
    Expected<bool> r = differentiate(m, {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message(), "autodiff needs a scalar floating-point result; @f returns f32[4]");
  }
  {
    Module m;
    lossFunction(m);
    ASSERT_TRUE(differentiate(m, {}).ok());
    Expected<bool> again = differentiate(m, {});  // now returns (loss, d_w, d_b)
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().message(),
              "autodiff needs a scalar floating-point result; @f returns (f64[], f64[3], f64[])");
  }
}

TEST(DifferentiatePass, FunctionOptionRestrictsThePass) {
  Module m;
  lossFunction(m);
  Function &other = *m.addFunction("other");
  Builder b(other);
  other.setResults({b.exp(other.addArg(f32({4}), "x"))});
  PassOptions o;
  o.function = "f";
  ASSERT_TRUE(differentiate(m, o).ok());
  EXPECT_EQ(m.lookup("f")->results().size(), 3u);
  EXPECT_EQ(other.results().size(), 1u);
}

}  // namespace
}  // namespace dlc
