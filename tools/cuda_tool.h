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
#include "runtime/cuda_executable.h"

namespace dlc::tool {

/// Per result: max |gpu - cpu|, the largest |cpu| and the max ULP distance, as one line
/// each; \p ok is false when a result differs by more than \p tolerance * max |cpu|
/// (0: bitwise equality is required) or in shape.
std::string compareWithCpu(std::span<const HostTensor> gpu, std::span<const HostTensor> cpu, double tolerance,
                           bool &ok);

/// GPU timing of one function: compile, upload the inputs once, \p warmup untimed
/// launches, then \p reps timed launches (the function's donated state stays on the
/// device, as in training). Milliseconds per launch. With \p firstResults, the results
/// of one run on \p inputs are stored there first.
struct GpuTiming {
  double minMs = 0, medianMs = 0, compileMs = 0;
  int reps = 0;
  size_t kernels = 0;
  std::string device;
};
Expected<GpuTiming> timeOnGpu(const Function &f, std::span<const HostTensor> inputs, const CudaOptions &opts,
                              int warmup, int reps, std::vector<HostTensor> *firstResults = nullptr);

}  // namespace dlc::tool
