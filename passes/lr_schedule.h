//===- passes/lr_schedule.h - host-side learning-rate schedules ------------===//
//
// The training step takes the learning rate as its `%lr` input, so a schedule is a plain
// host function of the step number and changing it never recompiles. `step` counts
// optimizer steps from 0 (the first call to the training step uses lrAt(s, 0)).
// Formulas follow PyTorch's torch.optim.lr_scheduler closed forms where one exists.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <variant>

namespace dlc {

/// lr for every step.
struct ConstantLr {
  double lr = 1e-3;
};

/// StepLR: lr * gamma^floor(step / stepSize).
struct StepDecayLr {
  double lr = 1e-3;
  int64_t stepSize = 1000;
  double gamma = 0.1;
};

/// ExponentialLR: lr * gamma^step.
struct ExponentialLr {
  double lr = 1e-3;
  double gamma = 0.99;
};

/// CosineAnnealingLR's closed form, etaMin + (lr - etaMin) (1 + cos(pi step / tMax)) / 2,
/// held at etaMin after tMax steps (PyTorch's form would rise again: it is periodic).
struct CosineLr {
  double lr = 1e-3;
  int64_t tMax = 1000;
  double etaMin = 0.0;
};

/// Linear warm-up from 0 to lr over warmupSteps (lr (step + 1) / warmupSteps), then
/// cosine decay to etaMin over the remaining totalSteps - warmupSteps steps.
struct WarmupCosineLr {
  double lr = 1e-3;
  int64_t warmupSteps = 100;
  int64_t totalSteps = 1000;
  double etaMin = 0.0;
};

using LrSchedule = std::variant<ConstantLr, StepDecayLr, ExponentialLr, CosineLr, WarmupCosineLr>;

/// The learning rate of \p s at optimizer step \p step (>= 0).
double lrAt(const LrSchedule &s, int64_t step);

}  // namespace dlc
