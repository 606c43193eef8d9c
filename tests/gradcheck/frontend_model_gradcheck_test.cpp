//===- tests/gradcheck/frontend_model_gradcheck_test.cpp - W1/W2 at full size ===//
//
// The frontend's own W1 MLP and W2 CNN (frontend/models.h, full layer sizes, PyTorch
// initialization), promoted from f32 to f64 so that central differences are precise,
// differentiated by the `autodiff` pass and checked on a few random coordinates of
// every parameter. The small models of model_gradcheck_test.cpp check many more
// coordinates; these make sure the real graphs, as the frontend builds them, work.
//
//===----------------------------------------------------------------------===//
#include <gtest/gtest.h>

#include "frontend/models.h"
#include "ir/verifier.h"
#include "tests/gradcheck/gradcheck.h"

namespace dlc::gradcheck {
namespace {

/// Retypes every f32 value of \p f as f64 (constants keep their values, casts stay
/// valid): the same function, computed in double precision.
void promoteToF64(Function &f) {
  for (Value *a : f.args())
    if (a->dtype() == DType::F32) a->setType(f64(a->shape()));
  for (const auto &n : f.nodes())
    if (n->result()->dtype() == DType::F32) n->result()->setType(f64(n->result()->shape()));
}

/// The model's initial parameters (as f64) followed by random inputs.
std::vector<HostTensor> modelArguments(const Model &model, Rng &rng) {
  std::vector<HostTensor> args;
  for (const HostTensor &p : model.initialParams())
    args.push_back(p.castTo(DType::F64));
  for (size_t i = model.params.size(); i < model.function->numArgs(); ++i) {
    TensorType t = model.function->arg(i)->type();
    HostTensor h = randomTensor(t, Fill::Uniform, rng);
    if (!isFloat(t.dtype))  // labels in [0, 10)
      for (int64_t j = 0; j < h.numElements(); ++j)
        h.setDouble(j, static_cast<double>(rng.integer(0, 9)));
    args.push_back(std::move(h));
  }
  return args;
}

void checkModel(Expected<Model> built, int64_t samplePerArg, uint64_t seed) {
  ASSERT_TRUE(built.ok()) << built.error().str();
  Model &model = *built;
  promoteToF64(*model.function);
  ASSERT_TRUE(verify(model.module).ok());
  Rng rng(seed);
  std::vector<HostTensor> args = modelArguments(model, rng);
  std::vector<std::string> params;
  for (const Parameter &p : model.params)
    params.push_back(p.name);
  const std::string name = model.function->name();
  ErrorStats s =
      checkGradients(model.module, name, args, params, {.eps = 1e-5, .samplePerArg = samplePerArg});
  fmt::print("[gradcheck] {:32} max rel err {:.2e} over {} coordinates\n", "frontend " + name, s.maxRel,
             s.count);
  EXPECT_LE(s.maxRel, 1e-6) << "worst: " << s.worst;
  EXPECT_EQ(s.count, samplePerArg * static_cast<int64_t>(params.size()));
}

TEST(FrontendModelGradCheck, W1Mlp) { checkModel(buildMlp(/*batch=*/2), /*samplePerArg=*/4, 31); }

TEST(FrontendModelGradCheck, W2Cnn) { checkModel(buildCnn(/*batch=*/1), /*samplePerArg=*/2, 32); }

}  // namespace
}  // namespace dlc::gradcheck
