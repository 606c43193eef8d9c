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
        const KernelPlan plan = planKernels(*c.function, gpuPlanOptions({.fuse = fuse}));
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

// The second GEMM path (--gpu-tf32) and every flat block size (1: one element per
// iteration, 16: four 128-bit accesses per buffer), and a size with a tail, assemble too.
TEST(CodegenNvptx, Tf32GemmsAndFlatBlocksAssembleForSm90) {
  const std::string ptxas = findPtxas();
  const bool libdevice = !findLibdevice().empty();
  bench::WorkloadOptions odd;
  odd.elements = (1 << 12) + 3;  // W3/W4 with a tail of 3 (blocks of 4, 8 or 16)
  std::vector<Workload> loads = {{"mlp", {}}, {"cnn", {}}, {"gelu", odd}, {"adam", odd}, {"xent", {}}};
  loads.back().opts.xentRows = 256;
  GpuOptions tf32, one, sixteen;
  tf32.tf32 = true;
  one.flatElements = 1;
  sixteen.flatElements = 16;
  int checked = 0, mma = 0;
  for (const Workload &w : loads) {
    Expected<std::vector<bench::BenchCase>> cases = bench::buildWorkload(w.name, w.opts);
    ASSERT_TRUE(cases) << cases.error().str();
    for (const bench::BenchCase &c : *cases)
      for (const auto &[name, gpu] : {std::pair{"tf32", tf32}, {"flat1", one}, {"flat16", sixteen}}) {
        const KernelPlan plan = planKernels(*c.function, gpuPlanOptions({.fuse = true}));
        CodegenOptions co;
        if (!libdevice) co.math = MathMode::Vector;
        Expected<PtxModule> m = compileToPtx(plan.kernels, co, gpu);
        const std::string tag = fmt::format("{}_{}", c.id, name);
        ASSERT_TRUE(m) << tag << ": " << m.error().str();
        ASSERT_EQ(m->launches.size(), plan.kernels.size());
        for (const GpuLaunch &l : m->launches) {
          EXPECT_NE(m->ptx.find(".entry " + l.name + "("), std::string::npos) << tag << ": no entry " << l.name;
          EXPECT_LE(l.elementsPerIteration, gpu.flatElements > 0 ? gpu.flatElements : 8) << tag << " " << l.name;
          EXPECT_LT(l.tail, l.elementsPerIteration > 1 ? l.elementsPerIteration : 1) << tag << " " << l.name;
        }
        if (gpu.tf32 && m->ptx.find("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32") != std::string::npos) ++mma;
        if (!ptxas.empty()) {
          EXPECT_EQ(assemble(ptxas, m->ptx, tag), "") << tag;
        }
        ++checked;
      }
  }
  EXPECT_EQ(checked, 18);  // 6 cases x 3 variants
  EXPECT_GE(mma, 1);       // W1's step (the CNN's convolutions are not GEMM kernels)
}

// Flat blocks: all loads of a block, then the math, then the stores; a size that is not
// a multiple of the block leaves a tail; costly bodies take 8 elements per iteration.
TEST(CodegenNvptx, FlatKernelsLoadTheWholeBlockBeforeAnyStore) {
  for (const int64_t n : {int64_t{4096}, int64_t{4099}}) {
    Function f("f");
    Builder b(f);
    Value *x = f.addArg(TensorType{DType::F32, {n}}, "x");
    Value *y = f.addArg(TensorType{DType::F32, {n}}, "y");
    f.setResults({b.mul(b.tanh(x), y), b.add(x, y)});
    ASSERT_TRUE(verify(f));
    const KernelPlan plan = planKernels(f, KernelPlanOptions{.fuse = false});
    CodegenOptions co;
    co.math = MathMode::Vector;
    Expected<PtxModule> m = compileToPtx(plan.kernels, co, GpuOptions{});
    ASSERT_TRUE(m) << m.error().str();
    for (const GpuLaunch &l : m->launches) {
      const bool costly = l.name.rfind("tanh", 0) == 0;
      EXPECT_EQ(l.elementsPerIteration, costly ? 8 : 4) << l.name;
      EXPECT_EQ(l.tail, n % l.elementsPerIteration) << l.name;
      EXPECT_EQ(l.iterations, std::max(n / l.elementsPerIteration, l.tail)) << l.name;
    }
    // In each entry, vector loads of the grid-stride loop come before its first store.
    for (size_t at = m->ptx.find(".entry "); at != std::string::npos; at = m->ptx.find(".entry ", at + 1)) {
      const size_t end = std::min(m->ptx.find(".entry ", at + 1), m->ptx.size());
      const std::string k = m->ptx.substr(at, end - at);
      const size_t firstStore = k.find("st.global.v4.f32");
      const size_t lastLoad = k.rfind("ld.global.nc.v4.f32", firstStore);
      ASSERT_NE(firstStore, std::string::npos) << k;
      ASSERT_NE(lastLoad, std::string::npos) << k;
      // No load between the block's first and last vector store (a tail's scalar loads
      // come after the loop).
      const size_t lastStore = k.rfind("st.global.v4.f32");
      const size_t nextLoad = k.find("ld.global", firstStore);
      EXPECT_TRUE(nextLoad == std::string::npos || nextLoad > lastStore) << k;
    }
  }
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
