//===- train/trainer.cpp - the embedding API ---------------------------------===//
#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <map>

#include "passes/optimizers.h"
#include "passes/pipeline.h"
#include "passes/train_step.h"
#include "runtime/cuda_executable.h"
#include "runtime/data/loader.h"
#include "runtime/executable.h"

namespace dlc {

namespace {

constexpr const char *kFormat = "dlc-trainer-1";

Location noLoc() { return {}; }

/// The node result named \p name in \p f, or null.
Value *findNamed(const Function &f, std::string_view name) {
  for (const auto &n : f.nodes())
    if (n->result()->name() == name) return n->result();
  return nullptr;
}

/// A name for a new function of \p m based on \p base.
std::string freshFunctionName(const Module &m, const std::string &base) {
  std::string name = base;
  for (int i = 1; m.lookup(name); ++i) name = fmt::format("{}_{}", base, i);
  return name;
}

Expected<void> runPasses(Module &m, const std::string &pipeline, const std::string &function) {
  if (pipeline.empty()) return {};
  DL_TRY(std::vector<PassEntry> passes, parsePassPipeline(pipeline));
  PipelineOptions po;
  po.passOpts.function = function;
  DL_TRY(bool changed, runPipeline(m, passes, po));
  (void)changed;
  return {};
}

double lossValue(const HostTensor &t) { return t.getDouble(0); }

}  // namespace

Trainer::~Trainer() = default;

Expected<std::unique_ptr<Trainer>> Trainer::create(Model model, const TrainerOptions &opts) {
  auto t0 = std::chrono::steady_clock::now();
  if (!model.function) return makeError(noLoc(), "Trainer: the model has no function");
  std::unique_ptr<Trainer> t(new Trainer());
  t->opts_ = opts;
  t->model_ = std::move(model);
  Function &fn = *t->model_.function;
  const size_t nParams = t->model_.params.size();
  if (fn.results().empty() || !fn.results()[0]->type().isScalar() || !isFloat(fn.results()[0]->dtype()))
    return makeError(fn.loc, "Trainer: '@{}' must return the loss, a floating-point scalar, as its first result",
                     fn.name());
  if (nParams == 0) return makeError(fn.loc, "Trainer: '@{}' has no parameters to train", fn.name());
  if (fn.numArgs() <= nParams)
    return makeError(fn.loc, "Trainer: '@{}' has no inputs besides its parameters", fn.name());
  for (size_t i = 0; i < nParams; ++i) {
    t->paramNames_.push_back(t->model_.params[i].name);
    if (t->model_.params[i].initial.type() != fn.arg(i)->type())
      return makeError(fn.loc, "Trainer: the initial value of parameter '{}' is {}, the argument is {}",
                       t->model_.params[i].name, t->model_.params[i].initial.type(), fn.arg(i)->type());
  }
  for (size_t i = nParams; i < fn.numArgs(); ++i) {
    t->inputNames_.push_back(fn.arg(i)->name());
    t->inputTypes_.push_back(fn.arg(i)->type());
  }

  // The logits: result 1, else the value named `logits`.
  Value *loss = fn.results()[0];
  Value *logits = fn.results().size() > 1 ? fn.results()[1] : findNamed(fn, "logits");
  // Accuracy needs logits [batch, classes] and integer labels [batch] as the last input.
  const TensorType &labels = t->inputTypes_.back();
  if (logits && (logits->rank() != 2 || !isFloat(logits->dtype()) || t->inputTypes_.size() < 2 ||
                 !isInteger(labels.dtype) || labels.rank() != 1 || labels.shape[0] != logits->shape()[0]))
    logits = nullptr;
  t->hasLogits_ = logits != nullptr;

  // The training step, from a loss-only view of the function.
  std::unique_ptr<Function> lossOnly;
  const Function *lossFn = &fn;
  if (fn.results().size() != 1) {
    lossOnly = cloneFunction(fn, fn.name() + "_loss");
    lossOnly->setResults({lossOnly->results()[0]});
    lossFn = lossOnly.get();
  }
  TrainStepOptions tso;
  tso.optimizer = opts.optimizer;
  tso.params = t->paramNames_;
  for (size_t i = nParams; i < fn.numArgs(); ++i) tso.inputs.push_back(fn.arg(i)->name());
  tso.clipNorm = opts.clipNorm;
  tso.name = freshFunctionName(t->model_.module, "train_step");
  DL_TRY(t->stepFn_, buildTrainStep(t->model_.module, *lossFn, tso));
  lossOnly.reset();

  // The evaluation function: the model's own function, returning (loss, logits).
  if (logits) fn.setResults({loss, logits});
  else fn.setResults({loss});
  t->evalFn_ = &fn;

  if (auto r = runPasses(t->model_.module, opts.pipeline, t->stepFn_->name()); !r) return r.takeError();
  if (auto r = runPasses(t->model_.module, opts.pipeline, t->evalFn_->name()); !r) return r.takeError();

  // Layout check: params..., state..., inputs..., lr.
  const Function &step = *t->stepFn_;
  const size_t nInputs = t->inputNames_.size();
  if (step.numArgs() < nParams + nInputs + 1)
    return makeError(step.loc, "Trainer: unexpected training-step signature ({} arguments)", step.numArgs());
  t->numParams_ = nParams;
  t->numState_ = step.numArgs() - nParams - nInputs - 1;
  std::vector<std::string> perParam = optimizerStateNames(opts.optimizer);
  for (const std::string &p : t->paramNames_)
    for (const std::string &s : perParam) t->stateNames_.push_back("optimizer." + p + "." + s);
  if (optimizerCountsSteps(opts.optimizer)) t->stateNames_.push_back("optimizer.step");
  if (t->stateNames_.size() != t->numState_)
    return makeError(step.loc, "Trainer: the training step has {} state arguments, expected {}", t->numState_,
                     t->stateNames_.size());

  ExecutableOptions eo;
  eo.codegen = opts.codegen;
  eo.codegen.threads = opts.threads;
  eo.keepDenormals = opts.keepDenormals;
  eo.plan.fuse = opts.fuse;
  DL_TRY(t->stepExe_, Executable::compile(step, eo));
  DL_TRY(t->evalExe_, Executable::compile(*t->evalFn_, eo));
  if (opts.cuda) {
    CudaOptions co;
    co.codegen = eo.codegen;
    co.gpu = opts.gpu;
    co.gpu.flushDenormals = !opts.keepDenormals;
    co.plan = eo.plan;
    DL_TRY(t->gpuStep_, CudaExecutable::compile(step, co));
    t->gpuStep_->useGraph(opts.cudaGraph);
  }

  for (const Parameter &p : t->model_.params) t->args_.push_back(p.initial);
  for (size_t i = nParams; i < step.numArgs(); ++i) t->args_.emplace_back(step.arg(i)->type());
  t->compileSeconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return t;
}

int64_t Trainer::batchSize() const {
  return inputTypes_.empty() || inputTypes_[0].rank() == 0 ? 1 : inputTypes_[0].shape[0];
}

double Trainer::learningRate() const { return lrAt(opts_.schedule, steps_); }

Expected<float> Trainer::step(std::span<const HostTensor> inputs) {
  if (inputs.size() != inputNames_.size())
    return makeError(noLoc(), "Trainer::step: expected {} inputs, got {}", inputNames_.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].type() != inputTypes_[i])
      return makeError(noLoc(), "Trainer::step: input '{}' must be {}, got {}", inputNames_[i], inputTypes_[i],
                       inputs[i].type());
  }
  const size_t first = numParams_ + numState_;
  for (size_t i = 0; i < inputs.size(); ++i) args_[first + i] = inputs[i];
  args_.back() = HostTensor::full(f32({}), learningRate());
  // Parameters and optimizer state are donated: the step updates them in args_ in place
  // (no copy per step); only the loss lands in stepOut_.
  if (gpuStep_) {
    // Parameters and state stay on the device; only what changed goes up.
    for (size_t i = deviceStale_ ? 0 : first; i < args_.size(); ++i)
      if (Expected<void> ok = gpuStep_->setArgument(i, args_[i]); !ok) return ok.takeError();
    deviceStale_ = false;
    if (Expected<void> ok = gpuStep_->launch(); !ok) return ok.takeError();
    hostStale_ = true;
    DL_TRY(HostTensor loss, gpuStep_->result(stepFn_->results().size() - 1));
    ++steps_;
    return static_cast<float>(lossValue(loss));
  }
  if (stepOut_.size() != stepFn_->results().size()) stepOut_.resize(stepFn_->results().size());
  if (Expected<void> ok = stepExe_->runInPlace(args_, stepOut_); !ok) return ok.takeError();
  ++steps_;
  return static_cast<float>(lossValue(stepOut_.back()));
}

