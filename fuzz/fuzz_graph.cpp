//===- fuzz/fuzz_graph.cpp - random valid graphs through the whole compiler -===//
//
// Structure-aware: the fuzz bytes drive a generator (graph_generator.h) that builds a
// valid function from the op table - each step picks an op kind, operands from the
// values built so far (or new arguments), shapes (with numpy broadcasting for
// elementwise operands) and attributes, keeping the node when the shape rules accept
// it. Then:
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

#include "fuzz/graph_generator.h"
#include "ir/interpreter.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/autodiff.h"
#include "passes/pipeline.h"
#include "runtime/executable.h"

using namespace dlc;

namespace {

using fuzz::Generator;

[[noreturn]] void fail(const std::string &what, const Function &f) {
  std::fprintf(stderr, "fuzz_graph: %s\n--- function:\n%s\n", what.c_str(), printFunction(f).c_str());
  std::abort();
}

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
