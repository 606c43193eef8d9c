//===- runtime/buffer_plan.h - where each value's bytes live during a run ---===//
//
// A BufferPlan assigns every value of a function a slot: an argument's caller-owned
// tensor, or a region of the executable's arena. The planner is a plain function, so
// liveness-based memory planning (reuse, in-place updates of donated parameters) can
// replace the default without touching the executable.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <functional>
#include <unordered_map>

#include "codegen/kernel_plan.h"
#include "ir/ir.h"

namespace dlc {

/// Where one value lives.
struct BufferSlot {
  enum class Kind : uint8_t {
    Argument,  ///< the caller's input tensor `index`
    Arena,     ///< the arena at byte `offset`
  };
  Kind kind = Kind::Arena;
  int64_t index = 0;   ///< argument index (Argument)
  int64_t offset = 0;  ///< byte offset, a multiple of kBufferAlignment (Arena)
};

/// Alignment of arena buffers: a cache line and an AVX-512 vector.
inline constexpr int64_t kBufferAlignment = 64;

struct BufferPlan {
  /// Every argument and node result of the function.
  std::unordered_map<const Value *, BufferSlot> slots;
  int64_t arenaBytes = 0;
};

/// Plans the buffers of \p f for the kernel schedule \p plan.
using BufferPlanner = std::function<BufferPlan(const Function &f, const KernelPlan &plan)>;

/// The phase-1 planner: every node result gets its own aligned arena region (no reuse);
/// a value that aliases another (a reshape) shares its owner's slot.
BufferPlan planOneBufferPerValue(const Function &f, const KernelPlan &plan);

}  // namespace dlc
