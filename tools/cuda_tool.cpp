//===- tools/cuda_tool.cpp - `--target=cuda` for dlc run and dlc bench ------===//
#include "tools/cuda_tool.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

namespace dlc::tool {
namespace {

/// Distance in units in the last place between two floats of the same dtype.
int64_t ulps(double a, double b, bool f32) {
  if (std::isnan(a) && std::isnan(b)) return 0;
  if (std::isnan(a) || std::isnan(b)) return INT64_MAX;
  auto key = [](int64_t bits, int64_t signBit) { return bits & signBit ? signBit - bits : bits; };
  if (f32) {
    const float fa = static_cast<float>(a), fb = static_cast<float>(b);
    int32_t ia, ib;
    std::memcpy(&ia, &fa, 4);
    std::memcpy(&ib, &fb, 4);
    const int64_t ka = key(static_cast<int64_t>(static_cast<uint32_t>(ia)), int64_t{1} << 31);
    const int64_t kb = key(static_cast<int64_t>(static_cast<uint32_t>(ib)), int64_t{1} << 31);
    return std::abs(ka - kb);
  }
  int64_t ia, ib;
  std::memcpy(&ia, &a, 8);
  std::memcpy(&ib, &b, 8);
  auto k64 = [](int64_t v) { return v < 0 ? INT64_MIN - v : v; };
  const int64_t ka = k64(ia), kb = k64(ib);
  return ka > kb ? ka - kb : kb - ka;
}

}  // namespace

std::string compareWithCpu(std::span<const HostTensor> gpu, std::span<const HostTensor> cpu, double tolerance,
                           bool &ok) {
  ok = gpu.size() == cpu.size();
  std::string out;
  for (size_t r = 0; r < std::min(gpu.size(), cpu.size()); ++r) {
    const HostTensor &g = gpu[r], &c = cpu[r];
    if (g.type() != c.type()) {
      ok = false;
      out += fmt::format("result {}: GPU {} vs CPU {}: types differ\n", r, typeString(g.type()), typeString(c.type()));
      continue;
    }
    double maxAbs = 0, maxRef = 0;
    int64_t maxUlp = 0, differing = 0;
    const bool fl = isFloat(g.dtype());
    for (int64_t i = 0; i < g.numElements(); ++i) {
      const double a = g.getDouble(i), b = c.getDouble(i);
      const bool same = std::memcmp(g.raw() + i * dtypeSize(g.dtype()), c.raw() + i * dtypeSize(c.dtype()),
                                    static_cast<size_t>(dtypeSize(g.dtype()))) == 0;
      if (!same) ++differing;
      if (std::isfinite(b)) maxRef = std::max(maxRef, std::abs(b));
      const double d = std::isnan(a) && std::isnan(b) ? 0 : std::abs(a - b);
      maxAbs = std::max(maxAbs, std::isnan(d) ? INFINITY : d);
      if (fl && !same) maxUlp = std::max(maxUlp, ulps(a, b, g.dtype() == DType::F32));
    }
    const bool pass = differing == 0 || (tolerance > 0 && maxAbs <= tolerance * std::max(maxRef, 1e-30));
    ok = ok && pass;
    out += fmt::format("result {} {}: {} of {} elements differ, max abs diff {:.3g} (max |cpu| {:.3g}), max ulp {} "
                       "-> {}\n",
                       r, typeString(g.type()), differing, g.numElements(), maxAbs, maxRef, maxUlp,
                       differing == 0 ? "bitwise equal" : pass ? "within tolerance" : "MISMATCH");
  }
  return out;
}

Expected<GpuTiming> timeOnGpu(const Function &f, std::span<const HostTensor> inputs, const CudaOptions &opts,
                              int warmup, int reps, std::vector<HostTensor> *firstResults) {
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
  for (int i = 0; i < warmup; ++i)
    if (Expected<void> ok = ex->launch(); !ok) return ok.takeError();
  if (Expected<void> ok = ex->synchronize(); !ok) return ok.takeError();
  DL_TRY(std::vector<double> ms, ex->timeLaunches(std::max(reps, 1)));
  std::sort(ms.begin(), ms.end());
  t.reps = static_cast<int>(ms.size());
  t.minMs = ms.front();
  t.medianMs = ms[ms.size() / 2];
  return t;
}

}  // namespace dlc::tool
