//===- tests/unit/cuda_compare_test.cpp - --compare-cpu's verdicts ----------===//
//
// runtime/cuda_compare.h: bitwise equality up to NaN payloads. A +0 vs -0 pair is a
// difference (and counted as one, though its absolute and ULP differences are 0); two
// NaNs with different bits are counted apart and pass, as x86's -nan (0xffc00000)
// against the GPU's canonical NaN (0x7fffffff) did in the H200 run of @adam.
//
//===----------------------------------------------------------------------===//
#include <gtest/gtest.h>

#include <bit>
#include <cmath>

#include "runtime/cuda_compare.h"

namespace dlc {
namespace {

HostTensor floats(const std::vector<uint32_t> &bits) {
  std::vector<float> v;
  for (uint32_t b : bits) v.push_back(std::bit_cast<float>(b));
  return HostTensor::fromVector<float>({static_cast<int64_t>(v.size())}, v);
}

TEST(CudaCompare, NanPayloadsPassSignedZerosFail) {
  const uint32_t one = 0x3f800000, gpuNan = 0x7fffffff, x86Nan = 0xffc00000, pz = 0, nz = 0x80000000;
  HostTensor cpu[] = {floats({one, x86Nan, x86Nan})};
  HostTensor gpu[] = {floats({one, gpuNan, gpuNan})};
  bool ok = false;
  std::string text = compareWithCpu(gpu, cpu, 0, ok);
  EXPECT_TRUE(ok) << text;
  EXPECT_NE(text.find("0 of 3 elements differ; 2 NaN(s) differ in payload only (ignored)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("equal up to NaN payloads"), std::string::npos) << text;

  HostTensor cpu2[] = {floats({pz, nz, one, x86Nan})};
  HostTensor gpu2[] = {floats({nz, nz, one, one})};
  const ResultDiff d = diffResult(gpu2[0], cpu2[0]);
  EXPECT_EQ(d.differing, 2);
  EXPECT_EQ(d.signedZero, 1);
  EXPECT_EQ(d.nanVsNumber, 1);
  EXPECT_EQ(d.nanPayload, 0);
  text = compareWithCpu(gpu2, cpu2, 0, ok);
  EXPECT_FALSE(ok) << text;
  EXPECT_NE(text.find("2 of 4 elements differ, 1 are +0 vs -0, 1 are NaN vs a number"), std::string::npos) << text;
  // A tolerance does not excuse a NaN against a number.
  compareWithCpu(gpu2, cpu2, 0.5, ok);
  EXPECT_FALSE(ok);

  HostTensor cpu3[] = {floats({pz})};
  HostTensor gpu3[] = {floats({nz})};
  text = compareWithCpu(gpu3, cpu3, 0, ok);
  EXPECT_FALSE(ok) << "+0 vs -0 is a bitwise difference: " << text;
  EXPECT_NE(text.find("max abs diff 0"), std::string::npos) << text;
  compareWithCpu(gpu3, cpu3, 1e-6, ok);
  EXPECT_TRUE(ok) << "within a tolerance";
}

}  // namespace
}  // namespace dlc
