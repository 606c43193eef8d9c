//===- passes/autodiff.cpp - reverse-mode automatic differentiation -------===//
//
// Algorithm (gradients):
//   1. Activity: walking forward up to y, a value is active when it is floating-point,
//      is produced by an op with a gradient and has an active operand (or is in wrt).
//      Only active operands ever receive a cotangent, so no rule builds dead IR for
//      constants, labels or parameters nobody asked about.
//   2. Reverse sweep: starting from ct[y] = seed, visit the nodes before y in reverse
//      program order; a node whose result has a cotangent hands it to its vjp rule,
//      and each operand's contribution is added to what it already has (fan-out sums).
//      Reverse program order is a reverse topological order, so a value's cotangent is
//      complete before its defining node is visited.
//   3. Each w in wrt reads ct[w], or a zero splat when nothing reached it.
//
//===----------------------------------------------------------------------===//
#include "passes/autodiff.h"

#include <algorithm>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "passes/pass_util.h"
#include "passes/vjp.h"

namespace dlc {
namespace {

/// Where to report a problem with \p v.
Location locOf(const Function &f, const Value *v) {
  if (v && v->def()) return v->def()->diagLoc();
  return f.parsedLoc.isKnown() ? f.parsedLoc : f.loc;
}

/// Restores a builder's location when the sweep is done.
class LocGuard {
public:
  explicit LocGuard(Builder &b) : b_(b), saved_(b.loc()) {}
  ~LocGuard() { b_.setLoc(saved_); }

private:
  Builder &b_;
  Location saved_;
};

bool belongsTo(const Function &f, const Value *v) {
  if (v->def()) return v->def()->parent() == &f;
  return v->argIndex() >= 0 && static_cast<size_t>(v->argIndex()) < f.numArgs() && f.arg(v->argIndex()) == v;
}

}  // namespace

Expected<std::vector<Value *>> gradients(Builder &b, Value *y, std::span<Value *const> wrt, Value *seed) {
  Function &f = b.function();
  DL_ASSERT(belongsTo(f, y), "gradients(): y is not a value of the builder's function");
  if (!isFloat(y->dtype()))
    return makeError(locOf(f, y), "cannot differentiate '{}': {} is not a floating-point type",
                     valueLabel(f, y), y->type());
  for (Value *w : wrt) {
    DL_ASSERT(belongsTo(f, w), "gradients(): a wrt value is not a value of the builder's function");
    if (!isFloat(w->dtype()))
      return makeError(locOf(f, w),
                       "cannot differentiate with respect to '{}': {} is not a floating-point type",
                       valueLabel(f, w), w->type());
  }
  if (seed && seed->type() != y->type())
    return makeError(locOf(f, y), "the seed of '{}' must have its type {}, got {}", valueLabel(f, y),
                     y->type(), seed->type());
  if (!seed && !y->type().isScalar())
    return makeError(
        locOf(f, y),
        "cannot differentiate '{}' of type {} without a seed: only a scalar has an implicit seed of 1",
        valueLabel(f, y), y->type());

  LocGuard restoreLoc(b);
  // The forward nodes, snapshotted: the sweep appends to f's node list.
  std::vector<Node *> forward;
  if (Node *yDef = y->def()) {
    const size_t end = f.indexOf(yDef) + 1;
    for (size_t i = 0; i < end; ++i)
      forward.push_back(f.nodes()[i].get());
  }

  // 1. Activity.
  std::unordered_set<const Value *> active(wrt.begin(), wrt.end());
  for (Node *n : forward) {
    if (active.count(n->result()) || hasTrait(n->kind(), kNoGrad) || !isFloat(n->result()->dtype())) continue;
    if (std::any_of(n->operands().begin(), n->operands().end(),
                    [&](Value *v) { return active.count(v) != 0; }))
      active.insert(n->result());
  }

  // 2. Reverse sweep.
  std::unordered_map<const Value *, Value *> ct;
  auto accumulate = [&](Value *v, Value *c) {
    DL_ASSERT(c->type() == v->type(), "a VJP rule built a cotangent of the wrong type");
    auto [it, inserted] = ct.try_emplace(v, c);
    if (!inserted) it->second = b.add(it->second, c);
  };
  if (active.count(y)) {
    if (!seed) {
      b.setLoc(y->def() ? y->def()->loc : Location{});
      seed = b.constant(1.0, y->type());
    }
    ct[y] = seed;
  }
  for (auto it = forward.rbegin(); it != forward.rend(); ++it) {
    Node &n = **it;
    auto found = ct.find(n.result());
    if (found == ct.end()) continue;
    const size_t numOps = n.numOperands();
    std::unique_ptr<bool[]> needs = std::make_unique<bool[]>(numOps);
    bool any = false;
    for (size_t i = 0; i < numOps; ++i)
      any |= (needs[i] = active.count(n.operand(i)) != 0);
    if (!any) continue;
    b.setLoc(n.loc);
    DL_TRY(std::vector<Value *> cts,
           ad::vjp(b, n, found->second, std::span<const bool>(needs.get(), numOps)));
    for (size_t i = 0; i < cts.size(); ++i)
      if (cts[i] && needs[i]) accumulate(n.operand(i), cts[i]);
  }

  // 3. Read off the gradients.
  std::vector<Value *> out;
  out.reserve(wrt.size());
  b.setLoc(Location{});
  for (Value *w : wrt) {
    auto c = ct.find(w);
    out.push_back(c != ct.end() ? c->second : b.constant(0.0, w->type()));
  }
  return out;
}

namespace {

/// `f32[]`, or `(f32[], f32[4])` for several results.
std::string resultTypes(const Function &f) {
  if (f.results().size() == 1) return typeString(f.results()[0]->type());
  std::string out = "(";
  for (size_t i = 0; i < f.results().size(); ++i)
    out += (i ? ", " : "") + typeString(f.results()[i]->type());
  return out + ")";
}

/// The arguments opts.wrt names, in argument order (default: the floating-point ones).
Expected<std::vector<Value *>> selectWrt(const Function &f, const PassOptions &o) {
  std::vector<Value *> out;
  if (o.wrt.empty()) {
    for (Value *a : f.args())
      if (isFloat(a->dtype())) out.push_back(a);
    return out;
  }
  std::vector<bool> chosen(f.numArgs(), false);
  for (std::string_view name : o.wrt) {
    if (name.starts_with('%')) name.remove_prefix(1);
    auto args = f.args();
    auto it = std::find_if(args.begin(), args.end(), [&](Value *a) { return a->name() == name; });
    if (it == args.end())
      return makeError(locOf(f, f.numArgs() ? f.arg(0) : nullptr),
                       "autodiff: @{} has no argument named '%{}'", f.name(), name);
    chosen[static_cast<size_t>((*it)->argIndex())] = true;
  }
  for (size_t i = 0; i < f.numArgs(); ++i)
    if (chosen[i]) out.push_back(f.arg(i));
  return out;
}

/// Names the gradient of argument `x` `d_x` when it is a new, unnamed node and the name
/// is free, so that the pass's output reads `return %loss, %d_w1, %d_b1`.
void nameGradients(Function &f, std::span<Value *const> wrt, std::span<Value *const> grads, size_t firstNew) {
  std::unordered_set<std::string> taken;
  for (Value *a : f.args())
    taken.insert(a->name());
  for (const auto &n : f.nodes())
    taken.insert(n->result()->name());
  for (size_t i = 0; i < wrt.size(); ++i) {
    Value *g = grads[i];
    if (wrt[i]->name().empty() || !g->def() || !g->name().empty() || f.indexOf(g->def()) < firstNew) continue;
    std::string name = "d_" + wrt[i]->name();
    if (taken.insert(name).second) g->setName(name);
  }
}

Expected<bool> differentiateFunction(Function &f, const PassOptions &o) {
  const std::vector<Value *> &results = f.results();
  if (results.size() != 1 || !isFloat(results[0]->dtype()) || !results[0]->type().isScalar())
    return makeError(f.parsedLoc.isKnown() ? f.parsedLoc : f.loc,
                     "autodiff needs a scalar floating-point result; @{} returns {}", f.name(),
                     resultTypes(f));
  Value *loss = results[0];
  DL_TRY(std::vector<Value *> wrt, selectWrt(f, o));
  const size_t firstNew = f.numNodes();
  Builder b(f);
  DL_TRY(std::vector<Value *> grads, gradients(b, loss, wrt));
  nameGradients(f, wrt, grads, firstNew);
  const bool hadAliases =
      std::any_of(f.resultAliases().begin(), f.resultAliases().end(), [](int a) { return a >= 0; });
  std::vector<Value *> next{loss};
  next.insert(next.end(), grads.begin(), grads.end());
  f.setResults(std::move(next));
  return !wrt.empty() || hadAliases;
}

}  // namespace

Expected<bool> differentiate(Module &m, const PassOptions &opts) {
  DL_TRY(std::vector<Function *> funcs, selectFunctions(m, opts));
  bool changed = false;
  for (Function *f : funcs) {
    DL_TRY(bool c, differentiateFunction(*f, opts));
    changed |= c;
  }
  return changed;
}

}  // namespace dlc
