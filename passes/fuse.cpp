//===- passes/fuse.cpp - grouping nodes into fused loop kernels ------------===//
//
// The planner of passes/fuse.h. One reverse walk over the nodes decides, for each node,
// the groups of its users it joins (or that it starts a group of its own); a second
// walk lets an elementwise node that ended up alone join the group of its operand as an
// extra output (log(sum) of a softmax row joins the row's group). Every candidate goes
// through canJoin, which returns the access mode or the reason it is kept apart, and a
// schedule check, which rejects a grouping whose kernels would depend on each other in
// a cycle.
//
//===----------------------------------------------------------------------===//
#include "passes/fuse.h"

#include <algorithm>
#include <queue>
#include <set>

#include "ir/printer.h"
#include "passes/fuse_planner.h"
#include "passes/pass_util.h"

namespace dlc {
using namespace fuse_detail;

int Planner::newGroup(const Node *p) {
  Group g;
  g.root = p;
  const Shape &out = p->type().shape;
  const int rank = static_cast<int>(out.size());
  switch (categoryOf(p->kind())) {
  case Category::Heavy:
    g.shape = out;
    g.pd = rank;
    g.accepts = false;
    break;
  case Category::Reduction: {
    // Over trailing axes the domain is the operand's shape with the kept dims parallel:
    // the operand is then read element by element (Full) and row values join as Row.
    const Shape &in = p->operand(0)->shape();
    std::vector<int64_t> axes = p->attrsAs<ReduceAttrs>().axes;
    std::sort(axes.begin(), axes.end());
    if (isIota(axes, rank, static_cast<int64_t>(in.size()))) {
      g.shape = in;
    } else {
      g.shape = out;
    }
    g.pd = rank;
    break;
  }
  case Category::Source:
  case Category::Elementwise:
  case Category::IndexMap:
    g.shape = out;
    g.pd = rank <= 1 ? rank : rank - 1;
    break;
  }
  if (p->type().numElements() == 0) g.accepts = false;
  groups_.push_back(std::move(g));
  const int gi = static_cast<int>(groups_.size()) - 1;
  const Group &ng = group(gi);
  addMember(gi, p, out == prefix(ng.shape, ng.pd) ? FuseAccess::Row : FuseAccess::Full);
  home_[p] = gi;
  return gi;
}

std::optional<FuseAccess> Planner::accessThrough(const Group &g, const Node &u, FuseAccess um, const Value &p,
                                                 std::string &why) const {
  const int rank = static_cast<int>(g.shape.size());
  const bool isRowShape = g.pd < rank && p.type().shape == prefix(g.shape, g.pd);
  switch (categoryOf(u.kind())) {
  case Category::Source: break;
  case Category::Elementwise: return um;
  case Category::Heavy:
    why = fmt::format("{} reads its operands from memory", u.mnemonic());
    return std::nullopt;
  case Category::Reduction: {
    std::vector<int64_t> axes = u.attrsAs<ReduceAttrs>().axes;
    std::sort(axes.begin(), axes.end());
    if (um == FuseAccess::Row && p.type().shape == g.shape && isIota(axes, g.pd, rank)) return FuseAccess::Full;
    return um == FuseAccess::Many ? FuseAccess::Many : FuseAccess::Once;
  }
  case Category::IndexMap:
    switch (u.kind()) {
    case OpKind::Broadcast:
      if (um == FuseAccess::Full && isRowShape && isIota(u.attrsAs<BroadcastAttrs>().dims, 0, g.pd))
        return FuseAccess::Row;
      if (p.type().numElements() == u.type().numElements())
        return um == FuseAccess::Many ? FuseAccess::Many : FuseAccess::Once;
      return FuseAccess::Many;
    case OpKind::OneHot:
      if (um == FuseAccess::Full && isRowShape) return FuseAccess::Row;
      return FuseAccess::Many;
    default:  // reshape, transpose, slice, pad, concat read each element at most once
      return um == FuseAccess::Many ? FuseAccess::Many : FuseAccess::Once;
    }
  }
  DL_UNREACHABLE("a source has no operands");
}

std::optional<FuseAccess> Planner::canJoin(const Node &p, int gi, bool needOutput, std::string &why) const {
  const Group &g = group(gi);
  if (!g.accepts) {
    why = g.root->type().numElements() == 0 ? "the group computes an empty tensor"
                                             : fmt::format("{} reads its operands from memory", g.root->mnemonic());
    return std::nullopt;
  }
  if (categoryOf(p.kind()) == Category::Heavy) {
    why = fmt::format("{} has a kernel of its own", p.mnemonic());
    return std::nullopt;
  }
  if (p.type().numElements() == 0) {
    why = "empty result";
    return std::nullopt;
  }
  std::optional<FuseAccess> acc;
  for (const Node *u : usersOf(&p)) {
    auto it = g.members.find(u);
    if (it == g.members.end()) continue;
    std::optional<FuseAccess> a = accessThrough(g, *u, it->second, *p.result(), why);
    if (!a) return std::nullopt;
    acc = acc ? combine(*acc, *a) : *a;
  }
  if (!acc) {
    why = "no user in the group";
    return std::nullopt;
  }
  if (categoryOf(p.kind()) == Category::Reduction && *acc != FuseAccess::Row) {
    why = "the reduction is not one value per parallel index of the group: it would be recomputed for every read";
    return std::nullopt;
  }
  if (isExpensive(p.kind()) && *acc == FuseAccess::Many && p.type().numElements() > 1) {
    why = fmt::format("{} would be recomputed for every element its broadcast feeds", p.mnemonic());
    return std::nullopt;
  }
  if (needOutput && *acc != FuseAccess::Row && *acc != FuseAccess::Full) {
    why = "needed outside the group, but the group does not compute it once per element";
    return std::nullopt;
  }
  return acc;
}

int Planner::producerGroup(const Node *d) const {
  while (aliased_.count(d)) {
    const Value *v = d->operand(0);
    if (v->isArgument()) return -1;
    d = v->def();
  }
  auto it = home_.find(d);
  return it == home_.end() ? -1 : it->second;
}

std::optional<std::vector<int>> Planner::schedule() const {
  // Edges: the group storing a value -> every group loading it. Nodes not yet assigned
  // (earlier in program order during the reverse walk) only feed groups, so they cannot
  // close a cycle and are skipped.
  const int n = static_cast<int>(groups_.size());
  std::vector<std::set<int>> out(static_cast<size_t>(n));
  std::vector<int> indeg(static_cast<size_t>(n), 0);
  std::vector<size_t> key(static_cast<size_t>(n), 0);
  int live = 0;
  for (int gi = 0; gi < n; ++gi) {
    const Group &g = group(gi);
    if (!g.alive) continue;
    ++live;
    for (const auto &[m, acc] : g.members) {
      key[static_cast<size_t>(gi)] = std::max(key[static_cast<size_t>(gi)], index_.at(m));
      for (const Value *v : m->operands()) {
        if (v->isArgument() || g.members.count(v->def())) continue;
        const int from = producerGroup(v->def());
        if (from < 0 || from == gi) continue;
        if (out[static_cast<size_t>(from)].insert(gi).second) ++indeg[static_cast<size_t>(gi)];
      }
    }
  }
  using Item = std::pair<size_t, int>;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> ready;
  for (int gi = 0; gi < n; ++gi)
    if (group(gi).alive && indeg[static_cast<size_t>(gi)] == 0) ready.emplace(key[static_cast<size_t>(gi)], gi);
  std::vector<int> order;
  while (!ready.empty()) {
    const int gi = ready.top().second;
    ready.pop();
    order.push_back(gi);
    for (int to : out[static_cast<size_t>(gi)])
      if (--indeg[static_cast<size_t>(to)] == 0) ready.emplace(key[static_cast<size_t>(to)], to);
  }
  if (static_cast<int>(order.size()) != live) return std::nullopt;
  return order;
}

bool Planner::tryJoin(const Node *p, int gi, bool needOutput) {
  std::string why;
  std::optional<FuseAccess> acc = canJoin(*p, gi, needOutput, why);
  if (!acc) {
    log(p, gi, false, why);
    return false;
  }
  addMember(gi, p, *acc);
  home_[p] = gi;
  if (!schedule()) {
    removeMember(gi, p);
    home_.erase(p);
    log(p, gi, false, "the kernels would depend on each other in a cycle");
    return false;
  }
  log(p, gi, true,
      fmt::format("{}{}", accessName(*acc), needOutput ? ", also written out (needed outside the group)" : ""));
  return true;
}

bool Planner::tryJoinAll(const Node *p, const std::vector<int> &cands) {
  std::vector<FuseAccess> accs;
  for (int gi : cands) {
    std::string why;
    std::optional<FuseAccess> acc = canJoin(*p, gi, false, why);
    if (!acc) {
      log(p, gi, false, why);
      return false;
    }
    accs.push_back(*acc);
  }
  for (size_t i = 0; i < cands.size(); ++i) addMember(cands[i], p, accs[i]);
  if (!schedule()) {
    for (int gi : cands) removeMember(gi, p);
    log(p, cands.front(), false, "the kernels would depend on each other in a cycle");
    return false;
  }
  for (size_t i = 0; i < cands.size(); ++i)
    log(p, cands[i], true, fmt::format("{}, cheap or one element: computed again in each of {} kernels", accessName(accs[i]),
                                       cands.size()));
  return true;
}

void Planner::mergeSingletons() {
  for (int gi = 0; gi < static_cast<int>(groups_.size()); ++gi) {
    Group &g = group(gi);
    if (!g.alive || g.members.size() != 1) continue;
    const Node *q = g.root;
    if (categoryOf(q->kind()) != Category::Elementwise || q->type().numElements() == 0) continue;
    std::vector<int> cands;
    for (const Value *v : q->operands()) {
      if (v->isArgument()) continue;
      auto it = home_.find(v->def());
      if (it != home_.end() && it->second != gi && group(it->second).alive && group(it->second).accepts &&
          std::find(cands.begin(), cands.end(), it->second) == cands.end())
        cands.push_back(it->second);
    }
    for (int c : cands) {
      const Group &t = group(c);
      const int rank = static_cast<int>(t.shape.size());
      FuseAccess acc;
      if (q->type().shape == prefix(t.shape, t.pd)) acc = FuseAccess::Row;
      else if (t.pd < rank && q->type().shape == t.shape) acc = FuseAccess::Full;
      else {
        log(q, c, false, "alone, but its shape is not one of the operand's group's domain");
        continue;
      }
      bool ok = true;
      for (const Value *v : q->operands()) {
        auto it = v->isArgument() ? t.members.end() : t.members.find(v->def());
        if (it != t.members.end() && it->second != acc) ok = false;
      }
      if (!ok) {
        log(q, c, false, "alone, but the group reads its operands at other indices");
        continue;
      }
      const FuseAccess before = g.members.at(q);
      removeMember(gi, q);
      g.alive = false;
      addMember(c, q, acc);
      home_[q] = c;
      if (!schedule()) {
        removeMember(c, q);
        addMember(gi, q, before);
        g.alive = true;
        home_[q] = gi;
        log(q, c, false, "the kernels would depend on each other in a cycle");
        continue;
      }
      log(q, c, true, fmt::format("{}, alone otherwise: an extra output of its operand's group", accessName(acc)));
      break;
    }
  }
}

FusionPlan Planner::run() {
  for (size_t i = f_.numNodes(); i-- > 0;) {
    const Node *p = f_.nodes()[i].get();
    const bool isResult = results_.count(p->result()) != 0;
    std::vector<int> cands;
    bool ungroupedUser = false;
    for (const Node *u : usersOf(p)) {
      if (aliased_.count(u)) ungroupedUser = true;
      for (int gi : memberOf_[u])
        if (std::find(cands.begin(), cands.end(), gi) == cands.end()) cands.push_back(gi);
    }
    // Prefer the largest domain (the group doing the most work per element), then the
    // latest root.
    std::sort(cands.begin(), cands.end(), [&](int a, int b) {
      const int64_t na = numel(group(a).shape), nb = numel(group(b).shape);
      if (na != nb) return na > nb;
      return index_.at(group(a).root) > index_.at(group(b).root);
    });
    const bool allGrouped = !isResult && !ungroupedUser && !cands.empty();
    if (p->kind() == OpKind::Reshape && opts_.aliasReshapes) {
      if (allGrouped && tryJoinAll(p, cands)) continue;
      aliased_.insert(p);
      plan_.aliases.emplace_back(p->result(), p->operand(0));
      continue;
    }
    // Cheap ops, and one-element values (computed once at each kernel's start), are
    // computed again by every kernel that reads them rather than stored.
    const bool scalar = p->type().numElements() == 1 && categoryOf(p->kind()) != Category::Reduction &&
                        categoryOf(p->kind()) != Category::Heavy;
    if (allGrouped && cands.size() > 1 && (isCheap(*p) || scalar) && tryJoinAll(p, cands)) continue;
    // A cheap one-element result that kernels read (a training step's new step count,
    // which every Adam update reads for its bias corrections): the readers compute it
    // again, and a kernel of its own writes it -- one that no other kernel waits for, so
    // it can join the horizontal kernel of the updates (fuse_horizontal.cpp).
    if (isResult && !ungroupedUser && !cands.empty() && scalar && isCheap(*p) && tryJoinAll(p, cands)) {
      newGroup(p);
      continue;
    }
    bool joined = false;
    for (int gi : cands) {
      if (tryJoin(p, gi, usedOutside(p, gi))) {
        joined = true;
        break;
      }
    }
    if (!joined) newGroup(p);
  }
  fuseGemmEpilogues();
  mergeSingletons();
  mergeSiblings();
  std::reverse(plan_.aliases.begin(), plan_.aliases.end());

  std::optional<std::vector<int>> order = schedule();
  DL_ASSERT(order.has_value(), "the fusion groups must form an acyclic schedule");
  std::unordered_map<int, std::string> names;
  for (int gi : *order) {
    const Group &g = group(gi);
    FusionGroup out;
    out.root = g.root;
    out.gemm = g.gemm;
    out.gemmLoop = g.gemmLoop;
    out.shape = g.shape;
    out.parallelDims = g.pd;
    for (const auto &[n, acc] : g.members) out.nodes.push_back(n);
    std::sort(out.nodes.begin(), out.nodes.end(), [&](const Node *a, const Node *b) { return index_.at(a) < index_.at(b); });
    for (const Node *n : out.nodes) {
      out.access.push_back(g.members.at(n));
      auto h = home_.find(n);
      if (h == home_.end() || h->second != gi) {
        out.duplicated.push_back(n);
        continue;
      }
      if (n == g.root || usedOutside(n, gi)) out.outputs.push_back(n->result());
    }
    // The values the group loads, and how it reads each.
    for (const Node *n : out.nodes)
      for (const Value *v : n->operands()) {
        if (!v->isArgument() && g.members.count(v->def())) continue;
        std::string why;
        std::optional<FuseAccess> a = accessThrough(g, *n, g.members.at(n), *v, why);
        const FuseAccess acc = a ? *a : FuseAccess::Many;
        auto it = std::find(out.inputs.begin(), out.inputs.end(), v);
        if (it == out.inputs.end()) {
          out.inputs.push_back(v);
          out.inputAccess.push_back(acc);
        } else {
          FuseAccess &old = out.inputAccess[static_cast<size_t>(it - out.inputs.begin())];
          old = combine(old, acc);
        }
      }
    const size_t last = index_.at(out.nodes.back());
    if (out.nodes.size() == 1) {
      out.name = fmt::format("{}_{}", out.nodes[0]->mnemonic(), last);
    } else {
      std::vector<std::string_view> ops;
      if (g.gemm) ops.push_back(g.gemm->mnemonic());
      for (const Node *n : out.nodes) {
        const Category c = categoryOf(n->kind());
        if ((c == Category::Elementwise || c == Category::Reduction) &&
            std::find(ops.begin(), ops.end(), n->mnemonic()) == ops.end() && ops.size() < 3)
          ops.push_back(n->mnemonic());
      }
      if (ops.empty()) ops.push_back(g.root->mnemonic());
      out.name = fmt::format("fused_{}_{}", fmt::join(ops, "_"), last);
    }
    names[gi] = out.name;
    plan_.groups.push_back(std::move(out));
  }
  for (const Decision &d : decisions_) {
    // A decision names the group its candidate finally belongs to (a group merged away
    // in the second walk is named after the one that took its root).
    int gi = d.group;
    if (!names.count(gi)) gi = home_.at(group(gi).root);
    plan_.decisions.push_back(FusionDecision{d.producer, names.at(gi), d.fused, d.reason});
  }
  if (opts_.horizontal) fuseHorizontally(f_, plan_);
  return std::move(plan_);
}

FuseAccess FusionGroup::accessOf(const Node *n) const {
  auto it = std::find(nodes.begin(), nodes.end(), n);
  DL_ASSERT(it != nodes.end(), "not a member of the group");
  return access[static_cast<size_t>(it - nodes.begin())];
}

FusionPlan planFusion(const Function &f, const FusionOptions &opts) { return Planner(f, opts).run(); }

}  // namespace dlc
