//===- tests/unit/codegen_test_util.cpp - JIT-vs-interpreter test harness ---===//
#include "codegen_test_util.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "ir/interpreter.h"
#include "ir/printer.h"
#include "runtime/executable.h"

namespace dlc::test {

const std::vector<TestTarget> &testTargets() {
  static const std::vector<TestTarget> targets = [] {
    std::vector<TestTarget> t;
    t.push_back({"host", CodegenOptions{}});
    CodegenOptions avx2;
    avx2.features = "-avx512f";
    t.push_back({"avx2", avx2});
    CodegenOptions generic;
    generic.cpu = "x86-64";
    t.push_back({"generic", generic});
    return t;
  }();
  return targets;
}

int64_t Rng::uniformInt(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(g_); }
double Rng::uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(g_); }

int64_t Rng::dim() {
  static const std::vector<int64_t> dims = {1, 1, 2, 3, 5, 7, 8, 13, 15, 16, 17, 31, 33};
  return pick(dims);
}

Shape Rng::shape(int64_t rank) {
  Shape s;
  for (int64_t i = 0; i < rank; ++i) s.push_back(dim());
  return s;
}

namespace {

template <class T> T specialFloat(Rng &r) {
  using L = std::numeric_limits<T>;
  static const std::vector<T> v = {L::quiet_NaN(), L::infinity(), -L::infinity(), T(0), -T(0),
                                   L::denorm_min(), -L::denorm_min() * 7, L::min(), L::max(), -L::max(), T(1), T(-1)};
  return r.pick(v);
}

template <class T> T specialInt(Rng &r) {
  using L = std::numeric_limits<T>;
  static const std::vector<T> v = {L::min(), L::max(), T(0), T(-1), T(1), L::min() + 1};
  return r.pick(v);
}

}  // namespace

HostTensor Rng::tensor(const TensorType &t, const InputStyle &style) {
  HostTensor h(t);
  dispatchDType(t.dtype, [&]<class T>() {
    std::span<T> d = h.data<T>();
    for (T &x : d) {
      if constexpr (std::is_floating_point_v<T>) {
        if (coin(style.special)) x = specialFloat<T>(*this);
        else if (style.ties) x = static_cast<T>(uniformInt(-3, 3));
        else if (style.wide) x = static_cast<T>((coin() ? -1 : 1) * std::pow(10.0, uniform(-3, 12)));
        else x = static_cast<T>(uniform(style.lo, style.hi));
      } else if constexpr (std::is_same_v<T, uint8_t>) {
        x = coin() ? 1 : 0;
      } else {
        x = coin(style.special) ? specialInt<T>(*this) : static_cast<T>(uniformInt(style.intLo, style.intHi));
      }
    }
  });
  return h;
}

std::unique_ptr<Function> singleOp(OpKind k, const std::vector<TensorType> &argTypes, Attrs attrs,
                                   std::optional<TensorType> given) {
  auto f = std::make_unique<Function>("f");
  std::vector<Value *> args;
  for (size_t i = 0; i < argTypes.size(); ++i) args.push_back(f->addArg(argTypes[i], fmt::format("a{}", i)));
  Builder b(*f);
  Expected<Value *> v = b.tryCreate(k, args, std::move(attrs), std::move(given));
  if (!v) {
    ADD_FAILURE() << "bad test case for '" << mnemonic(k) << "': " << v.error().str();
    return nullptr;
  }
  f->setResults({*v});
  return f;
}

namespace {

/// Distance in units in the last place between two finite floats.
template <class T> int64_t ulpDistanceT(T a, T b) {
  using I = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  auto key = [](T x) {
    I i = std::bit_cast<I>(x);
    return i < 0 ? static_cast<int64_t>(std::numeric_limits<I>::min()) - i : static_cast<int64_t>(i);
  };
  int64_t d = key(a) - key(b);
  return d < 0 ? -d : d;
}

}  // namespace

int64_t ulpDistance(float a, float b) { return ulpDistanceT(a, b); }

