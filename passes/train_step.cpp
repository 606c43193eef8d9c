//===- passes/train_step.cpp - building the training step --------------------===//
#include "passes/train_step.h"

#include <algorithm>

#include <fmt/ranges.h>
#include <unordered_map>
#include <unordered_set>

#include "ir/builder.h"
#include "ir/verifier.h"
#include "passes/autodiff.h"
#include "passes/dce.h"
#include "passes/optimizers.h"

namespace dlc {
namespace {

bool contains(const std::vector<std::string> &v, const std::string &s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

/// Decides, per argument of \p f, whether it is a trained parameter (see train_step.h).
Expected<std::vector<bool>> classifyArgs(const Function &f, const TrainStepOptions &o) {
  const size_t n = f.numArgs();
  std::vector<bool> isParam(n, false);
  auto checkNames = [&](const std::vector<std::string> &names, std::string_view what) -> Expected<void> {
    for (const std::string &name : names) {
      bool found = false;
      for (size_t i = 0; i < n; ++i) found |= f.arg(i)->name() == name;
      if (!found) return makeError(f.loc, "no argument '%{}' in '@{}' (listed as {})", name, f.name(), what);
    }
    return {};
  };
  if (!o.params.empty()) {
    if (auto ok = checkNames(o.params, "a parameter"); !ok) return ok.takeError();
    for (size_t i = 0; i < n; ++i) {
      if (!contains(o.params, f.arg(i)->name())) continue;
      if (!isFloat(f.arg(i)->dtype()))
        return makeError(f.loc, "parameter '%{}' of '@{}' is {}, not floating-point", f.arg(i)->name(),
                         f.name(), f.arg(i)->type());
      isParam[i] = true;
    }
    return isParam;
  }
  if (auto ok = checkNames(o.inputs, "an input"); !ok) return ok.takeError();
  for (size_t i = 0; i < n; ++i) {
    const bool input = o.inputs.empty() ? i + 2 >= n : contains(o.inputs, f.arg(i)->name());
    isParam[i] = !input && isFloat(f.arg(i)->dtype());
  }
  return isParam;
}

/// Names unique within one function: `base`, else `base_1`, `base_2`, ...
class NameTable {
 public:
  explicit NameTable(const Function &f) {
    for (Value *a : f.args()) used_.insert(a->name());
    for (const auto &n : f.nodes()) used_.insert(n->result()->name());
  }
  std::string fresh(const std::string &base) {
    std::string name = base;
    for (int i = 1; used_.count(name); ++i) name = fmt::format("{}_{}", base, i);
    used_.insert(name);
    return name;
  }

 private:
  std::unordered_set<std::string> used_;
};

/// Copies the arguments and nodes of \p src into the empty function \p dst; returns the
/// value map.
std::unordered_map<const Value *, Value *> cloneInto(const Function &src, Function &dst) {
  std::unordered_map<const Value *, Value *> map;
  dst.loc = src.loc;
  for (Value *a : src.args()) map[a] = dst.addArg(a->type(), a->name());
  for (const auto &n : src.nodes()) {
    std::vector<Value *> ops;
    for (Value *op : n->operands()) ops.push_back(map.at(op));
    Node *c = dst.createNode(n->kind(), std::move(ops), n->type(), n->attrs(), n->loc);
    c->result()->setName(n->result()->name());
    map[n->result()] = c->result();
  }
  return map;
}

}  // namespace

Expected<Function *> buildTrainStep(Module &m, const Function &lossFn, const TrainStepOptions &o) {
  if (lossFn.results().size() != 1 || !lossFn.results()[0]->type().isScalar() ||
      !isFloat(lossFn.results()[0]->dtype())) {
    std::vector<std::string> types;
    for (const Value *r : lossFn.results()) types.push_back(typeString(r->type()));
    return makeError(lossFn.loc, "a training step needs a loss function returning one floating-point "
                     "scalar; '@{}' returns {}", lossFn.name(),
                     types.size() == 1 ? types[0] : fmt::format("({})", fmt::join(types, ", ")));
  }
  if (m.lookup(o.name)) return makeError(lossFn.loc, "the module already has a function '@{}'", o.name);
  DL_TRY(std::vector<bool> isParam, classifyArgs(lossFn, o));
  if (std::none_of(isParam.begin(), isParam.end(), [](bool p) { return p; }))
    return makeError(lossFn.loc, "'@{}' has no parameters to train: name them (--wrt / "
                     "TrainStepOptions::params) or the inputs", lossFn.name());

  Function &step = *m.addFunction(o.name);
  // On an error the half-built step leaves the module again.
  struct DiscardUnlessKept {
    Module &m;
    Function *f;
    bool keep = false;
    ~DiscardUnlessKept() {
      if (!keep) m.takeFunction(f);
    }
  } guard{m, &step};
  auto map = cloneInto(lossFn, step);
  Value *loss = map.at(lossFn.results()[0]);
  NameTable names(step);

  // Arguments: parameters and inputs come from the loss function; then the state.
  std::vector<int> paramIdx, inputIdx, stateIdx;
  std::vector<ParamSlot> slots;
  const std::vector<std::string> stateNames = optimizerStateNames(o.optimizer);
  for (size_t i = 0; i < lossFn.numArgs(); ++i) (isParam[i] ? paramIdx : inputIdx).push_back(static_cast<int>(i));
  for (int i : paramIdx) {
    ParamSlot slot;
    slot.param = step.arg(static_cast<size_t>(i));
    const std::string base = slot.param->name().empty() ? fmt::format("p{}", i) : slot.param->name();
    for (const std::string &s : stateNames) {
      slot.state.push_back(step.addArg(slot.param->type(), names.fresh(base + "_" + s)));
      stateIdx.push_back(static_cast<int>(step.numArgs()) - 1);
    }
    slots.push_back(std::move(slot));
  }
  StepScalars scalars;
  Builder b(step);
  b.setLoc(lossFn.loc);
  Value *counter = nullptr;
  if (optimizerCountsSteps(o.optimizer)) {
    counter = step.addArg(i32({}), names.fresh("step"));
    stateIdx.push_back(static_cast<int>(step.numArgs()) - 1);
  }
  if (o.fixedLr) {
    scalars.lr = b.scalar(*o.fixedLr, DType::F32);
  } else {
    scalars.lr = step.addArg(f32({}), names.fresh("lr"));
  }

  // Gradients, clipping, updates.
  std::vector<Value *> params;
  for (const ParamSlot &s : slots) params.push_back(s.param);
  DL_TRY(std::vector<Value *> grads, gradients(b, loss, params));
  if (o.clipNorm > 0.0) clipByGlobalNorm(b, grads, o.clipNorm);
  if (counter) scalars.step = b.add(counter, b.scalar(1.0, DType::I32));
  for (size_t i = 0; i < slots.size(); ++i) {
    slots[i].grad = grads[i];
    buildParamUpdate(b, o.optimizer, scalars, slots[i]);
  }

  // Results, aliasing the arguments they replace; then the argument order of the step.
  std::vector<Value *> results;
  std::vector<int> aliases;
  auto addResult = [&](Value *v, const Value *replaces) {
    if (!v->isArgument() && v->name().empty() && !replaces->name().empty())
      v->setName(names.fresh(replaces->name() + "_new"));
    results.push_back(v);
    aliases.push_back(replaces->argIndex());
  };
  for (ParamSlot &s : slots) addResult(s.newParam, s.param);
  for (ParamSlot &s : slots)
    for (size_t j = 0; j < s.state.size(); ++j) addResult(s.newState[j], s.state[j]);
  if (counter) addResult(scalars.step, counter);
  results.push_back(loss);
  aliases.push_back(-1);
  step.setResults(std::move(results), std::move(aliases));

  std::vector<int> order = paramIdx;
  order.insert(order.end(), stateIdx.begin(), stateIdx.end());
  order.insert(order.end(), inputIdx.begin(), inputIdx.end());
  if (!o.fixedLr) order.push_back(static_cast<int>(step.numArgs()) - 1);
  step.permuteArgs(order);
  eliminateDeadNodes(step);
  if (Expected<void> ok = verify(step); !ok) return ok.takeError();
  guard.keep = true;
  return &step;
}

Expected<bool> buildTrainStepPass(Module &m, const PassOptions &opts) {
  const Function *loss = nullptr;
  const std::string &name = opts.trainStep.loss;
  if (!name.empty()) {
    loss = m.lookup(name);
    if (!loss) return makeError(Location{}, "train-step: no loss function named '@{}' in the module", name);
  } else {
    for (const auto &f : m.functions())
      if (f->results().size() == 1 && f->results()[0]->type().isScalar() && isFloat(f->results()[0]->dtype())) {
        loss = f.get();
        break;
      }
    if (!loss) return makeError(Location{}, "train-step: no function returns a floating-point scalar loss");
  }
  TrainStepOptions o = opts.trainStep;
  if (o.params.empty() && !opts.wrt.empty()) o.params = opts.wrt;
  DL_TRY(Function * step, buildTrainStep(m, *loss, o));
  (void)step;
  return true;
}

}  // namespace dlc
