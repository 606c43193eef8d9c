//===- tests/unit/runtime_reliability_test.cpp - numerics checks, resources --===//
//
// ExecutableOptions::checkNumerics (the first kernel writing a NaN or Inf is reported
// with its op, kernel and IR location; arguments are checked too; off, nothing is
// checked), and a buffer plan larger than the machine's memory, which must be a clear
// compile error rather than std::bad_alloc or a crash.
//
//===----------------------------------------------------------------------===//
#include <cmath>

#include <gtest/gtest.h>

#include "ir/host_tensor.h"
#include "ir/parser.h"
#include "runtime/executable.h"

namespace dlc {
namespace {

Module parse(std::string_view text) {
  Expected<Module> m = parseModule(text, "t.dlc");
  EXPECT_TRUE(m) << m.error().str();
  return m ? std::move(*m) : Module();
}

constexpr std::string_view kNaNInTheMiddle = R"(func @f(%x: f32[4]) -> f32[4] {
  %a = abs %x : f32[4]
  %n = neg %a : f32[4]
  %bad = log %n : f32[4]
  %y = mul %bad, %x : f32[4]
  return %y
}
)";

TEST(CheckNumerics, ReportsTheFirstKernelWithItsLocation) {
  Module m = parse(kNaNInTheMiddle);
  ExecutableOptions o;
  o.checkNumerics = true;
  o.codegen.threads = 1;
  Expected<std::unique_ptr<Executable>> ex = Executable::compile(*m.functions()[0], o);
  ASSERT_TRUE(ex) << ex.error().str();
  const HostTensor x = HostTensor::fromVector(Shape{4}, std::vector<float>{0.5f, 1.0f, 2.0f, 3.0f});
  Expected<std::vector<HostTensor>> r = (*ex)->run({&x, 1});
  ASSERT_FALSE(r);
  const Diagnostic &d = r.error().diagnostics()[0];
  EXPECT_EQ(d.message, "--check-numerics: kernel 'log_2' produced NaN at element 0 of f32[4]: op 'log' ('%bad') of '@f'");
  EXPECT_EQ(d.loc.str(), "t.dlc:4:3");
}

TEST(CheckNumerics, ZeroOverZeroAndInfinity) {
  Module m = parse(R"(func @g(%x: f32[3]) -> f32[3] {
  %z = sub %x, %x : f32[3]
  %q = div %x, %z : f32[3]
  return %q
}
)");
  ExecutableOptions o;
  o.checkNumerics = true;
  Expected<std::unique_ptr<Executable>> ex = Executable::compile(*m.functions()[0], o);
  ASSERT_TRUE(ex);
  const HostTensor x = HostTensor::fromVector(Shape{3}, std::vector<float>{1.0f, 0.0f, -2.0f});
  Expected<std::vector<HostTensor>> r = (*ex)->run({&x, 1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().diagnostics()[0].message,
            "--check-numerics: kernel 'div_1' produced +Inf at element 0 of f32[3]: op 'div' ('%q') of '@g'");
  EXPECT_EQ(r.error().diagnostics()[0].loc.str(), "t.dlc:3:3");
}

TEST(CheckNumerics, ChecksArgumentsAndIsOffByDefault) {
  Module m = parse(kNaNInTheMiddle);
  const HostTensor nan = HostTensor::fromVector(Shape{4}, std::vector<float>{1.0f, NAN, 2.0f, 3.0f});
  ExecutableOptions o;
  o.checkNumerics = true;
  Expected<std::unique_ptr<Executable>> ex = Executable::compile(*m.functions()[0], o);
  ASSERT_TRUE(ex);
  Expected<std::vector<HostTensor>> r = (*ex)->run({&nan, 1});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().diagnostics()[0].message,
            "--check-numerics: argument 1 ('%x') of '@f' holds NaN at element 1 of f32[4]");

  Expected<std::unique_ptr<Executable>> plain = Executable::compile(*m.functions()[0], {});
  ASSERT_TRUE(plain);
  Expected<std::vector<HostTensor>> out = (*plain)->run({&nan, 1});
  ASSERT_TRUE(out) << out.error().str();
  EXPECT_TRUE(std::isnan((*out)[0].data<float>()[0]));
}

TEST(CheckNumerics, FiniteRunsPass) {
  Module m = parse(R"(func @h(%x: f32[2]) -> f32[2] {
  %e = exp %x : f32[2]
  return %e
}
)");
  ExecutableOptions o;
  o.checkNumerics = true;
  Expected<std::unique_ptr<Executable>> ex = Executable::compile(*m.functions()[0], o);
  ASSERT_TRUE(ex);
  const HostTensor x = HostTensor::fromVector(Shape{2}, std::vector<float>{0.0f, 1.0f});
  EXPECT_TRUE((*ex)->run({&x, 1}));
}

TEST(ResourceErrors, AnArenaLargerThanMemoryIsACompileError) {
  // 2^40 floats (4 TiB) in the middle of a function whose inputs and result are small.
  Module m = parse(R"(func @huge(%x: f32[]) -> f32[] {
  %b = broadcast %x dims=[] : f32[1099511627776]
  %s = reduce_sum %b axes=[0] : f32[]
  return %s
}
)");
  ExecutableOptions o;
  o.plan.fuse = false;  // fused, the broadcast would never be materialized
  Expected<std::unique_ptr<Executable>> ex = Executable::compile(*m.functions()[0], o);
  ASSERT_FALSE(ex);
  const std::string msg = ex.error().diagnostics()[0].message;
  // 2^40 floats, plus whatever alignment the planner adds.
  EXPECT_NE(msg.find("cannot allocate 43980465111"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bytes of buffers for '@huge': more than the machine's"), std::string::npos) << msg;
}

TEST(KernelProfile, CountsEveryLaunchAndIsOffByDefault) {
  Module m = parse(kNaNInTheMiddle);
  ExecutableOptions o;
  o.plan.fuse = false;  // one kernel per op: four kernels
  o.profile = true;
  Expected<std::unique_ptr<Executable>> ex = Executable::compile(*m.functions()[0], o);
  ASSERT_TRUE(ex) << ex.error().str();
  const HostTensor x = HostTensor::fromVector(Shape{4}, std::vector<float>{1, 2, 3, 4});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*ex)->run({&x, 1}));
  const std::vector<KernelTime> p = (*ex)->kernelProfile();
  ASSERT_EQ(p.size(), (*ex)->kernelNames().size());
  EXPECT_EQ(p.size(), 4u);
  for (size_t k = 0; k < p.size(); ++k) {
    EXPECT_EQ(p[k].name, (*ex)->kernelNames()[k]);
    EXPECT_EQ(p[k].launches, 3);
    EXPECT_GE(p[k].seconds, 0.0);
  }
  o.profile = false;
  Expected<std::unique_ptr<Executable>> plain = Executable::compile(*m.functions()[0], o);
  ASSERT_TRUE(plain);
  ASSERT_TRUE((*plain)->run({&x, 1}));
  EXPECT_TRUE((*plain)->kernelProfile().empty());
}

}  // namespace
}  // namespace dlc
