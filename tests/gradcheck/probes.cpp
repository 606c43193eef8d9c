//===- tests/gradcheck/probes.cpp - one small graph per differentiable op -===//
#include "tests/gradcheck/probes.h"

#include <numeric>

namespace dlc::gradcheck {
namespace {

using Args = std::span<Value *const>;
using BuildFn = std::function<Value *(Builder &, Args)>;

ProbeArg arg(std::string name, Shape s, Fill fill = Fill::Uniform) {
  return {std::move(name), f64(std::move(s)), fill};
}

Probe probe(std::string name, std::vector<ProbeArg> args, BuildFn build) {
  return Probe{std::move(name), std::move(args), std::move(build)};
}

/// op(x) on x: f64[3,4] filled as \p fill.
std::vector<Probe> unary(OpKind k, Fill fill) {
  return {probe(std::string(mnemonic(k)), {arg("x", {3, 4}, fill)},
                [k](Builder &b, Args a) { return b.create(k, {a[0]}); })};
}

ConvAttrs stridedConv() { return ConvAttrs{{2, 1}, {1, 1}, {1, 2}}; }
PoolAttrs overlappingPool() { return PoolAttrs{{3, 3}, {2, 2}, {1, 1}}; }
PoolAttrs unevenAvgPool() { return PoolAttrs{{3, 2}, {2, 1}, {1, 0}}; }

}  // namespace

std::vector<Probe> probesFor(OpKind k) {
  switch (k) {
  case OpKind::Constant:
  case OpKind::Iota:
  case OpKind::Sign:
  case OpKind::Compare:
  case OpKind::StopGradient:  // no gradient by definition: autodiff_test checks it is zero
  case OpKind::OneHot: return {};

  case OpKind::Neg: return unary(k, Fill::Uniform);
  case OpKind::Abs: return unary(k, Fill::AwayFromZero);  // |x| has a kink at 0
  case OpKind::Exp: return unary(k, Fill::Uniform);
  case OpKind::Log: return unary(k, Fill::Positive);
  case OpKind::Tanh: return unary(k, Fill::Uniform);
  case OpKind::Sigmoid: return unary(k, Fill::Uniform);
  case OpKind::Sqrt: return unary(k, Fill::Positive);
  case OpKind::Rsqrt: return unary(k, Fill::Positive);
  case OpKind::Cast: {
    // f64 -> f32 (and the harness's f32 -> f64): exact inputs and a step of 2^-7 keep
    // every perturbed value representable in f32, so the differences are exact; the
    // analytic side carries the f32 rounding of the cotangent (~3e-8 relative).
    Probe p = probe("cast_f64_f32", {arg("x", {3, 4}, Fill::Exact)},
                    [](Builder &b, Args a) { return b.cast(a[0], DType::F32); });
    p.eps = 1.0 / 128;
    return {p};
  }

  case OpKind::Add:  // a[3,4] + broadcast(b[4])
    return {probe("add_broadcast", {arg("a", {3, 4}), arg("b", {4})}, [](Builder &b, Args a) {
      return b.add(a[0], b.broadcast(a[1], {3, 4}, {1}));
    })};
  case OpKind::Sub:  // broadcast(b[2,1,4]) - a[2,3,4]
    return {probe("sub_broadcast", {arg("a", {2, 3, 4}), arg("b", {2, 1, 4})}, [](Builder &b, Args a) {
      return b.sub(b.broadcast(a[1], {2, 3, 4}, {0, 1, 2}), a[0]);
    })};
  case OpKind::Mul:  // a * broadcast(b[3]) * a: a fans out
    return {probe("mul_broadcast_fanout", {arg("a", {3, 4}), arg("b", {3})}, [](Builder &b, Args a) {
      return b.mul(b.mul(a[0], b.broadcast(a[1], {3, 4}, {0})), a[0]);
    })};
  case OpKind::Div:
    return {probe("div", {arg("a", {3, 4}), arg("b", {3, 4}, Fill::AwayFromZero)},
                  [](Builder &b, Args a) { return b.div(a[0], a[1]); })};
  case OpKind::Max:  // max(a, b) + relu(a)
  case OpKind::Min: {
    return {probe(std::string(mnemonic(k)), {arg("a", {3, 4}, Fill::AwayFromZero), arg("b", {3, 4})},
                  [k](Builder &b, Args a) {
                    Value *zero = b.splatLike(0.0, a[0]);
                    return b.add(b.create(k, {a[0], a[1]}), b.create(k, {a[0], zero}));
                  })};
  }
  case OpKind::Pow:
    return {probe("pow", {arg("a", {3, 4}, Fill::Positive), arg("b", {3, 4})},
                  [](Builder &b, Args a) { return b.pow(a[0], a[1]); })};
  case OpKind::Select:  // the predicate's argument gets a zero gradient
    return {probe("select", {arg("p", {3, 4}, Fill::AwayFromZero), arg("a", {3, 4}), arg("b", {3, 4})},
                  [](Builder &b, Args a) {
                    Value *pred = b.compare(a[0], b.splatLike(0.0, a[0]), CmpDir::Gt);
                    return b.select(pred, a[1], a[2]);
                  })};

  case OpKind::Broadcast:
    return {probe("broadcast_stretch_and_new_dims", {arg("x", {3, 1})},
                  [](Builder &b, Args a) {
                    return b.broadcast(a[0], {2, 3, 5}, {1, 2});
                  }),
            probe("broadcast_scalar", {arg("x", {})}, [](Builder &b, Args a) {
              return b.broadcast(a[0], {2, 3}, {});
            })};
  case OpKind::Reshape:
    return {probe("reshape", {arg("x", {2, 6})}, [](Builder &b, Args a) {
      return b.reshape(a[0], {3, 2, 2});
    })};
  case OpKind::Transpose:
    return {probe("transpose", {arg("x", {2, 3, 4})}, [](Builder &b, Args a) {
      return b.transpose(a[0], {2, 0, 1});
    })};
  case OpKind::Slice:
    return {probe("slice_strided", {arg("x", {5, 7})},
                  [](Builder &b, Args a) {
                    return b.slice(a[0], {1, 0}, {5, 7}, {2, 3});
                  }),
            probe("slice_window", {arg("x", {4, 6})}, [](Builder &b, Args a) {
              return b.slice(a[0], {1, 2}, {3, 5});
            })};
  case OpKind::Concat:
    return {probe("concat_axis1", {arg("a", {2, 3}), arg("b", {2, 1}), arg("c", {2, 2})},
                  [](Builder &b, Args a) {
                    return b.concat({a[0], a[1], a[2]}, 1);
                  }),
            probe("concat_repeated_operand", {arg("a", {2, 3}), arg("b", {1, 3})}, [](Builder &b, Args a) {
              return b.concat({a[0], a[1], a[0]}, 0);
            })};
  case OpKind::Pad:
    return {probe("pad", {arg("x", {2, 3})}, [](Builder &b, Args a) {
      return b.pad(a[0], {1, 0}, {0, 2}, 0.5);
    })};

  case OpKind::ReduceSum:
    return {probe("reduce_sum_axes_0_2", {arg("x", {2, 3, 4})},
                  [](Builder &b, Args a) {
                    return b.reduceSum(a[0], {0, 2});
                  }),
            probe("reduce_sum_all", {arg("x", {3, 4})}, [](Builder &b, Args a) {
              return b.reduceSum(a[0], {0, 1});
            })};
  case OpKind::ReduceMax:
    return {probe("reduce_max_axis_1", {arg("x", {2, 3, 4}, Fill::Distinct)},
                  [](Builder &b, Args a) { return b.reduceMax(a[0], {1}); }),
            probe("reduce_max_all", {arg("x", {3, 4}, Fill::Distinct)}, [](Builder &b, Args a) {
              return b.reduceMax(a[0], {0, 1});
            })};

  case OpKind::MatMul:
    return {probe("matmul_batched_all_transposes",
                  {arg("a", {2, 3, 4}), arg("at", {2, 4, 3}), arg("b", {2, 4, 5}), arg("bt", {2, 5, 4})},
                  [](Builder &b, Args a) {
                    Value *s = b.add(b.matmul(a[0], a[2]), b.matmul(a[1], a[2], true, false));
                    return b.add(s,
                                 b.add(b.matmul(a[0], a[3], false, true), b.matmul(a[1], a[3], true, true)));
                  }),
            probe("matmul_2d", {arg("a", {3, 4}), arg("b", {4, 2})},
                  [](Builder &b, Args a) { return b.matmul(a[0], a[1]); })};
  case OpKind::Conv2d:
    return {probe("conv2d_stride_pad_dilation", {arg("x", {2, 3, 7, 6}), arg("w", {4, 3, 3, 2})},
                  [](Builder &b, Args a) { return b.conv2d(a[0], a[1], stridedConv()); }),
            probe("conv2d_plain", {arg("x", {1, 2, 5, 5}), arg("w", {3, 2, 3, 3})},
                  [](Builder &b, Args a) { return b.conv2d(a[0], a[1], ConvAttrs{}); })};
  case OpKind::Conv2dInputGrad:  // x is 8 high: the last row is not covered by stride 2
    return {
        probe("conv2d_input_grad", {arg("dy", {2, 4, 4, 6}), arg("w", {4, 3, 3, 2})}, [](Builder &b, Args a) {
          return b.conv2dInputGrad(a[0], a[1], stridedConv(), f64({2, 3, 8, 6}));
        })};
  case OpKind::Conv2dFilterGrad:
    return {probe("conv2d_filter_grad", {arg("x", {2, 3, 7, 6}), arg("dy", {2, 4, 4, 6})},
                  [](Builder &b, Args a) {
                    return b.conv2dFilterGrad(a[0], a[1], stridedConv(), f64({4, 3, 3, 2}));
                  })};
  case OpKind::MaxPool2d:
    return {probe("max_pool2d_overlapping_padded", {arg("x", {2, 2, 5, 5}, Fill::Distinct)},
                  [](Builder &b, Args a) { return b.maxPool2d(a[0], overlappingPool()); }),
            probe("max_pool2d_2x2", {arg("x", {1, 2, 4, 6}, Fill::Distinct)},
                  [](Builder &b, Args a) { return b.maxPool2d(a[0], PoolAttrs{}); })};
  case OpKind::MaxPool2dGrad:
    return {probe("max_pool2d_grad", {arg("x", {2, 2, 5, 5}, Fill::Distinct), arg("dy", {2, 2, 3, 3})},
                  [](Builder &b, Args a) { return b.maxPool2dGrad(a[0], a[1], overlappingPool()); })};
  case OpKind::AvgPool2d:
    return {probe("avg_pool2d", {arg("x", {2, 2, 5, 5})},
                  [](Builder &b, Args a) { return b.avgPool2d(a[0], unevenAvgPool()); })};
  case OpKind::AvgPool2dGrad:
    return {probe("avg_pool2d_grad", {arg("dy", {2, 2, 3, 4})}, [](Builder &b, Args a) {
      return b.avgPool2dGrad(a[0], unevenAvgPool(), f64({2, 2, 5, 5}));
    })};
  }
  return {};
}

void buildProbeFunction(Module &m, const Probe &p, Rng &rng) {
  Function *f = m.addFunction("probe");
  std::vector<Value *> args;
  for (const ProbeArg &a : p.args)
    args.push_back(f->addArg(a.type, a.name));
  Builder b(*f);
  Value *out = p.build(b, args);
  if (out->dtype() != DType::F64) out = b.cast(out, DType::F64);
  Value *weighted = b.mul(out, b.constant(randomValues(out->type().numElements(), rng), out->type()));
  std::vector<int64_t> axes(static_cast<size_t>(out->rank()));
  std::iota(axes.begin(), axes.end(), 0);
  f->setResults({axes.empty() ? weighted : b.reduceSum(weighted, axes)});
}

std::vector<HostTensor> probeInputs(const Probe &p, Rng &rng) {
  std::vector<HostTensor> out;
  for (const ProbeArg &a : p.args)
    out.push_back(randomTensor(a.type, a.fill, rng));
  return out;
}

}  // namespace dlc::gradcheck
