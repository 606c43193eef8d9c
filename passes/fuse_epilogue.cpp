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

/// The loop group reading \p mm's product that its GEMM can compute as an epilogue, or
/// why none: a group over the product's shape whose every member is elementwise (or a
/// constant) over that shape, one element (computed once per kernel), or a broadcast of
/// a one-element value or of a [N] row vector. Each member is then computed at the output
/// element being finished, as in its own loop kernel, so nothing but where the product
/// comes from changes (a weight's optimizer update, a ReLU backward mask).
std::optional<int> Planner::loopEpilogueGroup(const Node *mm, std::string &why) const {
  if (!opts_.gemmLoopEpilogue) {
    why = "loop epilogues are off (GPU plan)";
    return std::nullopt;
  }
  const Shape &out = mm->type().shape;
  const int64_t rank = static_cast<int64_t>(out.size());
  if (mm->type().dtype != DType::F32) {
    why = "only the f32 GEMM has an epilogue";
    return std::nullopt;
  }
  std::vector<int> cands;
  for (const Node *u : usersOf(mm))
    if (auto it = memberOf_.find(u); it != memberOf_.end())
      for (int gi : it->second)
        if (group(gi).alive && std::find(cands.begin(), cands.end(), gi) == cands.end()) cands.push_back(gi);
  if (cands.empty()) {
    why = "no loop kernel reads the product";
    return std::nullopt;
  }
  // Each rejected reader's reason, named by the group's root when there are several.
  std::vector<std::string> rejected;
  auto reject = [&](const Group &g, std::string reason) {
    rejected.push_back(cands.size() > 1 ? fmt::format("the group of {}: {}", valueLabel(f_, g.root->result()), reason)
                                        : std::move(reason));
  };
  for (int gi : cands) {
    const Group &g = group(gi);
    if (g.gemm || !g.accepts) {
      reject(g, "the product's reader is a kernel of its own");
      continue;
    }
    if (g.shape != out) {
      reject(g, fmt::format("the reading group runs over [{}], not over the product's shape", fmt::join(g.shape, ",")));
      continue;
    }
    bool ok = true;
    for (const auto &[m, acc] : g.members) {
      const Category c = categoryOf(m->kind());
      const int64_t n = numel(m->type().shape);
      bool fits = (c == Category::Elementwise || c == Category::Source) && (m->type().shape == out || n == 1);
      if (m->kind() == OpKind::Broadcast) {
        const Shape &in = m->operand(0)->shape();
        fits = m->type().shape == out &&
               (numel(in) == 1 || (in == Shape{out.back()} &&
                                   m->attrsAs<BroadcastAttrs>().dims == std::vector<int64_t>{rank - 1}));
      }
      // What the group writes is written at the element being finished.
      const auto h = home_.find(m);
      if (fits && m->type().shape != out && h != home_.end() && h->second == gi && (m == g.root || usedOutside(m, gi)))
        fits = false;
      if (!fits) {
        reject(g, fmt::format("the reading group also computes {} ({}): not elementwise over the product's elements",
                              valueLabel(f_, m->result()), m->mnemonic()));
        ok = false;
        break;
      }
    }
    if (ok) return gi;
  }
  why = fmt::format("{}", fmt::join(rejected, "; "));
  return std::nullopt;
}

bool Planner::moveIntoGemm(int hi, int gi, const Node *end, bool loop) {
  const Node *mm = group(hi).root;
  Group &g = group(gi);
  std::vector<std::pair<const Node *, FuseAccess>> moved(g.members.begin(), g.members.end());
  for (const auto &[m, acc] : moved) {
    removeMember(gi, m);
    addMember(hi, m, loop ? acc : FuseAccess::Row);
    if (auto h = home_.find(m); h != home_.end() && h->second == gi) h->second = hi;
  }
  g.alive = false;
  Group &h = group(hi);
  h.gemm = mm;
  h.gemmLoop = loop;
  h.root = end;
  if (schedule()) return true;
  for (const auto &[m, acc] : moved) {  // undo
    removeMember(hi, m);
    addMember(gi, m, acc);
    if (auto h = home_.find(m); h != home_.end() && h->second == hi) h->second = gi;
  }
  group(gi).alive = true;
  group(hi).gemm = nullptr;
  group(hi).gemmLoop = false;
  group(hi).root = mm;
  return false;
}

void Planner::fuseGemmEpilogues() {
  for (int hi = 0; hi < static_cast<int>(groups_.size()); ++hi) {
    if (!group(hi).alive || group(hi).root->kind() != OpKind::MatMul || group(hi).members.size() != 1) continue;
    const Node *mm = group(hi).root;
    std::string why;
    std::optional<std::pair<int, const Node *>> found = epilogueGroup(mm, why);
    if (found) {
      if (!moveIntoGemm(hi, found->first, found->second, false)) {
        log(mm, found->first, false, "GEMM epilogue: the kernels would depend on each other in a cycle");
        continue;
      }
      const Node *end = found->second;
      log(mm, hi, true,
          fmt::format("GEMM epilogue: {} applied to each output vector before its store{}",
                      end->kind() == OpKind::Max ? "bias add and max(x, 0)" : "bias add",
                      usedOutside(mm, hi) ? "; the product is written too (needed outside the group)" : ""));
      continue;
    }
    // Else a whole elementwise loop group reading the product (an optimizer update of
    // the weight whose gradient this is, a ReLU backward mask).
    std::string whyLoop;
    std::optional<int> loop = loopEpilogueGroup(mm, whyLoop);
    if (!loop) {
      log(mm, hi, false, fmt::format("GEMM epilogue: {}; loop epilogue: {}", why, whyLoop));
      continue;
    }
    const int gi = *loop;
    const Node *end = group(gi).root;
    if (!moveIntoGemm(hi, gi, end, true)) {
      log(mm, gi, false, "GEMM loop epilogue: the kernels would depend on each other in a cycle");
      continue;
    }
    log(mm, hi, true,
        fmt::format("GEMM loop epilogue: the elementwise group of {} computed at each output element of a "
                    "finished block of C{}",
                    valueLabel(f_, end->result()),
                    usedOutside(mm, hi) ? "; the product is written too (needed outside the group)"
                                        : "; nothing else reads the product (stored only if C needs several K blocks)"));
  }
}

}  // namespace dlc::fuse_detail
