//===- fuzz/fuzz_graph.cpp - random valid graphs through the whole compiler -===//
//
// Structure-aware: the fuzz bytes drive a generator that builds a valid function from
// the op table - each step picks an op kind, operands from the values built so far (or
// new arguments), shapes (with numpy broadcasting for elementwise operands) and
// attributes, keeping the node when the shape rules accept it. Then:
//
//   1. the function must verify;
//   2. the JIT (Executable, default options but keepDenormals; a fresh JIT every 1000
//      inputs, so memory stays bounded) must give the reference
//      interpreter's results bitwise (any NaN equal to any NaN), on 1 and on 2 threads;
//   3. with a scalar loss added, autodiff (gradients w.r.t. every f32 argument) must
//      succeed or fail with an Error; the gradient function then goes through
//      simplify, cse and dce, which must keep the interpreter's results bitwise, and
//      through the JIT, which must again equal the interpreter.
//
// Strict numerics make all of this exact: no FMA contraction, libm transcendentals in
// both the interpreter and the generated code, denormals kept. A mismatch aborts with
// the function printed.
//
//===----------------------------------------------------------------------===//
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "ir/builder.h"
#include "ir/interpreter.h"
#include "ir/printer.h"
#include "ir/shape_inference.h"
#include "ir/verifier.h"
#include "passes/autodiff.h"
#include "passes/pipeline.h"
#include "runtime/executable.h"

using namespace dlc;

namespace {

constexpr int64_t kMaxElements = 2048;
constexpr size_t kMaxArgs = 8;
constexpr int kMaxNodes = 12;

[[noreturn]] void fail(const std::string &what, const Function &f) {
  std::fprintf(stderr, "fuzz_graph: %s\n--- function:\n%s\n", what.c_str(), printFunction(f).c_str());
  std::abort();
}

class Generator {
 public:
  Generator(FuzzedDataProvider &in, Function &f) : in_(in), f_(f), b_(f) {}

  void build() {
    const int nArgs = in_.ConsumeIntegralInRange<int>(1, 3);
    for (int i = 0; i < nArgs; ++i) newArg(TensorType{DType::F32, shape(3)});
    if (pool_.empty()) newArg(TensorType{DType::F32, {}});  // every shape drawn was too large
    const int nNodes = in_.ConsumeIntegralInRange<int>(1, kMaxNodes);
    for (int i = 0; i < nNodes && in_.remaining_bytes() > 0; ++i) step();
  }

  /// Values of the function, in creation order (arguments first).
  const std::vector<Value *> &values() const { return pool_; }

  int64_t dim() {
    static constexpr int64_t kDims[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 1, 2, 3, 0};
    return kDims[in_.ConsumeIntegralInRange<size_t>(0, std::size(kDims) - 1)];
  }
  Shape shape(int maxRank) {
    Shape s(static_cast<size_t>(in_.ConsumeIntegralInRange<int>(0, maxRank)));
    for (int64_t &d : s) d = dim();
    return s;
  }

