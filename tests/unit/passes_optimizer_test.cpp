//===- tests/unit/passes_optimizer_test.cpp - training steps vs PyTorch's rules ===//
//
// Each optimizer's training step runs for three steps in the reference interpreter, in
// f64, and must match a reference written here directly from the torch.optim
// documentation (the pseudo-code of SGD, RMSprop, Adam and AdamW) and
// torch.nn.utils.clip_grad_norm_. The model is a linear least-squares loss whose
// gradient is known in closed form: e = w.x + b - y, L = e^2, dL/dw = 2 e x, dL/db = 2 e.
//
//===----------------------------------------------------------------------===//
#include <cmath>

#include "ir/interpreter.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "passes/cse.h"
#include "passes/simplify.h"
#include "passes/train_step.h"
#include "passes_test_util.h"

namespace dlc {
namespace {

constexpr std::string_view kLoss = R"(func @loss(%w: f64[3], %b: f64[], %x: f64[3], %y: f64[]) -> f64[] {
  %p = mul %w, %x : f64[3]
  %s = reduce_sum %p axes=[0] : f64[]
  %q = add %s, %b : f64[]
  %e = sub %q, %y : f64[]
  %l = mul %e, %e : f64[]
  return %l
})";

// ---- The reference: torch.optim's documented algorithms, on a flat parameter vector
// [w0, w1, w2, b], with the two parameters' groups kept apart only for clipping.

struct Batch {
  std::vector<double> x;
  double y;
};

const Batch kBatches[] = {{{0.5, -1.25, 2.0}, 1.5}, {{-0.75, 0.25, 1.0}, -0.5}, {{1.5, 0.5, -2.0}, 2.25}};

struct Ref {
  std::vector<double> p{0.3, -0.2, 0.1, 0.05};
  std::vector<double> s1 = std::vector<double>(4, 0.0), s2 = s1, s3 = s1;  // state, zeros
  int t = 0;
};

double lossAt(const std::vector<double> &p, const Batch &bt) {
  const double e = p[0] * bt.x[0] + p[1] * bt.x[1] + p[2] * bt.x[2] + p[3] - bt.y;
  return e * e;
}

std::vector<double> gradAt(const std::vector<double> &p, const Batch &bt) {
  const double e = p[0] * bt.x[0] + p[1] * bt.x[1] + p[2] * bt.x[2] + p[3] - bt.y;
  return {2 * e * bt.x[0], 2 * e * bt.x[1], 2 * e * bt.x[2], 2 * e};
}

void clip(std::vector<double> &g, double maxNorm) {
  const double nw = std::sqrt(g[0] * g[0] + g[1] * g[1] + g[2] * g[2]), nb = std::abs(g[3]);
  const double total = std::sqrt(nw * nw + nb * nb);
  const double coef = std::min(maxNorm / (total + 1e-6), 1.0);
  for (double &v : g) v *= coef;
}

void refStep(const OptimizerConfig &cfg, Ref &r, std::vector<double> g, double lr, double clipNorm) {
  if (clipNorm > 0) clip(g, clipNorm);
  ++r.t;
  for (size_t i = 0; i < r.p.size(); ++i) {
    double &p = r.p[i];
    double gi = g[i];
    if (const auto *o = std::get_if<Sgd>(&cfg)) {
      if (o->weightDecay != 0) gi += o->weightDecay * p;
      p -= lr * gi;
    } else if (const auto *o = std::get_if<Momentum>(&cfg)) {
      if (o->weightDecay != 0) gi += o->weightDecay * p;
      double &b = r.s1[i];
      b = r.t > 1 ? o->momentum * b + gi : gi;  // dampening 0
      p -= lr * (o->nesterov ? gi + o->momentum * b : b);
    } else if (const auto *o = std::get_if<RmsProp>(&cfg)) {
      if (o->weightDecay != 0) gi += o->weightDecay * p;
      double &v = r.s1[i], &gAvg = r.s2[i], &b = r.s3[i];
      v = o->alpha * v + (1 - o->alpha) * gi * gi;
      double vt = v;
      if (o->centered) {
        gAvg = o->alpha * gAvg + (1 - o->alpha) * gi;
        vt = vt - gAvg * gAvg;
      }
      if (o->momentum > 0) {
        b = o->momentum * b + gi / (std::sqrt(vt) + o->eps);
        p -= lr * b;
      } else {
        p -= lr * gi / (std::sqrt(vt) + o->eps);
      }
    } else {
      const bool decoupled = std::holds_alternative<AdamW>(cfg);
      const Adam a = decoupled ? Adam{std::get<AdamW>(cfg).beta1, std::get<AdamW>(cfg).beta2,
                                      std::get<AdamW>(cfg).eps, std::get<AdamW>(cfg).weightDecay}
                               : std::get<Adam>(cfg);
      if (decoupled) p -= lr * a.weightDecay * p;
      else if (a.weightDecay != 0) gi += a.weightDecay * p;
      double &m = r.s1[i], &v = r.s2[i];
      m = a.beta1 * m + (1 - a.beta1) * gi;
      v = a.beta2 * v + (1 - a.beta2) * gi * gi;
      const double mHat = m / (1 - std::pow(a.beta1, r.t));
      const double vHat = v / (1 - std::pow(a.beta2, r.t));
      p -= lr * mHat / (std::sqrt(vHat) + a.eps);
    }
  }
}

