//===- tests/unit/fusion_workloads.h - W1, W3, W4, W5 as IR, at test sizes ---===//
//
// The benchmark workloads of ../shared/BENCHMARKS.md that fusion and memory planning are
// judged on, built small: GELU written as primitive ops (and the gradient of its sum),
// one Adam update, mean softmax cross-entropy with its gradient, and W1's training step
// (MLP + Adam). Shared by fusion_test.cpp and memory_plan_test.cpp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "frontend/models.h"
#include "ir/parser.h"
#include "passes/pipeline.h"
#include "passes/train_step.h"

namespace dlc::test {

/// GELU over f32[n] (W3 forward).
inline std::string geluText(int64_t n, bool sum) {
  std::string t = fmt::format(
      "func @gelu(%x: f32[{0}]) -> {1} {{\n"
      "  %x2 = mul %x, %x : f32[{0}]\n"
      "  %x3 = mul %x2, %x : f32[{0}]\n"
      "  %k0 = constant 0.044715 : f32[{0}]\n"
      "  %a = mul %k0, %x3 : f32[{0}]\n"
      "  %b = add %x, %a : f32[{0}]\n"
      "  %k1 = constant 0.7978845608 : f32[{0}]\n"
      "  %c = mul %k1, %b : f32[{0}]\n"
      "  %t = tanh %c : f32[{0}]\n"
      "  %one = constant 1 : f32[{0}]\n"
      "  %d = add %one, %t : f32[{0}]\n"
      "  %half = constant 0.5 : f32[{0}]\n"
      "  %e = mul %half, %x : f32[{0}]\n"
      "  %y = mul %e, %d : f32[{0}]\n",
      n, sum ? "f32[]" : fmt::format("f32[{}]", n));
  if (sum) return t + "  %s = reduce_sum %y axes=[0] : f32[]\n  return %s\n}\n";
  return t + "  return %y\n}\n";
}

/// One Adam update of n parameters (W4), results written over p, m, v.
inline std::string adamText(int64_t n) {
  return fmt::format(
      "func @adam(%p: f32[{0}], %g: f32[{0}], %m: f32[{0}], %v: f32[{0}], %step: f32[]) -> "
      "(f32[{0}] aliases %p, f32[{0}] aliases %m, f32[{0}] aliases %v) {{\n"
      "  %b1 = constant 0.9 : f32[{0}]\n"
      "  %m1 = mul %b1, %m : f32[{0}]\n"
      "  %ob1 = constant 0.1 : f32[{0}]\n"
      "  %gm = mul %ob1, %g : f32[{0}]\n"
      "  %m_new = add %m1, %gm : f32[{0}]\n"
      "  %b2 = constant 0.999 : f32[{0}]\n"
      "  %v1 = mul %b2, %v : f32[{0}]\n"
      "  %gg = mul %g, %g : f32[{0}]\n"
      "  %ob2 = constant 0.001 : f32[{0}]\n"
      "  %gv = mul %ob2, %gg : f32[{0}]\n"
      "  %v_new = add %v1, %gv : f32[{0}]\n"
      "  %one = constant 1 : f32[]\n"
      "  %sb1 = constant 0.9 : f32[]\n"
      "  %pw1 = pow %sb1, %step : f32[]\n"
      "  %bc1 = sub %one, %pw1 : f32[]\n"
      "  %sb2 = constant 0.999 : f32[]\n"
      "  %pw2 = pow %sb2, %step : f32[]\n"
      "  %bc2 = sub %one, %pw2 : f32[]\n"
      "  %bc1b = broadcast %bc1 dims=[] : f32[{0}]\n"
      "  %bc2b = broadcast %bc2 dims=[] : f32[{0}]\n"
      "  %mhat = div %m_new, %bc1b : f32[{0}]\n"
      "  %vhat = div %v_new, %bc2b : f32[{0}]\n"
      "  %root = sqrt %vhat : f32[{0}]\n"
      "  %eps = constant 1e-08 : f32[{0}]\n"
      "  %den = add %root, %eps : f32[{0}]\n"
      "  %ratio = div %mhat, %den : f32[{0}]\n"
      "  %lr = constant 0.001 : f32[{0}]\n"
      "  %update = mul %lr, %ratio : f32[{0}]\n"
      "  %p_new = sub %p, %update : f32[{0}]\n"
      "  return %p_new, %m_new, %v_new\n}}\n",
      n);
}

/// The opening both cross-entropy forms share, up to %picked = onehot * log_softmax(logits).
inline std::string xentPickedText(int64_t b, int64_t c) {
  return fmt::format(
      "func @xent(%logits: f32[{0},{1}], %labels: i32[{0}]) -> f32[] {{\n"
      "  %onehot = one_hot %labels : f32[{0},{1}]\n"
      "  %max = reduce_max %logits axes=[1] : f32[{0}]\n"
      "  %maxb = broadcast %max dims=[0] : f32[{0},{1}]\n"
      "  %shifted = sub %logits, %maxb : f32[{0},{1}]\n"
      "  %e = exp %shifted : f32[{0},{1}]\n"
      "  %sum = reduce_sum %e axes=[1] : f32[{0}]\n"
      "  %lse = log %sum : f32[{0}]\n"
      "  %lseb = broadcast %lse dims=[0] : f32[{0},{1}]\n"
      "  %logp = sub %shifted, %lseb : f32[{0},{1}]\n"
      "  %picked = mul %onehot, %logp : f32[{0},{1}]\n",
      b, c);
}

/// Mean softmax cross-entropy of logits f32[b,c] against i32 labels (W5's forward).
inline std::string xentText(int64_t b, int64_t c) {
  return xentPickedText(b, c) + fmt::format(
      "  %total = reduce_sum %picked axes=[0,1] : f32[]\n"
      "  %scale = constant {0} : f32[]\n"
      "  %loss = mul %total, %scale : f32[]\n"
      "  return %loss\n}}\n",
      -1.0 / static_cast<double>(b));
}

/// W5 as the benchmark builds it (nn::crossEntropy): the loss terms summed per row, then
/// the row sums summed and scaled.
inline std::string xentRowsText(int64_t b, int64_t c) {
  return xentPickedText(b, c) + fmt::format(
      "  %perrow = reduce_sum %picked axes=[1] : f32[{0}]\n"
      "  %total = reduce_sum %perrow axes=[0] : f32[]\n"
      "  %n = constant {0} : f32[]\n"
      "  %mean = div %total, %n : f32[]\n"
      "  %loss = neg %mean : f32[]\n"
      "  return %loss\n}}\n",
      b);
}

/// \p text parsed; with \p grad, differentiated (autodiff, simplify, cse, dce) in
/// place: the function then also returns d loss / d (every float argument).
inline Module parseWorkload(const std::string &text, bool grad) {
  Expected<Module> m = parseModule(text, "workload.dlc");
  EXPECT_TRUE(m) << m.error().str();
  if (!m) return Module{};
  if (grad) {
    Expected<std::vector<PassEntry>> passes = parsePassPipeline("autodiff,simplify,cse,dce");
    EXPECT_TRUE(passes);
    PipelineOptions po;
    Expected<bool> ran = runPipeline(*m, *passes, po);
    EXPECT_TRUE(ran) << ran.error().str();
  }
  return std::move(*m);
}

/// W1's training step (MLP, mean cross-entropy, Adam) at batch \p batch, in its own
/// module; the function is `train_step`.
inline std::unique_ptr<Function> w1Step(int64_t batch) {
  Expected<Model> model = buildMlp(batch);
  EXPECT_TRUE(model) << model.error().str();
  if (!model) return nullptr;
  TrainStepOptions o;
  o.optimizer = Adam{};
  Expected<Function *> step = buildTrainStep(model->module, *model->function, o);
  EXPECT_TRUE(step) << step.error().str();
  if (!step) return nullptr;
  return cloneFunction(**step, "train_step");
}

}  // namespace dlc::test
