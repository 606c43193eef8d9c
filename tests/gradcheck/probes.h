//===- tests/gradcheck/probes.h - one small graph per differentiable op ---===//
//
// The probe-graph factory behind the table-generated gradient checks: for every op of
// ops.def it returns small f64 graphs that exercise the op with non-trivial attributes
// (strides, padding, dilation, transposes, broadcast operands), and the kind of data
// that keeps the op smooth around the test point. It is an exhaustive switch, so a new op
// needs a probe (or kNoGrad) before the tests build.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "ir/builder.h"
#include "tests/gradcheck/gradcheck.h"

namespace dlc::gradcheck {

/// One argument of a probe graph.
struct ProbeArg {
  std::string name;
  TensorType type;
  Fill fill = Fill::Uniform;
};

/// A probe: the op applied to arguments, checked by loss = sum(op(args) * W).
struct Probe {
  std::string name;
  std::vector<ProbeArg> args;
  /// Builds the op's output from the arguments (in order).
  std::function<Value *(Builder &, std::span<Value *const>)> build;
  double eps = 1e-6;  ///< central-difference step
};

/// The probes of op \p k; empty exactly when \p k has the kNoGrad trait.
std::vector<Probe> probesFor(OpKind k);

/// Adds `@probe(args...) -> f64[]` to \p m: loss = reduce_sum(cast<f64>(out) * W) with W a
/// random constant (drawn from \p rng).
void buildProbeFunction(Module &m, const Probe &p, Rng &rng);

/// Random inputs for \p p's arguments.
std::vector<HostTensor> probeInputs(const Probe &p, Rng &rng);

}  // namespace dlc::gradcheck
