//===- passes/fuse_horizontal.cpp - independent update kernels as one launch ===//
//
// Horizontal fusion, the planner's last step (passes/fuse.h). A training step ends with
// one loop kernel per parameter -- its Adam or momentum update, three outputs each -- and
// every launch of the thread pool costs a wake-up of the workers and a barrier at its
// end. Those kernels have a property that makes merging them always legal: all their
// outputs are results of the function and nothing else reads them, so none depends on
// another and no later kernel depends on any of them. They become one group whose
// `parts` are the original groups, placed where the last of them was in the schedule
// (every part's inputs are ready there). codegen/kernel_plan turns it into one kernel
// whose parallel index space is the concatenation of the parts' chunks: each chunk is
// still one chunk of one part, computed by that part's own loop nest, so the results are
// the same bits as with separate kernels, on any number of threads.
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "passes/fuse_planner.h"
#include "passes/pass_util.h"

namespace dlc::fuse_detail {
namespace {

/// Why \p g cannot be a part of a horizontal kernel; empty when it can. \p readers: the
/// groups loading each value from memory (a value a group computes again is not loaded).
std::string horizontalVeto(const Function &f, const FusionPlan &plan, const FusionGroup &g,
                           const std::unordered_map<const Value *, const FusionGroup *> &readers,
                           const std::unordered_set<const Value *> &results) {
  if (g.gemm || (g.nodes.size() == 1 && categoryOf(g.root->kind()) == Category::Heavy))
    return fmt::format("horizontal: {} has a kernel of its own", g.gemm ? "the GEMM" : g.root->mnemonic());
  if (g.root->type().numElements() == 0) return "horizontal: empty result";
  for (const Value *v : g.outputs) {
    if (!results.count(v))
      return fmt::format("horizontal: its output {} is read by other kernels (only kernels whose outputs are all "
                         "results are independent of everything after them)",
                         valueLabel(f, v));
    if (auto it = readers.find(v); it != readers.end())
      return fmt::format("horizontal: its output {} is a result but also read by {}", valueLabel(f, v),
                         it->second->name);
    for (const auto &[view, owner] : plan.aliases)
      if (owner == v) return fmt::format("horizontal: its output {} is a result but also read through a reshape",
                                         valueLabel(f, v));
  }
  return "";
}

/// The union of \p parts as one group.
FusionGroup mergeParts(std::vector<FusionGroup> parts, const std::unordered_map<const Node *, size_t> &index) {
  FusionGroup h;
  h.root = parts.back().root;
  h.shape = {static_cast<int64_t>(parts.size())};
  h.parallelDims = 1;
  size_t last = 0;
  for (const FusionGroup &p : parts) {
    for (size_t i = 0; i < p.nodes.size(); ++i) {
      last = std::max(last, index.at(p.nodes[i]));
      if (std::find(h.nodes.begin(), h.nodes.end(), p.nodes[i]) != h.nodes.end()) continue;
      h.nodes.push_back(p.nodes[i]);
      h.access.push_back(p.access[i]);
    }
    h.outputs.insert(h.outputs.end(), p.outputs.begin(), p.outputs.end());
    for (size_t i = 0; i < p.inputs.size(); ++i) {
      auto it = std::find(h.inputs.begin(), h.inputs.end(), p.inputs[i]);
      if (it == h.inputs.end()) {
        h.inputs.push_back(p.inputs[i]);
        h.inputAccess.push_back(p.inputAccess[i]);
      } else {
        FuseAccess &a = h.inputAccess[static_cast<size_t>(it - h.inputs.begin())];
        a = combine(a, p.inputAccess[i]);
      }
    }
    for (const Node *n : p.duplicated)
      if (std::find(h.duplicated.begin(), h.duplicated.end(), n) == h.duplicated.end()) h.duplicated.push_back(n);
  }
  // Program order, as every group lists its members.
  std::vector<size_t> order(h.nodes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return index.at(h.nodes[a]) < index.at(h.nodes[b]); });
  std::vector<const Node *> nodes;
  std::vector<FuseAccess> access;
  for (size_t i : order) {
    nodes.push_back(h.nodes[i]);
    access.push_back(h.access[i]);
  }
  h.nodes = std::move(nodes);
  h.access = std::move(access);
  h.name = fmt::format("horizontal_{}", last);
  h.parts = std::move(parts);
  return h;
}

}  // namespace

void fuseHorizontally(const Function &f, FusionPlan &plan) {
  std::unordered_map<const Node *, size_t> index;
  for (size_t i = 0; i < f.numNodes(); ++i) index[f.nodes()[i].get()] = i;
  std::unordered_map<const Value *, const FusionGroup *> readers;
  for (const FusionGroup &g : plan.groups)
    for (const Value *v : g.inputs) readers.emplace(v, &g);
  const std::unordered_set<const Value *> results(f.results().begin(), f.results().end());
  std::vector<size_t> parts;
  for (size_t gi = 0; gi < plan.groups.size(); ++gi) {
    const FusionGroup &g = plan.groups[gi];
    std::string why = horizontalVeto(f, plan, g, readers, results);
    if (why.empty()) {
      parts.push_back(gi);
      continue;
    }
    // Reported for the loop groups that write a result (those that look like an update);
    // kernels computing only intermediates, and GEMMs and convolutions, are not candidates.
    const bool writesResult =
        std::any_of(g.outputs.begin(), g.outputs.end(), [&](const Value *v) { return results.count(v) != 0; });
    const bool heavy = g.gemm || (g.nodes.size() == 1 && categoryOf(g.root->kind()) == Category::Heavy);
    if (writesResult && !heavy) plan.decisions.push_back(FusionDecision{g.root, g.name, false, std::move(why)});
  }
  if (parts.size() < 2) return;  // nothing to fuse with
  std::vector<FusionGroup> members;
  for (size_t gi : parts) members.push_back(std::move(plan.groups[gi]));
  FusionGroup h = mergeParts(std::move(members), index);
  for (const FusionGroup &p : h.parts)
    plan.decisions.push_back(FusionDecision{
        p.root, h.name, true,
        fmt::format("horizontal: part {} of {}; its outputs are only results, so it is independent of the other parts "
                    "and of every later kernel: one launch over the chunks of all of them",
                    &p - h.parts.data() + 1, h.parts.size())});
  // The merged group takes the place of the last part (all parts' inputs are ready there).
  std::vector<FusionGroup> groups;
  for (size_t gi = 0; gi < plan.groups.size(); ++gi) {
    if (gi == parts.back()) groups.push_back(std::move(h));
    else if (std::find(parts.begin(), parts.end(), gi) == parts.end()) groups.push_back(std::move(plan.groups[gi]));
  }
  plan.groups = std::move(groups);
}

}  // namespace dlc::fuse_detail
