//===- tests/unit/codegen_nvptx_test.cpp - the NVPTX backend without a GPU --===//
//
// PTX is generated for every kernel of W1-W5 (fused and unfused, at the benchmark
// shapes) and, when ptxas exists (CUDA toolkit: $PTXAS, else
// /usr/local/cuda/bin/ptxas), assembled for sm_90: every kernel must be valid PTX. A
// machine without CUDA still generates all the PTX (and checks its entries) and says
// why ptxas was skipped. The CUDA runtime's error path (no driver) is checked too; the
// GPU results themselves are checked by scripts/gpu-check on a machine with a GPU.
//
//===----------------------------------------------------------------------===//
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "bench/workloads.h"
#include "codegen/nvptx.h"
#include "ir/builder.h"
#include "ir/verifier.h"
#include "runtime/cuda_executable.h"

namespace dlc {
namespace {

namespace fs = std::filesystem;

std::string findPtxas() {
  if (const char *p = std::getenv("PTXAS"); p && *p) return p;
  std::error_code ec;
  return fs::is_regular_file("/usr/local/cuda/bin/ptxas", ec) ? "/usr/local/cuda/bin/ptxas" : "";
}

/// Runs ptxas on \p ptx; returns its output, empty on success.
std::string assemble(const std::string &ptxas, const std::string &ptx, const std::string &tag) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("dlc_nvptx_test_{}", ::getpid());
  fs::create_directories(dir);
  const fs::path in = dir / (tag + ".ptx"), out = dir / (tag + ".log");
  std::ofstream(in) << ptx;
  const std::string cmd =
      fmt::format("'{}' -arch=sm_90 '{}' -o /dev/null > '{}' 2>&1", ptxas, in.string(), out.string());
  const int rc = std::system(cmd.c_str());
  std::ifstream log(out);
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  fs::remove_all(dir);
  return rc == 0 ? "" : fmt::format("ptxas failed ({}):\n{}", rc, text);
}

struct Workload {
  const char *name;
  bench::WorkloadOptions opts;
};

TEST(CodegenNvptx, EveryKernelOfW1ToW5AssemblesForSm90) {
  const std::string ptxas = findPtxas();
  if (ptxas.empty())
    std::printf("[ SKIPPED  ] ptxas not found (no CUDA toolkit at /usr/local/cuda, $PTXAS unset): PTX is generated "
                "and its entries checked, but not assembled\n");
  const bool libdevice = !findLibdevice().empty();
  bench::WorkloadOptions small;
  small.elements = 1 << 12;  // W3/W4: the kernels do not depend on the size
  std::vector<Workload> loads = {{"mlp", {}}, {"cnn", {}}, {"gelu", small}, {"adam", small}, {"xent", {}}};
  loads.back().opts.xentRows = 256;
  int checked = 0;
  for (const Workload &w : loads) {
    Expected<std::vector<bench::BenchCase>> cases = bench::buildWorkload(w.name, w.opts);
    ASSERT_TRUE(cases) << cases.error().str();
    for (const bench::BenchCase &c : *cases)
      for (bool fuse : {true, false}) {
        const KernelPlan plan = planKernels(*c.function, KernelPlanOptions{.fuse = fuse, .horizontal = false});
        CodegenOptions co;
        // Without libdevice, f32 math comes from the project's own approximations.
        if (!libdevice) co.math = MathMode::Vector;
        Expected<PtxModule> m = compileToPtx(plan.kernels, co, GpuOptions{});
        const std::string tag = fmt::format("{}_{}", c.id, fuse ? "fused" : "unfused");
        ASSERT_TRUE(m) << tag << ": " << m.error().str();
        ASSERT_EQ(m->launches.size(), plan.kernels.size());
        EXPECT_NE(m->ptx.find(".target sm_90"), std::string::npos) << tag;
        for (const GpuLaunch &l : m->launches)
          EXPECT_NE(m->ptx.find(".entry " + l.name + "("), std::string::npos) << tag << ": no entry " << l.name;
        if (!ptxas.empty()) {
          const std::string err = assemble(ptxas, m->ptx, tag);
          EXPECT_EQ(err, "") << tag;
        }
        ++checked;
      }
  }
  EXPECT_EQ(checked, 12);  // mlp, cnn, gelu fwd+bwd, adam, xent; fused and unfused
}

TEST(CodegenNvptx, MathUsesLibdeviceOrTheOwnApproximations) {
  Function f("f");
  Builder b(f);
  Value *x = f.addArg(TensorType{DType::F32, {1024}}, "x");
  Value *y = b.tanh(b.exp(x));
  f.setResults({y});
  ASSERT_TRUE(verify(f));
  const KernelPlan plan = planKernels(f);
  CodegenOptions vec;
  vec.math = MathMode::Vector;
  Expected<PtxModule> own = compileToPtx(plan.kernels, vec, GpuOptions{});
  ASSERT_TRUE(own) << own.error().str();
  EXPECT_FALSE(own->usesLibdevice);
  EXPECT_EQ(own->ptx.find("__nv_"), std::string::npos);

  CodegenOptions libm;  // --math=libm: libdevice on the GPU, as glibc on the CPU
  libm.math = MathMode::Libm;
  GpuOptions missing;
  missing.libdevice = "/nonexistent/libdevice.10.bc";
  Expected<PtxModule> bad = compileToPtx(plan.kernels, libm, missing);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("cannot read libdevice"), std::string::npos) << bad.error().str();

  if (findLibdevice().empty()) GTEST_SKIP() << "no libdevice (CUDA toolkit) on this machine";
  Expected<PtxModule> lib = compileToPtx(plan.kernels, libm, GpuOptions{});
  ASSERT_TRUE(lib) << lib.error().str();
  EXPECT_TRUE(lib->usesLibdevice);
  // Linked and internalized: one entry, no external calls left.
  EXPECT_EQ(lib->ptx.find(".extern .func"), std::string::npos);
}

TEST(CodegenNvptx, UnknownArchitectureIsAnError) {
  Function f("f");
  Builder b(f);
  Value *x = f.addArg(TensorType{DType::F32, {4}}, "x");
  f.setResults({b.add(x, x)});
  GpuOptions g;
  g.arch = "sm_9000";
  Expected<PtxModule> p = compileToPtx(planKernels(f).kernels, CodegenOptions{}, g);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message().find("unknown GPU architecture 'sm_9000'"), std::string::npos) << p.error().str();
}

TEST(CodegenNvptx, NoDriverIsAClearError) {
  // The driver is opened once per process: name a library that cannot exist first.
  ::setenv("DLC_CUDA_DRIVER", "/nonexistent/libcuda.so.1", 1);
  Function f("f");
  Builder b(f);
  Value *x = f.addArg(TensorType{DType::F32, {4}}, "x");
  f.setResults({b.add(x, x)});
  CudaOptions o;
  o.codegen.math = MathMode::Vector;
  Expected<std::unique_ptr<CudaExecutable>> ex = CudaExecutable::compile(f, o);
  ::unsetenv("DLC_CUDA_DRIVER");
  ASSERT_FALSE(ex);
  EXPECT_NE(ex.error().message().find("needs an NVIDIA GPU and its driver"), std::string::npos) << ex.error().str();
  EXPECT_NE(ex.error().message().find("/nonexistent/libcuda.so.1"), std::string::npos) << ex.error().str();
}

}  // namespace
}  // namespace dlc