Expected<void> Trainer::pullFromDevice() const {
  if (!gpuStep_ || !hostStale_) return {};
  for (size_t i = 0; i < numParams_ + numState_; ++i) {
    DL_TRY(args_[i], gpuStep_->argument(i));
  }
  hostStale_ = false;
  return {};
}

Expected<float> Trainer::step(const HostTensor &x, const HostTensor &labels) {
  if (inputNames_.size() != 2)
    return makeError(noLoc(), "Trainer::step(x, labels): the model has {} inputs", inputNames_.size());
  HostTensor in[2] = {x, labels};
  return step(std::span<const HostTensor>(in, 2));
}

namespace {

/// Mean cross-entropy and correct count over the first \p rows rows of \p logits.
void scoreLogits(const HostTensor &logits, const HostTensor &labels, int64_t rows, BatchEval &e) {
  const int64_t classes = logits.shape()[1];
  std::span<const float> l;
  std::vector<float> converted;
  if (logits.dtype() == DType::F32) {
    l = logits.data<float>();
  } else {
    for (int64_t i = 0; i < logits.numElements(); ++i) converted.push_back(static_cast<float>(logits.getDouble(i)));
    l = converted;
  }
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = l.data() + r * classes;
    int64_t label = static_cast<int64_t>(labels.getDouble(r));
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c)
      if (row[c] > row[best]) best = c;
    double m = row[best], sum = 0;
    for (int64_t c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(row[c]) - m);
    double target = label >= 0 && label < classes ? row[label] : m;
    total += m + std::log(sum) - target;
    e.correct += best == label;
  }
  e.loss = rows > 0 ? total / static_cast<double>(rows) : 0;
}

}  // namespace

