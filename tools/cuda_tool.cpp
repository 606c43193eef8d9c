//===- tools/cuda_tool.cpp - `--target=cuda` for dlc run and dlc bench ------===//
#include "tools/cuda_tool.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

namespace dlc::tool {

Expected<GpuTiming> timeOnGpu(const Function &f, std::span<const HostTensor> inputs, const CudaOptions &opts,
                              int warmup, int reps, std::vector<HostTensor> *firstResults, bool useGraph) {
  GpuTiming t;
  const auto t0 = std::chrono::steady_clock::now();
  DL_TRY(std::unique_ptr<CudaExecutable> ex, CudaExecutable::compile(f, opts));
  t.compileMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  t.kernels = ex->numKernels();
  t.device = ex->deviceName();
  if (firstResults) {
    DL_TRY(*firstResults, ex->run(inputs));
  }
  if (Expected<void> ok = ex->setArguments(inputs); !ok) return ok.takeError();
  ex->useGraph(useGraph);
  for (int i = 0; i < warmup; ++i)
    if (Expected<void> ok = ex->launch(); !ok) return ok.takeError();
  if (Expected<void> ok = ex->synchronize(); !ok) return ok.takeError();
  DL_TRY(std::vector<double> ms, ex->timeLaunches(std::max(reps, 1)));
  std::sort(ms.begin(), ms.end());
  t.reps = static_cast<int>(ms.size());
  t.graph = ex->usingGraph();
  t.graphNote = ex->graphNote();
  t.minMs = ms.front();
  t.medianMs = ms[ms.size() / 2];
  return t;
}

}  // namespace dlc::tool
