//===- runtime/buffer_plan.h - where each value's bytes live during a run ---===//
//
// A BufferPlan assigns every value of a function a slot: an argument's caller-owned
// tensor, or a region of the executable's arena. The planner is a plain function, so
// the executable does not depend on how the plan was made.
//
// planArena (the default) plans memory over the kernel schedule:
//  - liveness: a buffer is live from the kernel that writes it to the last kernel that
//    reads it (results: to the end of the run); a reshape's view extends its owner's;
//  - in place: a flat elementwise kernel (every input read only at the index it
//    writes) may write an output into an input that dies in that kernel, if the sizes
//    are equal;
//  - donation: a result that `aliases %arg` is written straight into that argument's
//    buffer when no later kernel reads the argument (a training step updates its
//    parameters and optimizer state in place; Executable::runInPlace);
//  - results: a result that aliases nothing is written by its kernel straight into
//    the tensor returned to the caller (no copy at the end of a run);
//  - the arena: every other buffer gets an offset, largest first, in the smallest gap
//    that fits among the buffers live at the same time (best fit). The arena's size is
//    the largest end offset; `dlc mem` prints it with the buffers live at the peak.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "codegen/kernel_plan.h"
#include "ir/ir.h"

namespace dlc {

/// Where one value lives.
struct BufferSlot {
  enum class Kind : uint8_t {
    Argument,  ///< the caller's input tensor `index`
    Arena,     ///< the arena at byte `offset`
    Result,    ///< the tensor returned as result `index` (written there directly)
  };
  Kind kind = Kind::Arena;
  int64_t index = 0;   ///< argument index (Argument), result index (Result)
  int64_t offset = 0;  ///< byte offset, a multiple of kBufferAlignment (Arena)
};

/// Alignment of arena buffers: a cache line and an AVX-512 vector.
inline constexpr int64_t kBufferAlignment = 64;

/// One buffer of the plan: the values sharing it (an output written in place over a
/// dead input, reshape views) and when it is live.
struct PlannedBuffer {
  std::vector<const Value *> values;  ///< in order of definition
  BufferSlot slot;
  int64_t bytes = 0;  ///< rounded up to kBufferAlignment for arena buffers
  /// Kernel indices: written by `first` (-1: an argument, live from the start), last
  /// read by `last` (numKernels: a result, live to the end).
  int first = -1, last = -1;
};

struct BufferPlan {
  /// Every argument and node result of the function.
  std::unordered_map<const Value *, BufferSlot> slots;
  int64_t arenaBytes = 0;
  /// Filled by planArena (empty for planOneBufferPerValue): the buffers, the largest
  /// sum of live arena bytes at one kernel and that kernel's index.
  std::vector<PlannedBuffer> buffers;
  int64_t peakLiveBytes = 0;
  int peakKernel = -1;
  /// Values written in place over a dead input (output, input), and results written
  /// into their donated argument (result value, argument index).
  std::vector<std::pair<const Value *, const Value *>> inPlace;
  std::vector<std::pair<const Value *, int>> donated;
  /// Results written straight into the returned tensor: (value, result index).
  std::vector<std::pair<const Value *, int>> resultSlots;
};

/// Plans the buffers of \p f for the kernel schedule \p plan.
using BufferPlanner = std::function<BufferPlan(const Function &f, const KernelPlan &plan)>;

/// The phase-1 planner: every node result gets its own aligned arena region (no reuse);
/// a value that aliases another (a reshape) shares its owner's slot.
BufferPlan planOneBufferPerValue(const Function &f, const KernelPlan &plan);

struct ArenaOptions {
  bool inPlace = true;  ///< reuse a dead input's buffer for an elementwise output
  bool donate = true;   ///< write aliased results into their argument's buffer
  bool directResults = true;  ///< write results into the returned tensors, not the arena
};

/// Liveness-based planning into one arena (see above).
BufferPlan planArena(const Function &f, const KernelPlan &plan, const ArenaOptions &opts = {});

/// The plan as text: the peak, the buffers live at the peak, and the arena layout
/// (offset, size, values, live range). What `dlc mem` prints.
std::string describeBufferPlan(const Function &f, const KernelPlan &plan, const BufferPlan &bp);

}  // namespace dlc
