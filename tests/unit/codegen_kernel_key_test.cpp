//===- tests/unit/codegen_kernel_key_test.cpp - the JIT's cache keys ---------===//
//
// The cache key (codegen/kernel_key.h) must change whenever generated code could: two
// kernels that differ in any one of op, shape, dtype, attributes, operand structure,
// plan option, target cpu or features, math mode, fast math or optimization level get
// different keys; equal kernels (also at other positions of other functions, under other
// names) share one, and the JIT compiles them once.
//
//===----------------------------------------------------------------------===//
#include <functional>

#include "codegen/jit.h"
#include "codegen/kernel_key.h"
#include "codegen_test_util.h"
#include "ir/interpreter.h"
#include "runtime/executable.h"

namespace dlc::test {
namespace {

using Build = std::function<void(Function &, Builder &)>;

/// The keys of the kernels of a function with arguments \p args built by \p body.
std::vector<std::string> keysOf(std::vector<TensorType> args, const Build &body, KernelPlanOptions plan = {}) {
  Function f("f");
  for (size_t i = 0; i < args.size(); ++i) f.addArg(args[i], fmt::format("a{}", i));
  Builder b(f);
  body(f, b);
  std::vector<std::string> keys;
  for (const KernelSpec &k : planKernels(f, plan).kernels) keys.push_back(kernelKey(k));
  return keys;
}

/// The key of the one kernel of a function.
std::string keyOf(std::vector<TensorType> args, const Build &body, KernelPlanOptions plan = {}) {
  std::vector<std::string> keys = keysOf(std::move(args), body, plan);
  EXPECT_EQ(keys.size(), 1u);
  return keys.empty() ? std::string() : keys.front();
}

TEST(KernelKey, EqualKernelsShareAKey) {
  const std::string add = keyOf({f32({3, 17}), f32({3, 17})}, [](Function &f, Builder &b) {
    f.setResults({b.add(f.arg(0), f.arg(1))});
  });
  EXPECT_EQ(add, keyOf({f32({3, 17}), f32({3, 17})}, [](Function &f, Builder &b) {
    f.setResults({b.add(f.arg(0), f.arg(1))});
  }));
  // The same add as the second kernel of another function (another name, node index,
  // argument names): one key.
  std::vector<std::string> two = keysOf({f32({3, 17}), f32({3, 17})}, [](Function &f, Builder &b) {
    Value *e = b.exp(f.arg(1));
    f.setResults({e, b.add(f.arg(0), e)});
  }, KernelPlanOptions{.fuse = false});
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[1], add);
  EXPECT_NE(two[0], add);
}

TEST(KernelKey, HorizontalKernelsKeyTheirParts) {
  // Two independent results of different shapes: one horizontal kernel of two parts.
  auto parts = [](OpKind second, int64_t n) {
    return keysOf({f32({3, 17}), f32({n})}, [second](Function &f, Builder &b) {
      f.setResults({b.exp(f.arg(0)), b.create(second, {f.arg(1)})});
    });
  };
  const std::vector<std::string> base = parts(OpKind::Neg, 5);
  ASSERT_EQ(base.size(), 1u) << "expected one horizontal kernel";
  EXPECT_EQ(base, parts(OpKind::Neg, 5));
  EXPECT_NE(base, parts(OpKind::Abs, 5)) << "a part's op";
  EXPECT_NE(base, parts(OpKind::Neg, 6)) << "a part's shape";
}

TEST(KernelKey, AnyDifferenceInTheKernelChangesTheKey) {
  const std::vector<TensorType> ab = {f32({3, 17}), f32({3, 17})};
  auto binary = [](OpKind k) {
    return [k](Function &f, Builder &b) { f.setResults({b.create(k, {f.arg(0), f.arg(1)})}); };
  };
  const std::string base = keyOf(ab, binary(OpKind::Add));
  std::vector<std::pair<std::string, std::string>> variants = {
      {"op", keyOf(ab, binary(OpKind::Sub))},
      {"shape", keyOf({f32({3, 18}), f32({3, 18})}, binary(OpKind::Add))},
      {"rank", keyOf({f32({51}), f32({51})}, binary(OpKind::Add))},
      {"dtype", keyOf({f64({3, 17}), f64({3, 17})}, binary(OpKind::Add))},
      {"operand repeated", keyOf(ab, [](Function &f, Builder &b) { f.setResults({b.add(f.arg(0), f.arg(0))}); })},
      {"fused chain", keyOf(ab, [](Function &f, Builder &b) { f.setResults({b.exp(b.add(f.arg(0), f.arg(1)))}); })},
  };
  for (const auto &[what, key] : variants) EXPECT_NE(key, base) << what;
  // add(b, a) is add(a, b) with the buffers passed the other way round: the same code.
  EXPECT_EQ(base, keyOf(ab, [](Function &f, Builder &b) { f.setResults({b.add(f.arg(1), f.arg(0))}); }));
  // Which operand feeds which use does count: x + x*y against y + x*y (fused).
  auto axy = [&](int first) {
    return keyOf(ab, [first](Function &f, Builder &b) {
      f.setResults({b.add(f.arg(first), b.mul(f.arg(0), f.arg(1)))});
    });
  };
  EXPECT_NE(axy(0), axy(1));

  // Attributes: reduction axes, compare direction, constants (bitwise: 0.0 vs -0.0).
  auto reduce = [](std::vector<int64_t> axes) {
    return keyOf({f32({4, 9})}, [axes](Function &f, Builder &b) { f.setResults({b.reduceSum(f.arg(0), axes)}); });
  };
  EXPECT_NE(reduce({0}), reduce({1}));
  EXPECT_EQ(reduce({1}), reduce({1}));
  auto cmp = [&](CmpDir d) {
    return keyOf(ab, [d](Function &f, Builder &b) { f.setResults({b.compare(f.arg(0), f.arg(1), d)}); });
  };
  EXPECT_NE(cmp(CmpDir::Lt), cmp(CmpDir::Le));
  auto plusConst = [&](double c) {
    return keyOf({f32({3, 17})}, [c](Function &f, Builder &b) {
      f.setResults({b.add(f.arg(0), b.splatLike(c, f.arg(0)))});
    });
  };
  EXPECT_NE(plusConst(0.0), plusConst(-0.0));
  EXPECT_NE(plusConst(1.0), plusConst(2.0));
  EXPECT_EQ(plusConst(1.0), plusConst(1.0));
  auto mm = [&](bool ta, bool tb) {
    return keyOf({f32({8, 8}), f32({8, 8})}, [ta, tb](Function &f, Builder &b) {
      f.setResults({b.matmul(f.arg(0), f.arg(1), ta, tb)});
    });
  };
  EXPECT_NE(mm(false, false), mm(false, true));
  EXPECT_NE(mm(false, false), mm(true, false));
}

TEST(KernelKey, PlanOptionsChangeTheKey) {
  // A forced chunk and the choice of direct convolutions change the kernels.
  const Build addBody = [](Function &f, Builder &b) { f.setResults({b.add(f.arg(0), f.arg(1))}); };
  const std::vector<TensorType> ab = {f32({64, 33}), f32({64, 33})};
  EXPECT_NE(keyOf(ab, addBody), keyOf(ab, addBody, KernelPlanOptions{.forceChunk = 3}));
  const Build conv = [](Function &f, Builder &b) {
    f.setResults({b.conv2d(f.arg(0), f.arg(1), ConvAttrs{{1, 1}, {1, 1}, {1, 1}})});
  };
  const std::vector<TensorType> xw = {f32({2, 3, 8, 8}), f32({4, 3, 3, 3})};
  EXPECT_NE(keyOf(xw, conv), keyOf(xw, conv, KernelPlanOptions{.directConv = false}));
  // Fused and unfused: the fused kernel's key is none of the unfused ones'.
  const Build chain = [](Function &f, Builder &b) { f.setResults({b.exp(b.add(f.arg(0), f.arg(1)))}); };
  const std::string fused = keyOf(ab, chain);
  for (const std::string &k : keysOf(ab, chain, KernelPlanOptions{.fuse = false})) EXPECT_NE(k, fused);
}

TEST(KernelKey, TargetAndNumericsChangeTheKey) {
  Function f("f");
  Value *a = f.addArg(f32({3, 17}), "a");
  Builder b(f);
  f.setResults({b.exp(a)});
  const KernelSpec k = planKernels(f).kernels.at(0);
  auto keyWith = [&](const std::function<void(CodegenOptions &)> &edit) {
    CodegenOptions o;
    edit(o);
    Expected<TargetInfo> t = resolveTarget(o);
    EXPECT_TRUE(t) << t.error().str();
    return t ? kernelCacheKey(k, *t, o) : std::string();
  };
  const std::string base = keyWith([](CodegenOptions &) {});
  EXPECT_EQ(base, keyWith([](CodegenOptions &) {}));
  // Options that do not change code leave the key alone.
  EXPECT_EQ(base, keyWith([](CodegenOptions &o) { o.threads = 1, o.compileThreads = 1, o.cacheDir = "/tmp/x"; }));
  std::vector<std::pair<std::string, std::string>> variants = {
      {"cpu", keyWith([](CodegenOptions &o) { o.cpu = "x86-64"; })},
      {"features", keyWith([](CodegenOptions &o) { o.features = "-avx512f"; })},
      {"math", keyWith([](CodegenOptions &o) { o.math = MathMode::Libm; })},
      {"fast-math", keyWith([](CodegenOptions &o) { o.fastMath = true; })},
      {"opt level", keyWith([](CodegenOptions &o) { o.optLevel = 3; })},
  };
  for (const auto &[what, key] : variants) EXPECT_NE(key, base) << what;
  // dlc's version: the hash of the kernel generator's sources is part of every key.
  EXPECT_EQ(std::string(codegenSourceHash()).size(), 16u);
  EXPECT_NE(base.find(codegenSourceHash()), std::string::npos);
}

TEST(KernelKey, TheJitCompilesEqualKernelsOnce) {
  Expected<std::shared_ptr<Jit>> jit = Jit::create({});
  ASSERT_TRUE(jit) << jit.error().str();
  auto build = [](bool extra) {
    auto f = std::make_unique<Function>(extra ? "g" : "f");
    Value *x = f->addArg(f32({5, 7}), "x"), *y = f->addArg(f32({5, 7}), "y");
    Builder b(*f);
    Value *pre = extra ? b.neg(x) : x;
    f->setResults({b.mul(b.add(pre, y), y)});
    return f;
  };
  auto f = build(false), g = build(true);
  KernelPlanOptions unfused{.fuse = false};
  ASSERT_TRUE((*jit)->compile(planKernels(*f, unfused).kernels));
  EXPECT_EQ((*jit)->stats().compiled, 2);
  // g = (neg(x) + y) * y: its add and mul are f's kernels (other names, other indices).
  ASSERT_TRUE((*jit)->compile(planKernels(*g, unfused).kernels));
  EXPECT_EQ((*jit)->stats().compiled, 3);
  EXPECT_EQ((*jit)->stats().cacheHits, 2);
  // And the results are right: g through the shared kernels equals the interpreter.
  ExecutableOptions o;
  o.jit = *jit;
  o.plan = unfused;
  o.keepDenormals = true;  // IEEE, as the interpreter
  Expected<std::unique_ptr<Executable>> ex = Executable::compile(*g, o);
  ASSERT_TRUE(ex) << ex.error().str();
  Rng rng(3);
  std::vector<HostTensor> in = {rng.tensor(f32({5, 7})), rng.tensor(f32({5, 7}))};
  Expected<std::vector<HostTensor>> got = (*ex)->run(in);
  Expected<std::vector<HostTensor>> want = interpret(*g, in);
  ASSERT_TRUE(got && want);
  EXPECT_TRUE(sameElements((*got)[0], (*want)[0]));
}

}  // namespace
}  // namespace dlc::test
