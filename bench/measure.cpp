//===- bench/measure.cpp - timing, work counts and output differences ------===//
#include "bench/measure.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

namespace dlc::bench {
namespace {

int64_t windowSize(const PoolAttrs &a) {
  int64_t w = 1;
  for (int64_t d : a.window) w *= d;
  return w;
}

/// Maps a float's bits onto a line where adjacent floats are adjacent integers and
/// -0 == +0: negative values count down from zero.
template <class F, class I> int64_t orderedBits(F x) {
  const auto bits = static_cast<int64_t>(std::bit_cast<I>(x));
  return bits < 0 ? std::numeric_limits<I>::min() - bits : bits;
}

template <class F, class I> int64_t ulps(F a, F b) {
  if (std::isnan(a) || std::isnan(b))
    return std::isnan(a) && std::isnan(b) ? 0 : std::numeric_limits<int64_t>::max();
  const int64_t x = orderedBits<F, I>(a), y = orderedBits<F, I>(b);
  // For doubles the difference of two int64 can overflow; saturate.
  if ((x > 0 && y < 0 && x > std::numeric_limits<int64_t>::max() + y) ||
      (y > 0 && x < 0 && y > std::numeric_limits<int64_t>::max() + x))
    return std::numeric_limits<int64_t>::max();
  return x > y ? x - y : y - x;
}

}  // namespace

int64_t nodeFlops(const Node &n) {
  const int64_t out = n.type().numElements();
  switch (n.kind()) {
  case OpKind::Constant:
  case OpKind::Iota:
  case OpKind::Cast:
  case OpKind::StopGradient:
  case OpKind::Broadcast:
  case OpKind::Reshape:
  case OpKind::Transpose:
  case OpKind::Slice:
  case OpKind::Concat:
  case OpKind::Pad:
  case OpKind::OneHot:
    return 0;
  case OpKind::Neg:
  case OpKind::Abs:
  case OpKind::Sign:
  case OpKind::Exp:
  case OpKind::Log:
  case OpKind::Tanh:
  case OpKind::Sigmoid:
  case OpKind::Sqrt:
  case OpKind::Rsqrt:
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Max:
  case OpKind::Min:
  case OpKind::Pow:
  case OpKind::Compare:
  case OpKind::Select:
    return out;
  case OpKind::ReduceSum:
  case OpKind::ReduceMax:
    return n.operand(0)->type().numElements();
  case OpKind::MatMul: {
    const Shape &a = n.operand(0)->shape();
    const int64_t k = n.attrsAs<MatMulAttrs>().transposeA ? a[a.size() - 2] : a.back();
    return 2 * out * k;
  }
  case OpKind::Conv2d: {  // (x, w[O,C,KH,KW]) -> y
    const Shape &w = n.operand(1)->shape();
    return 2 * out * w[1] * w[2] * w[3];
  }
  case OpKind::Conv2dInputGrad: {  // (dy, w[O,C,KH,KW]) -> x
    const Shape &w = n.operand(1)->shape();
    return 2 * n.operand(0)->type().numElements() * w[1] * w[2] * w[3];
  }
  case OpKind::Conv2dFilterGrad: {  // (x, dy) -> w[O,C,KH,KW]
    const Shape &w = n.type().shape;
    return 2 * n.operand(1)->type().numElements() * w[1] * w[2] * w[3];
  }
  case OpKind::MaxPool2d:
  case OpKind::AvgPool2d:
    return out * windowSize(n.attrsAs<PoolAttrs>());
  case OpKind::MaxPool2dGrad:  // (x, dy) -> dx
    return n.operand(1)->type().numElements() * windowSize(n.attrsAs<PoolAttrs>());
  case OpKind::AvgPool2dGrad:  // (dy) -> dx
    return n.operand(0)->type().numElements() * windowSize(n.attrsAs<PoolAttrs>());
  }
  DL_UNREACHABLE("covered switch");
}

WorkCounts countWork(const Function &f, const KernelPlanOptions &opts) {
  WorkCounts w;
  const KernelPlan plan = planKernels(f, opts);
  w.kernels = static_cast<int64_t>(plan.kernels.size());
  for (const KernelSpec &k : plan.kernels) {
    for (const Value *v : k.inputs) w.bytesMoved += v->type().numBytes();
    for (const Value *v : k.outputs) w.bytesMoved += v->type().numBytes();
  }
  for (const auto &n : f.nodes()) w.flops += nodeFlops(*n);
  std::unordered_set<const Value *> counted;
  for (size_t i = 0; i < f.numArgs(); ++i) {
    w.minBytes += f.arg(i)->type().numBytes();
    counted.insert(f.arg(i));
  }
  for (const Value *r : f.results())
    if (counted.insert(r).second) w.minBytes += r->type().numBytes();
  return w;
}

int64_t ulpDistance(float a, float b) { return ulps<float, int32_t>(a, b); }
int64_t ulpDistance(double a, double b) { return ulps<double, int64_t>(a, b); }

OutputDiff compareOutputs(std::span<const HostTensor> a, std::span<const HostTensor> b) {
  OutputDiff d;
  if (a.size() != b.size()) {
    d.shapesMatch = false;
    return d;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].type() != b[i].type()) {
      d.shapesMatch = false;
      continue;
    }
    dispatchDType(a[i].dtype(), [&]<class T>() {
      std::span<const T> x = a[i].data<T>(), y = b[i].data<T>();
      for (size_t j = 0; j < x.size(); ++j) {
        if constexpr (std::is_floating_point_v<T>) {
          if (!(std::isnan(x[j]) && std::isnan(y[j]))) {
            const double diff = std::fabs(static_cast<double>(x[j]) - static_cast<double>(y[j]));
            d.maxAbs = std::isnan(diff) ? std::numeric_limits<double>::infinity() : std::max(d.maxAbs, diff);
          }
          d.maxUlp = std::max(d.maxUlp, ulpDistance(x[j], y[j]));
        } else {
          const int64_t diff = std::llabs(static_cast<int64_t>(x[j]) - static_cast<int64_t>(y[j]));
          d.maxAbs = std::max(d.maxAbs, static_cast<double>(diff));
          d.maxUlp = std::max(d.maxUlp, diff);
        }
      }
    });
  }
  return d;
}

