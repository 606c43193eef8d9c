//===- codegen/elemental_data.cpp - generators of data movement and reductions ===//
//
// Data movement ops are index maps: element `idx` of the result is element `f(idx)` of
// the operand (broadcast, reshape, transpose, slice), one of several operands (concat),
// or a constant outside the operand (pad, one_hot). Reductions loop over the reduced
// axes in row-major order, the interpreter's order, so sums round identically.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernel_emitter.h"

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

llvm::Value *generateReduce(KernelEmitter &e, const Node &n, const IrIndex &idx) {
  const Value *x = n.operand(0);
  const std::vector<int64_t> &axes = n.attrsAs<ReduceAttrs>().axes;
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
