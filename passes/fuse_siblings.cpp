//===- passes/fuse_siblings.cpp - row kernels that read the same rows ------===//
//
// The planner's third walk (passes/fuse.h), after the reverse walk and the singletons:
// two loop groups over the same row domain -- shape S, the same leading parallel dims,
// inner dims left -- that both read one full-size value element by element are
// siblings, and at least one of them is a row kernel (a reduction computed once per
// parallel index). Softmax cross-entropy written per row (nn::crossEntropy: the loss
// terms summed per row, then over the rows) has two: the softmax-and-gradient kernel,
// and the per-row loss terms, which the reverse walk starts a group for because their
// only reader, the sum over the rows, is not a row value. Apart they read the logits
// twice and store the row max and row sum for the second; merged, the logits are read
// once and the row values never leave the kernel.
//
// Merging changes no arithmetic: every member keeps its access (the groups' domains are
// equal), so each is computed by the same scalar code at the same indices, and every
// reduction keeps its order. A merge is rejected when a member would be read in two
// different ways, or when the merged kernel would depend on another kernel that depends
// on it (the schedule check).
//
//===----------------------------------------------------------------------===//
#include <algorithm>

#include "passes/fuse_planner.h"
#include "passes/pass_util.h"

namespace dlc {
using namespace fuse_detail;

namespace {

bool hasRowReduction(const Group &g) {
  return std::any_of(g.members.begin(), g.members.end(), [](const auto &m) {
    return categoryOf(m.first->kind()) == Category::Reduction && m.second == FuseAccess::Row;
  });
}

}  // namespace

std::vector<const Value *> Planner::fullInputs(const Group &g) const {
  std::vector<const Value *> out;
  for (const auto &[m, acc] : g.members)
    for (const Value *v : m->operands()) {
      if (!v->isArgument() && g.members.count(v->def())) continue;
      if (v->type().shape != g.shape || std::find(out.begin(), out.end(), v) != out.end()) continue;
      std::string why;
      std::optional<FuseAccess> a = accessThrough(g, *m, acc, *v, why);
      if (a && *a == FuseAccess::Full) out.push_back(v);
    }
  std::sort(out.begin(), out.end(), [&](const Value *x, const Value *y) {
    if (x->isArgument() != y->isArgument()) return x->isArgument();
    return x->isArgument() ? x->argIndex() < y->argIndex() : index_.at(x->def()) < index_.at(y->def());
  });
  return out;
}

std::string Planner::siblingVeto(int ai, int bi) const {
  const Group &a = group(ai), &b = group(bi);
  for (const auto &[n, acc] : b.members)
    if (auto it = a.members.find(n); it != a.members.end() && it->second != acc)
      return fmt::format("{} is read {} there but {} here", valueLabel(f_, n->result()), accessName(it->second),
                         accessName(acc));
  // A member of one group read by the other must be read the way its group computes it.
  auto readsConsistently = [&](const Group &readers, const Group &owner) -> std::string {
    for (const auto &[m, acc] : readers.members)
      for (const Value *v : m->operands()) {
        if (v->isArgument() || readers.members.count(v->def()) || !owner.members.count(v->def())) continue;
        std::string why;
        std::optional<FuseAccess> got = accessThrough(a, *m, acc, *v, why);
        const FuseAccess want = owner.members.at(v->def());
        if (!got || *got != want)
          return fmt::format("{} reads {} {}, but it is computed {}", valueLabel(f_, m->result()),
                             valueLabel(f_, v), got ? accessName(*got) : "from memory", accessName(want));
      }
    return "";
  };
  std::string why = readsConsistently(b, a);
  if (why.empty()) why = readsConsistently(a, b);
  return why;
}

void Planner::mergeSiblings() {
  for (bool merged = true; merged;) {
    merged = false;
    for (int ai = 0; ai < static_cast<int>(groups_.size()) && !merged; ++ai) {
      const Group &a = group(ai);
      if (!a.alive || !a.accepts || a.gemm || a.pd >= static_cast<int>(a.shape.size())) continue;
      const std::vector<const Value *> aFull = fullInputs(a);
      if (aFull.empty()) continue;
      for (int bi = 0; bi < static_cast<int>(groups_.size()) && !merged; ++bi) {
        const Group &b = group(bi);
        if (bi == ai || !b.alive || !b.accepts || b.gemm || b.shape != a.shape || b.pd != a.pd) continue;
        if (!hasRowReduction(a) && !hasRowReduction(b)) continue;
        // The larger group takes the smaller one in, the later root on a tie (the pair
        // is met once in each order).
        if (b.members.size() > a.members.size() ||
            (b.members.size() == a.members.size() && index_.at(b.root) > index_.at(a.root)))
          continue;
        const std::vector<const Value *> bFull = fullInputs(b);
        auto shared = std::find_first_of(aFull.begin(), aFull.end(), bFull.begin(), bFull.end());
        if (shared == aFull.end()) continue;
        std::string why = siblingVeto(ai, bi);
        if (!why.empty()) {
          log(b.root, ai, false, fmt::format("sibling: both read {} element by element, but {}", valueLabel(f_, *shared), why));
          continue;
        }
        const Group savedA = a, savedB = b;
        const auto savedMemberOf = memberOf_;
        const auto savedHome = home_;
        const Node *broot = b.root;
        std::vector<std::pair<const Node *, FuseAccess>> moved(b.members.begin(), b.members.end());
        for (const auto &[n, acc] : moved) {
          removeMember(bi, n);
          if (!group(ai).members.count(n)) addMember(ai, n, acc);
          if (auto h = home_.find(n); h != home_.end() && h->second == bi) h->second = ai;
        }
        group(bi).alive = false;
        if (!schedule()) {
          group(ai) = savedA;
          group(bi) = savedB;
          memberOf_ = savedMemberOf;
          home_ = savedHome;
          log(broot, ai, false, fmt::format("sibling: both read {} element by element, but the kernels would depend "
                                            "on each other in a cycle", valueLabel(f_, *shared)));
          continue;
        }
        log(broot, ai, true,
            fmt::format("sibling: the same row domain, both read {} element by element: one kernel reads it once, "
                        "and the row values it shares stay in the kernel", valueLabel(f_, *shared)));
        merged = true;
      }
    }
  }
}

}  // namespace dlc
