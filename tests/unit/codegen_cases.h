//===- tests/unit/codegen_cases.h - random JIT test cases per op ------------===//
//
// One generator per op family; each returns a few functions with random shapes (size-1
// dims and extents that are not multiples of the vector width included), every dtype
// the op accepts, and inputs with special values. codegen_ops_test.cpp maps every
// OpKind to its generator in an exhaustive switch, so an op without JIT tests does not
// compile.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <vector>

#include "codegen_test_util.h"

namespace dlc::test {

// Sources and elementwise ops (codegen_cases_elementwise.cpp).
std::vector<JitCase> constantCases(Rng &r);
std::vector<JitCase> iotaCases(Rng &r);
std::vector<JitCase> unaryCases(OpKind k, Rng &r);
std::vector<JitCase> castCases(Rng &r);
std::vector<JitCase> binaryCases(OpKind k, Rng &r);
std::vector<JitCase> compareCases(Rng &r);
std::vector<JitCase> selectCases(Rng &r);

// Data movement, reductions, labels (codegen_cases_data.cpp).
std::vector<JitCase> broadcastCases(Rng &r);
std::vector<JitCase> reshapeCases(Rng &r);
std::vector<JitCase> transposeCases(Rng &r);
std::vector<JitCase> sliceCases(Rng &r);
std::vector<JitCase> concatCases(Rng &r);
std::vector<JitCase> padCases(Rng &r);
std::vector<JitCase> reduceCases(OpKind k, Rng &r);
std::vector<JitCase> oneHotCases(Rng &r);

// Contractions, convolution, pooling (codegen_cases_nn.cpp).
std::vector<JitCase> matmulCases(Rng &r);
std::vector<JitCase> convCases(OpKind k, Rng &r);

/// A convolution's operand and result types, drawn at random with a non-empty output.
struct ConvGeometry {
  TensorType x, w, y;
  ConvAttrs a;
};
/// Upper bounds of the draw (lower bounds: 1, padding 0, dilation up to 2).
struct ConvBounds {
  int64_t batch = 2, channels = 3, outChannels = 4, height = 9, width = 9, kernel = 3, stride = 2, padding = 2;
};
ConvGeometry randomConvGeometry(Rng &r, DType d, const ConvBounds &b = {});
/// The case of conv2d (k = Conv2d) or one of its gradients on geometry \p g.
JitCase convCaseOf(Rng &r, OpKind k, const ConvGeometry &g);
std::vector<JitCase> poolCases(OpKind k, Rng &r);

/// A case of one `k` node on random inputs of \p argTypes.
JitCase opCase(Rng &r, OpKind k, const std::vector<TensorType> &argTypes, Attrs attrs = NoAttrs{},
               std::optional<TensorType> given = std::nullopt, const InputStyle &style = {});

}  // namespace dlc::test