Expected<BatchEval> Trainer::evaluateBatch(std::span<const HostTensor> inputs, int64_t validRows) {
  if (inputs.size() != inputNames_.size())
    return makeError(noLoc(), "Trainer::evaluateBatch: expected {} inputs, got {}", inputNames_.size(),
                     inputs.size());
  if (Expected<void> ok = pullFromDevice(); !ok) return ok.takeError();
  std::vector<HostTensor> in(args_.begin(), args_.begin() + static_cast<std::ptrdiff_t>(numParams_));
  for (const HostTensor &t : inputs) in.push_back(t);
  DL_TRY(std::vector<HostTensor> out, evalExe_->run(in));
  BatchEval e;
  e.rows = validRows < 0 ? batchSize() : std::min(validRows, batchSize());
  if (hasLogits_ && inputs.size() >= 2 && isInteger(inputs.back().dtype()) &&
      inputs.back().numElements() >= e.rows) {
    scoreLogits(out[1], inputs.back(), e.rows, e);
    e.logits = std::move(out[1]);
  } else {
    e.loss = lossValue(out[0]);
    if (hasLogits_) e.logits = std::move(out[1]);
  }
  return e;
}

Expected<EvalSummary> Trainer::evaluate(const HostTensor &inputs, const HostTensor &labels, int64_t limit) {
  if (inputTypes_.size() != 2)
    return makeError(noLoc(), "Trainer::evaluate: the model has {} inputs, not (x, labels)", inputTypes_.size());
  data::LoaderOptions lo{.batchSize = batchSize(), .shuffle = false, .lastBatch = data::LastBatch::Pad};
  DL_TRY(data::BatchLoader loader, data::BatchLoader::create(inputs, labels, lo));
  if (loader.inputBatchType() != inputTypes_[0] || loader.labelBatchType() != inputTypes_[1])
    return makeError(noLoc(), "Trainer::evaluate: batches of the data are ({}, {}), the model takes ({}, {})",
                     loader.inputBatchType(), loader.labelBatchType(), inputTypes_[0], inputTypes_[1]);
  const int64_t n = limit > 0 ? std::min(limit, loader.size()) : loader.size();
  if (Expected<void> ok = pullFromDevice(); !ok) return ok.takeError();
  std::vector<HostTensor> in(args_.begin(), args_.begin() + static_cast<std::ptrdiff_t>(numParams_));
  in.push_back(loader.makeInputBatch());
  in.push_back(loader.makeLabelBatch());
  const size_t xi = numParams_, yi = numParams_ + 1;
  EvalSummary s;
  double lossSum = 0;
  int64_t correct = 0;
  while (s.samples < n) {
    int64_t valid = loader.next(in[xi], in[yi]);
    if (valid == 0) break;
    valid = std::min(valid, n - s.samples);
    DL_TRY(std::vector<HostTensor> out, evalExe_->run(in));
    BatchEval e;
    if (hasLogits_) scoreLogits(out[1], in[yi], valid, e);
    else e.loss = lossValue(out[0]);
    lossSum += e.loss * static_cast<double>(valid);
    correct += e.correct;
    s.samples += valid;
  }
  s.loss = s.samples ? lossSum / static_cast<double>(s.samples) : 0;
  if (hasLogits_) s.accuracy = s.samples ? 100.0 * static_cast<double>(correct) / static_cast<double>(s.samples) : 0;
  return s;
}

