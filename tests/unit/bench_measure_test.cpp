//===- tests/unit/bench_measure_test.cpp - bench/measure.h helpers ----------===//
//
// The ULP distance and output difference that `dlc bench --compare` reports, the
// work counts of a kernel plan, and the random-argument rule for .dlc files. No
// timings are asserted.
//
//===----------------------------------------------------------------------===//
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "bench/measure.h"
#include "bench/workloads.h"
#include "frontend/graph.h"
#include "frontend/nn.h"

namespace dlc::bench {
namespace {

TEST(UlpDistance, CountsRepresentableFloatsBetween) {
  EXPECT_EQ(ulpDistance(1.0f, 1.0f), 0);
  EXPECT_EQ(ulpDistance(1.0f, std::nextafter(1.0f, 2.0f)), 1);
  EXPECT_EQ(ulpDistance(std::nextafter(1.0f, 2.0f), 1.0f), 1);
  float x = 1.0f;
  for (int i = 0; i < 5; ++i) x = std::nextafter(x, 0.0f);
  EXPECT_EQ(ulpDistance(1.0f, x), 5);
  // The float just below 1 and the float just above it: 1 is between them.
  EXPECT_EQ(ulpDistance(1.0f - 0x1p-24f, 1.0f + 0x1p-23f), 2);
}

TEST(UlpDistance, SignedZerosAndCrossingZero) {
  EXPECT_EQ(ulpDistance(0.0f, -0.0f), 0);
  const float tiny = std::numeric_limits<float>::denorm_min();
  EXPECT_EQ(ulpDistance(tiny, -tiny), 2);
  EXPECT_EQ(ulpDistance(-tiny, 0.0f), 1);
  EXPECT_EQ(ulpDistance(-1.0f, -std::nextafter(1.0f, 2.0f)), 1);
}

TEST(UlpDistance, NanAndInfinity) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(ulpDistance(nan, nan), 0);
  EXPECT_EQ(ulpDistance(nan, 1.0f), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ulpDistance(inf, std::numeric_limits<float>::max()), 1);
  EXPECT_GT(ulpDistance(-inf, inf), int64_t{1} << 31);
}

TEST(UlpDistance, Doubles) {
  EXPECT_EQ(ulpDistance(1.0, std::nextafter(1.0, 2.0)), 1);
  EXPECT_EQ(ulpDistance(-0.0, 0.0), 0);
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(ulpDistance(-inf, inf), std::numeric_limits<int64_t>::max());  // saturates
}

TEST(CompareOutputs, ReportsMaxAbsAndUlp) {
  HostTensor a = HostTensor::fromVector<float>({3}, {1.0f, 2.0f, -3.0f});
  HostTensor b = HostTensor::fromVector<float>({3}, {1.0f, std::nextafter(2.0f, 3.0f), -3.5f});
  std::vector<HostTensor> x{a}, y{b};
  OutputDiff d = compareOutputs(x, y);
  EXPECT_TRUE(d.shapesMatch);
  EXPECT_DOUBLE_EQ(d.maxAbs, 0.5);
  EXPECT_EQ(d.maxUlp, ulpDistance(-3.0f, -3.5f));
  EXPECT_FALSE(d.bitwiseEqual());
  EXPECT_TRUE(compareOutputs(x, x).bitwiseEqual());
  std::vector<HostTensor> other{HostTensor::fromVector<float>({2}, {1.0f, 2.0f})};
  EXPECT_FALSE(compareOutputs(x, other).shapesMatch);
  std::vector<HostTensor> ints{HostTensor::fromVector<int32_t>({2}, {4, 9})}, ints2{HostTensor::fromVector<int32_t>({2}, {4, 6})};
  EXPECT_EQ(compareOutputs(ints, ints2).maxUlp, 3);
}

TEST(CountWork, MatmulFlopsAndKernelBytes) {
  WorkloadOptions o;
  o.m = 4, o.n = 3, o.k = 5, o.transA = false, o.transB = true;
  Expected<std::vector<BenchCase>> cases = buildWorkload("gemm", o);
  ASSERT_TRUE(cases) << cases.error().str();
  const WorkCounts w = countWork(*cases->front().function, {});
  EXPECT_EQ(w.kernels, 1);
  EXPECT_EQ(w.flops, 2 * 4 * 3 * 5);
  EXPECT_EQ(w.bytesMoved, 4 * (4 * 5 + 3 * 5 + 4 * 3));
  EXPECT_EQ(w.minBytes, w.bytesMoved);
}

TEST(RandomArguments, LabelsStayBelowTheOneHotDepth) {
  Graph g("loss", {.recordLocations = false});
  Tensor logits = g.input("logits", f32({64, 3}));
  Tensor labels = g.input("labels", i32({64}));
  Expected<Model> m = g.finish(nn::crossEntropy(logits, labels));
  ASSERT_TRUE(m) << m.error().str();
  std::vector<HostTensor> args = randomArguments(*m->function, 7);
  ASSERT_EQ(args.size(), 2u);
  for (float x : args[0].data<float>()) EXPECT_TRUE(x >= 0 && x < 1);
  bool sawTwo = false;
  for (int32_t l : args[1].data<int32_t>()) {
    EXPECT_TRUE(l >= 0 && l < 3) << l;
    sawTwo |= l == 2;
  }
  EXPECT_TRUE(sawTwo);
  // Same seed, same arguments.
  EXPECT_TRUE(compareOutputs(args, randomArguments(*m->function, 7)).bitwiseEqual());
}

TEST(Workloads, EveryWorkloadBuildsAndVerifies) {
  WorkloadOptions o;
  o.elements = 1000;
  o.xentRows = 8;
  o.xentClasses = 5;
  o.batch = 0;
  for (const std::string &name : workloadNames()) {
    Expected<std::vector<BenchCase>> cases = buildWorkload(name, o);
    ASSERT_TRUE(cases) << name << ": " << cases.error().str();
    for (const BenchCase &c : *cases) {
      ASSERT_NE(c.function, nullptr) << c.id;
      EXPECT_EQ(c.inputs.size(), c.function->numArgs()) << c.id;
      for (size_t i = 0; i < c.inputs.size(); ++i) EXPECT_EQ(c.inputs[i].type(), c.function->arg(i)->type()) << c.id;
    }
  }
  Expected<std::vector<BenchCase>> bad = buildWorkload("nope", o);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().str().find("unknown workload 'nope'"), std::string::npos);
}

