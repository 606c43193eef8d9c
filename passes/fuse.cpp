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
#include <cmath>
#include <optional>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "ir/printer.h"
#include "passes/pass_util.h"

namespace dlc {
namespace {

enum class Category : uint8_t {
  Source,       ///< constant, iota: no operands
  Elementwise,  ///< output element i reads element i of each operand
  IndexMap,     ///< data movement: output element reads operand elements at mapped indices
  Reduction,
  Heavy,        ///< matmul, convolution, pooling: a kernel of its own
};

Category categoryOf(OpKind k) {
  switch (k) {
  case OpKind::Constant:
  case OpKind::Iota: return Category::Source;
  case OpKind::Neg:
  case OpKind::Abs:
  case OpKind::Sign:
  case OpKind::Exp:
  case OpKind::Log:
  case OpKind::Tanh:
  case OpKind::Sigmoid:
  case OpKind::Sqrt:
  case OpKind::Rsqrt:
  case OpKind::Cast:
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Div:
  case OpKind::Max:
  case OpKind::Min:
  case OpKind::Pow:
  case OpKind::Compare:
  case OpKind::Select: return Category::Elementwise;
  case OpKind::Broadcast:
  case OpKind::Reshape:
  case OpKind::Transpose:
  case OpKind::Slice:
  case OpKind::Concat:
  case OpKind::Pad:
  case OpKind::OneHot: return Category::IndexMap;
  case OpKind::ReduceSum:
  case OpKind::ReduceMax: return Category::Reduction;
  case OpKind::MatMul:
  case OpKind::Conv2d:
  case OpKind::Conv2dInputGrad:
  case OpKind::Conv2dFilterGrad:
  case OpKind::MaxPool2d:
  case OpKind::MaxPool2dGrad:
  case OpKind::AvgPool2d:
  case OpKind::AvgPool2dGrad: return Category::Heavy;
  }
  DL_UNREACHABLE("covered switch");
}

/// Elementwise ops too costly to compute again for every read of an expanding broadcast
/// (or in several kernels).
bool isExpensive(OpKind k) {
  switch (k) {
  case OpKind::Exp:
  case OpKind::Log:
  case OpKind::Tanh:
  case OpKind::Sigmoid:
  case OpKind::Sqrt:
  case OpKind::Rsqrt:
  case OpKind::Div:
  case OpKind::Pow: return true;
  case OpKind::Constant:
  case OpKind::Iota:
  case OpKind::Neg:
  case OpKind::Abs:
  case OpKind::Sign:
  case OpKind::Cast:
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul:
  case OpKind::Max:
  case OpKind::Min:
  case OpKind::Compare:
  case OpKind::Select:
  case OpKind::Broadcast:
  case OpKind::Reshape:
  case OpKind::Transpose:
  case OpKind::Slice:
  case OpKind::Concat:
  case OpKind::Pad:
  case OpKind::OneHot:
  case OpKind::ReduceSum:
  case OpKind::ReduceMax:
  case OpKind::MatMul:
  case OpKind::Conv2d:
  case OpKind::Conv2dInputGrad:
  case OpKind::Conv2dFilterGrad:
  case OpKind::MaxPool2d:
  case OpKind::MaxPool2dGrad:
  case OpKind::AvgPool2d:
  case OpKind::AvgPool2dGrad: return false;
  }
  DL_UNREACHABLE("covered switch");
}

/// Cheap enough to be computed again by every group that reads it instead of stored.
bool isCheap(const Node &n) {
  const Category c = categoryOf(n.kind());
  return c == Category::Source || c == Category::IndexMap || (c == Category::Elementwise && !isExpensive(n.kind()));
}

Shape prefix(const Shape &s, int k) { return Shape(s.begin(), s.begin() + k); }

int64_t numel(const Shape &s) {
  int64_t p = 1;
  for (int64_t d : s) p *= d;
  return p;
}

/// Two reads of one member: the weaker guarantee wins.
FuseAccess combine(FuseAccess a, FuseAccess b) {
  if (a == b) return a;
  if (a == FuseAccess::Many || b == FuseAccess::Many) return FuseAccess::Many;
  return FuseAccess::Once;
}

bool isIota(const std::vector<int64_t> &v, int64_t from, int64_t to) {
  if (static_cast<int64_t>(v.size()) != to - from) return false;
  for (int64_t i = 0; i < to - from; ++i)
    if (v[static_cast<size_t>(i)] != from + i) return false;
  return true;
}

struct Group {
  const Node *root = nullptr;
  Shape shape;
  int pd = 0;
  bool accepts = true;  ///< producers may join (false: a heavy root)
  const Node *gemm = nullptr;  ///< the matmul whose epilogue the other members are
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
  void fuseGemmEpilogues();
  std::optional<std::pair<int, const Node *>> epilogueGroup(const Node *mm, std::string &why) const;
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
  std::reverse(plan_.aliases.begin(), plan_.aliases.end());

