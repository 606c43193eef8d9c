//===- runtime/cuda_compare.h - GPU results against the CPU backend's -------===//
//
// `--compare-cpu` of dlc run and dlc bench: per result, how many elements differ in
// their bits, and why. The strict contract is bitwise equality up to NaN payloads (the
// IR does not specify them: x86 makes the negative default NaN 0xffc00000 and keeps
// an operand's payload, the GPU writes the canonical 0x7fffffff), so two NaNs with
// different bits are counted apart and do not fail a comparison; +0 against -0 does
// (they are different values: 1/x tells them apart) and is counted apart too, since
// neither the absolute difference nor the ULP distance shows it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "ir/host_tensor.h"

namespace dlc {

/// How one result of the GPU differs from the CPU's.
struct ResultDiff {
  int64_t elements = 0;
  int64_t differing = 0;     ///< bits differ, NaN-payload-only differences excluded
  int64_t nanPayload = 0;    ///< both NaN, bits differ (not counted in `differing`)
  int64_t signedZero = 0;    ///< +0 against -0 (counted in `differing`)
  int64_t nanVsNumber = 0;   ///< one NaN, the other not (counted in `differing`)
  double maxAbs = 0;         ///< max |gpu - cpu| over the non-NaN pairs (inf: NaN vs number)
  double maxRef = 0;         ///< max |cpu| over its finite elements
  int64_t maxUlp = 0;        ///< max ULP distance over the differing floats
};
ResultDiff diffResult(const HostTensor &gpu, const HostTensor &cpu);

/// One line per result; \p ok is false when a result differs in type, or in more than
/// NaN payloads and, with \p tolerance > 0, by more than \p tolerance * max |cpu|
/// (0: bitwise equality up to NaN payloads is required).
std::string compareWithCpu(std::span<const HostTensor> gpu, std::span<const HostTensor> cpu, double tolerance,
                           bool &ok);

}  // namespace dlc