TEST(Workloads, GeluBackwardDropsTheSumAndAdamUpdatesInPlace) {
  WorkloadOptions o;
  o.elements = 64;
  Expected<std::vector<BenchCase>> gelu = buildWorkload("gelu", o);
  ASSERT_TRUE(gelu) << gelu.error().str();
  ASSERT_EQ(gelu->size(), 2u);
  const Function &bwd = *(*gelu)[1].function;
  ASSERT_EQ(bwd.results().size(), 1u);
  EXPECT_EQ(bwd.results()[0]->type(), f32({64}));
  Expected<std::vector<BenchCase>> adam = buildWorkload("adam", o);
  ASSERT_TRUE(adam) << adam.error().str();
  const WorkCounts w = countWork(*adam->front().function, {});
  EXPECT_EQ(w.minBytes, 64 * 28 + 4);  // p, g, m, v in; p, m, v out; the step counter
}

TEST(GemmShape, ParsesAndRejects) {
  WorkloadOptions o;
  ASSERT_TRUE(parseGemmShape("10,512,128", "TN", o));
  EXPECT_EQ(o.m, 10);
  EXPECT_EQ(o.n, 512);
  EXPECT_EQ(o.k, 128);
  EXPECT_TRUE(o.transA);
  EXPECT_FALSE(o.transB);
  EXPECT_FALSE(parseGemmShape("10,512", "NN", o));
  EXPECT_FALSE(parseGemmShape("10,x,3", "NN", o));
  EXPECT_FALSE(parseGemmShape("0,1,1", "NN", o));
  EXPECT_FALSE(parseGemmShape("1,1,1", "NX", o));
}

}  // namespace
}  // namespace dlc::bench
