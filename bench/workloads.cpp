//===- bench/workloads.cpp - the benchmark workloads W1-W6 and gemm as IR ---===//
#include "bench/workloads.h"

#include <random>
#include <sstream>

#include "frontend/graph.h"
#include "frontend/models.h"
#include "frontend/nn.h"
#include "ir/builder.h"
#include "ir/verifier.h"
#include "passes/autodiff.h"
#include "passes/optimizers.h"
#include "passes/pipeline.h"
#include "passes/train_step.h"

namespace dlc::bench {
namespace {

/// Propagates the error of an Expected<void> expression.
#define BENCH_TRY_VOID(expr)                      \
  do {                                            \
    if (auto tryResult_ = (expr); !tryResult_)    \
      return tryResult_.takeError();              \
  } while (0)

HostTensor uniform(const TensorType &t, double lo, double hi, std::mt19937_64 &g) {
  HostTensor h(t);
  std::uniform_real_distribution<double> d(lo, hi);
  dispatchDType(t.dtype, [&]<class T>() {
    for (T &x : h.data<T>()) x = static_cast<T>(d(g));
  });
  return h;
}

HostTensor labels(const TensorType &t, int64_t classes, std::mt19937_64 &g) {
  HostTensor h(t);
  std::uniform_int_distribution<int64_t> d(0, classes - 1);
  dispatchDType(t.dtype, [&]<class T>() {
    for (T &x : h.data<T>()) x = static_cast<T>(d(g));
  });
  return h;
}

/// simplify, cse, dce on function \p name of \p m: the clean-up every tool runs after
/// building a training step.
Expected<void> cleanUp(Module &m, const std::string &name) {
  PipelineOptions po;
  po.passOpts.function = name;
  DL_TRY(std::vector<PassEntry> passes, parsePassPipeline("simplify,cse,dce"));
  DL_TRY(bool changed, runPipeline(m, passes, po));
  (void)changed;
  return {};
}

/// The training step of \p model with \p opt and its arguments: the initial parameters,
/// zero optimizer state, x uniform in [0, 1) (pixel intensities), labels in [0, 10),
/// and the learning rate \p lr.
Expected<BenchCase> trainStepCase(Expected<Model> model, const OptimizerConfig &opt, double lr,
                                  const std::string &workload, int64_t batch, uint64_t seed) {
  if (!model) return model.takeError();
  TrainStepOptions tso;
  tso.optimizer = opt;
  DL_TRY(Function * step, buildTrainStep(model->module, *model->function, tso));
  BENCH_TRY_VOID(cleanUp(model->module, step->name()));
  BenchCase c;
  c.workload = workload;
  c.part = "step";
  c.batch = batch;
  c.id = workload + ".b" + std::to_string(batch);
  std::mt19937_64 g(seed);
  const size_t nParams = model->params.size();
  for (HostTensor &p : model->initialParams()) c.inputs.push_back(std::move(p));
  const size_t xi = step->numArgs() - 3;  // x, labels, lr are the last three
  for (size_t i = nParams; i < xi; ++i) c.inputs.emplace_back(step->arg(i)->type());
  c.inputs.push_back(uniform(step->arg(xi)->type(), 0, 1, g));
  c.inputs.push_back(labels(step->arg(xi + 1)->type(), 10, g));
  c.inputs.push_back(HostTensor::full(step->arg(xi + 2)->type(), lr));
  c.module = std::make_unique<Module>(std::move(model->module));
  c.function = step;
  return c;
}

/// GELU, tanh form, as primitive ops (BENCHMARKS.md W3).
Tensor gelu(const Tensor &x) {
  Tensor inner = 0.7978845608 * (x + 0.044715 * (x * x * x));
  return 0.5 * x * (1.0 + tanh(inner));
}

Expected<std::vector<BenchCase>> geluCases(const WorkloadOptions &o) {
  std::vector<BenchCase> cases;
  std::mt19937_64 g(o.seed);
  const TensorType t = f32({o.elements});
  HostTensor x = uniform(t, -3, 3, g);
  for (const char *part : {"fwd", "bwd"}) {
    const bool bwd = std::string(part) == "bwd";
    Graph gr(bwd ? "gelu_bwd" : "gelu_fwd", {.seed = o.seed, .recordLocations = false});
    Tensor xt = gr.input("x", t);
    Tensor y = gelu(xt).named("y");
    DL_TRY(Model m, gr.finish(bwd ? sum(y).named("s") : y));
    if (bwd) {
      // dx = d sum(y) / dx; the function returns dx alone (dce drops the sum).
      Function &f = *m.function;
      Builder b(f);
      Value *xv = f.arg(0);
      DL_TRY(std::vector<Value *> grads, gradients(b, f.results()[0], std::span<Value *const>(&xv, 1)));
      grads[0]->setName("dx");
      f.setResults({grads[0]});
      BENCH_TRY_VOID(cleanUp(m.module, f.name()));
    }
    BenchCase c;
    c.workload = "gelu";
    c.part = part;
    c.id = std::string("gelu.") + part;
    c.inputs.push_back(x);
    c.function = m.function;
    c.module = std::make_unique<Module>(std::move(m.module));
    cases.push_back(std::move(c));
  }
  return cases;
}

/// W4: one Adam update (torch.optim.Adam, lr 1e-3) of n parameters, in place: the
/// function (p, g, m, v, step: i32[]) -> (p', m', v') with p', m', v' aliasing p, m, v.
/// `step` is the step number t of this update (t >= 1, for the bias correction).
Expected<std::vector<BenchCase>> adamCase(const WorkloadOptions &o) {
  auto m = std::make_unique<Module>();
  Function &f = *m->addFunction("adam");
  const TensorType t = f32({o.elements});
  ParamSlot slot;
  slot.param = f.addArg(t, "p");
  slot.grad = f.addArg(t, "g");
  slot.state = {f.addArg(t, "m"), f.addArg(t, "v")};
  Value *step = f.addArg(i32({}), "step");
  Builder b(f);
  StepScalars s{b.scalar(1e-3, DType::F32), step};
  const OptimizerConfig adam = Adam{};
  DL_ASSERT(optimizerStateNames(adam).size() == 2, "Adam keeps exp_avg and exp_avg_sq");
  buildParamUpdate(b, adam, s, slot);
  f.setResults({slot.newParam, slot.newState[0], slot.newState[1]}, {0, 2, 3});
  BENCH_TRY_VOID(verify(f));
  BENCH_TRY_VOID(cleanUp(*m, "adam"));

  BenchCase c;
  c.workload = "adam";
  c.part = "update";
  c.id = "adam";
  std::mt19937_64 g(o.seed);
  c.inputs.push_back(uniform(t, -1, 1, g));       // p
  c.inputs.push_back(uniform(t, -1, 1, g));       // g
  c.inputs.push_back(uniform(t, -0.1, 0.1, g));   // m
  c.inputs.push_back(uniform(t, 0, 0.01, g));     // v >= 0
  c.inputs.push_back(HostTensor::full(i32({}), 10));
  c.function = &f;
  c.module = std::move(m);
  std::vector<BenchCase> cases;
  cases.push_back(std::move(c));
  return cases;
}

/// W5: (logits, labels) -> (mean softmax cross-entropy, d loss / d logits).
Expected<std::vector<BenchCase>> xentCase(const WorkloadOptions &o) {
  Graph gr("xent", {.seed = o.seed, .recordLocations = false});
  Tensor logits = gr.input("logits", f32({o.xentRows, o.xentClasses}));
  Tensor lab = gr.input("labels", i32({o.xentRows}));
  Tensor loss = nn::crossEntropy(logits, lab).named("loss");
  DL_TRY(Model m, gr.finish(loss));
  Function &f = *m.function;
  Builder b(f);
  Value *lv = f.arg(0);
  DL_TRY(std::vector<Value *> grads, gradients(b, f.results()[0], std::span<Value *const>(&lv, 1)));
  grads[0]->setName("dlogits");
  f.setResults({f.results()[0], grads[0]});
  BENCH_TRY_VOID(cleanUp(m.module, f.name()));

  BenchCase c;
  c.workload = "xent";
  c.part = "fwd+bwd";
  c.id = "xent";
  std::mt19937_64 g(o.seed);
  c.inputs.push_back(uniform(f.arg(0)->type(), -4, 4, g));
  c.inputs.push_back(labels(f.arg(1)->type(), o.xentClasses, g));
  c.function = m.function;
  c.module = std::make_unique<Module>(std::move(m.module));
  std::vector<BenchCase> cases;
  cases.push_back(std::move(c));
  return cases;
}

std::string transName(bool a, bool b) { return std::string(a ? "T" : "N") + (b ? "T" : "N"); }

Expected<std::vector<BenchCase>> gemmCase(const WorkloadOptions &o) {
  Graph gr("gemm", {.seed = o.seed, .recordLocations = false});
  Tensor a = gr.input("a", o.transA ? f32({o.k, o.m}) : f32({o.m, o.k}));
  Tensor bm = gr.input("b", o.transB ? f32({o.n, o.k}) : f32({o.k, o.n}));
  Tensor c = matmul(a, bm, o.transA, o.transB).named("c");
  DL_TRY(Model m, gr.finish(c));
  BenchCase bc;
  bc.workload = "gemm";
  bc.part = fmt::format("{}x{}x{}.{}", o.m, o.n, o.k, transName(o.transA, o.transB));
  bc.id = "gemm." + bc.part;
  std::mt19937_64 g(o.seed);
  bc.inputs.push_back(uniform(m.function->arg(0)->type(), -1, 1, g));
  bc.inputs.push_back(uniform(m.function->arg(1)->type(), -1, 1, g));
  bc.function = m.function;
  bc.module = std::make_unique<Module>(std::move(m.module));
  std::vector<BenchCase> cases;
  cases.push_back(std::move(bc));
  return cases;
}

Expected<std::vector<BenchCase>> one(Expected<BenchCase> c) {
  if (!c) return c.takeError();
  std::vector<BenchCase> v;
  v.push_back(std::move(*c));
  return v;
}

bool parseInt(const std::string &s, int64_t &out) {
  if (s.empty()) return false;
  int64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9' || v > (int64_t{1} << 40)) return false;
    v = v * 10 + (ch - '0');
  }
  out = v;
  return true;
}

}  // namespace

