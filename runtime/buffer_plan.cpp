//===- runtime/buffer_plan.cpp - where each value's bytes live during a run -===//
#include "runtime/buffer_plan.h"

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

}  // namespace dlc
