//===- tests/gradcheck/gradcheck.cpp - numeric checks of autodiff ----------===//
#include "tests/gradcheck/gradcheck.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "ir/builder.h"
#include "ir/interpreter.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/autodiff.h"

namespace dlc::gradcheck {

HostTensor randomTensor(const TensorType &t, Fill fill, Rng &rng) {
  HostTensor h(t);
  const int64_t n = h.numElements();
  if (!isFloat(t.dtype)) {  // labels and other integers: small non-negative values
    for (int64_t i = 0; i < n; ++i)
      h.setDouble(i, static_cast<double>(rng.integer(0, 3)));
    return h;
  }
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  if (fill == Fill::Distinct) std::shuffle(perm.begin(), perm.end(), rng.engine());
  for (int64_t i = 0; i < n; ++i) {
    double v = 0.0;
    switch (fill) {
    case Fill::Uniform: v = rng.uniform(-1.0, 1.0); break;
    case Fill::Positive: v = rng.uniform(0.5, 2.0); break;
    case Fill::AwayFromZero: v = rng.uniform(0.2, 1.0) * (rng.integer(0, 1) ? 1.0 : -1.0); break;
    case Fill::Distinct: v = -1.0 + 2.0 * (static_cast<double>(perm[i]) + rng.uniform(0.25, 0.75)) / n; break;
    case Fill::Exact: v = static_cast<double>(rng.integer(-2048, 2048)) / 1024.0; break;
    }
    h.setDouble(i, v);
  }
  return h;
}

std::vector<double> randomValues(int64_t n, Rng &rng) {
  std::vector<double> v(static_cast<size_t>(n));
  for (double &x : v)
    x = rng.uniform(-1.0, 1.0);
  return v;
}

std::vector<HostTensor> evaluate(const Function &f, std::span<const HostTensor> args) {
  Expected<std::vector<HostTensor>> r = interpret(f, args);
  if (!r) {
    ADD_FAILURE() << "interpreting @" << f.name() << " failed: " << r.error().str();
    return {};
  }
  return std::move(*r);
}

ErrorStats compareValues(std::span<const double> analytic, std::span<const double> numeric,
                         std::span<const std::string> labels) {
  ErrorStats s;
  double scale = 0.0;
  for (size_t i = 0; i < analytic.size(); ++i)
    scale = std::max({scale, std::abs(analytic[i]), std::abs(numeric[i])});
  for (size_t i = 0; i < analytic.size(); ++i) {
    const double a = analytic[i], n = numeric[i];
    const double denom = std::max({std::abs(a), std::abs(n), 1e-3 * scale, 1e-9});
    const double rel = std::abs(a - n) / denom;
    ++s.count;
    if (!(rel <= s.maxRel)) {  // also catches NaN
      s.maxRel = std::isnan(rel) ? INFINITY : rel;
      s.worst = fmt::format("{}: analytic {} vs numeric {}", labels[i], a, n);
    }
  }
  return s;
}

namespace {

/// Indices of the arguments named \p names; a missing name fails the test.
std::vector<size_t> argIndices(const Function &f, const std::vector<std::string> &names) {
  std::vector<size_t> out;
  for (const std::string &n : names) {
    bool found = false;
    for (size_t i = 0; i < f.numArgs(); ++i)
      if (f.arg(i)->name() == n) {
        out.push_back(i);
        found = true;
      }
    if (!found) ADD_FAILURE() << "@" << f.name() << " has no argument %" << n;
  }
  std::sort(out.begin(), out.end());  // the pass returns gradients in argument order
  return out;
}

/// Runs `autodiff` on \p fn of \p m and verifies the module; null on failure.
Function *runAutodiff(Module &m, const std::string &fn, const std::vector<std::string> &wrt) {
  PassOptions o;
  o.function = fn;
  o.wrt = wrt;
  Expected<bool> changed = differentiate(m, o);
  if (!changed) {
    ADD_FAILURE() << "autodiff failed: " << changed.error().str();
    return nullptr;
  }
  if (Expected<void> ok = verify(m); !ok) {
    ADD_FAILURE() << "autodiff produced invalid IR: " << ok.error().str() << "\n" << printModule(m);
    return nullptr;
  }
  return m.lookup(fn);
}

std::vector<double> toDoubles(const HostTensor &t) {
  std::vector<double> v(static_cast<size_t>(t.numElements()));
  for (int64_t i = 0; i < t.numElements(); ++i)
    v[i] = t.getDouble(i);
  return v;
}

/// The coordinates of an argument with \p n elements to check.
std::vector<int64_t> chooseCoordinates(int64_t n, int64_t sample, Rng &rng) {
  std::vector<int64_t> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  if (sample < 0 || sample >= n) return all;
  std::shuffle(all.begin(), all.end(), rng.engine());
  all.resize(static_cast<size_t>(sample));
  std::sort(all.begin(), all.end());
  return all;
}

double lossAt(const Function &f, std::span<const HostTensor> args) {
  std::vector<HostTensor> r = evaluate(f, args);
  return r.empty() ? NAN : r[0].getDouble(0);
}

}  // namespace

ErrorStats checkGradients(Module &m, const std::string &fn, std::span<const HostTensor> args,
                          const std::vector<std::string> &wrt, const CheckOptions &o) {
  const Function *orig = m.lookup(fn);
  if (!orig) {
    ADD_FAILURE() << "no function @" << fn;
    return {};
  }
  std::unique_ptr<Function> forward = cloneFunction(*orig, fn);
  const std::vector<size_t> wrtIdx = argIndices(*forward, wrt);
  Function *grad = runAutodiff(m, fn, wrt);
  if (!grad) return {};
  std::vector<HostTensor> results = evaluate(*grad, args);
  if (results.size() != wrtIdx.size() + 1) {
    ADD_FAILURE() << "expected " << wrtIdx.size() + 1 << " results, got " << results.size();
    return {};
  }

  Rng rng(o.seed);
  std::vector<double> analytic, numeric;
  std::vector<std::string> labels;
  std::vector<HostTensor> x(args.begin(), args.end());
  for (size_t k = 0; k < wrtIdx.size(); ++k) {
    const size_t ai = wrtIdx[k];
    const HostTensor &g = results[k + 1];
    for (int64_t i : chooseCoordinates(x[ai].numElements(), o.samplePerArg, rng)) {
      const double x0 = x[ai].getDouble(i);
      x[ai].setDouble(i, x0 + o.eps);
      const double up = lossAt(*forward, x);
      x[ai].setDouble(i, x0 - o.eps);
      const double down = lossAt(*forward, x);
      x[ai].setDouble(i, x0);
      analytic.push_back(g.getDouble(i));
      numeric.push_back((up - down) / (2 * o.eps));
      labels.push_back(fmt::format("d/d%{}[{}]", forward->arg(ai)->name(), i));
    }
  }
  return compareValues(analytic, numeric, labels);
}

ErrorStats checkHvp(Module &m, const std::string &fn, std::span<const HostTensor> args,
                    const std::vector<std::string> &wrt, const CheckOptions &o) {
  if (!m.lookup(fn)) {
    ADD_FAILURE() << "no function @" << fn;
    return {};
  }
  const std::vector<size_t> wrtIdx = argIndices(*m.lookup(fn), wrt);
  Function *f1 = runAutodiff(m, fn, wrt);
  if (!f1) return {};
  std::unique_ptr<Function> gradFn = cloneFunction(*f1, fn);  // x -> (loss, grad...)

  // H v = d/dx <grad f(x), v>: differentiate the gradients again, seeded with v.
  Rng rng(o.seed);
  std::vector<HostTensor> dirs;
  Builder b(*f1);
  Value *dot = nullptr;
  for (size_t k = 0; k < wrtIdx.size(); ++k) {
    Value *g = f1->results()[k + 1];
    const TensorType &t = g->type();
    dirs.push_back(HostTensor::fromVector(t.shape, randomValues(t.numElements(), rng)));
    std::vector<double> v = toDoubles(dirs.back());
    Value *prod = b.mul(g, b.constant(v, t));
    std::vector<int64_t> axes(static_cast<size_t>(t.rank()));
    std::iota(axes.begin(), axes.end(), 0);
    Value *s = axes.empty() ? prod : b.reduceSum(prod, axes);
    dot = dot ? b.add(dot, s) : s;
  }
  std::vector<Value *> xs;
  for (size_t ai : wrtIdx)
    xs.push_back(f1->arg(ai));
  Expected<std::vector<Value *>> hv = gradients(b, dot, xs);
  if (!hv) {
    ADD_FAILURE() << "grad-of-grad failed: " << hv.error().str();
    return {};
  }
  f1->setResults(*hv);
  if (Expected<void> ok = verify(*f1); !ok) {
    ADD_FAILURE() << "grad-of-grad produced invalid IR: " << ok.error().str();
    return {};
  }
  std::vector<HostTensor> analytic = evaluate(*f1, args);
  if (analytic.size() != wrtIdx.size()) return {};

  // Central differences of the gradient along v.
  auto gradAt = [&](double sign) {
    std::vector<HostTensor> x(args.begin(), args.end());
    for (size_t k = 0; k < wrtIdx.size(); ++k)
      for (int64_t i = 0; i < x[wrtIdx[k]].numElements(); ++i)
        x[wrtIdx[k]].setDouble(i, x[wrtIdx[k]].getDouble(i) + sign * o.eps * dirs[k].getDouble(i));
    return evaluate(*gradFn, x);
  };
  std::vector<HostTensor> up = gradAt(1.0), down = gradAt(-1.0);
  if (up.size() != wrtIdx.size() + 1 || down.size() != up.size()) return {};
  std::vector<double> a, n;
  std::vector<std::string> labels;
  for (size_t k = 0; k < wrtIdx.size(); ++k)
    for (int64_t i = 0; i < analytic[k].numElements(); ++i) {
      a.push_back(analytic[k].getDouble(i));
      n.push_back((up[k + 1].getDouble(i) - down[k + 1].getDouble(i)) / (2 * o.eps));
      labels.push_back(fmt::format("(Hv)[%{}][{}]", gradFn->arg(wrtIdx[k])->name(), i));
    }
  return compareValues(a, n, labels);
}

}  // namespace dlc::gradcheck