 private:
  Value *newArg(TensorType t) {
    if (f_.numArgs() >= kMaxArgs || !small(t)) return nullptr;
    Value *v = f_.addArg(std::move(t), "a" + std::to_string(f_.numArgs()));
    pool_.push_back(v);
    return v;
  }
  static bool small(const TensorType &t) {
    std::optional<int64_t> n = numElements(t.shape);
    return n && *n <= kMaxElements;
  }
  /// A value from the pool, preferring \p d; null if the pool has no value of that dtype.
  Value *pick(std::optional<DType> d = DType::F32) {
    std::vector<Value *> c;
    for (Value *v : pool_)
      if (!d || v->dtype() == *d) c.push_back(v);
    if (c.empty()) return nullptr;
    return c[in_.ConsumeIntegralInRange<size_t>(0, c.size() - 1)];
  }
  /// A value of rank \p r: from the pool, or a new f32 argument.
  Value *pickRank(int64_t r) {
    std::vector<Value *> c;
    for (Value *v : pool_)
      if (v->rank() == r && isFloat(v->dtype())) c.push_back(v);
    if (!c.empty() && in_.ConsumeBool()) return c[in_.ConsumeIntegralInRange<size_t>(0, c.size() - 1)];
    Shape s(static_cast<size_t>(r));
    for (int64_t &d : s) d = dim();
    return newArg(TensorType{DType::F32, s});
  }
  std::vector<int64_t> axesOf(int64_t rank) {
    std::vector<int64_t> axes;
    for (int64_t i = 0; i < rank; ++i)
      if (in_.ConsumeBool()) axes.push_back(i);
    return axes;
  }
  std::vector<int64_t> ints(size_t n, int64_t lo, int64_t hi) {
    std::vector<int64_t> v(n);
    for (int64_t &x : v) x = in_.ConsumeIntegralInRange<int64_t>(lo, hi);
    return v;
  }
  double constantValue() {
    static constexpr double kValues[] = {0.0, 1.0, -1.0, 0.5, 2.0, -3.25, 1e-3, 100.0, -0.0, 1e30};
    return kValues[in_.ConsumeIntegralInRange<size_t>(0, std::size(kValues) - 1)];
  }
  /// Both operands broadcast numpy-style to a common shape (explicit broadcasts).
  bool broadcastPair(Value *&a, Value *&b) {
    if (a->shape() == b->shape()) return true;
    std::optional<Shape> s = broadcastShapes(a->shape(), b->shape());
    if (!s || !small(TensorType{a->dtype(), *s})) return false;
    a = b_.broadcastTo(a, *s);
    b = b_.broadcastTo(b, *s);
    pool_.push_back(a);
    pool_.push_back(b);
    return true;
  }
  /// Adds node \p k when the shape rules accept it and its result is small.
  Value *add(OpKind k, std::vector<Value *> ops, Attrs attrs = NoAttrs{}, std::optional<TensorType> given = {}) {
    for (Value *v : ops)
      if (!v) return nullptr;
    std::vector<TensorType> types;
    for (Value *v : ops) types.push_back(v->type());
    Expected<TensorType> t = inferType(k, types, attrs, given ? &*given : nullptr);
    if (!t || !small(*t)) return nullptr;
    Value *v = b_.create(k, std::move(ops), std::move(attrs), std::move(given));
    pool_.push_back(v);
    return v;
  }

  ConvAttrs convAttrs() {
    ConvAttrs a;
    a.stride = ints(2, 1, 3);
    a.padding = ints(2, 0, 2);
    a.dilation = ints(2, 1, 2);
    return a;
  }
  PoolAttrs poolAttrs() {
    PoolAttrs a;
    a.window = ints(2, 1, 3);
    a.stride = ints(2, 1, 3);
    a.padding = ints(2, 0, 1);
    return a;
  }
  Value *nchw() {
    return newArg(TensorType{DType::F32, {dim() % 3 + 1, dim() % 4 + 1, dim() % 9 + 1, dim() % 9 + 1}});
  }

