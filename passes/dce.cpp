//===- passes/dce.cpp - dead code elimination ------------------------------===//
#include "passes/dce.h"

#include <unordered_set>

#include "passes/pass_util.h"

namespace dlc {

size_t eliminateDeadNodes(Function &f) {
  // Mark from the results backwards: a node is live when its result is used by a live
  // node or returned. One reverse sweep suffices because program order is topological.
  std::unordered_set<const Value *> live(f.results().begin(), f.results().end());
  std::vector<Node *> dead;
  const auto &nodes = f.nodes();
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    Node *n = it->get();
    if (!live.count(n->result())) {
      dead.push_back(n);
      continue;
    }
    for (Value *op : n->operands()) live.insert(op);
  }
  // `dead` is in reverse program order, so users are erased before their operands.
  for (Node *n : dead) f.eraseNode(n);
  return dead.size();
}

Expected<bool> eliminateDeadCode(Module &m, const PassOptions &opts) {
  DL_TRY(std::vector<Function *> funcs, selectFunctions(m, opts));
  bool changed = false;
  for (Function *f : funcs) changed |= eliminateDeadNodes(*f) > 0;
  return changed;
}

}  // namespace dlc
