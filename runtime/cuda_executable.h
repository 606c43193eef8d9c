//===- runtime/cuda_executable.h - a compiled function on an NVIDIA GPU -----===//
//
// CudaExecutable::compile plans a function's kernels like Executable (the same
// KernelPlan and buffer plan), generates one PTX module for all of them
// (codegen/nvptx.h), has the CUDA driver load it, and allocates on the device: one
// buffer per argument, one per result written directly, and one arena for the
// temporaries. A run is one stream of launches in schedule order.
//
// Parameters stay on the device: setArguments() uploads, launch() runs the schedule on
// the device buffers (a result that aliases an argument, `aliases %arg`, is left in that
// argument's device buffer, so a training step's updated parameters and optimizer state
// feed the next launch()), results() and argument() download. run() is the value
// semantics of Executable::run: upload, launch, download.
//
// LLVM-free; no build-time CUDA dependency (runtime/cuda_driver.h opens the driver).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "codegen/kernel_plan.h"
#include "codegen/nvptx.h"
#include "codegen/options.h"
#include "ir/diagnostic.h"
#include "ir/host_tensor.h"
#include "ir/ir.h"

namespace dlc {

struct CudaOptions {
  CodegenOptions codegen;  ///< numerics (math mode, fast math, opt level)
  GpuOptions gpu;          ///< architecture, libdevice, denormals
  KernelPlanOptions plan;
};

class CudaExecutable {
 public:
  /// Generates the PTX, opens the driver, loads the module and allocates device memory.
  static Expected<std::unique_ptr<CudaExecutable>> compile(const Function &f, const CudaOptions &opts = {});
  ~CudaExecutable();

  /// Uploads \p args (which must match the signature) into the device buffers.
  Expected<void> setArguments(std::span<const HostTensor> args);
  /// Uploads argument \p i only (a training batch, the learning rate).
  Expected<void> setArgument(size_t i, const HostTensor &value);
  /// Runs the schedule once on the device buffers (as a graph after useGraph(true));
  /// asynchronous (results() waits).
  Expected<void> launch();
  /// Waits for the launches so far.
  Expected<void> synchronize();
  /// Downloads every result (aliased ones from their argument's buffer).
  Expected<std::vector<HostTensor>> results();
  /// Downloads result \p r only (a training step's loss).
  Expected<HostTensor> result(size_t r);
  /// Downloads argument \p i (after launches: the updated parameter).
  Expected<HostTensor> argument(size_t i);

  /// With \p on (and a driver that has CUDA graphs), the next launch() captures the
  /// schedule into a CUDA graph once and every launch() replays it with one driver call
  /// (the buffers never move, so the captured launches stay valid). Where the driver has
  /// no graphs or the capture fails, launches go to the stream; graphNote() says why.
  void useGraph(bool on);
  /// True once launches replay a graph.
  bool usingGraph() const;
  /// Why graphs are not used (empty when they are, or were not asked for).
  std::string graphNote() const;
  /// setArguments + launch + results.
  Expected<std::vector<HostTensor>> run(std::span<const HostTensor> args);
  /// Milliseconds of GPU time per launch() over \p reps launches (CUDA events).
  Expected<std::vector<double>> timeLaunches(int reps);

  /// Kernel launches per run, their names, the PTX, the device's name.
  size_t numKernels() const;
  std::vector<std::string> kernelNames() const;
  const std::string &ptx() const { return ptx_; }
  std::string deviceName() const;
  int64_t deviceBytes() const { return deviceBytes_; }

 private:
  CudaExecutable() = default;
  /// The schedule's launches and copies, on the stream.
  Expected<void> enqueue();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string ptx_;
  int64_t deviceBytes_ = 0;
};

}  // namespace dlc
