//===- passes/fuse_planner.h - the fusion planner's internals --------------===//
//
// Shared by the parts of the planner: fuse.cpp (grouping elementwise work and
// reductions), fuse_epilogue.cpp (bias and activation epilogues of GEMMs),
// fuse_siblings.cpp (row kernels reading the same rows), fuse_horizontal.cpp and
// fuse_print.cpp (nested-region printing and decision reports). Not a public header.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "passes/fuse.h"

namespace dlc::fuse_detail {

enum class Category : uint8_t {
  Source,       ///< constant, iota: no operands
  Elementwise,  ///< output element i reads element i of each operand
  IndexMap,     ///< data movement: output element reads operand elements at mapped indices
  Reduction,
  Heavy,        ///< matmul, convolution, pooling: a kernel of its own
};

/// The op table's traits decide the category (ir/ops.def).
inline Category categoryOf(OpKind k) {
  if (opInfo(k).arity == 0) return Category::Source;
  if (hasTrait(k, kElementwise)) return Category::Elementwise;
  if (hasTrait(k, kReduction)) return Category::Reduction;
  if (hasTrait(k, kOwnKernel)) return Category::Heavy;
  return Category::IndexMap;
}

/// Elementwise ops too costly to compute again for every read of an expanding broadcast
/// (or in several kernels): transcendental functions, division, square roots, pow.
inline bool isExpensive(OpKind k) { return hasTrait(k, kCostly); }

/// Cheap enough to be computed again by every group that reads it instead of stored.
inline bool isCheap(const Node &n) {
  const Category c = categoryOf(n.kind());
  return c == Category::Source || c == Category::IndexMap || (c == Category::Elementwise && !isExpensive(n.kind()));
}

inline Shape prefix(const Shape &s, int k) { return Shape(s.begin(), s.begin() + k); }

inline int64_t numel(const Shape &s) {
  int64_t p = 1;
  for (int64_t d : s) p *= d;
  return p;
}

/// Two reads of one member: the weaker guarantee wins.
inline FuseAccess combine(FuseAccess a, FuseAccess b) {
  if (a == b) return a;
  if (a == FuseAccess::Many || b == FuseAccess::Many) return FuseAccess::Many;
  return FuseAccess::Once;
}

inline bool isIota(const std::vector<int64_t> &v, int64_t from, int64_t to) {
  if (static_cast<int64_t>(v.size()) != to - from) return false;
  for (int64_t i = 0; i < to - from; ++i)
    if (v[static_cast<size_t>(i)] != from + i) return false;
  return true;
}

/// Horizontal fusion (fuse_horizontal.cpp), run on the finished plan: merges the loop
/// groups whose outputs are only results of \p f into one group with parts, placed where
/// the last of them was, and records each decision.
void fuseHorizontally(const Function &f, FusionPlan &plan);

struct Group {
  const Node *root = nullptr;
  Shape shape;
  int pd = 0;
  bool accepts = true;  ///< producers may join (false: a heavy root)
  const Node *gemm = nullptr;  ///< the matmul whose epilogue the other members are
  bool gemmLoop = false;       ///< the epilogue is a loop group (FusionGroup::gemmLoop)
  bool alive = true;
  std::unordered_map<const Node *, FuseAccess> members;
};

struct Decision {
  const Node *producer;
  int group;
  bool fused;
  std::string reason;
};

class Planner {
 public:
  Planner(const Function &f, const FusionOptions &o) : f_(f), opts_(o) {
    for (size_t i = 0; i < f.numNodes(); ++i) {
      const Node *n = f.nodes()[i].get();
      index_[n] = i;
      for (const Value *v : n->operands()) {
        auto &u = users_[v];
        if (u.empty() || u.back() != n) u.push_back(n);
      }
    }
    for (const Value *r : f.results()) results_.insert(r);
  }

  FusionPlan run();

 private:
  int newGroup(const Node *p);
  std::optional<FuseAccess> accessThrough(const Group &g, const Node &u, FuseAccess um, const Value &p,
                                          std::string &why) const;
  std::optional<FuseAccess> canJoin(const Node &p, int gi, bool needOutput, std::string &why) const;
  bool tryJoinAll(const Node *p, const std::vector<int> &cands);
  bool tryJoin(const Node *p, int gi, bool needOutput);
  void mergeSingletons();
  /// Row kernels over one domain that read the same value element by element become
  /// one kernel (fuse_siblings.cpp).
  void mergeSiblings();
  std::vector<const Value *> fullInputs(const Group &g) const;
  std::string siblingVeto(int ai, int bi) const;
  void fuseGemmEpilogues();
  std::optional<std::pair<int, const Node *>> epilogueGroup(const Node *mm, std::string &why) const;
  std::optional<int> loopEpilogueGroup(const Node *mm, std::string &why) const;
  /// Moves the members of group \p gi into GEMM group \p hi (its epilogue, ending at
  /// \p end); undone, with false, when the kernels would then depend on each other.
  bool moveIntoGemm(int hi, int gi, const Node *end, bool loop);
  std::optional<std::vector<int>> schedule() const;
  int producerGroup(const Node *d) const;
  void addMember(int gi, const Node *n, FuseAccess a) {
    groups_[static_cast<size_t>(gi)].members[n] = a;
    memberOf_[n].push_back(gi);
  }
  void removeMember(int gi, const Node *n) {
    groups_[static_cast<size_t>(gi)].members.erase(n);
    auto &m = memberOf_[n];
    m.erase(std::find(m.begin(), m.end(), gi));
  }
  const std::vector<const Node *> &usersOf(const Node *n) const {
    static const std::vector<const Node *> none;
    auto it = users_.find(n->result());
    return it == users_.end() ? none : it->second;
  }
  /// True when \p p's value is needed by something other than group \p gi: it is a
  /// result, a reshape view reads it, or a group without it among its members does.
  bool usedOutside(const Node *p, int gi) const {
    if (results_.count(p->result())) return true;
    for (const Node *u : usersOf(p)) {
      if (aliased_.count(u)) return true;
      auto it = memberOf_.find(u);
      if (it == memberOf_.end()) continue;
      for (int g : it->second)
        if (g != gi && !group(g).members.count(p)) return true;
    }
    return false;
  }
  void log(const Node *p, int gi, bool fused, std::string reason) {
    decisions_.push_back(Decision{p, gi, fused, std::move(reason)});
  }
  Group &group(int gi) { return groups_[static_cast<size_t>(gi)]; }
  const Group &group(int gi) const { return groups_[static_cast<size_t>(gi)]; }

  const Function &f_;
  const FusionOptions &opts_;
  std::unordered_map<const Node *, size_t> index_;
  std::unordered_map<const Value *, std::vector<const Node *>> users_;
  std::unordered_set<const Value *> results_;
  std::vector<Group> groups_;
  std::unordered_map<const Node *, std::vector<int>> memberOf_;
  std::unordered_map<const Node *, int> home_;  ///< the group that stores the node's result
  std::unordered_set<const Node *> aliased_;    ///< reshapes sharing their operand's storage
  std::vector<Decision> decisions_;
  FusionPlan plan_;
};

}  // namespace dlc::fuse_detail
