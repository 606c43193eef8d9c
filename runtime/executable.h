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
// Thread safety: run() may be called from several threads; runs share the executable's
// arena and are serialized.
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
  /// Assigns buffers; the default gives each value its own.
  BufferPlanner planner = planOneBufferPerValue;
  /// After each kernel, scan the floating-point values it wrote (and the arguments,
  /// before the first) for NaN and Inf; run() fails at the first one, located at the IR
  /// node that produced it (`dlc run --check-numerics`). Costs one pass over every output.
  bool checkNumerics = false;
  /// Compile with this JIT instead of the process-wide one for `codegen` (Jit::shared);
  /// tests use a fresh JIT to see the on-disk cache as a new process would.
  std::shared_ptr<Jit> jit;
};

/// The largest arena compile() allocates: the machine's physical memory. A bigger
/// buffer plan is a compile error rather than an out-of-memory crash later.
int64_t maxArenaBytes();

class Executable {
 public:
  /// Compiles \p f; it is only read during the call.
  static Expected<std::unique_ptr<Executable>> compile(const Function &f, const ExecutableOptions &opts = {});
  ~Executable();

  /// Runs the function; \p inputs must match the arguments in number and type.
  Expected<std::vector<HostTensor>> run(std::span<const HostTensor> inputs);

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
  std::vector<Origin> origins_;  ///< per slot, with checkNumerics

  std::mutex runMu_;
  struct ArenaDeleter {
    void operator()(std::byte *p) const;
  };
  std::unique_ptr<std::byte[], ArenaDeleter> arena_;
};

}  // namespace dlc
