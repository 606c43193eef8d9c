//===- ir/interpreter.h - the reference interpreter -------------------------===//
//
// Evaluates a Function node by node on HostTensors: slow and obviously correct, the
// oracle every later test compares against. Arithmetic is done in the value's own dtype
// (f32 in float, f64 in double, integers in their width); reductions accumulate in the
// documented order below.
//
// Numeric conventions (the contract codegen must reproduce):
//  - Integer add/sub/mul/neg/abs wrap around (two's complement); integer division
//    truncates toward zero, x / 0 == 0 and INT_MIN / -1 == INT_MIN. No undefined behaviour.
//  - max/min propagate NaN (either operand NaN gives NaN); on ties, including +0 vs -0,
//    they return the first operand. sign(+-0) = +-0, sign(NaN) = NaN.
//  - compare is false whenever an operand is NaN, except `ne`, which is true.
//  - cast follows HostTensor::castTo: float -> int truncates toward zero, NaN -> 0,
//    saturating; anything -> i1 is x != 0.
//  - reduce_sum starts from 0 and adds the reduced elements, reduce_max starts from -inf
//    (lowest for integers): when each output's elements are contiguous (the last axis,
//    the last k axes, all axes) in the canonical 16-lane order of ir/reduce_order.h
//    (16 partial results, then a pairwise tree), otherwise in row-major order. matmul accumulates from 0 over k
//    ascending; conv2d over (c, kh, kw); conv2d_input_grad over (o, kh, kw);
//    conv2d_filter_grad over (n, oh, ow). Padding cells contribute nothing (they are not
//    multiplied as zeros, so an inf weight next to padding does not give NaN).
//    Every term of these contractions is one fused multiply-add, acc = fma(a, b, acc)
//    (a single rounding, std::fma), for f32 and f64: the blocked GEMM and the
//    convolution kernels of the backend use FMA units and follow the same order.
//  - Pooling: max ignores padding cells and propagates NaN; a window made only of padding
//    gives -inf. max_pool2d_grad routes dy to the first maximum of the window in
//    row-major order (the first NaN if there is one); overlapping windows add. avg_pool2d
//    sums the window's cells in row-major order and divides by the full window size.
//  - f32 exp, log, tanh and sigmoid use dlc's approximations (ir/approx_math.h) in
//    MathMode::Vector, the default, and the C library in MathMode::Libm; f64 and pow
//    always use the C library.
//  - Float math is never contracted into FMAs (the interpreter sources are built with
//    -ffp-contract=off); the only FMAs are the explicit ones of the contractions above.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "ir/approx_math.h"
#include "ir/diagnostic.h"
#include "ir/host_tensor.h"
#include "ir/ir.h"

namespace dlc {

/// Observers of one interpreter run.
struct InterpreterOptions {
  /// Called after each node is evaluated, in program order, with the node and its value
  /// (e.g. by a NaN checker). The tensor is only valid during the call.
  std::function<void(const Node &, const HostTensor &)> onNode;
  /// How f32 exp, log, tanh and sigmoid are computed (the backend's CodegenOptions::math
  /// must be the same for bitwise equal results).
  MathMode math = MathMode::Vector;
};

/// Runs \p f on \p args; the result holds one tensor per function result. Wrong argument
/// counts or types give an Error naming the argument.
Expected<std::vector<HostTensor>> interpret(const Function &f, std::span<const HostTensor> args);

/// As above, calling the observers in \p opts.
Expected<std::vector<HostTensor>> interpret(const Function &f, std::span<const HostTensor> args,
                                            const InterpreterOptions &opts);

/// Evaluates one op on operand values (constant folding uses this). \p type is the result
/// type; inconsistencies between it, the operands and \p attrs give an Error at \p loc.
Expected<HostTensor> evaluateOp(OpKind k, const Attrs &attrs, const TensorType &type,
                                std::span<const HostTensor *const> operands,
                                const Location &loc = {}, MathMode math = MathMode::Vector);

/// Evaluates node \p n on \p operands (one value per operand of \p n).
Expected<HostTensor> evaluateNode(const Node &n, std::span<const HostTensor *const> operands,
                                  MathMode math = MathMode::Vector);

}  // namespace dlc