  void step() {
    const OpKind k = opKindAt(in_.ConsumeIntegralInRange<int>(0, kNumOps - 1));
    switch (k) {
      case OpKind::Constant: {
        TensorType t{in_.ConsumeBool() ? DType::F32 : DType::F64, shape(3)};
        if (!small(t)) return;
        std::vector<double> values{constantValue()};
        if (in_.ConsumeBool() && numElements(t.shape).value_or(0) > 0) {
          values.resize(static_cast<size_t>(*numElements(t.shape)));
          for (double &v : values) v = constantValue();
        }
        add(k, {}, ConstantAttrs{values}, t);
        return;
      }
      case OpKind::Iota: {
        const DType d = in_.ConsumeBool() ? DType::F32 : DType::I32;
        Shape s = shape(3);
        if (s.empty()) s.push_back(dim());
        add(k, {}, IotaAttrs{in_.ConsumeIntegralInRange<int64_t>(0, static_cast<int64_t>(s.size()) - 1)},
            TensorType{d, s});
        return;
      }
      case OpKind::Neg:
      case OpKind::Abs:
      case OpKind::Sign:
      case OpKind::Exp:
      case OpKind::Log:
      case OpKind::Tanh:
      case OpKind::Sigmoid:
      case OpKind::Sqrt:
      case OpKind::Rsqrt:
        add(k, {pick(in_.ConsumeBool() ? std::optional<DType>() : DType::F32)});
        return;
      case OpKind::Cast: {
        static constexpr DType kTo[] = {DType::F32, DType::F64, DType::I32, DType::I64, DType::I1};
        Value *x = pick(std::nullopt);
        if (!x) return;
        add(k, {x}, NoAttrs{}, TensorType{kTo[in_.ConsumeIntegralInRange<size_t>(0, 4)], x->shape()});
        return;
      }
      case OpKind::Add:
      case OpKind::Sub:
      case OpKind::Mul:
      case OpKind::Div:
      case OpKind::Max:
      case OpKind::Min:
      case OpKind::Pow:
      case OpKind::Compare: {
        Value *a = pick(), *b = pick();
        if (!a || !b || !broadcastPair(a, b)) return;
        Attrs attrs = NoAttrs{};
        if (k == OpKind::Compare) attrs = CompareAttrs{static_cast<CmpDir>(in_.ConsumeIntegralInRange<int>(0, 5))};
        add(k, {a, b}, attrs);
        return;
      }
      case OpKind::Select: {
        Value *a = pick(), *b = pick(), *c = pick(), *d = pick();
        if (!a || !b || !c || !d || !broadcastPair(a, b) || !broadcastPair(c, d) || !broadcastPair(a, c)) return;
        if (a->shape() != b->shape()) return;
        Value *p = add(OpKind::Compare, {a, b}, CompareAttrs{static_cast<CmpDir>(in_.ConsumeIntegralInRange<int>(0, 5))});
        add(k, {p, c, d});
        return;
      }
      case OpKind::Broadcast: {
        Value *x = pick(std::nullopt);
        if (!x) return;
        const int64_t r = x->rank(), extra = in_.ConsumeIntegralInRange<int64_t>(0, 2);
        std::vector<int64_t> dims;
        for (int64_t i = 0, next = 0; i < r; ++i) {  // increasing positions in the result
          next += in_.ConsumeIntegralInRange<int64_t>(0, extra);
          dims.push_back(std::min(next + i, r + extra - 1));
        }
        Shape s(static_cast<size_t>(r + extra), 0);
        for (int64_t &d : s) d = dim();
        for (int64_t i = 0; i < r; ++i)
          if (x->shape()[i] != 1 || in_.ConsumeBool()) s[dims[i]] = x->shape()[i];
        add(k, {x}, BroadcastAttrs{dims}, TensorType{x->dtype(), s});
        return;
      }
      case OpKind::Reshape: {
        Value *x = pick(std::nullopt);
        if (!x) return;
        const int64_t n = numElements(x->shape()).value_or(0);
        Shape s;
        int64_t left = n;
        for (int64_t f : {2, 3, 4, 5}) {  // split off small factors, the rest last
          if (left > 0 && left % f == 0 && in_.ConsumeBool()) {
            s.push_back(f);
            left /= f;
          }
        }
        if (left != 1 || s.empty() || in_.ConsumeBool()) s.push_back(left);
        add(k, {x}, NoAttrs{}, TensorType{x->dtype(), s});
        return;
      }
      case OpKind::Transpose: {
        Value *x = pick(std::nullopt);
        if (!x) return;
        std::vector<int64_t> perm(static_cast<size_t>(x->rank()));
        for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(i);
        for (size_t i = perm.size(); i > 1; --i) std::swap(perm[i - 1], perm[in_.ConsumeIntegralInRange<size_t>(0, i - 1)]);
        add(k, {x}, TransposeAttrs{perm});
        return;
      }
      case OpKind::Slice: {
        Value *x = pick(std::nullopt);
        if (!x) return;
        SliceAttrs a;
        for (int64_t d : x->shape()) {
          const int64_t lo = in_.ConsumeIntegralInRange<int64_t>(0, d);
          a.start.push_back(lo);
          a.limit.push_back(in_.ConsumeIntegralInRange<int64_t>(lo, d));
          a.stride.push_back(in_.ConsumeIntegralInRange<int64_t>(1, 3));
        }
        add(k, {x}, a);
        return;
      }
      case OpKind::Concat: {
        Value *x = pick(std::nullopt);
        if (!x || x->rank() == 0) return;
        const int64_t axis = in_.ConsumeIntegralInRange<int64_t>(0, x->rank() - 1);
        std::vector<Value *> ops{x};
        for (Value *v : pool_)  // others of the same shape apart from `axis`
          if (v != x && v->dtype() == x->dtype() && v->rank() == x->rank() && ops.size() < 3 && in_.ConsumeBool()) {
            bool fits = true;
            for (int64_t i = 0; i < x->rank(); ++i) fits &= i == axis || v->shape()[i] == x->shape()[i];
            if (fits) ops.push_back(v);
          }
        if (in_.ConsumeBool()) ops.push_back(x);
        add(k, ops, ConcatAttrs{axis});
        return;
      }
      case OpKind::Pad: {
        Value *x = pick(std::nullopt);
        if (!x) return;
        const size_t r = static_cast<size_t>(x->rank());
        add(k, {x}, PadAttrs{ints(r, -1, 2), ints(r, -1, 2), constantValue()});
        return;
      }
      case OpKind::ReduceSum:
      case OpKind::ReduceMax: {
        Value *x = pick(in_.ConsumeBool() ? std::optional<DType>() : DType::F32);
        if (!x) return;
        add(k, {x}, ReduceAttrs{axesOf(x->rank())});
        return;
      }
      case OpKind::MatMul: {
        const bool ta = in_.ConsumeBool(), tb = in_.ConsumeBool();
        Value *a = pickRank(2);
        if (!a) return;
        const int64_t kdim = a->shape()[ta ? 0 : 1], n = dim();
        Value *b = newArg(TensorType{DType::F32, tb ? Shape{n, kdim} : Shape{kdim, n}});
        add(k, {a, b}, MatMulAttrs{ta, tb});
        return;
      }
      case OpKind::Conv2d:
      case OpKind::Conv2dInputGrad:
      case OpKind::Conv2dFilterGrad: {
        Value *x = nchw();
        if (!x) return;
        const int64_t c = x->shape()[1];
        Value *w = newArg(TensorType{DType::F32, {dim() % 4 + 1, c, dim() % 3 + 1, dim() % 3 + 1}});
        const ConvAttrs a = convAttrs();
        Value *y = add(OpKind::Conv2d, {x, w}, a);
        if (!y || k == OpKind::Conv2d) return;
        Value *dy = newArg(y->type());
        if (k == OpKind::Conv2dInputGrad) add(k, {dy, w}, a, x->type());
        else add(k, {x, dy}, a, w->type());
        return;
      }
      case OpKind::MaxPool2d:
      case OpKind::MaxPool2dGrad:
      case OpKind::AvgPool2d:
      case OpKind::AvgPool2dGrad: {
        Value *x = nchw();
        if (!x) return;
        const PoolAttrs a = poolAttrs();
        const bool isMax = k == OpKind::MaxPool2d || k == OpKind::MaxPool2dGrad;
        Value *y = add(isMax ? OpKind::MaxPool2d : OpKind::AvgPool2d, {x}, a);
        if (!y || k == OpKind::MaxPool2d || k == OpKind::AvgPool2d) return;
        Value *dy = newArg(y->type());
        if (k == OpKind::MaxPool2dGrad) add(k, {x, dy}, a);
        else add(k, {dy}, a, x->type());
        return;
      }
      case OpKind::OneHot: {
        Value *labels = newArg(TensorType{DType::I32, shape(2)});
        if (!labels) return;
        Shape s = labels->shape();
        s.push_back(in_.ConsumeIntegralInRange<int64_t>(1, 10));
        add(k, {labels}, NoAttrs{}, TensorType{DType::F32, s});
        return;
      }
    }
  }

