//===- runtime/executable.h - a compiled function, ready to run -------------===//
//
// Executable::compile verifies a Function, splits it into kernels, JIT-compiles them
// (sharing the process-wide kernel cache of the target), and plans the buffers. run()
// checks the inputs against the signature, runs the kernel schedule in program order,
// each kernel's parallel space split into fixed chunks over the thread pool, and
// returns one tensor per function result.
//
// Numerics: kernel threads flush denormals to zero (FTZ/DAZ) by default: training
// otherwise slows down ~40 % once optimizer state decays into denormals
// (BENCHMARKS.md). `keepDenormals` gives IEEE semantics, and with it results equal the
// reference interpreter bitwise (libm-based transcendentals included). Results never
// depend on the number of threads.
//
// Memory: the buffer plan (runtime/buffer_plan.h, planArena by default) packs every
// temporary into one arena allocated at compile time, reuses dead inputs in place, and
// writes results that alias a donated argument (`aliases %arg`) straight into that
// argument's buffer. runInPlace() uses the caller's tensors directly: a training step
// updates its parameters and optimizer state with no copy and, after its first call,
// allocates nothing. run() keeps its value semantics: donated arguments are first copied
// into buffers the executable owns, so the caller's inputs are never written.
//
// Thread safety: run() and runInPlace() may be called from several threads; runs share
// the executable's arena and are serialized.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "codegen/jit.h"
#include "codegen/kernel_plan.h"
#include "codegen/options.h"
#include "ir/diagnostic.h"
#include "ir/host_tensor.h"
#include "ir/ir.h"
#include "runtime/buffer_plan.h"

namespace dlc {

class ThreadPool;

struct ExecutableOptions {
  /// Target, numerics and thread count (CodegenOptions::threads; 0 = hardware threads).
  CodegenOptions codegen;
  /// Keep IEEE denormals in kernel threads instead of flushing them (FTZ/DAZ).
  bool keepDenormals = false;
  KernelPlanOptions plan;
  /// Assigns buffers; the default plans liveness, in-place reuse and donation into one
  /// arena (planArena); planOneBufferPerValue gives each value its own.
  BufferPlanner planner = [](const Function &f, const KernelPlan &p) { return planArena(f, p); };
  /// After each kernel, scan the floating-point values it wrote (and the arguments,
  /// before the first) for NaN and Inf; run() fails at the first one, located at the IR
  /// node that produced it (`dlc run --check-numerics`). Costs one pass over every output,
  /// and compiles one kernel per op (as plan.fuse = false) so the report names the op.
  bool checkNumerics = false;
  /// Compile with this JIT instead of the process-wide one for `codegen` (Jit::shared);
  /// tests use a fresh JIT to see the on-disk cache as a new process would.
  std::shared_ptr<Jit> jit;
  /// Time every kernel launch (steady clock around each launch); kernelProfile() reports
  /// the totals (`dlc bench --profile`). Off by default: it adds two clock reads a launch.
  bool profile = false;
};

/// The time one kernel of the schedule took over all runs so far (ExecutableOptions::profile).
struct KernelTime {
  std::string name;
  int64_t launches = 0;
  double seconds = 0;
};

/// The largest arena compile() allocates: the machine's physical memory. A bigger
/// buffer plan is a compile error rather than an out-of-memory crash later.
int64_t maxArenaBytes();

class Executable {
 public:
  /// Compiles \p f; it is only read during the call.
  static Expected<std::unique_ptr<Executable>> compile(const Function &f, const ExecutableOptions &opts = {});
  ~Executable();

  /// Runs the function; \p inputs must match the arguments in number and type. The
  /// inputs are only read; each call returns new result tensors.
  Expected<std::vector<HostTensor>> run(std::span<const HostTensor> inputs);

  /// Runs the function on the caller's tensors in place: a result that aliases argument
  /// j (`aliases %arg`) is left in args[j] (written there directly when the plan donated
  /// the buffer, else copied there at the end); every other result i is copied into
  /// results[i], which is (re)allocated only when its type differs. Arguments that no
  /// result aliases are only read. \p results must have one entry per result (entries
  /// of aliased results are not touched).
  Expected<void> runInPlace(std::span<HostTensor> args, std::span<HostTensor> results);

  /// Per kernel, in schedule order: launches and time over every run so far; empty
  /// unless compiled with ExecutableOptions::profile.
  std::vector<KernelTime> kernelProfile() const;

  /// Bytes of the arena, allocated once by compile().
  int64_t arenaBytes() const { return arenaBytes_; }
  /// Allocations made by the executable itself (arena, run()'s scratch copies of donated
  /// inputs, result tensors), counted since compile().
  struct AllocationStats {
    int64_t count = 0;
    int64_t bytes = 0;
  };
  AllocationStats allocationStats() const;
  /// Results written straight into their donated argument, and how many (indices).
  const std::vector<int> &donatedArgs() const { return donatedArgs_; }

  /// One name per kernel launch, in schedule order (`add_3`).
  std::vector<std::string> kernelNames() const;
  const std::string &name() const { return name_; }
  const Jit &jit() const { return *jit_; }
  int numThreads() const;

 private:
  Executable() = default;

  /// One launch of the schedule.
  struct Step {
    std::string name;
    KernelFn fn = nullptr;
    std::vector<size_t> slots;  ///< buffer slot per kernel buffer
    int64_t extent = 0, chunk = 1;
    /// checkNumerics: the floating-point values the kernel writes.
    std::vector<size_t> checked;
  };
  /// checkNumerics: what produced a slot's value (`op log, %y`) and where, for messages.
  struct Origin {
    std::string what;
    Location loc;
  };
  /// checkNumerics: the first NaN or Inf element of a slot's value, as text
  /// (`NaN at element 3 of f32[4]`); empty when every element is finite.
  std::string findNonFinite(size_t slot, const void *data) const;
  /// A slot of the buffer plan, by index.
  struct Slot {
    BufferSlot where;
    TensorType type;
  };

  std::string name_;
  std::vector<TensorType> argTypes_;
  std::vector<std::string> argNames_;
  std::vector<size_t> resultSlots_;
  std::vector<Slot> slots_;
  std::vector<Step> steps_;
  std::shared_ptr<Jit> jit_;
  ThreadPool *pool_ = nullptr;  ///< null: run on the calling thread
  bool flushDenormals_ = true;
  bool checkNumerics_ = false;
  bool profile_ = false;
  std::vector<KernelTime> profileTimes_;  ///< per step, with profile_
  std::vector<Origin> origins_;  ///< per slot, with checkNumerics

  Expected<void> checkArgs(std::span<const HostTensor> inputs) const;
  Expected<void> runSchedule();
  void countAllocation(int64_t bytes);

  std::vector<int> resultAliases_;  ///< per result: the argument it aliases, or -1
  std::vector<int> donatedArgs_;    ///< arguments some kernel writes (donation)
  std::vector<HostTensor> donatedCopies_;  ///< run(): owned copies of donated inputs
  std::vector<void *> ptrs_;        ///< per slot, for the current run
  std::vector<void *> launchArgs_;  ///< buffers of the current launch
  int64_t arenaBytes_ = 0;
  AllocationStats allocs_;

  mutable std::mutex runMu_;  ///< serializes runs; const accessors of run state lock it too
  struct ArenaDeleter {
    void operator()(std::byte *p) const;
  };
  std::unique_ptr<std::byte[], ArenaDeleter> arena_;
};

}  // namespace dlc