// ---- The compiled step, run in the interpreter.

struct OptCase {
  std::string_view name;
  OptimizerConfig cfg;
  double lr;
  double clipNorm = 0;
};

void PrintTo(const OptCase &c, std::ostream *os) { *os << c.name; }

const OptCase kOptCases[] = {
    {"sgd", Sgd{}, 0.125},
    {"sgd_weight_decay", Sgd{.weightDecay = 0.1}, 0.125},
    {"momentum", Momentum{.momentum = 0.9}, 0.0625},
    {"nesterov_weight_decay", Momentum{.momentum = 0.8, .nesterov = true, .weightDecay = 0.01}, 0.0625},
    {"rmsprop", RmsProp{}, 0.015625},
    {"rmsprop_centered_momentum_wd",
     RmsProp{.alpha = 0.9, .eps = 1e-6, .momentum = 0.5, .centered = true, .weightDecay = 0.1}, 0.015625},
    {"adam", Adam{}, 0.125},
    {"adam_l2", Adam{.beta1 = 0.8, .beta2 = 0.95, .eps = 1e-6, .weightDecay = 0.1}, 0.125},
    {"adamw", AdamW{}, 0.125},
    {"adamw_strong_decay", AdamW{.weightDecay = 0.5}, 0.25},
    {"sgd_clipped", Sgd{}, 0.125, 0.5},
    {"adam_clipped", Adam{}, 0.125, 0.25},
};

HostTensor vec(std::vector<double> v) { return HostTensor::fromVector<double>({static_cast<int64_t>(v.size())}, v); }
HostTensor scalar64(double v) { return HostTensor::fromVector<double>({}, {v}); }

class Optimizer : public ::testing::TestWithParam<OptCase> {};

TEST_P(Optimizer, ThreeStepsMatchTorchOptimsDocumentedRule) {
  const OptCase &c = GetParam();
  Module m = test::parseOrFail(kLoss);
  TrainStepOptions o;
  o.optimizer = c.cfg;
  o.clipNorm = c.clipNorm;
  Expected<Function *> built = buildTrainStep(m, *m.lookup("loss"), o);
  ASSERT_TRUE(built.ok()) << built.error().str();
  Function &step = **built;
  ASSERT_TRUE(verify(m).ok()) << printFunction(step);

  // Arguments: w, b, state..., x, y, lr; results: w', b', state'..., loss.
  const size_t numState = step.numArgs() - 5;
  ASSERT_EQ(step.results().size(), 2 + numState + 1);
  for (size_t i = 0; i < 2 + numState; ++i) EXPECT_EQ(step.resultAliases()[i], static_cast<int>(i));
  EXPECT_EQ(step.resultAliases().back(), -1);

  Ref ref;
  std::vector<HostTensor> carried{vec({ref.p[0], ref.p[1], ref.p[2]}), scalar64(ref.p[3])};
  for (size_t i = 2; i < 2 + numState; ++i) carried.push_back(HostTensor(step.arg(i)->type()));  // zeros
  for (const Batch &bt : kBatches) {
    std::vector<HostTensor> args = carried;
    args.push_back(vec(bt.x));
    args.push_back(scalar64(bt.y));
    args.push_back(HostTensor::fromVector<float>({}, {static_cast<float>(c.lr)}));
    std::vector<HostTensor> out = test::runOrFail(step, args);
    ASSERT_EQ(out.size(), step.results().size());
    const double refLoss = lossAt(ref.p, bt);
    refStep(c.cfg, ref, gradAt(ref.p, bt), c.lr, c.clipNorm);
    EXPECT_NEAR(out.back().getDouble(0), refLoss, 1e-12 * std::max(1.0, refLoss));
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(out[0].getDouble(i), ref.p[static_cast<size_t>(i)], 1e-12) << "w" << i;
    EXPECT_NEAR(out[1].getDouble(0), ref.p[3], 1e-12) << "b";
    for (size_t i = 0; i < 2 + numState; ++i) carried[i] = out[i];
  }
  // The parameters really moved.
  EXPECT_NE(carried[1].getDouble(0), 0.05);
}

std::string optName(const ::testing::TestParamInfo<OptCase> &info) { return std::string(info.param.name); }

INSTANTIATE_TEST_SUITE_P(TorchRules, Optimizer, ::testing::ValuesIn(kOptCases), optName);

