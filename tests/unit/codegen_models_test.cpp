//===- tests/unit/codegen_models_test.cpp - whole models: JIT == interpreter ===//
//
// The benchmark models (frontend/models.h) and their training steps (passes/
// train_step.h), JIT-compiled for every test target on 1 and 2 threads, match the
// reference interpreter bitwise: the backend's numeric contract holds for real graphs,
// not just single ops.
//
//===----------------------------------------------------------------------===//
#include "codegen_test_util.h"
#include "frontend/models.h"
#include "passes/train_step.h"

namespace dlc::test {
namespace {

JitCase trainStepCase(Expected<Model> model, OptimizerConfig opt, const std::string &label) {
  JitCase c;
  c.label = label;
  if (!model) {
    ADD_FAILURE() << model.error().str();
    return c;
  }
  TrainStepOptions o;
  o.optimizer = opt;
  Expected<Function *> step = buildTrainStep(model->module, *model->function, o);
  if (!step) {
    ADD_FAILURE() << step.error().str();
    return c;
  }
  c.fn = cloneFunction(**step, "train_step");
  c.inputs = argsFor(*c.fn, 42);
  return c;
}

TEST(JitModels, MlpForward) {
  Expected<Model> m = buildMlp(4);
  ASSERT_TRUE(m) << m.error().str();
  JitCase c;
  c.label = "mlp forward, batch 4";
  c.fn = cloneFunction(*m->function, "mlp");
  c.inputs = argsFor(*c.fn, 1);
  checkJitCase(c);
}

TEST(JitModels, MlpAdamTrainStep) {
  checkJitCase(trainStepCase(buildMlp(4), Adam{}, "mlp train step, Adam, batch 4"));
}

TEST(JitModels, CnnMomentumTrainStep) {
  checkJitCase(trainStepCase(buildCnn(2), Momentum{}, "cnn train step, momentum, batch 2"));
}

}  // namespace
}  // namespace dlc::test