  FuzzedDataProvider &in_;
  Function &f_;
  Builder b_;
  std::vector<Value *> pool_;
};

/// Inputs for \p f's arguments from the remaining fuzz bytes (then a fixed pattern):
/// mostly moderate values, sometimes zeros, infinities, NaN, denormals and extremes.
std::vector<HostTensor> makeInputs(const Function &f, FuzzedDataProvider &in) {
  static constexpr float kSpecial[] = {0.0f, -0.0f, std::numeric_limits<float>::infinity(),
                                       -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                                       1e-40f, -3e-39f, 3.4e38f, -1.0f, 1.0f};
  std::vector<HostTensor> args;
  uint32_t fallback = 12345;
  for (size_t i = 0; i < f.numArgs(); ++i) {
    HostTensor t(f.arg(i)->type());
    auto next = [&]() -> uint8_t {
      if (in.remaining_bytes() > 0) return in.ConsumeIntegral<uint8_t>();
      fallback = fallback * 1103515245u + 12345u;
      return static_cast<uint8_t>(fallback >> 16);
    };
    if (t.type().dtype == DType::F32) {
      for (float &x : t.data<float>()) {
        const uint8_t r = next();
        x = r < 8 ? kSpecial[r % std::size(kSpecial)] : (static_cast<float>(r) - 132.0f) / 16.0f;
      }
    } else if (t.type().dtype == DType::I32) {
      for (int32_t &x : t.data<int32_t>()) x = static_cast<int32_t>(next() % 13) - 1;  // labels -1..11
    }
    args.push_back(std::move(t));
  }
  return args;
}

bool sameBits(const HostTensor &a, const HostTensor &b) {
  if (a.type() != b.type()) return false;
  if (a.type().dtype == DType::F32) {
    auto x = a.data<float>(), y = b.data<float>();
    for (size_t i = 0; i < x.size(); ++i)
      if (!(std::isnan(x[i]) && std::isnan(y[i])) && std::memcmp(&x[i], &y[i], sizeof(float)) != 0) return false;
    return true;
  }
  if (a.type().dtype == DType::F64) {
    auto x = a.data<double>(), y = b.data<double>();
    for (size_t i = 0; i < x.size(); ++i)
      if (!(std::isnan(x[i]) && std::isnan(y[i])) && std::memcmp(&x[i], &y[i], sizeof(double)) != 0) return false;
    return true;
  }
  return a.numBytes() == 0 || std::memcmp(a.raw(), b.raw(), static_cast<size_t>(a.numBytes())) == 0;
}

void checkSame(const std::vector<HostTensor> &got, const std::vector<HostTensor> &want, const std::string &what,
               const Function &f) {
  if (got.size() != want.size()) fail(what + ": result counts differ", f);
  for (size_t i = 0; i < got.size(); ++i)
    if (!sameBits(got[i], want[i])) fail(what + ": result " + std::to_string(i) + " differs", f);
}

/// The JIT of the harness, replaced by a fresh one every kRenewJit inputs: a JIT keeps
/// every kernel it compiled, so one JIT for the whole run would grow without bound.
constexpr int kRenewJit = 1000;
std::shared_ptr<Jit> harnessJit() {
  static std::shared_ptr<Jit> jit;
  static int uses = 0;
  if (!jit || ++uses % kRenewJit == 0) {
    jit.reset();
    Expected<std::shared_ptr<Jit>> fresh = Jit::create(CodegenOptions{});
    if (!fresh) {
      std::fprintf(stderr, "fuzz_graph: cannot create the JIT: %s\n", fresh.error().str().c_str());
      std::abort();
    }
    jit = *fresh;
  }
  return jit;
}

/// The JIT on 1 and on 2 threads (small chunks) equals \p want.
void checkJit(const Function &f, std::span<const HostTensor> inputs, const std::vector<HostTensor> &want,
              const std::string &what, const std::shared_ptr<Jit> &jit) {
  for (int threads : {1, 2}) {
    ExecutableOptions o;
    o.jit = jit;
    o.keepDenormals = true;
    o.codegen.threads = threads;
    if (threads == 2) o.plan.forceChunk = 1;
    Expected<std::unique_ptr<Executable>> ex = Executable::compile(f, o);
    if (!ex) fail(what + ": the JIT rejects a valid function: " + ex.error().str(), f);
    Expected<std::vector<HostTensor>> got = (*ex)->run(inputs);
    if (!got) fail(what + ": the JIT run failed: " + got.error().str(), f);
    checkSame(*got, want, what + " (JIT, " + std::to_string(threads) + " threads)", f);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedDataProvider in(data, size);
  Module m;
  Function &f = *m.addFunction("fuzz");
  Generator gen(in, f);
  gen.build();
  // Results: the last value and, sometimes, another one.
  const std::vector<Value *> &vals = gen.values();
  std::vector<Value *> results{vals.back()};
  if (vals.size() > 1 && in.ConsumeBool()) results.push_back(vals[in.ConsumeIntegralInRange<size_t>(0, vals.size() - 2)]);
  f.setResults(results);
  if (Expected<void> ok = verify(f); !ok) fail("the generated function does not verify: " + ok.error().str(), f);

  const std::vector<HostTensor> inputs = makeInputs(f, in);
  Expected<std::vector<HostTensor>> want = interpret(f, inputs);
  if (!want) fail("the interpreter failed: " + want.error().str(), f);
  const std::shared_ptr<Jit> jit = harnessJit();
  checkJit(f, inputs, *want, "forward", jit);

  // Gradients of a scalar loss (the sum of the first f32 result) w.r.t. every f32 argument.
  Value *out = nullptr;
  for (Value *r : results)
    if (r->dtype() == DType::F32 && !out) out = r;
  std::vector<Value *> wrt;
  for (Value *a : f.args())
    if (a->dtype() == DType::F32) wrt.push_back(a);
  if (!out || wrt.empty()) return 0;
  Builder b(f);
  std::vector<int64_t> all;
  for (int64_t i = 0; i < out->rank(); ++i) all.push_back(i);
  Value *loss = all.empty() ? out : b.reduceSum(out, all);
  Expected<std::vector<Value *>> grads = gradients(b, loss, wrt);
  if (!grads) return 0;  // an Error is a fine answer (e.g. an op without a gradient rule)
  std::vector<Value *> gradResults{loss};
  gradResults.insert(gradResults.end(), grads->begin(), grads->end());
  f.setResults(gradResults);
  if (Expected<void> ok = verify(f); !ok) fail("autodiff produced an invalid function: " + ok.error().str(), f);
  Expected<std::vector<HostTensor>> before = interpret(f, inputs);
  if (!before) fail("the interpreter failed on the gradients: " + before.error().str(), f);

  static const std::vector<PassEntry> passes = *parsePassPipeline("simplify,cse,dce");
  PipelineOptions po;
  po.verifyEach = true;
  if (Expected<bool> r = runPipeline(m, passes, po); !r) fail("simplify,cse,dce failed: " + r.error().str(), f);
  Expected<std::vector<HostTensor>> after = interpret(f, inputs);
  if (!after) fail("the interpreter failed after simplify,cse,dce: " + after.error().str(), f);
  checkSame(*after, *before, "simplify,cse,dce changed the results", f);
  checkJit(f, inputs, *after, "gradients", jit);
  return 0;
}