const std::vector<std::string> &workloadNames() {
  static const std::vector<std::string> names = {"mlp", "cnn", "gelu", "adam", "xent", "compile", "gemm"};
  return names;
}

Expected<Function *> buildMlpTrainStep(Module &m, int64_t batch, uint64_t seed) {
  DL_TRY(Model model, buildMlp(batch, {.seed = seed}));
  TrainStepOptions tso;
  tso.optimizer = Adam{};
  DL_TRY(Function * step, buildTrainStep(model.module, *model.function, tso));
  BENCH_TRY_VOID(cleanUp(model.module, step->name()));
  m = std::move(model.module);
  return step;
}

Expected<std::vector<BenchCase>> buildWorkload(const std::string &name, const WorkloadOptions &o) {
  if (o.batch < 0) return makeError(Location{}, "--batch must be positive, got {}", o.batch);
  if (name == "mlp") {
    const int64_t batch = o.batch > 0 ? o.batch : 128;
    return one(trainStepCase(buildMlp(batch, {.seed = o.seed}), Adam{}, 1e-3, "mlp", batch, o.seed));
  }
  if (name == "cnn") {
    const int64_t batch = o.batch > 0 ? o.batch : 64;
    return one(trainStepCase(buildCnn(batch, {.seed = o.seed}), Momentum{.momentum = 0.9}, 0.01, "cnn", batch,
                             o.seed));
  }
  if (name == "gelu") return geluCases(o);
  if (name == "adam") return adamCase(o);
  if (name == "xent") return xentCase(o);
  if (name == "gemm") return gemmCase(o);
  if (name == "compile") return std::vector<BenchCase>{};
  std::string known;
  for (const std::string &n : workloadNames()) known += (known.empty() ? "" : ", ") + n;
  return makeError(Location{}, "unknown workload '{}'; workloads: {}", name, known);
}

Expected<void> parseGemmShape(const std::string &shape, const std::string &trans, WorkloadOptions &o) {
  std::vector<std::string> parts;
  std::stringstream ss(shape);
  for (std::string p; std::getline(ss, p, ',');) parts.push_back(p);
  int64_t dims[3];
  if (parts.size() != 3 || !parseInt(parts[0], dims[0]) || !parseInt(parts[1], dims[1]) ||
      !parseInt(parts[2], dims[2]) || dims[0] == 0 || dims[1] == 0 || dims[2] == 0)
    return makeError(Location{}, "--shape expects M,N,K (three positive integers), got '{}'", shape);
  if (trans != "NN" && trans != "NT" && trans != "TN" && trans != "TT")
    return makeError(Location{}, "--trans expects NN, NT, TN or TT, got '{}'", trans);
  o.m = dims[0];
  o.n = dims[1];
  o.k = dims[2];
  o.transA = trans[0] == 'T';
  o.transB = trans[1] == 'T';
  return {};
}

}  // namespace dlc::bench
