//===- frontend/tensor_impl.h - helpers shared by the frontend's .cpp files --===//
//
// Private to frontend/: not installed, not included by users.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <initializer_list>

#include "frontend/tensor.h"

namespace dlc::detail {

/// The graph of the first operand that has one, or null.
Graph *graphOf(std::initializer_list<const Tensor *> ts);
/// Graph::checkOperands over a braced list.
bool check(Graph *g, std::initializer_list<Tensor> ts, SrcLoc loc);
/// A splat constant with the type of \p like (which must be valid).
Tensor splat(const Tensor &like, double v, SrcLoc loc);

}  // namespace dlc::detail
