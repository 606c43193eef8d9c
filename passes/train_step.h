//===- passes/train_step.h - building the training step ---------------------===//
//
// buildTrainStep turns a loss function into
//
//   func @train_step(params..., opt_state..., inputs..., %lr: f32[])
//       -> (params'..., opt_state'..., loss)
//
// where every params'[i] aliases params[i] and every opt_state'[j] aliases
// opt_state[j], so memory planning updates them in place (XLA/JAX donation). The
// gradients come from autodiff (passes/autodiff.h); the update is the optimizer's,
// following torch.optim (passes/optimizer_config.h), after optional clipping by global
// norm.
//
// Layout and conventions:
//  - params keep their argument order; inputs too. Which arguments are parameters:
//    TrainStepOptions::params when given (every other argument is an input); else the
//    inputs are TrainStepOptions::inputs, or by default the last two arguments (the
//    frontend's order is params, then x, then labels), and the parameters are the other
//    floating-point arguments (a non-float argument is always an input).
//  - opt_state is parameter-major: for each parameter, its state tensors in
//    optimizerStateNames() order, named `<param>_<state>` (`%w1_exp_avg`). Adam and
//    AdamW add one last state value `%step: i32[]`, the number of steps taken, which the
//    step increments before using it for the bias correction (t = 1 on the first call).
//    Every state tensor, the counter included, starts as zeros.
//  - `%lr: f32[]` is the last argument unless TrainStepOptions::fixedLr bakes it in, so a
//    host-side schedule (passes/lr_schedule.h) needs no recompilation.
//  - The loss is the last result: the loss before this step's update.
//
// Requires: \p lossFn verified, returning exactly one floating-point scalar.
// Guarantees: a new verified function named TrainStepOptions::name is appended to the
// module; \p lossFn is not modified.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "passes/optimizer_config.h"
#include "passes/pass.h"

namespace dlc {

/// Builds the training step of \p lossFn (a function of \p m) into \p m.
Expected<Function *> buildTrainStep(Module &m, const Function &lossFn, const TrainStepOptions &o);

/// The `train-step` pass: buildTrainStep from the function opts.trainStep.loss (default:
/// the first function returning a single floating-point scalar) with opts.trainStep; when
/// opts.trainStep.params is empty, opts.wrt names the parameters. opts.function is
/// ignored, so `--function=train_step` can point the passes that follow at the step.
Expected<bool> buildTrainStepPass(Module &m, const PassOptions &opts);

}  // namespace dlc
