//===- tools/cuda_tool.h - `--target=cuda` for dlc run and dlc bench --------===//
//
// The GPU paths of the commands: run a function on the GPU (and compare it with the
// CPU backend on the same inputs), and time a benchmark case on the GPU with CUDA
// events, parameters resident on the device between steps.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <span>
#include <string>
#include <vector>

#include "ir/host_tensor.h"
#include "runtime/cuda_compare.h"
#include "runtime/cuda_executable.h"

namespace dlc::tool {

/// GPU timing of one function: compile, upload the inputs once, \p warmup untimed
/// launches, then \p reps timed launches (the function's donated state stays on the
/// device, as in training). Milliseconds per launch. With \p firstResults, the results
/// of one run on \p inputs are stored there first. With \p useGraph the launches replay
/// one CUDA graph where the driver has them (CudaExecutable::useGraph).
struct GpuTiming {
  double minMs = 0, medianMs = 0, compileMs = 0;
  int reps = 0;
  size_t kernels = 0;
  bool graph = false;     ///< the timed launches replayed one CUDA graph
  std::string graphNote;  ///< why not, when one was asked for
  std::string device;
};
Expected<GpuTiming> timeOnGpu(const Function &f, std::span<const HostTensor> inputs, const CudaOptions &opts,
                              int warmup, int reps, std::vector<HostTensor> *firstResults = nullptr,
                              bool useGraph = false);

}  // namespace dlc::tool
