//===- passes/simplify.cpp - the rule table and the fixpoint driver --------===//
#include "passes/simplify.h"

#include <unordered_map>

#include "passes/dce.h"
#include "passes/pass_util.h"
#include "passes/simplify_rules.h"

namespace dlc {
namespace {

using K = OpKind;

// The rule table: tried in this order on each node; the first rule that returns a value
// wins. "exact" rules preserve results bitwise; the others say when they apply.
constexpr RewriteRule kRules[] = {
    // Folding: every operand a constant (the general case is evaluated by the reference
    // interpreter, passes/constant_fold.h).
    {"broadcast-of-splat", K::Broadcast, "broadcast(splat c) -> splat c  [exact]", rules::broadcastOfSplat},
    {"reshape-of-splat", K::Reshape, "reshape(splat c) -> splat c  [exact]", rules::reshapeOfSplat},
    {"constant-fold", std::nullopt, "op(constants...) -> constant  [exact]", rules::constantFold},

    // Arithmetic identities.
    {"mul-by-one", K::Mul, "x * 1, 1 * x -> x  [exact]", rules::mulByOne},
    {"mul-by-neg-one", K::Mul, "x * -1, -1 * x -> neg x  [exact]", rules::mulByNegOne},
    {"mul-by-zero", K::Mul, "x * 0, 0 * x -> 0  [integers; floats with fast-math]", rules::mulByZero},
    {"neg-mul-neg", K::Mul, "(neg x) * (neg y) -> x * y  [exact]", rules::negMulNeg},
    {"add-zero", K::Add, "x + -0.0, -0.0 + x, x + 0 (integers) -> x  [x + 0.0: fast-math]", rules::addZero},
    {"add-of-neg", K::Add, "x + (neg y), (neg y) + x -> x - y  [exact]", rules::addOfNeg},
    {"sub-zero", K::Sub, "x - 0.0, x - 0 (integers) -> x  [x - -0.0: fast-math]", rules::subZero},
    {"sub-self", K::Sub, "x - x -> 0  [integers; floats with fast-math]", rules::subSelf},
    {"sub-of-neg", K::Sub, "x - (neg y) -> x + y  [exact]", rules::subOfNeg},
    {"div-by-one", K::Div, "x / 1 -> x  [exact]", rules::divByOne},
    {"div-by-pow2", K::Div, "x / 2^k -> x * 2^-k  [exact when 2^-k is a normal number]", rules::divByPowerOfTwo},
    {"neg-of-neg", K::Neg, "neg (neg x) -> x  [exact]", rules::negOfNeg},
    {"neg-into-constant", K::Neg, "neg(x * k) -> x * -k; neg(x / k), neg(k / x) likewise  [exact; single use]",
     rules::negIntoConstant},
    {"abs-of-neg", K::Abs, "abs (neg x) -> abs x  [exact]", rules::absOfNeg},
    {"abs-of-abs", K::Abs, "abs (abs x) -> abs x  [exact]", rules::absOfAbs},
    {"max-self", K::Max, "max(x, x) -> x  [exact]", rules::maxMinSelf},
    {"min-self", K::Min, "min(x, x) -> x  [exact]", rules::maxMinSelf},
    {"pow-one", K::Pow, "pow(x, 1) -> x  [exact]", rules::powOne},
    {"select-constant-pred", K::Select, "select(true, a, b) -> a; select(false, a, b) -> b  [exact]",
     rules::selectConstantPredicate},
    {"select-same-arms", K::Select, "select(p, a, a) -> a  [exact]", rules::selectSameArms},
    {"select-to-cast", K::Select, "select(p, 1, 0) -> cast p  [exact]", rules::selectToCast},
    {"cast-same-type", K::Cast, "cast x to x's dtype -> x  [exact]", rules::castToSameType},

    // Data movement.
    {"transpose-identity", K::Transpose, "transpose(x, [0,1,..]) -> x  [exact]", rules::transposeIdentity},
    {"transpose-of-transpose", K::Transpose, "transpose(transpose(x, p), q) -> transpose(x, p o q)  [exact]",
     rules::transposeOfTranspose},
    {"transpose-of-broadcast", K::Transpose, "transpose(broadcast(x)) -> broadcast(x) with permuted dims  [exact]",
     rules::transposeOfBroadcast},
    {"reshape-same-shape", K::Reshape, "reshape x to its own shape -> x  [exact]", rules::reshapeSameShape},
    {"reshape-of-reshape", K::Reshape, "reshape(reshape x) -> reshape x  [exact]", rules::reshapeOfReshape},
    {"reshape-of-unit-broadcast", K::Reshape, "reshape(broadcast x), x of one element -> broadcast x  [exact]",
     rules::reshapeOfUnitBroadcast},
    {"broadcast-identity", K::Broadcast, "broadcast x to its own shape -> x  [exact]", rules::broadcastIdentity},
    {"broadcast-of-broadcast", K::Broadcast, "broadcast(broadcast x) -> broadcast x, dims composed  [exact]",
     rules::broadcastOfBroadcast},
    {"slice-full", K::Slice, "slice taking every element -> x  [exact]", rules::sliceFull},
    {"concat-single", K::Concat, "concat(x) -> x  [exact]", rules::concatSingle},
    {"pad-nothing", K::Pad, "pad by zero widths -> x  [exact]", rules::padNothing},
    {"matmul-of-transpose", K::MatMul, "matmul(transpose(a), b) -> matmul(a, b) with the flag toggled  [exact]",
     rules::matmulOfTranspose},

    // Reductions.
    {"reduce-max-unit-axes", K::ReduceMax, "reduce_max over no or size-1 axes -> reshape x  [exact]",
     rules::reduceUnitAxes},
    {"reduce-sum-unit-axes", K::ReduceSum,
     "reduce_sum over no or size-1 axes -> reshape x  [integers; floats with fast-math: -0 + 0 = +0]",
     rules::reduceUnitAxes},
    {"reduce-sum-of-broadcast", K::ReduceSum,
     "reduce_sum(broadcast x) over the broadcast dims -> x * count  [integers; floats with fast-math]",
     rules::reduceSumOfBroadcast},
};

/// valueLabel of every node's result, computed in one walk.
std::unordered_map<const Node *, std::string> nodeLabels(const Function &f) {
  std::unordered_map<const Node *, std::string> out;
  int64_t number = 0;
  for (size_t i = 0; i < f.numArgs(); ++i) number += f.arg(i)->name().empty();
  for (const auto &n : f.nodes())
    out[n.get()] = n->result()->name().empty() ? fmt::format("%{}", number++) : "%" + n->result()->name();
  return out;
}

/// True when \p v is defined by one of the \p added nodes inserted just before \p n.
bool isFreshBefore(const Function &f, const Value *v, const Node &n, size_t added) {
  if (!v->def() || added == 0) return false;
  return f.indexOf(v->def()) + added >= f.indexOf(&n);
}

/// Applies the first matching rule to \p n; returns whether one fired. \p label names
/// n in the debug output.
bool rewriteNode(Function &f, Node &n, const PassOptions &opts, const std::string &label) {
  Builder b(f);
  b.setInsertionPoint(&n);
  b.setLoc(n.loc);
  RewriteContext ctx{f, b, opts};
  const bool debug = opts.debugEnabled("simplify");
  for (const RewriteRule &rule : kRules) {
    if (rule.root && *rule.root != n.kind()) continue;
    const size_t before = f.numNodes();
    Value *repl = rule.rewrite(ctx, n);
    if (!repl) {
      DL_ASSERT(f.numNodes() == before, "a rule built nodes and then did not apply");
      continue;
    }
    DL_ASSERT(repl->type() == n.type(), "a rewrite changed the type of a value");
    DL_ASSERT(repl != n.result(), "a rewrite returned the matched node itself");
    if (debug) fmt::print(opts.debugStream, "simplify: {} on {}\n", rule.name, label);
    // A freshly built replacement inherits the name, so the text keeps its landmarks.
    if (isFreshBefore(f, repl, n, f.numNodes() - before) && repl->name().empty()) {
      repl->setName(n.result()->name());
      n.result()->setName("");
    }
    f.replaceAllUsesWith(n.result(), repl);
    return true;
  }
  return false;
}

}  // namespace

std::span<const RewriteRule> simplifyRules() { return kRules; }

size_t simplifyFunction(Function &f, const PassOptions &opts) {
  size_t fired = 0;
  for (int iter = 0; iter < kMaxSimplifyIterations; ++iter) {
    // Debug output names nodes as the IR printed at the start of the sweep does (for the
    // first sweep: the pass's input), since rewrites renumber the unnamed values.
    std::unordered_map<const Node *, std::string> labels;
    if (opts.debugEnabled("simplify")) labels = nodeLabels(f);
    // Each sweep starts without dead nodes. A node only dies when a later node (its last
    // user) is rewritten, so every node the sweep visits is live when visited.
    eliminateDeadNodes(f);
    std::vector<Node *> order;
    for (const auto &n : f.nodes()) order.push_back(n.get());
    size_t firedNow = 0;
    for (Node *n : order) {
      if (!rewriteNode(f, *n, opts, labels[n])) continue;
      ++firedNow;
      // The matched node has no users left; erase it now so that single-use tests of
      // later rules count correctly.
      f.eraseNode(n);
    }
    fired += firedNow;
    if (firedNow == 0) break;
  }
  eliminateDeadNodes(f);
  return fired;
}

Expected<bool> simplify(Module &m, const PassOptions &opts) {
  DL_TRY(std::vector<Function *> funcs, selectFunctions(m, opts));
  bool changed = false;
  for (Function *f : funcs) {
    size_t before = f->numNodes();
    changed |= simplifyFunction(*f, opts) > 0 || f->numNodes() != before;
  }
  return changed;
}

}  // namespace dlc