TEST(TrainStep, SignatureStateNamesAndAliases) {
  Module m = test::parseOrFail(kLoss);
  TrainStepOptions o;
  o.optimizer = Adam{};
  Expected<Function *> step = buildTrainStep(m, *m.lookup("loss"), o);
  ASSERT_TRUE(step.ok()) << step.error().str();
  const std::string text = printFunction(**step);
  const std::string head = text.substr(0, text.find('\n'));
  EXPECT_EQ(head,
            "func @train_step(%w: f64[3], %b: f64[], %w_exp_avg: f64[3], %w_exp_avg_sq: f64[3], "
            "%b_exp_avg: f64[], %b_exp_avg_sq: f64[], %step: i32[], %x: f64[3], %y: f64[], %lr: f32[]) -> "
            "(f64[3] aliases %w, f64[] aliases %b, f64[3] aliases %w_exp_avg, f64[3] aliases %w_exp_avg_sq, "
            "f64[] aliases %b_exp_avg, f64[] aliases %b_exp_avg_sq, i32[] aliases %step, f64[]) {");
  EXPECT_NE(m.lookup("loss"), nullptr);  // the loss function stays
}

TEST(TrainStep, ExplicitParamsFixedLrAndName) {
  Module m = test::parseOrFail(kLoss);
  TrainStepOptions o;
  o.params = {"w"};
  o.fixedLr = 0.5;
  o.name = "sgd_step";
  Expected<Function *> step = buildTrainStep(m, *m.lookup("loss"), o);
  ASSERT_TRUE(step.ok()) << step.error().str();
  const std::string text = printFunction(**step);
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "func @sgd_step(%w: f64[3], %b: f64[], %x: f64[3], %y: f64[]) -> (f64[3] aliases %w, f64[]) {");
}

TEST(TrainStep, Errors) {
  Module m = test::parseOrFail(std::string(kLoss) + R"(
func @vec(%w: f32[2]) -> f32[2] {
  return %w
}
func @frozen(%n: i32[2], %x: f32[2], %y: f32[2]) -> f32[] {
  %s = reduce_sum %x axes=[0] : f32[]
  return %s
})");
  auto message = [&](const char *fn, TrainStepOptions o) {
    Expected<Function *> r = buildTrainStep(m, *m.lookup(fn), o);
    return r.ok() ? std::string("ok") : r.error().message();
  };
  EXPECT_EQ(message("vec", {}),
            "a training step needs a loss function returning one floating-point scalar; '@vec' returns f32[2]");
  EXPECT_EQ(message("frozen", {}),
            "'@frozen' has no parameters to train: name them (--wrt / TrainStepOptions::params) or the inputs");
  TrainStepOptions unknown;
  unknown.params = {"v"};
  EXPECT_EQ(message("loss", unknown), "no argument '%v' in '@loss' (listed as a parameter)");
  TrainStepOptions intParam;
  intParam.params = {"n"};
  EXPECT_EQ(message("frozen", intParam), "parameter '%n' of '@frozen' is i32[2], not floating-point");
  EXPECT_EQ(m.functions().size(), 3u);  // failed attempts leave nothing behind
  ASSERT_EQ(message("loss", {}), "ok");
  EXPECT_EQ(message("loss", {}), "the module already has a function '@train_step'");
}

TEST(TrainStep, SimplifyAndCseKeepTheStepBitwise) {
  for (const OptCase &c : kOptCases) {
    Module m = test::parseOrFail(kLoss);
    TrainStepOptions o;
    o.optimizer = c.cfg;
    o.clipNorm = c.clipNorm;
    Expected<Function *> built = buildTrainStep(m, *m.lookup("loss"), o);
    ASSERT_TRUE(built.ok()) << built.error().str();
    Function &step = **built;
    std::vector<HostTensor> args = test::sampleArgs(step, 5, /*specials=*/false);
    args.back() = HostTensor::fromVector<float>({}, {0.125f});
    for (size_t i = 0; i < step.numArgs(); ++i)  // a plausible step count, not a random one
      if (step.arg(i)->name() == "step") args[i] = HostTensor::fromVector<int32_t>({}, {3});
    std::vector<HostTensor> before = test::runOrFail(step, args);
    const size_t nodes = step.numNodes();
    PassOptions opts;
    opts.function = step.name();
    ASSERT_TRUE(simplify(m, opts).ok());
    ASSERT_TRUE(eliminateCommonSubexpressions(m, opts).ok());
    ASSERT_TRUE(verify(m).ok()) << printFunction(step);
    EXPECT_LT(step.numNodes(), nodes) << c.name;
    EXPECT_TRUE(test::sameBits(before, test::runOrFail(step, args))) << c.name << "\n" << printFunction(step);
  }
}

}  // namespace
}  // namespace dlc