std::vector<HostTensor> randomArguments(const Function &f, uint64_t seed) {
  // The smallest one_hot depth reached from each value through shape-only ops.
  std::unordered_map<const Value *, int64_t> depth;
  for (auto it = f.nodes().rbegin(); it != f.nodes().rend(); ++it) {
    const Node &n = **it;
    int64_t d = 0;
    if (n.kind() == OpKind::OneHot) d = n.type().shape.back();
    else if (n.kind() == OpKind::Reshape || n.kind() == OpKind::Broadcast || n.kind() == OpKind::Cast) {
      auto r = depth.find(n.result());
      if (r != depth.end()) d = r->second;
    }
    if (d <= 0) continue;
    auto [slot, fresh] = depth.try_emplace(n.operand(0), d);
    if (!fresh) slot->second = std::min(slot->second, d);
  }
  std::mt19937_64 g(seed);
  std::vector<HostTensor> args;
  for (size_t i = 0; i < f.numArgs(); ++i) {
    const Value *a = f.arg(i);
    HostTensor h(a->type());
    auto it = depth.find(a);
    const int64_t bound = it != depth.end() ? it->second : 10;
    dispatchDType(a->dtype(), [&]<class T>() {
      for (T &x : h.data<T>()) {
        if constexpr (std::is_floating_point_v<T>) x = static_cast<T>(std::uniform_real_distribution<double>(0, 1)(g));
        else if constexpr (std::is_same_v<T, uint8_t>) x = static_cast<T>(g() & 1);
        else x = static_cast<T>(std::uniform_int_distribution<int64_t>(0, bound - 1)(g));
      }
    });
    args.push_back(std::move(h));
  }
  return args;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

Timing sampleRepeated(const std::function<double()> &sample, const RepeatOptions &o) {
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < o.warmup; ++i)
    if (sample() < 0) return {};
  std::vector<double> ms;
  const auto start = Clock::now();
  for (;;) {
    const double x = sample();
    if (x < 0) return {};
    ms.push_back(x);
    const double spent = std::chrono::duration<double>(Clock::now() - start).count();
    const int n = static_cast<int>(ms.size());
    if (n >= o.maxReps) break;
    if (n >= o.reps && spent >= o.minSeconds) break;
    if (spent >= o.maxSeconds && n >= std::min(o.reps, 2)) break;
  }
  Timing t;
  t.reps = static_cast<int>(ms.size());
  t.minMs = *std::min_element(ms.begin(), ms.end());
  t.medianMs = median(ms);
  double sum = 0;
  for (double x : ms) sum += x;
  t.meanMs = sum / static_cast<double>(ms.size());
  return t;
}

Timing timeRepeated(const std::function<bool()> &run, const RepeatOptions &o) {
  using Clock = std::chrono::steady_clock;
  return sampleRepeated(
      [&] {
        const auto t0 = Clock::now();
        if (!run()) return -1.0;
        return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      },
      o);
}

}  // namespace dlc::bench
