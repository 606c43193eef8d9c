//===- runtime/buffer_plan.cpp - where each value's bytes live during a run -===//
#include "runtime/buffer_plan.h"

#include <algorithm>
#include <numeric>

namespace dlc {

BufferPlan planOneBufferPerValue(const Function &f, const KernelPlan &plan) {
  BufferPlan bp;
  for (size_t i = 0; i < f.numArgs(); ++i)
    bp.slots[f.arg(i)] = BufferSlot{BufferSlot::Kind::Argument, static_cast<int64_t>(i), 0};
  std::unordered_map<const Value *, const Value *> aliasOf(plan.aliases.begin(), plan.aliases.end());
  for (const auto &n : f.nodes()) {
    const Value *v = n->result();
    if (auto it = aliasOf.find(v); it != aliasOf.end()) {
      bp.slots[v] = bp.slots.at(it->second);  // the owner comes earlier in program order
      continue;
    }
    bp.slots[v] = BufferSlot{BufferSlot::Kind::Arena, 0, bp.arenaBytes};
    const int64_t bytes = v->type().numBytes();
    bp.arenaBytes += (bytes + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
  }
  return bp;
}

namespace {

int64_t roundUp(int64_t bytes) { return (bytes + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment; }

/// A buffer under construction: a union-find class of values.
struct Class {
  std::vector<const Value *> values;
  int first = -1, last = -1;
  int64_t bytes = 0;
  bool isArg = false;
  int argIndex = -1;   ///< an argument, or the argument a donated result is written into
  bool donated = false;
  int resultIndex = -1;  ///< written straight into this result's tensor
};

}  // namespace

BufferPlan planArena(const Function &f, const KernelPlan &plan, const ArenaOptions &opts) {
  const int numKernels = static_cast<int>(plan.kernels.size());
  std::unordered_map<const Value *, const Value *> aliasOf(plan.aliases.begin(), plan.aliases.end());
  auto ownerOf = [&](const Value *v) {
    for (auto it = aliasOf.find(v); it != aliasOf.end(); it = aliasOf.find(v)) v = it->second;
    return v;
  };

  // One class per argument and per kernel output; reshape views join their owner's.
  std::vector<Class> classes;
  std::unordered_map<const Value *, size_t> classOf;
  std::vector<size_t> parent;
  auto find = [&](size_t c) {
    while (parent[c] != c) c = parent[c] = parent[parent[c]];
    return c;
  };
  auto addClass = [&](const Value *v, int first) {
    Class c;
    c.values = {v};
    c.first = first;
    c.last = first;
    c.bytes = v->type().numBytes();
    classes.push_back(std::move(c));
    parent.push_back(parent.size());
    classOf[v] = classes.size() - 1;
  };
  for (size_t i = 0; i < f.numArgs(); ++i) {
    addClass(f.arg(i), -1);
    classes.back().isArg = true;
    classes.back().argIndex = static_cast<int>(i);
  }
  for (int k = 0; k < numKernels; ++k)
    for (const Value *o : plan.kernels[static_cast<size_t>(k)].outputs) addClass(o, k);
  auto cls = [&](const Value *v) -> Class & { return classes[find(classOf.at(ownerOf(v)))]; };

  // Liveness: the last kernel reading each class; results live to the end.
  for (int k = 0; k < numKernels; ++k)
    for (const Value *v : plan.kernels[static_cast<size_t>(k)].inputs) {
      Class &c = cls(v);
      c.last = std::max(c.last, k);
    }
  for (const Value *r : f.results()) cls(r).last = numKernels;

  // True when kernel k reads every buffer of class c (through any view) only at the
  // index it writes, before storing that index (KernelSpec::inputsAligned), so that its
  // output `out` may be written over class c. In a horizontal kernel the parts run at
  // the same time: only the part writing `out` may read c.
  auto readsAligned = [&](int k, size_t c, const Value *out) {
    const KernelSpec *spec = &plan.kernels[static_cast<size_t>(k)];
    if (spec->kind == KernelKind::Horizontal) {
      const int p = spec->partWriting(out);
      if (p < 0) return false;
      for (size_t q = 0; q < spec->parts.size(); ++q)
        for (const Value *v : spec->parts[q].inputs)
          if (q != static_cast<size_t>(p) && find(classOf.at(ownerOf(v))) == c) return false;
      spec = &spec->parts[static_cast<size_t>(p)];
    }
    // A GEMM's loop epilogue reads its aligned inputs as a loop kernel does (never A or B).
    if (spec->kind != KernelKind::Loop && !spec->gemmLoop) return false;
    for (size_t i = 0; i < spec->inputs.size(); ++i)
      if (find(classOf.at(ownerOf(spec->inputs[i]))) == c && !spec->inputsAligned[i]) return false;
    return true;
  };

  // Donation first: a result aliasing argument j takes j's buffer when nothing reads j
  // after the kernel writing the result, and that kernel (if it reads j) reads it only
  // at the index it writes.
  BufferPlan bp;
  if (opts.donate) {
    const std::vector<int> &aliases = f.resultAliases();
    for (size_t r = 0; r < f.results().size() && r < aliases.size(); ++r) {
      if (aliases[r] < 0) continue;
      const Value *res = f.results()[r];
      if (res->isArgument() || aliasOf.count(res)) continue;
      const size_t rc = find(classOf.at(res));
      const size_t ac = find(classOf.at(f.arg(static_cast<size_t>(aliases[r]))));
      Class &c = classes[rc];
      Class &arg = classes[ac];
      if (c.donated || c.isArg || arg.donated || c.bytes != arg.bytes) continue;
      if (!(arg.last < c.first || (arg.last == c.first && readsAligned(c.first, ac, res)))) continue;
      c.donated = true;
      c.argIndex = aliases[r];
      arg.donated = true;  // one result per argument
      bp.donated.emplace_back(res, aliases[r]);
    }
  }

  // In place: an output may take the buffer of an input of the same size that dies in
  // this kernel, if the kernel reads it only at the index it writes (all outputs of an
  // index are stored after all its loads: codegen/loop_kernel.cpp).
  if (opts.inPlace)
    for (int k = 0; k < numKernels; ++k) {
      const KernelSpec &spec = plan.kernels[static_cast<size_t>(k)];
      if (spec.kind != KernelKind::Loop && spec.kind != KernelKind::Horizontal) continue;
      std::vector<size_t> taken;
      for (const Value *o : spec.outputs) {
        const size_t oc = find(classOf.at(o));
        if (classes[oc].donated) continue;
        for (const Value *v : spec.inputs) {
          const size_t ic = find(classOf.at(ownerOf(v)));
          Class &in = classes[ic];
          if (in.isArg || in.donated || in.last != k || in.bytes != classes[oc].bytes || in.bytes == 0 ||
              std::find(taken.begin(), taken.end(), ic) != taken.end() || !readsAligned(k, ic, o))
            continue;
          taken.push_back(ic);
          parent[oc] = ic;
          in.last = std::max(in.last, classes[oc].last);
          in.values.insert(in.values.end(), classes[oc].values.begin(), classes[oc].values.end());
          bp.inPlace.emplace_back(o, v);
          break;
        }
      }
    }

  // Results that alias nothing live in the tensors handed back to the caller. A class
  // holds at most one result (a result is live to the end, so nothing is written over it).
  if (opts.directResults) {
    const std::vector<int> &aliases = f.resultAliases();
    for (size_t r = 0; r < f.results().size(); ++r) {
      const Value *res = f.results()[r];
      if ((r < aliases.size() && aliases[r] >= 0) || res->isArgument() || aliasOf.count(res)) continue;
      Class &c = classes[find(classOf.at(res))];
      if (c.isArg || c.donated || c.resultIndex >= 0 || c.bytes != res->type().numBytes()) continue;
      c.resultIndex = static_cast<int>(r);
      bp.resultSlots.emplace_back(res, static_cast<int>(r));
    }
  }

  // The arena: largest first, best fit among the buffers live at the same time.
  std::vector<size_t> roots;
  for (size_t c = 0; c < classes.size(); ++c)
    if (find(c) == c && !classes[c].isArg && !classes[c].donated && classes[c].resultIndex < 0) roots.push_back(c);
  std::stable_sort(roots.begin(), roots.end(), [&](size_t a, size_t b) {
    if (classes[a].bytes != classes[b].bytes) return classes[a].bytes > classes[b].bytes;
    return classes[a].first < classes[b].first;
  });
  std::vector<int64_t> offset(classes.size(), 0);
  std::vector<size_t> placed;
  for (size_t c : roots) {
    const Class &me = classes[c];
    const int64_t size = roundUp(me.bytes);
    if (size == 0) continue;
    std::vector<std::pair<int64_t, int64_t>> busy;  // [begin, end) of overlapping buffers
    for (size_t o : placed) {
      const Class &other = classes[o];
      if (other.first <= me.last && me.first <= other.last) busy.emplace_back(offset[o], offset[o] + roundUp(other.bytes));
    }
    std::sort(busy.begin(), busy.end());
    int64_t best = -1, bestGap = 0, cursor = 0;
    for (const auto &[b, e] : busy) {
      if (b - cursor >= size && (best < 0 || b - cursor < bestGap)) {
        best = cursor;
        bestGap = b - cursor;
      }
      cursor = std::max(cursor, e);
    }
    offset[c] = best >= 0 ? best : cursor;
    placed.push_back(c);
    bp.arenaBytes = std::max(bp.arenaBytes, offset[c] + size);
  }

  // Slots, buffers, and the peak of live arena bytes.
  for (size_t c = 0; c < classes.size(); ++c) {
    if (find(c) != c) continue;
    const Class &me = classes[c];
    PlannedBuffer b;
    b.values = me.values;
    b.first = me.first;
    b.last = me.last;
    if (me.isArg || me.donated) {
      b.slot = BufferSlot{BufferSlot::Kind::Argument, me.argIndex, 0};
      b.bytes = me.bytes;
    } else if (me.resultIndex >= 0) {
      b.slot = BufferSlot{BufferSlot::Kind::Result, me.resultIndex, 0};
      b.bytes = me.bytes;
    } else {
      b.slot = BufferSlot{BufferSlot::Kind::Arena, 0, offset[c]};
      b.bytes = roundUp(me.bytes);
    }
    for (const Value *v : me.values) bp.slots[v] = b.slot;
    bp.buffers.push_back(std::move(b));
  }
  for (const auto &[view, owner] : plan.aliases) bp.slots[view] = bp.slots.at(ownerOf(owner));
  for (int t = 0; t < numKernels; ++t) {
    int64_t live = 0;
    for (const PlannedBuffer &b : bp.buffers)
      if (b.slot.kind == BufferSlot::Kind::Arena && b.first <= t && t <= b.last) live += b.bytes;
    if (live > bp.peakLiveBytes) {
      bp.peakLiveBytes = live;
      bp.peakKernel = t;
    }
  }
  return bp;
}

namespace {

std::string labelOf(const Function &f, const Value *v) {
  if (!v->name().empty()) return "%" + v->name();
  int64_t number = 0;
  for (size_t i = 0; i < f.numArgs(); ++i) {
    if (f.arg(i) == v) return fmt::format("%{}", number);
    if (f.arg(i)->name().empty()) ++number;
  }
  for (const auto &n : f.nodes()) {
    if (n->result() == v) return fmt::format("%{}", number);
    if (n->result()->name().empty()) ++number;
  }
  return "%?";
}

}  // namespace

std::string describeBufferPlan(const Function &f, const KernelPlan &plan, const BufferPlan &bp) {
  const int numKernels = static_cast<int>(plan.kernels.size());
  auto kernelName = [&](int k) {
    if (k < 0) return std::string("start");
    if (k >= numKernels) return std::string("end");
    return fmt::format("{}:{}", k, plan.kernels[static_cast<size_t>(k)].name);
  };
  auto valuesOf = [&](const PlannedBuffer &b) {
    std::vector<std::string> names;
    for (const Value *v : b.values) names.push_back(fmt::format("{} {}", labelOf(f, v), typeString(v->type())));
    return fmt::format("{}", fmt::join(names, " -> "));
  };
  int64_t argBytes = 0;
  for (size_t i = 0; i < f.numArgs(); ++i) argBytes += f.arg(i)->type().numBytes();
  std::string out = fmt::format("memory plan of @{}: {} kernel(s)\n", f.name(), numKernels);
  out += fmt::format("arena: {} bytes\n", bp.arenaBytes);
  out += fmt::format("peak: {} bytes live in the arena at kernel {}\n", bp.peakLiveBytes, kernelName(bp.peakKernel));
  out += fmt::format("arguments: {} bytes, caller-owned\n", argBytes);
  for (const auto &[res, arg] : bp.donated)
    out += fmt::format("in place: {} is written into argument {} (donated)\n", labelOf(f, res),
                       labelOf(f, f.arg(static_cast<size_t>(arg))));
  for (const auto &[res, r] : bp.resultSlots)
    out += fmt::format("direct: {} is written into the returned tensor of result {}\n", labelOf(f, res), r);
  for (const auto &[o, in] : bp.inPlace)
    out += fmt::format("in place: {} reuses the buffer of {}\n", labelOf(f, o), labelOf(f, in));
  std::vector<const PlannedBuffer *> arena;
  for (const PlannedBuffer &b : bp.buffers)
    if (b.slot.kind == BufferSlot::Kind::Arena && b.bytes > 0) arena.push_back(&b);
  std::sort(arena.begin(), arena.end(), [](const PlannedBuffer *a, const PlannedBuffer *b) {
    return a->slot.offset != b->slot.offset ? a->slot.offset < b->slot.offset : a->first < b->first;
  });
  out += "live at the peak:\n";
  for (const PlannedBuffer *b : arena)
    if (b->first <= bp.peakKernel && bp.peakKernel <= b->last)
      out += fmt::format("  {:>12} bytes  {}\n", b->bytes, valuesOf(*b));
  out += "arena layout:\n";
  out += fmt::format("  {:>12} {:>12}  {:<28} {}\n", "offset", "bytes", "live (kernels)", "values");
  for (const PlannedBuffer *b : arena)
    out += fmt::format("  {:>12} {:>12}  {:<28} {}\n", b->slot.offset, b->bytes,
                       fmt::format("{} .. {}", kernelName(b->first), kernelName(b->last)), valuesOf(*b));
  return out;
}

}  // namespace dlc
