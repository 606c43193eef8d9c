//===- passes/optimizer_config.h - typed optimizer and training-step options ---===//
//
// Plain option structs for the training-step construction (passes/train_step.h). They
// live apart from train_step.h so that PassOptions (passes/pass.h) can carry them without
// pulling in any IR-building code. Defaults are PyTorch's (torch.optim, 2.x).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dlc {

/// torch.optim.SGD without momentum: g += wd * p; p -= lr * g.
struct Sgd {
  double weightDecay = 0.0;  ///< L2 penalty added to the gradient
};

/// torch.optim.SGD with momentum (dampening 0): g += wd * p; b = mu * b + g;
/// p -= lr * (nesterov ? g + mu * b : b). State per parameter: b (zero-initialised, which
/// makes b_1 = g_1 exactly as PyTorch's "b_1 = g_1" special case when dampening is 0).
struct Momentum {
  double momentum = 0.9;
  bool nesterov = false;
  double weightDecay = 0.0;
};

/// torch.optim.RMSprop: g += wd * p; v = alpha * v + (1 - alpha) * g^2; if centered:
/// gAvg = alpha * gAvg + (1 - alpha) * g, vt = v - gAvg^2 (else vt = v); with momentum:
/// b = mu * b + g / (sqrt(vt) + eps), p -= lr * b; else p -= lr * g / (sqrt(vt) + eps).
struct RmsProp {
  double alpha = 0.99;
  double eps = 1e-8;
  double momentum = 0.0;
  bool centered = false;
  double weightDecay = 0.0;
};

/// torch.optim.Adam (amsgrad off): g += wd * p (L2, coupled); m = b1 m + (1 - b1) g;
/// v = b2 v + (1 - b2) g^2; mHat = m / (1 - b1^t); vHat = v / (1 - b2^t);
/// p -= lr * mHat / (sqrt(vHat) + eps).
struct Adam {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weightDecay = 0.0;
};

/// torch.optim.AdamW: p -= lr * wd * p (decoupled, before the Adam step, using the
/// gradient without any decay term); then Adam's update.
struct AdamW {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weightDecay = 0.01;
};

/// The optimizer of a training step.
using OptimizerConfig = std::variant<Sgd, Momentum, RmsProp, Adam, AdamW>;

/// Lower-case name (`sgd`, `momentum`, `nesterov`, `rmsprop`, `adam`, `adamw`).
std::string_view optimizerName(const OptimizerConfig &o);
/// The default configuration of the optimizer called \p name (the names above), or
/// nullopt for an unknown name.
std::optional<OptimizerConfig> optimizerFromName(std::string_view name);

/// How `buildTrainStep` turns a loss function into a training step.
struct TrainStepOptions {
  OptimizerConfig optimizer = Sgd{};
  /// Names of the arguments that are trained. Empty: every floating-point argument that
  /// is not an input (see `inputs`).
  std::vector<std::string> params;
  /// Names of the per-batch inputs. Empty: every argument that is not a parameter when
  /// `params` is given; otherwise the last two arguments (the frontend's convention is
  /// params first, then x, then labels).
  std::vector<std::string> inputs;
  /// Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_ semantics, applied
  /// to the raw gradients before the optimizer); 0 disables it.
  double clipNorm = 0.0;
  /// When set, the learning rate is this constant and the step has no `%lr` argument;
  /// otherwise `%lr: f32[]` is the last argument, so schedules need no recompile.
  std::optional<double> fixedLr;
  /// Name of the generated function.
  std::string name = "train_step";
  /// `train-step` pass only: the loss function's name; empty: the first function that
  /// returns one floating-point scalar. (PassOptions::function is not used for this, so
  /// that it can restrict the passes that follow to the new step.)
  std::string loss;
};

}  // namespace dlc
