//===- ir/ir.cpp - Module, Function, Node and Value ----------------------===//
#include "ir/ir.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace dlc {

std::vector<Value *> Function::args() const {
  std::vector<Value *> out;
  out.reserve(args_.size());
  for (const auto &a : args_) out.push_back(a.get());
  return out;
}

Value *Function::addArg(TensorType t, std::string name) {
  auto v = std::make_unique<Value>();
  v->type_ = std::move(t);
  v->name_ = std::move(name);
  v->argIndex_ = static_cast<int>(args_.size());
  args_.push_back(std::move(v));
  return args_.back().get();
}

void Function::permuteArgs(const std::vector<int> &order) {
  DL_ASSERT(order.size() == args_.size(), "permutation size");
  std::vector<std::unique_ptr<Value>> next(args_.size());
  std::vector<int> newIndexOf(args_.size(), -1);
  for (size_t i = 0; i < order.size(); ++i) {
    next[i] = std::move(args_[order[i]]);
    next[i]->argIndex_ = static_cast<int>(i);
    newIndexOf[order[i]] = static_cast<int>(i);
  }
  args_ = std::move(next);
  for (int &a : aliases_)
    if (a >= 0) a = newIndexOf[a];
}

void Function::eraseArg(size_t i) {
  DL_ASSERT(!hasUses(args_[i].get()), "erasing an argument that is still used");
  args_.erase(args_.begin() + static_cast<std::ptrdiff_t>(i));
  for (size_t j = 0; j < args_.size(); ++j) args_[j]->argIndex_ = static_cast<int>(j);
  for (int &a : aliases_) {
    DL_ASSERT(a != static_cast<int>(i), "erasing a donated argument");
    if (a > static_cast<int>(i)) --a;
  }
}

Node *Function::createNode(OpKind k, std::vector<Value *> operands, TensorType type, Attrs attrs,
                           Location loc, const Node *before) {
  std::unique_ptr<Node> n(new Node(k, std::move(operands), std::move(type), std::move(attrs)));
  n->loc = std::move(loc);
  n->parent_ = this;
  Node *raw = n.get();
  if (before) {
    nodes_.insert(nodes_.begin() + static_cast<std::ptrdiff_t>(indexOf(before)), std::move(n));
  } else {
    nodes_.push_back(std::move(n));
  }
  return raw;
}

size_t Function::indexOf(const Node *n) const {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].get() == n) return i;
  DL_UNREACHABLE("node is not in this function");
}

void Function::eraseNode(Node *n) {
  DL_ASSERT(!hasUses(n->result()), "erasing a node whose result is still used");
  nodes_.erase(nodes_.begin() + static_cast<std::ptrdiff_t>(indexOf(n)));
}

void Function::setResults(std::vector<Value *> r, std::vector<int> aliases) {
  if (aliases.empty()) aliases.assign(r.size(), -1);
  DL_ASSERT(aliases.size() == r.size(), "one alias entry per result");
  results_ = std::move(r);
  aliases_ = std::move(aliases);
}

std::vector<Node *> Function::users(const Value *v) const {
  std::vector<Node *> out;
  for (const auto &n : nodes_)
    if (std::find(n->operands_.begin(), n->operands_.end(), v) != n->operands_.end())
      out.push_back(n.get());
  return out;
}

bool Function::hasUses(const Value *v) const {
  for (const auto &n : nodes_)
    if (std::find(n->operands_.begin(), n->operands_.end(), v) != n->operands_.end()) return true;
  return std::find(results_.begin(), results_.end(), v) != results_.end();
}

void Function::replaceAllUsesWith(Value *from, Value *to) {
  for (auto &n : nodes_)
    for (Value *&op : n->operands_)
      if (op == from) op = to;
  for (Value *&r : results_)
    if (r == from) r = to;
}

bool Function::sortTopologically() {
  // Kahn's algorithm, always taking the earliest ready node in the current order, so an
  // order that is already valid is left unchanged.
  const size_t n = nodes_.size();
  std::unordered_map<const Node *, size_t> pos;
  for (size_t i = 0; i < n; ++i) pos[nodes_[i].get()] = i;
  std::vector<int> pending(n, 0);
  std::vector<std::vector<size_t>> users(n);
  for (size_t i = 0; i < n; ++i) {
    std::unordered_set<const Node *> seen;
    for (Value *op : nodes_[i]->operands_) {
      Node *d = op->def();
      if (!d || !seen.insert(d).second) continue;
      auto it = pos.find(d);
      if (it == pos.end()) continue;
      ++pending[i];
      users[it->second].push_back(i);
    }
  }
  std::vector<size_t> ready;  // min-heap by original position
  for (size_t i = 0; i < n; ++i)
    if (pending[i] == 0) ready.push_back(i);
  std::make_heap(ready.begin(), ready.end(), std::greater<>());
  std::vector<std::unique_ptr<Node>> out;
  out.reserve(n);
  while (!ready.empty()) {
    std::pop_heap(ready.begin(), ready.end(), std::greater<>());
    size_t i = ready.back();
    ready.pop_back();
    for (size_t u : users[i])
      if (--pending[u] == 0) {
        ready.push_back(u);
        std::push_heap(ready.begin(), ready.end(), std::greater<>());
      }
    out.push_back(std::move(nodes_[i]));
  }
  if (out.size() != n) {  // a cycle: put the stragglers back so nothing is lost
    for (auto &p : nodes_)
      if (p) out.push_back(std::move(p));
    nodes_ = std::move(out);
    return false;
  }
  nodes_ = std::move(out);
  return true;
}

Function *Module::addFunction(std::string name) {
  funcs_.push_back(std::make_unique<Function>(std::move(name)));
  return funcs_.back().get();
}

Function *Module::lookup(std::string_view name) const {
  for (const auto &f : funcs_)
    if (f->name() == name) return f.get();
  return nullptr;
}

std::unique_ptr<Function> Module::takeFunction(Function *f) {
  for (auto it = funcs_.begin(); it != funcs_.end(); ++it)
    if (it->get() == f) {
      std::unique_ptr<Function> out = std::move(*it);
      funcs_.erase(it);
      return out;
    }
  return nullptr;
}

std::unique_ptr<Function> cloneFunction(const Function &f, std::string newName) {
  auto g = std::make_unique<Function>(std::move(newName));
  g->loc = f.loc;
  g->parsedLoc = f.parsedLoc;
  std::unordered_map<const Value *, Value *> map;
  for (size_t i = 0; i < f.numArgs(); ++i) map[f.arg(i)] = g->addArg(f.arg(i)->type(), f.arg(i)->name());
  for (const auto &n : f.nodes()) {
    std::vector<Value *> ops;
    for (Value *o : n->operands()) ops.push_back(map.at(o));
    Node *c = g->createNode(n->kind(), std::move(ops), n->type(), n->attrs(), n->loc);
    c->parsedLoc = n->parsedLoc;
    c->result()->setName(n->result()->name());
    map[n->result()] = c->result();
  }
  std::vector<Value *> res;
  for (Value *r : f.results()) res.push_back(map.at(r));
  g->setResults(std::move(res), f.resultAliases());
  return g;
}

}  // namespace dlc