::testing::AssertionResult sameElements(const HostTensor &got, const HostTensor &want, int64_t ulp, bool strictNan) {
  if (got.type() != want.type())
    return ::testing::AssertionFailure() << "type " << typeString(got.type()) << ", want " << typeString(want.type());
  if (strictNan && got == want) return ::testing::AssertionSuccess();
  int64_t bad = -1;
  dispatchDType(got.dtype(), [&]<class T>() {
    std::span<const T> g = got.data<T>(), w = want.data<T>();
    for (size_t i = 0; i < g.size() && bad < 0; ++i) {
      if (std::memcmp(&g[i], &w[i], sizeof(T)) == 0) continue;
      if constexpr (std::is_floating_point_v<T>) {
        if (!strictNan && std::isnan(g[i]) && std::isnan(w[i])) continue;
        if (ulp > 0 && std::isfinite(g[i]) && std::isfinite(w[i]) && ulpDistanceT(g[i], w[i]) <= ulp) continue;
      }
      bad = static_cast<int64_t>(i);
    }
  });
  if (bad < 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "element " << bad << " is " << fmt::format("{}", got.getDouble(bad))
                                       << ", want " << fmt::format("{}", want.getDouble(bad)) << "\n  got  "
                                       << formatTensor(got, 24) << "\n  want " << formatTensor(want, 24);
}

void checkJitCase(const JitCase &c) {
  ASSERT_TRUE(c.fn) << c.label;
  SCOPED_TRACE(c.label + "\n" + printFunction(*c.fn));
  InterpreterOptions io;
  io.math = c.math;
  Expected<std::vector<HostTensor>> want = interpret(*c.fn, c.inputs, io);
  ASSERT_TRUE(want) << want.error().str();
  for (const TestTarget &t : testTargets()) {
    std::vector<HostTensor> oneThread;
    for (int threads : {1, 2}) {
      SCOPED_TRACE(fmt::format("target {}, {} thread(s)", t.name, threads));
      ExecutableOptions o;
      o.codegen = t.opts;
      o.codegen.threads = threads;
      o.codegen.math = c.math;
      o.keepDenormals = true;  // IEEE, as the interpreter
      o.plan.aliasReshapes = c.aliasReshapes;
      o.plan.forceChunk = threads == 2 ? 1 : 0;
      Expected<std::unique_ptr<Executable>> ex = Executable::compile(*c.fn, o);
      ASSERT_TRUE(ex) << ex.error().str();
      Expected<std::vector<HostTensor>> got = (*ex)->run(c.inputs);
      ASSERT_TRUE(got) << got.error().str();
      ASSERT_EQ(got->size(), want->size());
      for (size_t r = 0; r < got->size(); ++r) {
        EXPECT_TRUE(sameElements((*got)[r], (*want)[r], c.ulp)) << "result " << r;
        if (threads == 2) {
          EXPECT_TRUE(sameElements((*got)[r], oneThread[r], 0, /*strictNan=*/true))
              << "result " << r << " differs between 1 and 2 threads";
        }
      }
      if (threads == 1) oneThread = std::move(*got);
    }
  }
}

std::vector<HostTensor> argsFor(const Function &f, uint64_t seed, double lo, double hi) {
  Rng r(seed);
  InputStyle style;
  style.lo = lo;
  style.hi = hi;
  style.special = 0;
  style.intLo = 0;
  style.intHi = 9;
  std::vector<HostTensor> args;
  for (size_t i = 0; i < f.numArgs(); ++i) args.push_back(r.tensor(f.arg(i)->type(), style));
  return args;
}

std::vector<HostTensor> compileAndRun(const Function &f, const std::vector<HostTensor> &args,
                                      const ExecutableOptions &o) {
  Expected<std::unique_ptr<Executable>> ex = Executable::compile(f, o);
  EXPECT_TRUE(ex) << ex.error().str();
  if (!ex) return {};
  Expected<std::vector<HostTensor>> r = (*ex)->run(args);
  EXPECT_TRUE(r) << r.error().str();
  return r ? std::move(*r) : std::vector<HostTensor>{};
}

}  // namespace dlc::test
