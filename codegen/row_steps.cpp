//===- codegen/row_steps.cpp - the order of a row kernel's members ---------===//
//
// For a row domain (loop_kernel.cpp): rowSteps, the order in which a row's hoisted row
// values, row buffers and batches of contiguous row reductions are computed; and the
// column reductions (a bias gradient in its optimizer update) that a chunk of parallel
// indices sums up front, the reduced axes outer and the chunk's columns inner.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernel_emitter.h"

#include <algorithm>
#include <functional>

namespace dlc::cg {

std::vector<const Node *> KernelEmitter::columnReductions() const {
  std::vector<const Node *> out;
  const LoopDomain &d = k_.domain;
  // CPU only (a GPU thread runs one index; its stack is local memory), small chunks
  // (the sums live on the stack), a one-dimensional parallel space.
  if (lanes_ || flatBlock_ > 1 || target_.triple.find("nvptx") != std::string::npos || d.flat ||
      d.parallelDims != 1 || k_.chunk > 4096)
    return out;
  for (const Node *n : k_.hoisted) {
    // The kept axis is the kernel's parallel index.
    if (!isColumnReduction(*n) || n->type().shape != Shape{d.shape[0]}) continue;
    const Value *x = n->operand(0);
    // The operand must not read hoisted values (they are computed per index, later).
    bool simple = true;
    std::function<void(const Value *)> walk = [&](const Value *v) {
      auto it = inGroup_.find(v);
      if (it == inGroup_.end() || !simple) return;
      if (std::find(k_.hoisted.begin(), k_.hoisted.end(), it->second) != k_.hoisted.end()) simple = false;
      for (const Value *o : it->second->operands()) walk(o);
    };
    walk(x);
    if (simple) out.push_back(n);
  }
  return out;
}

std::unordered_map<const Node *, llvm::AllocaInst *> KernelEmitter::preReduceColumns(
    const std::vector<const Node *> &nodes, llvm::Value *begin, llvm::Value *end) {
  std::unordered_map<const Node *, llvm::AllocaInst *> out;
  for (const Node *n : nodes) {
    const Value *x = n->operand(0);
    const bool isMax = n->kind() == OpKind::ReduceMax;
    const DType dt = x->dtype();
    llvm::Type *t = storageType(ctx(), dt);
    llvm::AllocaInst *buf = entryAlloca(llvm::ArrayType::get(t, static_cast<uint64_t>(k_.chunk)), "colsum");
    auto at = [&](llvm::Value *j) { return b_.CreateInBoundsGEP(t, buf, b_.CreateSub(j, begin, "", true, true)); };
    llvm::Constant *init = isMax ? lowestOf(ctx(), dt) : constantOf(ctx(), dt, 0.0);
    forLoop(begin, end, [&](llvm::Value *j) { b_.CreateStore(init, at(j)); }, /*vectorize=*/true, "c0");
    // The reduced axes in row-major order (the sequential order of generateReduce),
    // outer; the kept axis, this chunk's columns, inner and vectorized (a strided gather
    // when the kept axis is not the last).
    const std::vector<int64_t> &axes = n->attrsAs<ReduceAttrs>().axes;
    std::vector<bool> reduced(x->shape().size(), false);
    std::vector<int64_t> extents;
    for (int64_t a : axes) {
      reduced[static_cast<size_t>(a)] = true;
      extents.push_back(x->shape()[static_cast<size_t>(a)]);
    }
    forNest(extents, [&](const std::vector<llvm::Value *> &ivs) {
      forLoop(begin, end, [&](llvm::Value *j) {
        std::vector<llvm::Value *> xd;
        for (size_t dim = 0, r = 0; dim < reduced.size(); ++dim) xd.push_back(reduced[dim] ? ivs[r++] : j);
        llvm::Value *v = generate(x, IrIndex{x->shape(), xd, nullptr});
        llvm::Value *ops[] = {b_.CreateLoad(t, at(j)), v};
        b_.CreateStore(scalar(isMax ? OpKind::Max : OpKind::Add, dt, ops), at(j));
      }, /*vectorize=*/true, "cj");
    });
    out[n] = buf;
  }
  return out;
}

std::vector<std::vector<const Node *>> KernelEmitter::rowSteps(const std::unordered_set<const Node *> &hoisted,
                                                                const std::unordered_set<const Node *> &buffered) const {
  // Level of a member: how many batches of row reductions must run before it can. A
  // stored member (hoisted or buffered) of level L runs after the batches 0 .. L-1 and
  // before batch L; the contiguous reductions of level L (and one length) are batch L.
  // On a lane group (GPU) every member is its own step, in program order.
  auto batched = [&](const Node *n) { return !lanes_ && hoisted.count(n) && isContiguousReduce(*n); };
  auto lengthOf = [](const Node *n) { return n->operand(0)->type().numElements() / std::max<int64_t>(1, n->type().numElements()); };
  std::unordered_map<const Node *, int> level;
  int maxLevel = 0;
  for (const Node *n : k_.nodes) {
    int l = 0;
    for (const Value *v : n->operands()) {
      auto it = inGroup_.find(v);
      if (it == inGroup_.end()) continue;
      l = std::max(l, level.at(it->second) + (batched(it->second) ? 1 : 0));
    }
    level[n] = l;
    maxLevel = std::max(maxLevel, l);
  }
  std::vector<std::vector<const Node *>> steps;
  for (int l = 0; l <= maxLevel; ++l) {
    for (const Node *n : k_.nodes)
      if (level.at(n) == l && !batched(n) && (hoisted.count(n) || buffered.count(n))) steps.push_back({n});
    std::vector<std::vector<const Node *>> batches;  // by reduced length, in program order
    for (const Node *n : k_.nodes) {
      if (level.at(n) != l || !batched(n)) continue;
      auto same = std::find_if(batches.begin(), batches.end(),
                               [&](const std::vector<const Node *> &b) { return lengthOf(b.front()) == lengthOf(n); });
      if (same == batches.end()) batches.push_back({n});
      else same->push_back(n);
    }
    steps.insert(steps.end(), batches.begin(), batches.end());
  }
  return steps;
}

}  // namespace dlc::cg
