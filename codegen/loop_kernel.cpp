//===- codegen/loop_kernel.cpp - the body of a Loop kernel ------------------===//
//
// The loop nest over a KernelKind::Loop kernel's domain (kernel_plan.h), for one thread
// or a GPU lane group: a flat domain runs one vectorizable loop over linear indices, or
// blocks of elements whose input loads all come first (GPU, emitFlatBlock); a row
// domain runs one iteration per parallel index (a row) in which the hoisted row values,
// row buffers and convolution rows are computed first, in steps (rowSteps: contiguous
// row reductions that do not read each other share one loop, which also prefetches the
// next row, fills a row buffer its reductions read, or stores the row's elements when
// it is the last), then the per-row outputs and the row's elements. Also sharesRows,
// which decides whether a GPU half warp can share each row. The order of the steps and
// the column reductions are in row_steps.cpp, emitFlatBlock in flat_loop.cpp.
//
//===----------------------------------------------------------------------===//
#include "codegen/kernel_emitter.h"

#include <algorithm>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include <llvm/IR/Constants.h>

#include "ir/reduce_order.h"

namespace dlc::cg {

namespace {

/// The outputs of a non-flat Loop kernel written once per parallel index (hoisted row
/// values, or every output when the parallel dims are the whole domain), and those
/// written at every element of the domain.
void splitOutputs(const KernelSpec &k, std::vector<const Value *> &rowOuts, std::vector<const Value *> &fullOuts) {
  const LoopDomain &d = k.domain;
  const size_t pd = static_cast<size_t>(d.parallelDims), rank = d.shape.size();
  const Shape rowShape(d.shape.begin(), d.shape.begin() + static_cast<std::ptrdiff_t>(pd));
  for (const Value *out : k.outputs) {
    const bool hoisted = std::any_of(k.hoisted.begin(), k.hoisted.end(),
                                     [&](const Node *n) { return n->result() == out; });
    (hoisted || (pd == rank && out->shape() == rowShape) ? rowOuts : fullOuts).push_back(out);
  }
}

/// Whether row buffer \p n can be filled inside the loop of the reductions \p batch
/// that follow it (reducesRows): each reads n only at its own element, through
/// elementwise ops of the domain's shape. Members in \p stored (hoisted row values,
/// filled buffers) end a path: they are read from registers or memory, not generated.
bool fillsInBatch(const Node &n, const std::vector<const Node *> &batch, const Shape &domain,
                  const std::unordered_map<const Value *, const Node *> &group,
                  const std::unordered_set<const Node *> &stored) {
  std::unordered_map<const Value *, bool> reachesMemo, atIndexMemo;
  auto member = [&](const Value *v) -> const Node * {
    auto it = group.find(v);
    return it == group.end() || (it->second != &n && stored.count(it->second)) ? nullptr : it->second;
  };
  std::function<bool(const Value *)> reaches = [&](const Value *v) {
    if (v == n.result()) return true;
    if (auto it = reachesMemo.find(v); it != reachesMemo.end()) return it->second;
    const Node *m = member(v);
    bool r = false;
    for (size_t i = 0; m && i < m->numOperands() && !r; ++i) r = reaches(m->operand(i));
    return reachesMemo[v] = r;
  };
  std::function<bool(const Value *)> atIndex = [&](const Value *v) {
    if (v == n.result()) return true;
    if (auto it = atIndexMemo.find(v); it != atIndexMemo.end()) return it->second;
    const Node *m = member(v);
    bool r = true;
    if (m && hasTrait(m->kind(), kElementwise) && m->type().shape == domain) {
      for (size_t i = 0; i < m->numOperands() && r; ++i) r = atIndex(m->operand(i));
    } else if (m) {
      r = !reaches(v);
    }
    return atIndexMemo[v] = r;
  };
  for (const Node *r : batch)
    if (!atIndex(r->operand(0))) return false;
  return true;
}

/// Whether every reduction of \p batch reduces a value of the domain's shape over its
/// whole row, so that its element i is the row's element i.
bool reducesRows(const std::vector<const Node *> &batch, const Shape &domain, int64_t inner) {
  return std::all_of(batch.begin(), batch.end(), [&](const Node *r) {
    const Value *x = r->operand(0);
    return x->type().shape == domain && x->type().numElements() == r->type().numElements() * inner;
  });
}

/// Whether any of \p outs reads (through group members) a result of \p batch.
bool readsAnyOf(const std::vector<const Value *> &outs, const std::vector<const Node *> &batch,
                const std::unordered_map<const Value *, const Node *> &group) {
  std::unordered_set<const Value *> targets, seen;
  for (const Node *r : batch) targets.insert(r->result());
  std::vector<const Value *> work(outs.begin(), outs.end());
  while (!work.empty()) {
    const Value *v = work.back();
    work.pop_back();
    if (targets.count(v)) return true;
    if (!seen.insert(v).second) continue;
    if (auto it = group.find(v); it != group.end())
      for (const Value *op : it->second->operands()) work.push_back(op);
  }
  return false;
}

}  // namespace

bool isContiguousReduce(const Node &n) {
  return (n.kind() == OpKind::ReduceSum || n.kind() == OpKind::ReduceMax) &&
         isContiguousReduction(n.operand(0)->shape(), n.attrsAs<ReduceAttrs>().axes);
}

bool sharesRows(const KernelSpec &k) {
  if (k.kind != KernelKind::Loop || k.root().type().numElements() == 0) return false;
  std::unordered_map<const Value *, const Node *> group;
  for (const Node *n : k.nodes) group[n->result()] = n;
  // Values read from memo or a row buffer: their generators run at the top of the body.
  std::unordered_set<const Node *> stored(k.hoisted.begin(), k.hoisted.end());
  stored.insert(k.rowBuffered.begin(), k.rowBuffered.end());
  stored.insert(k.invariant.begin(), k.invariant.end());
  bool any = false;
  for (const Node *n : k.nodes) {
    if (hasTrait(n->kind(), kOwnKernel)) return false;  // their own loops and row buffers
    any = any || isContiguousReduce(*n);
  }
  if (!any) return false;
  // Nodes whose generator may run inside a loop or a branch of the body.
  std::unordered_set<const Node *> inLoop;
  std::function<void(const Value *)> mark = [&](const Value *v) {
    auto it = group.find(v);
    if (it == group.end() || stored.count(it->second) || !inLoop.insert(it->second).second) return;
    for (const Value *op : it->second->operands()) mark(op);
  };
  auto once = [](OpKind kind) {
    switch (kind) {
    case OpKind::Broadcast:
    case OpKind::Reshape:
    case OpKind::Transpose:
    case OpKind::Slice:
    case OpKind::Pad:
    case OpKind::OneHot:
    case OpKind::Constant:
    case OpKind::Iota: return true;
    default: return hasTrait(kind, kElementwise);
    }
  };
  for (const Node *n : k.nodes)
    if (!once(n->kind()))  // reductions loop over their operand, concat branches
      for (const Value *op : n->operands()) mark(op);
  for (const Node *n : k.rowBuffered)  // filled by a loop over the row
    for (const Value *op : n->operands()) mark(op);
  if (!k.domain.flat) {
    std::vector<const Value *> rowOuts, fullOuts;
    splitOutputs(k, rowOuts, fullOuts);
    for (const Value *out : fullOuts) mark(out);  // computed in the loop over the row
  }
  const int64_t inner = k.domain.flat ? 1 : k.domain.innerExtent();
  for (const Node *n : k.nodes) {
    if (!isContiguousReduce(*n)) continue;
    if (inLoop.count(n)) return false;
    // A lane holds the row-buffer elements j = lane mod 16 of its row; a reduction
    // reads its own lane's elements of a buffered operand only when it covers the row.
    auto op = group.find(n->operand(0));
    const bool buffered = op != group.end() && std::count(k.rowBuffered.begin(), k.rowBuffered.end(), op->second);
    if (buffered && n->operand(0)->type().numElements() != n->type().numElements() * inner) return false;
  }
  return true;
}

void KernelEmitter::emitLoopBody(llvm::Value *begin, llvm::Value *end) {
  const LoopDomain &d = k_.domain;
  if (lanes_) lane_ = lanes_->lane(b_);
  // Fused kernels: one-element members read everywhere are computed once, up front.
  for (const Node *n : k_.invariant) memo_[n->result()] = generateNode(*n, IrIndex{n->type().shape, {}, i64(0)});
  // All outputs of an index are computed before any is stored: every load of the index
  // precedes every store, so the buffer plan may write an output over a dead input of a
  // flat kernel (in place) without changing what later outputs read.
  // With a lane group, values of a whole parallel index are computed by every lane (the
  // reductions' shuffles need all of them) and stored by lane 0.
  auto storeAll = [&](const std::vector<const Value *> &outs, const std::function<IrIndex(const Value *)> &at,
                      bool perIndex) {
    std::vector<llvm::Value *> vals;
    for (const Value *out : outs) vals.push_back(generate(out, at(out)));
    auto store = [&] {
      for (size_t i = 0; i < outs.size(); ++i) b_.CreateStore(vals[i], elementPtr(outs[i], at(outs[i])));
    };
    if (lanes_ && perIndex && !outs.empty()) ifThen(b_.CreateICmpEQ(lane_, i64(0)), store);
    else store();
  };
  if (d.flat && flatBlock_ > 1) {
    emitFlatBlock(begin);
    return;
  }
  if (d.flat) {  // CPU (flat_loop.cpp)
    emitFlatLoop(begin, end, [&](llvm::Value *i) {
      storeAll(k_.outputs, [&](const Value *out) { return IrIndex{out->shape(), {}, i}; }, true);
    });
    return;
  }
  // Parallel dims [0, pd) come from the chunk index p; dims [pd, rank) are inner loops.
  const size_t pd = static_cast<size_t>(d.parallelDims), rank = d.shape.size();
  const int64_t inner = d.innerExtent();
  const Shape rowShape(d.shape.begin(), d.shape.begin() + static_cast<std::ptrdiff_t>(pd));
  std::vector<const Value *> rowOuts, fullOuts;
  splitOutputs(k_, rowOuts, fullOuts);
  const std::unordered_set<const Node *> hoisted(k_.hoisted.begin(), k_.hoisted.end());
  std::unordered_set<const Node *> buffered(k_.rowBuffered.begin(), k_.rowBuffered.end());
  const Shape innerShape(d.shape.begin() + static_cast<std::ptrdiff_t>(pd), d.shape.end());
  // Convolutions of the domain's shape whose group readers are elementwise (so read at
  // the current index) are computed a row at a time into a row buffer (conv.cpp).
  std::unordered_set<const Node *> convRows;
  for (const Node *n : k_.nodes) {
    if (!isConvRowNode(*n) || hoisted.count(n) || rank != 4 || pd != 3 || n->type().shape != d.shape) continue;
    bool sameIndex = true;
    for (const Node *m : k_.nodes)
      for (const Value *v : m->operands())
        if (v == n->result() && (!hasTrait(m->kind(), kElementwise) || m->type().shape != d.shape)) sameIndex = false;
    if (sameIndex) {
      convRows.insert(n);
      buffered.insert(n);
    }
  }
  std::unordered_map<const Node *, llvm::AllocaInst *> bufferOf;
  // A lane keeps only its elements j = lane mod kReduceLanes of a row, at j / kReduceLanes.
  const int64_t bufLen = lanes_ ? (inner + kReduceLanes - 1) / kReduceLanes : inner;
  for (const Node *n : k_.nodes)
    if (buffered.count(n))
      bufferOf[n] = entryAlloca(
          llvm::ArrayType::get(storageType(ctx(), n->type().dtype), static_cast<uint64_t>(bufLen)), "rowbuf");
  // Column reductions (a bias gradient: reduce_sum over the batch axis of [R, N] into the
  // kernel's parallel index space [N]) are computed for the whole chunk first, rows
  // outer and the chunk's columns inner: each column keeps its sequential chain over the
  // rows (the order of ir/reduce_order.h for a non-contiguous reduction), and the inner
  // loop is vectorized across columns instead of each column walking its rows alone.
  // The runtime may pass several chunks at once (one thread, a horizontal kernel's
  // part): the sums are then computed a chunk of columns at a time, before the chunk's
  // loop over its indices.
  const std::vector<const Node *> columnNodes = columnReductions();
  std::unordered_map<const Node *, llvm::AllocaInst *> columns;
  llvm::Value *colBegin = begin;
  auto rowBody = [&](llvm::Value *p) {
    IrIndex outer{rowShape, {}, p};
    std::vector<llvm::Value *> dims = dimsOf(outer);
    outer.dims = dims;
    llvm::Value *rowBase = b_.CreateMul(p, i64(inner), "row", true, true);
    rowBase_ = rowBase;
    // Row values, computed once per parallel index and reused; and row buffers, members
    // filled for the whole row by a vectorizable loop before the reductions that read
    // them (which then read the buffer, not the generator). In steps (rowSteps): the
    // contiguous row reductions that do not read each other run in one loop.
    const std::vector<std::vector<const Node *>> steps = rowSteps(hoisted, buffered);
    // The full-size inputs and outputs of the next row are prefetched, a cache line per
    // block of 16 elements, during one of the row's reduction loops: the second (the
    // first reads this row's logits from memory) or the only one. The row's compute then
    // overlaps the next row's transfers instead of waiting for them.
    auto batch = [&](const std::vector<const Node *> &s) {
      return !lanes_ && hoisted.count(s.front()) && isContiguousReduce(*s.front());
    };
    std::vector<const std::vector<const Node *> *> batches;
    for (const std::vector<const Node *> &s : steps)
      if (batch(s)) batches.push_back(&s);
    const std::vector<const Node *> *prefetchStep =
        batches.empty() ? nullptr : batches[std::min<size_t>(1, batches.size() - 1)];
    auto prefetchNext = [&](llvm::Value *first) {
      llvm::Value *at = b_.CreateAdd(b_.CreateAdd(rowBase, i64(inner)), first);
      auto fetch = [&](const Value *v, bool write) {
        // Past the last row only a hint is issued (a prefetch never faults).
        b_.CreateIntrinsic(llvm::Intrinsic::prefetch, {b_.getPtrTy()},
                           {b_.CreateGEP(storageType(ctx(), v->dtype()), buffer(v), at), b_.getInt32(write ? 1 : 0),
                            b_.getInt32(3), b_.getInt32(1)});
      };
      for (const Value *v : k_.inputs)
        if (v->type().shape == d.shape) fetch(v, false);
      for (const Value *v : fullOuts)
        if (v->type().shape == d.shape) fetch(v, true);
    };
    // A row buffer read by the next step's reductions at their own elements is filled
    // inside their loop (fill[s + 1]), one pass over the row instead of two: softmax's
    // exp then runs in the loop that prefetches the next row, and the transfers overlap
    // it instead of waiting for a short loop of additions.
    std::unordered_set<const Node *> stored(hoisted.begin(), hoisted.end());
    stored.insert(buffered.begin(), buffered.end());
    std::vector<const Node *> fill(steps.size(), nullptr);
    for (size_t s = 0; s + 1 < steps.size(); ++s) {
      const Node *n = steps[s].front();
      if (steps[s].size() == 1 && buffered.count(n) && !convRows.count(n) && batch(steps[s + 1]) &&
          reducesRows(steps[s + 1], d.shape, inner) && fillsInBatch(*n, steps[s + 1], d.shape, inGroup_, stored))
        fill[s + 1] = n;
    }
    // The row's elements are stored by the loop of the last reductions when they do not
    // read those reductions' results (softmax-xent: the gradient, beside the per-row
    // loss terms), instead of in one more pass over the row. A store may then come
    // before the reductions' loads of its element: row kernels are never written in
    // place (their inputs are not inputsAligned).
    const bool storeInLast =
        !fullOuts.empty() && !steps.empty() && batch(steps.back()) && reducesRows(steps.back(), d.shape, inner) &&
        !readsAnyOf(fullOuts, steps.back(), inGroup_) &&
        std::none_of(k_.inputsAligned.begin(), k_.inputsAligned.end(), [](bool a) { return a; });
    auto rowIndex = [&](llvm::Value *j) {
      std::vector<llvm::Value *> all = dims, in = dimsOf(IrIndex{innerShape, {}, j});
      all.insert(all.end(), in.begin(), in.end());
      return IrIndex{d.shape, all, b_.CreateAdd(rowBase, j, "", true, true)};
    };
    for (size_t s = 0; s < steps.size(); ++s) {
      const std::vector<const Node *> &step = steps[s];
      const Node *n = step.front();
      if (s + 1 < steps.size() && fill[s + 1] == n) continue;  // filled by the next step's loop
      if (batch(step)) {
        // The buffer filled here is computed once per element, stored, and read by the
        // reductions as that value (memo_) within the element's code.
        const Node *f = fill[s];
        const bool stores = storeInLast && s + 1 == steps.size();
        auto perElement = [&](llvm::Value *j) {
          const IrIndex at = rowIndex(j);
          if (f) {
            llvm::Type *t = storageType(ctx(), f->type().dtype);
            llvm::Value *v = generateNode(*f, at);
            b_.CreateStore(v, b_.CreateInBoundsGEP(t, bufferOf.at(f), j));
            memo_[f->result()] = v;
          }
          if (stores) storeAll(fullOuts, [&](const Value *) { return at; }, false);
        };
        std::vector<llvm::Value *> vals =
            reduceContiguous(*this, step, outer, &step == prefetchStep && inner >= kReduceLanes
                                                     ? std::function<void(llvm::Value *)>(prefetchNext)
                                                     : std::function<void(llvm::Value *)>(),
                             f || stores ? std::function<void(llvm::Value *)>(perElement)
                                         : std::function<void(llvm::Value *)>());
        if (f) {
          memo_.erase(f->result());
          rowBuf_[f->result()] = bufferOf.at(f);
        }
        for (size_t i = 0; i < step.size(); ++i) memo_[step[i]->result()] = vals[i];
      } else if (auto c = columns.find(n); c != columns.end()) {
        llvm::Type *t = storageType(ctx(), n->type().dtype);
        memo_[n->result()] =
            b_.CreateLoad(t, b_.CreateInBoundsGEP(t, c->second, b_.CreateSub(p, colBegin, "", true, true)));
      } else if (hoisted.count(n)) {
        memo_[n->result()] = generateNode(*n, outer);
      } else if (convRows.count(n)) {
        emitConvRow(*this, *n, dims, bufferOf.at(n));
        rowBuf_[n->result()] = bufferOf.at(n);
      } else if (buffered.count(n)) {
        llvm::AllocaInst *buf = bufferOf.at(n);
        llvm::Type *t = storageType(ctx(), n->type().dtype);
        auto fill = [&](llvm::Value *j) {
          std::vector<llvm::Value *> all = dims, in = dimsOf(IrIndex{innerShape, {}, j});
          all.insert(all.end(), in.begin(), in.end());
          llvm::Value *v = generateNode(*n, IrIndex{d.shape, all, b_.CreateAdd(rowBase, j, "", true, true)});
          llvm::Value *at = lanes_ ? b_.CreateLShr(j, i64(4)) : j;
          b_.CreateStore(v, b_.CreateInBoundsGEP(t, buf, at));
        };
        if (lanes_) forLaneStride(inner, fill, "rb");
        else forLoop(i64(0), i64(inner), fill, /*vectorize=*/true, "rb");
        rowBuf_[n->result()] = buf;
      }
    }
    storeAll(rowOuts, [&](const Value *) { return outer; }, true);
    if (!fullOuts.empty() && lanes_) {
      // The row's elements split over the lanes, by their offset in the row.
      forLaneStride(inner, [&](llvm::Value *j) {
        std::vector<llvm::Value *> all = dims, in = dimsOf(IrIndex{innerShape, {}, j});
        all.insert(all.end(), in.begin(), in.end());
        llvm::Value *lin = b_.CreateAdd(rowBase, j, "", true, true);
        storeAll(fullOuts, [&](const Value *) { return IrIndex{d.shape, all, lin}; }, false);
      }, "e");
    } else if (!fullOuts.empty() && !storeInLast) {
      std::function<void(size_t, llvm::Value *)> nest = [&](size_t dim, llvm::Value *lin) {
        if (dim == rank) {
          storeAll(fullOuts, [&](const Value *) { return IrIndex{d.shape, dims, lin}; }, false);
          return;
        }
        const int64_t stride = shapeProduct(d.shape, dim + 1, rank);
        forLoop(i64(0), i64(d.shape[dim]), [&](llvm::Value *iv) {
          dims.push_back(iv);
          nest(dim + 1, b_.CreateAdd(lin, b_.CreateMul(iv, i64(stride), "", true, true), "", true, true));
          dims.pop_back();
        }, /*vectorize=*/dim + 1 == rank, fmt::format("d{}", dim));
      };
      nest(pd, rowBase);
    }
    for (const Node *n : k_.hoisted) memo_.erase(n->result());
    rowBuf_.clear();
  };
  if (columnNodes.empty()) {
    forLoop(begin, end, rowBody, /*vectorize=*/pd == rank, "p");
    return;
  }
  const int64_t c = k_.chunk;
  llvm::Value *blocks = b_.CreateUDiv(b_.CreateAdd(b_.CreateSub(end, begin), i64(c - 1)), i64(c), "colblocks");
  forLoop(i64(0), blocks, [&](llvm::Value *blk) {
    llvm::Value *lo = b_.CreateAdd(begin, b_.CreateMul(blk, i64(c), "", true, true), "", true, true);
    llvm::Value *hi = b_.CreateBinaryIntrinsic(llvm::Intrinsic::smin, b_.CreateAdd(lo, i64(c), "", true, true), end);
    colBegin = lo;
    columns = preReduceColumns(columnNodes, lo, hi);
    forLoop(lo, hi, rowBody, /*vectorize=*/pd == rank, "p");
  }, false, "colblock");
}

}  // namespace dlc::cg