const HostTensor *Trainer::parameter(std::string_view name) const {
  if (!pullFromDevice()) return nullptr;
  for (size_t i = 0; i < numParams_; ++i)
    if (paramNames_[i] == name) return &args_[i];
  return nullptr;
}

Expected<void> Trainer::setParameter(std::string_view name, HostTensor value) {
  for (size_t i = 0; i < numParams_; ++i) {
    if (paramNames_[i] != name) continue;
    if (value.type() != args_[i].type())
      return makeError(noLoc(), "parameter '{}' is {}, not {}", name, args_[i].type(), value.type());
    if (Expected<void> ok = pullFromDevice(); !ok) return ok.takeError();
    args_[i] = std::move(value);
    deviceStale_ = true;
    return {};
  }
  return makeError(noLoc(), "no parameter '{}' (parameters: {})", name, fmt::join(paramNames_, ", "));
}

std::vector<data::TensorRef> Trainer::optimizerState() const {
  (void)pullFromDevice();  // a failed download leaves the last host copy
  std::vector<data::TensorRef> refs;
  for (size_t j = 0; j < numState_; ++j) refs.push_back({stateNames_[j], &args_[numParams_ + j]});
  return refs;
}

Expected<void> Trainer::save(const std::string &path, const data::Metadata &extra) const {
  if (Expected<void> ok = pullFromDevice(); !ok) return ok.takeError();
  std::vector<data::TensorRef> refs;
  for (size_t i = 0; i < numParams_; ++i) refs.push_back({paramNames_[i], &args_[i]});
  for (data::TensorRef &r : optimizerState()) refs.push_back(std::move(r));
  data::Metadata md = extra;
  md["dlc.format"] = kFormat;
  md["dlc.optimizer"] = std::string(optimizerName(opts_.optimizer));
  md["dlc.steps"] = std::to_string(steps_);
  md["dlc.model"] = evalFn_->name();
  return data::saveSafetensors(path, refs, md);
}

Expected<data::Checkpoint> Trainer::readCheckpoint(const std::string &path, bool paramsOnly) const {
  DL_TRY(data::Checkpoint ck, data::loadSafetensors(path));
  std::map<std::string, TensorType> expected;
  for (size_t i = 0; i < numParams_; ++i) expected[paramNames_[i]] = args_[i].type();
  if (paramsOnly) {
    // Only the parameters must be there; other tensors are ignored.
    data::Checkpoint sub;
    sub.source = ck.source;
    sub.metadata = ck.metadata;
    for (data::NamedTensor &t : ck.tensors)
      if (expected.count(t.name)) sub.tensors.push_back(std::move(t));
    if (auto r = data::checkCompatible(expected, sub); !r) return r.takeError();
    return sub;
  }
  for (size_t j = 0; j < numState_; ++j) expected[stateNames_[j]] = args_[numParams_ + j].type();
  auto it = ck.metadata.find("dlc.optimizer");
  std::string mine(optimizerName(opts_.optimizer));
  if (it != ck.metadata.end() && it->second != mine)
    return makeError(noLoc(), "{}: the checkpoint was written with optimizer '{}', this trainer uses '{}'", path,
                     it->second, mine);
  if (auto r = data::checkCompatible(expected, ck); !r) return r.takeError();
  return ck;
}

Expected<data::Metadata> Trainer::load(const std::string &path) {
  DL_TRY(data::Checkpoint ck, readCheckpoint(path, false));
  int64_t steps = 0;
  if (auto it = ck.metadata.find("dlc.steps"); it != ck.metadata.end()) {
    char *end = nullptr;
    long long v = std::strtoll(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || v < 0)
      return makeError(noLoc(), "{}: bad metadata dlc.steps = '{}'", path, it->second);
    steps = v;
  }
  if (Expected<void> ok = pullFromDevice(); !ok) return ok.takeError();
  deviceStale_ = true;
  for (data::NamedTensor &t : ck.tensors) {
    for (size_t i = 0; i < numParams_ + numState_; ++i) {
      const std::string &name = i < numParams_ ? paramNames_[i] : stateNames_[i - numParams_];
      if (name == t.name) args_[i] = std::move(t.tensor);
    }
  }
  steps_ = steps;
  return std::move(ck.metadata);
}

Expected<data::Metadata> Trainer::loadParameters(const std::string &path) {
  DL_TRY(data::Checkpoint ck, readCheckpoint(path, true));
  if (Expected<void> ok = pullFromDevice(); !ok) return ok.takeError();
  deviceStale_ = true;
  for (data::NamedTensor &t : ck.tensors)
    for (size_t i = 0; i < numParams_; ++i)
      if (paramNames_[i] == t.name) args_[i] = std::move(t.tensor);
  return std::move(ck.metadata);
}

}  // namespace dlc
