//===- runtime/cuda_compare.cpp - GPU results against the CPU backend's -----===//
#include "runtime/cuda_compare.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

namespace dlc {
namespace {

/// Distance in units in the last place between two floats of the same dtype (+0 and -0
/// are 0 apart; callers handle NaNs).
int64_t ulps(double a, double b, bool f32) {
  if (std::isnan(a) || std::isnan(b)) return INT64_MAX;
  auto key = [](int64_t bits, int64_t signBit) { return bits & signBit ? signBit - bits : bits; };
  if (f32) {
    const float fa = static_cast<float>(a), fb = static_cast<float>(b);
    uint32_t ia, ib;
    std::memcpy(&ia, &fa, 4);
    std::memcpy(&ib, &fb, 4);
    return std::abs(key(ia, int64_t{1} << 31) - key(ib, int64_t{1} << 31));
  }
  int64_t ia, ib;
  std::memcpy(&ia, &a, 8);
  std::memcpy(&ib, &b, 8);
  auto k64 = [](int64_t v) { return v < 0 ? INT64_MIN - v : v; };
  const int64_t ka = k64(ia), kb = k64(ib);
  return ka > kb ? ka - kb : kb - ka;
}

}  // namespace

ResultDiff diffResult(const HostTensor &gpu, const HostTensor &cpu) {
  ResultDiff d;
  d.elements = gpu.numElements();
  const bool fl = isFloat(gpu.dtype());
  const size_t size = static_cast<size_t>(dtypeSize(gpu.dtype()));
  for (int64_t i = 0; i < gpu.numElements(); ++i) {
    const double a = gpu.getDouble(i), b = cpu.getDouble(i);
    if (std::isfinite(b)) d.maxRef = std::max(d.maxRef, std::abs(b));
    if (std::memcmp(gpu.raw() + i * static_cast<int64_t>(size), cpu.raw() + i * static_cast<int64_t>(size), size) == 0)
      continue;
    if (fl && std::isnan(a) && std::isnan(b)) {
      ++d.nanPayload;
      continue;
    }
    ++d.differing;
    if (fl && std::isnan(a) != std::isnan(b)) {
      ++d.nanVsNumber;
      d.maxAbs = INFINITY;
      d.maxUlp = INT64_MAX;
      continue;
    }
    if (fl && a == 0 && b == 0) ++d.signedZero;
    d.maxAbs = std::max(d.maxAbs, std::abs(a - b));
    if (fl) d.maxUlp = std::max(d.maxUlp, ulps(a, b, gpu.dtype() == DType::F32));
  }
  return d;
}

std::string compareWithCpu(std::span<const HostTensor> gpu, std::span<const HostTensor> cpu, double tolerance,
                           bool &ok) {
  ok = gpu.size() == cpu.size();
  std::string out;
  if (gpu.size() != cpu.size())
    out += fmt::format("the GPU gives {} result(s), the CPU {}\n", gpu.size(), cpu.size());
  for (size_t r = 0; r < std::min(gpu.size(), cpu.size()); ++r) {
    const HostTensor &g = gpu[r], &c = cpu[r];
    if (g.type() != c.type()) {
      ok = false;
      out += fmt::format("result {}: GPU {} vs CPU {}: types differ\n", r, typeString(g.type()), typeString(c.type()));
      continue;
    }
    const ResultDiff d = diffResult(g, c);
    const bool pass =
        d.differing == 0 || (tolerance > 0 && d.maxAbs <= tolerance * std::max(d.maxRef, 1e-30));
    ok = ok && pass;
    std::string why;
    if (d.signedZero > 0) why += fmt::format(", {} are +0 vs -0", d.signedZero);
    if (d.nanVsNumber > 0) why += fmt::format(", {} are NaN vs a number", d.nanVsNumber);
    if (d.nanPayload > 0) why += fmt::format("; {} NaN(s) differ in payload only (ignored)", d.nanPayload);
    const std::string ulp = d.maxUlp == INT64_MAX ? std::string("inf") : std::to_string(d.maxUlp);
    out += fmt::format("result {} {}: {} of {} elements differ{}, max abs diff {:.3g} (max |cpu| {:.3g}), max ulp {} "
                       "-> {}\n",
                       r, typeString(g.type()), d.differing, d.elements, why, d.maxAbs, d.maxRef, ulp,
                       d.differing == 0 ? (d.nanPayload ? "equal up to NaN payloads" : "bitwise equal")
                       : pass           ? "within tolerance"
                                        : "MISMATCH");
  }
  return out;
}

}  // namespace dlc
