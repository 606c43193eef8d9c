//===- codegen/elemental_data.cpp - generators of data movement and reductions ===//
//
// Data movement ops are index maps: element `idx` of the result is element `f(idx)` of
// the operand (broadcast, reshape, transpose, slice), one of several operands (concat),
// or a constant outside the operand (pad, one_hot). Reductions follow the interpreter's
// order (ir/reduce_order.h), so sums round identically: contiguous ones in the canonical
// 16-lane order, vectorized; the others loop over the reduced axes in row-major order.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernel_emitter.h"
#include "ir/reduce_order.h"

namespace dlc::cg {

llvm::Value *generateBroadcast(KernelEmitter &e, const Node &n, const IrIndex &idx) {
  const Value *x = n.operand(0);
  const std::vector<int64_t> &dims = n.attrsAs<BroadcastAttrs>().dims;
  const int64_t in = x->type().numElements();
  if (in == 1) return e.generateAt(x, e.i64(0));
  // Inserting size-1 dims keeps row-major order: the linear offset carries over.
  if (in == n.type().numElements() && idx.linear) return e.generateAt(x, idx.linear);
  std::vector<llvm::Value *> od = e.dimsOf(idx), xd(x->shape().size());
  for (size_t i = 0; i < xd.size(); ++i)
    xd[i] = x->shape()[i] == 1 ? e.i64(0) : od[static_cast<size_t>(dims[i])];
  return e.generate(x, IrIndex{x->shape(), xd, nullptr});
}

llvm::Value *generateReshape(KernelEmitter &e, const Node &n, const IrIndex &idx) {
  return e.generateAt(n.operand(0), e.linearOf(idx));  // same row-major order
}

llvm::Value *generateTranspose(KernelEmitter &e, const Node &n, const IrIndex &idx) {
  const Value *x = n.operand(0);
  const std::vector<int64_t> &perm = n.attrsAs<TransposeAttrs>().perm;
  std::vector<llvm::Value *> od = e.dimsOf(idx), xd(od.size());
  for (size_t i = 0; i < perm.size(); ++i) xd[static_cast<size_t>(perm[i])] = od[i];
  return e.generate(x, IrIndex{x->shape(), xd, nullptr});
}

llvm::Value *generateSlice(KernelEmitter &e, const Node &n, const IrIndex &idx) {
  const Value *x = n.operand(0);
  const SliceAttrs &a = n.attrsAs<SliceAttrs>();
  llvm::IRBuilder<> &b = e.b();
  std::vector<llvm::Value *> xd = e.dimsOf(idx);
  for (size_t d = 0; d < xd.size(); ++d) {
    if (a.stride[d] != 1) xd[d] = b.CreateMul(xd[d], e.i64(a.stride[d]), "", true, true);
    if (a.start[d] != 0) xd[d] = b.CreateAdd(xd[d], e.i64(a.start[d]), "", true, true);
  }
  return e.generate(x, IrIndex{x->shape(), xd, nullptr});
}

llvm::Value *generateConcat(KernelEmitter &e, const Node &n, const IrIndex &idx) {
  const size_t axis = static_cast<size_t>(n.attrsAs<ConcatAttrs>().axis);
  llvm::IRBuilder<> &b = e.b();
  std::vector<const Value *> parts;
  for (const Value *x : n.operands())
    if (x->shape()[axis] > 0) parts.push_back(x);
  const std::vector<llvm::Value *> od = e.dimsOf(idx);
  llvm::Value *pos = od[axis];

  // An if-else chain on the position along the axis; each arm reads its operand.
  llvm::Function *fn = b.GetInsertBlock()->getParent();
  llvm::BasicBlock *merge = llvm::BasicBlock::Create(e.ctx(), "concat.end");
  std::vector<std::pair<llvm::Value *, llvm::BasicBlock *>> arms;
  int64_t offset = 0;
  for (size_t j = 0; j < parts.size(); ++j) {
    const Value *x = parts[j];
    const int64_t extent = x->shape()[axis];
    auto read = [&] {
      std::vector<llvm::Value *> xd = od;
      if (offset != 0) xd[axis] = b.CreateSub(pos, e.i64(offset), "", true, true);
      llvm::Value *v = e.generate(x, IrIndex{x->shape(), xd, nullptr});
      arms.emplace_back(v, b.GetInsertBlock());
      b.CreateBr(merge);
    };
    if (j + 1 == parts.size()) {
      read();
    } else {
      llvm::BasicBlock *inPart = llvm::BasicBlock::Create(e.ctx(), "concat.part", fn);
      llvm::BasicBlock *rest = llvm::BasicBlock::Create(e.ctx(), "concat.next", fn);
      b.CreateCondBr(b.CreateICmpSLT(pos, e.i64(offset + extent)), inPart, rest);
      b.SetInsertPoint(inPart);
      read();
      b.SetInsertPoint(rest);
    }
    offset += extent;
  }
  merge->insertInto(fn);
  b.SetInsertPoint(merge);
  llvm::PHINode *phi = b.CreatePHI(storageType(e.ctx(), n.type().dtype), static_cast<unsigned>(arms.size()));
  for (auto &[v, bb] : arms) phi->addIncoming(v, bb);
  return phi;
}

llvm::Value *generatePad(KernelEmitter &e, const Node &n, const IrIndex &idx) {
  const Value *x = n.operand(0);
  const PadAttrs &a = n.attrsAs<PadAttrs>();
  llvm::IRBuilder<> &b = e.b();
  llvm::Constant *padValue = constantOf(e.ctx(), n.type().dtype, a.value);
  if (x->type().numElements() == 0) return padValue;
  // Branch-free: read the operand at the index clamped into range, then select.
  std::vector<llvm::Value *> xd = e.dimsOf(idx);
  llvm::Value *inside = b.getTrue();
  for (size_t d = 0; d < xd.size(); ++d) {
    if (a.low[d] == 0 && a.high[d] == 0) continue;
    const int64_t extent = x->shape()[d];
    llvm::Value *t = b.CreateSub(xd[d], e.i64(a.low[d]));
    inside = b.CreateAnd(inside, b.CreateAnd(b.CreateICmpSGE(t, e.i64(0)), b.CreateICmpSLT(t, e.i64(extent))));
    t = b.CreateBinaryIntrinsic(llvm::Intrinsic::smax, t, e.i64(0));
    xd[d] = b.CreateBinaryIntrinsic(llvm::Intrinsic::smin, t, e.i64(extent - 1));
  }
  llvm::Value *v = e.generate(x, IrIndex{x->shape(), xd, nullptr});
  return b.CreateSelect(inside, v, padValue);
}

llvm::Value *generateOneHot(KernelEmitter &e, const Node &n, const IrIndex &idx) {
  const Value *labels = n.operand(0);
  llvm::IRBuilder<> &b = e.b();
  std::vector<llvm::Value *> od = e.dimsOf(idx);
  llvm::Value *j = od.back();
  od.pop_back();
  llvm::Value *label = e.generate(labels, IrIndex{labels->shape(), od, nullptr});
  if (labels->dtype() == DType::I32) label = b.CreateSExt(label, b.getInt64Ty());
  // j lies in [0, depth), so equality also rejects out-of-range labels.
  const DType dt = n.type().dtype;
  return b.CreateSelect(b.CreateICmpEQ(label, j), constantOf(e.ctx(), dt, 1.0), constantOf(e.ctx(), dt, 0.0));
}

/// The canonical order of contiguous reductions (ir/reduce_order.h): kReduceLanes
/// partial accumulators per reduction in a stack array, a_{i mod 16} = combine(a_{i mod
/// 16}, x_i), then the pairwise tree. The loop over one block of 16 elements has no
/// dependence between its iterations, so the vectorizer turns it into full-width vector
/// code (16 lanes AVX-512, 2 x 8 AVX2, 4 x 4 SSE) without reordering anything: every lane
/// does exactly the scalar operation of the reference. Several reductions of one length
/// (the row reductions of a fused kernel that do not read each other) share the loop:
/// each keeps its own accumulators and its own order, so its bits are those it has alone,
/// and their dependent chains (one combine per block each) are in flight together instead
/// of one after another. On the GPU the 16 accumulators are the 16 threads of a
/// LaneGroup, combined by shuffles in the same tree (one reduction at a time).
std::vector<llvm::Value *> reduceContiguous(KernelEmitter &e, const std::vector<const Node *> &ns, const IrIndex &idx,
                                            const std::function<void(llvm::Value *)> &perBlock,
                                            const std::function<void(llvm::Value *)> &perElement) {
  llvm::IRBuilder<> &b = e.b();
  LaneGroup *group = e.lanes();
  DL_ASSERT(!ns.empty() && (!group || (ns.size() == 1 && !perElement)), "one reduction at a time on a lane group");
  struct Red {
    const Value *x;
    std::vector<int64_t> axes;
    OpKind combine;
    DType dt;
    llvm::Type *t;
    llvm::AllocaInst *acc;
    std::vector<llvm::Value *> od;
    llvm::Value *base;
  };
  std::vector<Red> rs;
  int64_t len = -1;
  for (const Node *n : ns) {
    Red r;
    r.x = n->operand(0);
    r.axes = n->attrsAs<ReduceAttrs>().axes;
    const bool isMax = n->kind() == OpKind::ReduceMax;
    r.combine = isMax ? OpKind::Max : OpKind::Add;
    r.dt = r.x->dtype();
    r.t = storageType(e.ctx(), r.dt);
    int64_t l = 1;
    for (int64_t a : r.axes) l *= r.x->shape()[static_cast<size_t>(a)];
    DL_ASSERT(len < 0 || l == len, "reductions sharing a loop have one length");
    len = l;
    llvm::Constant *init = isMax ? lowestOf(e.ctx(), r.dt) : constantOf(e.ctx(), r.dt, 0.0);
    // On the GPU (KernelEmitter::lanes()), thread l of the 16 sharing the output holds a_l.
    r.acc = e.entryAlloca(group ? r.t : llvm::ArrayType::get(r.t, kReduceLanes), "acc");
    if (group) b.CreateStore(init, r.acc);
    else
      for (int64_t i = 0; i < kReduceLanes; ++i) b.CreateStore(init, b.CreateInBoundsGEP(r.t, r.acc, e.i64(i)));
    // Element i of the block: at linear offset out * len + i of x (the kept dims after
    // the reduced ones have extent 1). Its dims are the output's with i inserted when
    // one axis is reduced, else derived from the offset when a generator needs them.
    if (r.axes.size() == 1) r.od = e.dimsOf(idx);
    r.base = b.CreateMul(e.linearOf(idx), e.i64(len), "", true, true);
    rs.push_back(std::move(r));
  }
  const int64_t blocks = len / kReduceLanes, rest = len % kReduceLanes;
  auto lane = [&](const Red &r, llvm::Value *l) {
    return group ? static_cast<llvm::Value *>(r.acc) : b.CreateInBoundsGEP(r.t, r.acc, l);
  };
  auto accumulate = [&](const Red &r, llvm::Value *i, llvm::Value *l) {
    llvm::Value *lin = b.CreateAdd(r.base, i, "", true, true);
    std::vector<llvm::Value *> xd;
    if (r.axes.size() == 1) {
      xd = r.od;
      xd.insert(xd.begin() + r.axes[0], i);
    }
    llvm::Value *v = e.generate(r.x, IrIndex{r.x->shape(), xd, lin});
    llvm::Value *ops[] = {b.CreateLoad(r.t, lane(r, l)), v};
    b.CreateStore(e.scalar(r.combine, r.dt, ops), lane(r, l));
  };
  auto accumulateAll = [&](llvm::Value *i, llvm::Value *l) {
    if (perElement) perElement(i);
    for (const Red &r : rs) accumulate(r, i, l);
  };
  if (group) {
    // a_l = combine(a_l, x_i) for i = l, l + 16, ...; then the tree, a_l = combine(a_l,
    // a_{l+w}) for w = 8, 4, 2, 1, with a_{l+w} shuffled down from lane l + w.
    const Red &r = rs[0];
    e.forLaneStride(len, [&](llvm::Value *i) { accumulate(r, i, nullptr); }, "lane");
    llvm::Value *a = b.CreateLoad(r.t, r.acc);
    for (int w = static_cast<int>(kReduceLanes) / 2; w >= 1; w /= 2) {
      llvm::Value *ops[] = {a, group->shuffleDown(b, a, w)};
      a = e.scalar(r.combine, r.dt, ops);
    }
    return {group->fromFirstLane(b, a)};
  }
  if (blocks > 0)
    e.forLoop(e.i64(0), e.i64(blocks), [&](llvm::Value *j) {
      llvm::Value *first = b.CreateMul(j, e.i64(kReduceLanes), "", true, true);
      if (perBlock) perBlock(first);
      e.forLoop(e.i64(0), e.i64(kReduceLanes), [&](llvm::Value *l) {
        accumulateAll(b.CreateAdd(first, l, "", true, true), l);
      }, /*vectorize=*/true, "lane", {.unroll = false});
    }, /*vectorize=*/false, "blk");
  if (rest > 0)
    e.forLoop(e.i64(0), e.i64(rest), [&](llvm::Value *l) {
      accumulateAll(b.CreateAdd(e.i64(blocks * kReduceLanes), l, "", true, true), l);
    }, /*vectorize=*/true, "tail", {.unroll = false});
  // The tree: a_l = combine(a_l, a_{l+w}) for w = 8, 4, 2, 1.
  std::vector<llvm::Value *> out;
  for (const Red &r : rs) {
    std::vector<llvm::Value *> a(kReduceLanes);
    for (int64_t l = 0; l < kReduceLanes; ++l) a[l] = b.CreateLoad(r.t, lane(r, e.i64(l)));
    for (int64_t w = kReduceLanes / 2; w >= 1; w /= 2)
      for (int64_t l = 0; l < w; ++l) {
        llvm::Value *ops[] = {a[l], a[l + w]};
        a[l] = e.scalar(r.combine, r.dt, ops);
      }
    out.push_back(a[0]);
  }
  return out;
}

namespace {

llvm::Value *generateContiguousReduce(KernelEmitter &e, const Node &n, const IrIndex &idx) {
  return reduceContiguous(e, {&n}, idx)[0];
}

}  // namespace

llvm::Value *generateReduce(KernelEmitter &e, const Node &n, const IrIndex &idx) {
  const Value *x = n.operand(0);
  const std::vector<int64_t> &axes = n.attrsAs<ReduceAttrs>().axes;
  if (isContiguousReduction(x->shape(), axes)) return generateContiguousReduce(e, n, idx);
  const bool isMax = n.kind() == OpKind::ReduceMax;
  const DType dt = x->dtype();
  llvm::IRBuilder<> &b = e.b();
  llvm::Type *t = storageType(e.ctx(), dt);

  // acc = init; for the reduced axes in row-major order: acc = combine(acc, x[...]).
  llvm::AllocaInst *acc = e.entryAlloca(t, "acc");
  b.CreateStore(isMax ? lowestOf(e.ctx(), dt) : constantOf(e.ctx(), dt, 0.0), acc);
  const std::vector<llvm::Value *> od = e.dimsOf(idx);
  std::vector<int64_t> extents;
  std::vector<bool> reduced(x->shape().size(), false);
  for (int64_t a : axes) {
    reduced[static_cast<size_t>(a)] = true;
    extents.push_back(x->shape()[static_cast<size_t>(a)]);
  }
  e.forNest(extents, [&](const std::vector<llvm::Value *> &ivs) {
    std::vector<llvm::Value *> xd;
    for (size_t d = 0, kept = 0, red = 0; d < reduced.size(); ++d)
      xd.push_back(reduced[d] ? ivs[red++] : od[kept++]);
    llvm::Value *v = e.generate(x, IrIndex{x->shape(), xd, nullptr});
    llvm::Value *ops[] = {b.CreateLoad(t, acc), v};
    b.CreateStore(e.scalar(isMax ? OpKind::Max : OpKind::Add, dt, ops), acc);
  });
  return b.CreateLoad(t, acc);
}

}  // namespace dlc::cg
