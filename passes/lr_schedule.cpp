//===- passes/lr_schedule.cpp - host-side learning-rate schedules ----------===//
#include "passes/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace dlc {
namespace {

/// etaMin + (lr - etaMin) (1 + cos(pi t / T)) / 2, for t clamped to [0, T].
double cosineBetween(double lr, double etaMin, int64_t t, int64_t tMax) {
  if (tMax <= 0) return etaMin;
  const double frac = static_cast<double>(std::clamp<int64_t>(t, 0, tMax)) / static_cast<double>(tMax);
  return etaMin + (lr - etaMin) * (1.0 + std::cos(std::numbers::pi * frac)) / 2.0;
}

}  // namespace

double lrAt(const LrSchedule &s, int64_t step) {
  step = std::max<int64_t>(step, 0);
  struct Visitor {
    int64_t step;
    double operator()(const ConstantLr &c) const { return c.lr; }
    double operator()(const StepDecayLr &c) const {
      const int64_t k = c.stepSize > 0 ? step / c.stepSize : 0;
      return c.lr * std::pow(c.gamma, static_cast<double>(k));
    }
    double operator()(const ExponentialLr &c) const { return c.lr * std::pow(c.gamma, static_cast<double>(step)); }
    double operator()(const CosineLr &c) const { return cosineBetween(c.lr, c.etaMin, step, c.tMax); }
    double operator()(const WarmupCosineLr &c) const {
      if (step < c.warmupSteps)
        return c.lr * static_cast<double>(step + 1) / static_cast<double>(c.warmupSteps);
      return cosineBetween(c.lr, c.etaMin, step - c.warmupSteps, c.totalSteps - c.warmupSteps);
    }
  };
  return std::visit(Visitor{step}, s);
}

}  // namespace dlc