  std::optional<std::vector<int>> order = schedule();
  DL_ASSERT(order.has_value(), "the fusion groups must form an acyclic schedule");
  std::unordered_map<int, std::string> names;
  for (int gi : *order) {
    const Group &g = group(gi);
    FusionGroup out;
    out.root = g.root;
    out.gemm = g.gemm;
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
  return std::move(plan_);
}

/// Node lines of printFunction(f): one per node, in program order.
struct FunctionText {
  std::string header;
  std::vector<std::string> nodes;
  std::string footer;
};

FunctionText splitFunctionText(const Function &f) {
  const std::string text = printFunction(f);
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  FunctionText out;
  out.header = lines.front();
  for (size_t i = 0; i < f.numNodes(); ++i) out.nodes.push_back(lines[1 + i]);
  for (size_t i = 1 + f.numNodes(); i < lines.size(); ++i) out.footer += lines[i] + "\n";
  return out;
}

}  // namespace

std::string_view accessName(FuseAccess a) {
  switch (a) {
  case FuseAccess::Row: return "once per index";
  case FuseAccess::Full: return "per element";
  case FuseAccess::Once: return "read once";
  case FuseAccess::Many: return "recomputed per read";
  }
  DL_UNREACHABLE("covered switch");
}

FuseAccess FusionGroup::accessOf(const Node *n) const {
  auto it = std::find(nodes.begin(), nodes.end(), n);
  DL_ASSERT(it != nodes.end(), "not a member of the group");
  return access[static_cast<size_t>(it - nodes.begin())];
}

FusionPlan planFusion(const Function &f, const FusionOptions &opts) { return Planner(f, opts).run(); }

std::string printFusedFunction(const Function &f, const FusionPlan &plan) {
  const FunctionText text = splitFunctionText(f);
  std::unordered_map<const Node *, size_t> index;
  for (size_t i = 0; i < f.numNodes(); ++i) index[f.nodes()[i].get()] = i;
  std::unordered_set<const Value *> printed;
  for (size_t i = 0; i < f.numArgs(); ++i) printed.insert(f.arg(i));
  std::string out = text.header + "\n";
  // Aliasing reshapes print once their operand has been printed.
  auto flushAliases = [&] {
    for (bool again = true; again;) {
      again = false;
      for (const auto &[v, owner] : plan.aliases)
        if (!printed.count(v) && printed.count(owner)) {
          out += text.nodes[index.at(v->def())] + "  // shares its operand's buffer\n";
          printed.insert(v);
          again = true;
        }
    }
  };
  flushAliases();
  for (const FusionGroup &g : plan.groups) {
    std::vector<std::string> outs, again;
    for (const Value *v : g.outputs) outs.push_back(valueLabel(f, v));
    std::string shape = fmt::format("[{}]", fmt::join(g.shape, ","));
    out += fmt::format("  // kernel {}: {} over {} ({} parallel dim{}), writes {} {{\n", g.name,
                       g.gemm || (g.nodes.size() == 1 && g.root->kind() == OpKind::MatMul) ? "matmul" : "loop", shape,
                       g.parallelDims, g.parallelDims == 1 ? "" : "s", fmt::join(outs, ", "));
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node *n = g.nodes[i];
      if (printed.count(n->result())) {
        again.push_back(valueLabel(f, n->result()));
        continue;
      }
      std::string line = "  " + text.nodes[index.at(n)];
      if (g.gemm && n != g.gemm) line += "  // GEMM epilogue";
      else if (g.nodes.size() > 1 && !g.gemm) line += fmt::format("  // {}", accessName(g.access[i]));
      out += line + "\n";
      printed.insert(n->result());
    }
    if (!again.empty()) out += fmt::format("    // also computes {} again\n", fmt::join(again, ", "));
    out += "  // }\n";
    flushAliases();
  }
  return out + text.footer;
}

std::string formatDecisions(const Function &f, const FusionPlan &plan) {
  std::string out;
  for (const FusionDecision &d : plan.decisions)
    out += fmt::format("fuse: {} into {}: {} ({})\n", valueLabel(f, d.producer->result()), d.group,
                       d.fused ? "fused" : "kept apart", d.reason);
  return out;
}

Expected<bool> fuseKernels(Module &m, const PassOptions &opts) {
  DL_TRY(std::vector<Function *> funcs, selectFunctions(m, opts));
  for (const Function *f : funcs) {
    const FusionPlan plan = planFusion(*f);
    if (opts.debugEnabled("fuse")) {
      fmt::print(opts.debugStream, "fuse: @{}: {} kernel(s)\n", f->name(), plan.groups.size());
      fmt::print(opts.debugStream, "{}", formatDecisions(*f, plan));
    }
  }
  return false;
}

}  // namespace dlc
