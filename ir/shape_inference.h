//===- ir/shape_inference.h - result types of ops ------------------------===//
//
// One function computes the result type of any op from its operand types and
// attributes, and checks the op's shape rules on the way. The builder uses it to type
// new nodes, the verifier to check parsed ones.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <span>

#include "ir/attrs.h"
#include "ir/diagnostic.h"
#include "ir/types.h"

namespace dlc {

/// The result type of op \p k on operands of types \p in with attributes \p a.
///
/// Ops with the kTypeGiven trait need \p given (the stated result type) and check it for
/// consistency; for other ops \p given, when not null, must equal the inferred type.
/// On failure returns a Diagnostic without a location (the caller adds it); its message
/// names the op and both shapes, e.g. "'add' operand types differ: f32[4] vs f32[8]".
Expected<TensorType> inferType(OpKind k, std::span<const TensorType> in, const Attrs &a,
                               const TensorType *given = nullptr);

/// Numpy-style broadcast of two shapes (align trailing dims; 1 stretches), or nullopt.
std::optional<Shape> broadcastShapes(const Shape &a, const Shape &b);

/// Output extent of a convolution or pooling window along one dimension, or -1 when the
/// window does not fit.
int64_t windowOutputSize(int64_t in, int64_t window, int64_t stride, int64_t padLo, int64_t padHi,
                         int64_t dilation);

}  // namespace dlc
