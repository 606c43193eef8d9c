//===- passes/fuse_epilogue.cpp - bias and activation epilogues of GEMMs ---===//
//
// After the loop groups are formed, an f32 matmul whose only consumers are an add of a
// row-broadcast bias, then optionally a max with +0.0, takes that chain into its kernel:
// the generated GEMM applies it to each output vector before the store. Each rejected
// candidate is logged with the reason.
//
//===----------------------------------------------------------------------===//
#include <cmath>

#include "ir/printer.h"
#include "passes/fuse_planner.h"
#include "passes/pass_util.h"

namespace dlc::fuse_detail {
namespace {

bool isPositiveZeroSplat(const Node &n) {
  if (n.kind() != OpKind::Constant) return false;
  const ConstantAttrs &c = n.attrsAs<ConstantAttrs>();
  return c.isSplat() && c.values[0] == 0.0 && !std::signbit(c.values[0]);
}

}  // namespace

/// The group of \p mm's consumers that its GEMM can apply as an epilogue, with the end of
/// the chain (the value the epilogue writes), or why not.
std::optional<std::pair<int, const Node *>> Planner::epilogueGroup(const Node *mm, std::string &why) const {
  const Shape &out = mm->type().shape;
  const int64_t rank = static_cast<int64_t>(out.size());
  if (mm->type().dtype != DType::F32) {
    why = "only the f32 GEMM has an epilogue";
    return std::nullopt;
  }
  // The chain: add(product, broadcast(bias[N]) dims=[rank-1]), then max(that, +0).
  const Node *add = nullptr;
  for (const Node *u : usersOf(mm)) {
    if (u->kind() != OpKind::Add || u->operand(0) != mm->result() || u->operand(1)->isArgument()) continue;
    const Node *bc = u->operand(1)->def();
    if (bc->kind() == OpKind::Broadcast && bc->operand(0)->shape() == Shape{out.back()} &&
        bc->attrsAs<BroadcastAttrs>().dims == std::vector<int64_t>{rank - 1})
      add = u;
  }
  if (!add) {
    why = "its result is not added to a row-broadcast bias vector (add(product, broadcast(bias[N])))";
    return std::nullopt;
  }
  // The add's group: its home, or, when the add is cheap enough to be computed again by
  // every kernel reading it (a training step's ReLU backward recomputes it), the one of
  // those kernels that holds the chain.
  std::vector<int> cands;
  if (auto it = memberOf_.find(add); it != memberOf_.end())
    for (int gi : it->second)
      if (group(gi).alive) cands.push_back(gi);
  if (cands.empty()) {
    why = "the bias add has no group";
    return std::nullopt;
  }
  const Node *bc = add->operand(1)->def();
  for (int gi : cands) {
    const Group &g = group(gi);
    const Node *relu = nullptr;
    for (const auto &[m, acc] : g.members)
      if (m->kind() == OpKind::Max && m->operand(0) == add->result() && !m->operand(1)->isArgument() &&
          isPositiveZeroSplat(*m->operand(1)->def()))
        relu = m;
    // Nothing else: the epilogue computes exactly add, then max with the zero constant.
    bool ok = true;
    for (const auto &[m, acc] : g.members)
      if (ok && m != add && m != bc && m != relu && (!relu || m->result() != relu->operand(1))) {
        why = fmt::format("the bias add's group also computes {} ({}): not a bias + ReLU chain",
                          valueLabel(f_, m->result()), m->mnemonic());
        ok = false;
      }
    if (!ok) continue;
    if (!g.members.count(bc)) {
      why = "the bias broadcast is not computed in the bias add's group";
      continue;
    }
    const Node *end = relu ? relu : add;
    for (const Node *m : {add, bc})
      if (ok && m != end && usedOutside(m, gi)) {
        why = fmt::format("{} is needed outside the group, but the epilogue writes only {}",
                          valueLabel(f_, m->result()), valueLabel(f_, end->result()));
        ok = false;
      }
    if (!ok) continue;
    if (auto h = home_.find(end); h == home_.end() || h->second != gi) {  // the GEMM must store it
      why = fmt::format("{} is computed again by every kernel reading it, not stored by this group",
                        valueLabel(f_, end->result()));
      continue;
    }
    return std::make_pair(gi, end);
  }
  return std::nullopt;
}

void Planner::fuseGemmEpilogues() {
  for (int hi = 0; hi < static_cast<int>(groups_.size()); ++hi) {
    if (!group(hi).alive || group(hi).root->kind() != OpKind::MatMul || group(hi).members.size() != 1) continue;
    const Node *mm = group(hi).root;
    std::string why;
    std::optional<std::pair<int, const Node *>> found = epilogueGroup(mm, why);
    if (!found) {
      log(mm, hi, false, "GEMM epilogue: " + why);
      continue;
    }
    const int gi = found->first;
    const Node *end = found->second;
    Group &g = group(gi);
    std::vector<std::pair<const Node *, FuseAccess>> moved(g.members.begin(), g.members.end());
    for (const auto &[m, acc] : moved) {
      removeMember(gi, m);
      addMember(hi, m, FuseAccess::Row);
      if (auto h = home_.find(m); h != home_.end() && h->second == gi) h->second = hi;
    }
    g.alive = false;
    Group &h = group(hi);
    h.gemm = mm;
    h.root = end;
    if (!schedule()) {  // undo
      for (const auto &[m, acc] : moved) {
        removeMember(hi, m);
        addMember(gi, m, acc);
        if (auto h = home_.find(m); h != home_.end() && h->second == hi) h->second = gi;
      }
      group(gi).alive = true;
      group(hi).gemm = nullptr;
      group(hi).root = mm;
      log(mm, gi, false, "GEMM epilogue: the kernels would depend on each other in a cycle");
      continue;
    }
    log(mm, hi, true,
        fmt::format("GEMM epilogue: {} applied to each output vector before its store{}",
                    end->kind() == OpKind::Max ? "bias add and max(x, 0)" : "bias add",
                    usedOutside(mm, hi) ? "; the product is written too (needed outside the group)" : ""));
  }
}

}  // namespace dlc::fuse_detail
