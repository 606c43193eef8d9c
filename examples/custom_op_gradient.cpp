//===- examples/custom_op_gradient.cpp - your own op, its gradient, the JIT ---===//
//
// A "custom op" in dlc is a C++ function on Tensors: it composes IR ops, so autodiff
// differentiates it from the ops' rules, with no gradient to write by hand. Here:
//
//   softplus(x) = log(1 + exp(x))           (its derivative is sigmoid(x))
//   loss(w, x)  = sum(softplus(w * x))
//
// The program builds the graph, appends the backward pass with the `autodiff` pass
// (d loss / d w), JIT-compiles the result, runs it, and checks the gradient against
// the closed form x * sigmoid(w * x) and against a central finite difference.
//
//===----------------------------------------------------------------------===//
#include <cmath>
#include <cstdio>

#include "frontend/graph.h"
#include "frontend/tensor.h"
#include "ir/printer.h"
#include "passes/autodiff.h"
#include "runtime/executable.h"

namespace {

/// The custom op: composes exp, +, log.
dlc::Tensor softplus(const dlc::Tensor &x) { return dlc::log(dlc::exp(x) + 1.0); }

template <class E> int fail(const E &e) {
  std::fprintf(stderr, "%s\n", e.error().str().c_str());
  return 1;
}

}  // namespace

int main() {
  const int64_t n = 5;
  dlc::Graph g("softplus_loss", {.recordLocations = false});
  dlc::Tensor w = g.param("w", {n}, dlc::Init::uniform(-1, 1));
  dlc::Tensor x = g.input("x", dlc::f32({n}));
  auto model = g.finish(dlc::sum(softplus(w * x)).named("loss"));
  if (!model) return fail(model);

  // Reverse mode: the function now returns (loss, d_w).
  dlc::PassOptions po;
  po.wrt = {"w"};
  if (auto r = dlc::differentiate(model->module, po); !r) return fail(r);
  std::printf("%s\n", dlc::printFunction(*model->function).c_str());

  auto exe = dlc::Executable::compile(*model->function);
  if (!exe) return fail(exe);
  dlc::HostTensor wv = model->params[0].initial;
  dlc::HostTensor xv = dlc::HostTensor::fromVector<float>({n}, {-2.0f, -0.5f, 0.0f, 0.5f, 2.0f});
  std::vector<dlc::HostTensor> args = {wv, xv};
  auto out = (*exe)->run(args);
  if (!out) return fail(out);
  std::printf("loss = %.6f\n", (*out)[0].data<float>()[0]);

  // Check d_w against the closed form and a finite difference of the compiled loss.
  int bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    float wi = wv.data<float>()[i], xi = xv.data<float>()[i];
    double closed = xi / (1.0 + std::exp(-static_cast<double>(wi) * xi));
    const float h = 1e-2f;
    double lossAt[2];
    for (int s = 0; s < 2; ++s) {
      std::vector<dlc::HostTensor> a = args;
      a[0].data<float>()[i] = wi + (s ? h : -h);
      auto o = (*exe)->run(a);
      if (!o) return fail(o);
      lossAt[s] = (*o)[0].data<float>()[0];
    }
    double fd = (lossAt[1] - lossAt[0]) / (2 * h), got = (*out)[1].data<float>()[i];
    bool ok = std::fabs(got - closed) < 1e-5 && std::fabs(got - fd) < 1e-3;
    bad += !ok;
    std::printf("d loss/d w[%lld] = %+.6f  closed form %+.6f  finite difference %+.6f  %s\n", (long long)i, got,
                closed, fd, ok ? "ok" : "MISMATCH");
  }
  return bad ? 1 : 0;
}
