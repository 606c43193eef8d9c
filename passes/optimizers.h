//===- passes/optimizers.h - optimizer updates as IR ------------------------===//
//
// Internal to dl_passes (train_step.cpp builds the step with these). Each optimizer is a
// function that builds, with ordinary elementwise IR, one parameter's new value and new
// state from the parameter, its gradient, its state and the step's scalars, following
// the update rules documented for torch.optim (see passes/optimizer_config.h). Every
// state tensor has the parameter's type and starts as zeros.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <vector>

#include "ir/builder.h"
#include "passes/optimizer_config.h"

namespace dlc {

/// One parameter's part of the update: inputs filled by the caller, outputs by
/// buildParamUpdate.
struct ParamSlot {
  Value *param = nullptr;            ///< theta_{t-1}
  Value *grad = nullptr;             ///< g_t (after clipping, before weight decay)
  std::vector<Value *> state;        ///< one per optimizerStateNames() entry
  Value *newParam = nullptr;         ///< theta_t
  std::vector<Value *> newState;     ///< the state after the step, same order
};

/// The per-step scalars every update reads.
struct StepScalars {
  Value *lr = nullptr;    ///< f32[] learning rate
  Value *step = nullptr;  ///< i32[] step number t >= 1 of this update (counting optimizers)
};

/// Names of the per-parameter state tensors (PyTorch's state keys), e.g. {"exp_avg",
/// "exp_avg_sq"} for Adam; empty for plain SGD.
std::vector<std::string> optimizerStateNames(const OptimizerConfig &o);
/// True when the optimizer needs the step number t (Adam's bias correction). The
/// training step then keeps an i32[] counter as state, starting at 0.
bool optimizerCountsSteps(const OptimizerConfig &o);

/// Builds slot.newParam and slot.newState with \p b.
void buildParamUpdate(Builder &b, const OptimizerConfig &o, const StepScalars &s, ParamSlot &slot);

/// Scales \p grads in place by min(maxNorm / (norm + 1e-6), 1), where norm is the global
/// L2 norm sqrt(sum_i ||g_i||^2): torch.nn.utils.clip_grad_norm_.
void clipByGlobalNorm(Builder &b, std::vector<Value *> &grads, double maxNorm);

}  // namespace dlc
