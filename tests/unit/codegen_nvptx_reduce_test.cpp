//===- tests/unit/codegen_nvptx_reduce_test.cpp - GPU reductions, no GPU needed ===//
//
// Contiguous reductions on the GPU run a half warp per output (codegen/nvptx.cpp,
// KernelEmitter's LaneGroup): lane l accumulates the canonical order's partial sum l
// (ir/reduce_order.h), shuffles combine the 16 in its fixed tree. Without a GPU this
// checks (1) that the schedule, modelled here step by step with shfl.down's semantics,
// is exactly reduceContiguous (bitwise, signed zeros and NaNs included), (2) which
// kernels get a half warp and that their PTX has the shuffles and assembles for sm_90
// (ptxas, when present), and (3) that every op file and fusion model of the lit tests
// compiles to PTX that ptxas accepts. scripts/gpu-check runs them on a GPU against the
// CPU backend.
//
//===----------------------------------------------------------------------===//
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include "codegen/nvptx.h"
#include "ir/parser.h"
#include "ir/reduce_order.h"
#include "ir/verifier.h"

namespace dlc {
namespace {

namespace fs = std::filesystem;

/// The GPU schedule on the host: lanes 0..15 of one half warp.
template <class T, class Combine> T halfWarpReduce(const T *x, int64_t n, T init, Combine combine) {
  T lane[kReduceLanes];
  for (int64_t l = 0; l < kReduceLanes; ++l) {
    lane[l] = init;
    for (int64_t i = l; i < n; i += kReduceLanes) lane[l] = combine(lane[l], x[i]);
  }
  // shfl.sync.down(v, w) within a 16-lane segment: lane l reads lane l + w, or its own
  // value where l + w leaves the segment; every lane combines (the upper ones uselessly).
  for (int64_t w = kReduceLanes / 2; w >= 1; w /= 2) {
    T shuffled[kReduceLanes];
    for (int64_t l = 0; l < kReduceLanes; ++l) shuffled[l] = l + w < kReduceLanes ? lane[l + w] : lane[l];
    for (int64_t l = 0; l < kReduceLanes; ++l) lane[l] = combine(lane[l], shuffled[l]);
  }
  return lane[0];  // shfl.sync.idx(v, 0)
}

template <class T> bool sameBits(T a, T b) {
  if constexpr (sizeof(T) == 4) return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b);
  else return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

TEST(NvptxReduce, HalfWarpScheduleIsTheCanonicalOrder) {
  std::mt19937_64 g(7);
  std::uniform_real_distribution<float> u(-1e4f, 1e4f);
  auto add = [](float a, float b) { return a + b; };
  // The interpreter's max: NaN propagates, ties keep the first operand.
  auto max = [](float a, float b) { return std::isnan(a) ? a : std::isnan(b) ? b : (b > a ? b : a); };
  int checked = 0;
  for (int64_t n : {1, 2, 7, 15, 16, 17, 31, 32, 33, 100, 255, 256, 1000, 4097}) {
    for (int variant = 0; variant < 4; ++variant) {
      std::vector<float> x(static_cast<size_t>(n));
      for (float &v : x) v = u(g) * (variant == 1 ? 1e-30f : 1.0f);
      if (variant == 2)  // signed zeros only: the sum's sign depends on the order
        for (size_t i = 0; i < x.size(); ++i) x[i] = i % 3 == 0 ? 0.0f : -0.0f;
      if (variant == 3) x[x.size() / 2] = std::numeric_limits<float>::quiet_NaN();
      const float a = reduceContiguous(x.data(), n, 0.0f, add);
      const float b = halfWarpReduce(x.data(), n, 0.0f, add);
      EXPECT_TRUE(sameBits(a, b)) << "sum n=" << n << " variant " << variant << ": " << a << " vs " << b;
      const float inf = -std::numeric_limits<float>::infinity();
      EXPECT_TRUE(sameBits(reduceContiguous(x.data(), n, inf, max), halfWarpReduce(x.data(), n, inf, max)))
          << "max n=" << n << " variant " << variant;
      ++checked;
    }
  }
  std::vector<double> d(777);
  for (double &v : d) v = static_cast<double>(u(g)) * 1e-3;
  auto addd = [](double a, double b) { return a + b; };
  EXPECT_TRUE(sameBits(reduceContiguous(d.data(), 777, 0.0, addd), halfWarpReduce(d.data(), 777, 0.0, addd)));
  EXPECT_EQ(checked, 56);
}

std::string findPtxas() {
  if (const char *p = std::getenv("PTXAS"); p && *p) return p;
  std::error_code ec;
  return fs::is_regular_file("/usr/local/cuda/bin/ptxas", ec) ? "/usr/local/cuda/bin/ptxas" : "";
}

/// ptxas -arch=sm_90 on \p ptx: its output, empty on success (and without ptxas).
std::string assemble(const std::string &ptx, const std::string &tag) {
  static const std::string ptxas = findPtxas();
  if (ptxas.empty()) return "";
  const fs::path dir = fs::temp_directory_path() / fmt::format("dlc_nvptx_reduce_{}", ::getpid());
  fs::create_directories(dir);
  const fs::path in = dir / (tag + ".ptx"), out = dir / (tag + ".log");
  std::ofstream(in) << ptx;
  const int rc = std::system(
      fmt::format("'{}' -arch=sm_90 '{}' -o /dev/null > '{}' 2>&1", ptxas, in.string(), out.string()).c_str());
  std::ifstream log(out);
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  fs::remove_all(dir);
  return rc == 0 ? "" : fmt::format("ptxas failed ({}):\n{}", rc, text);
}

constexpr const char *kReductions = R"(
func @rowsum(%x: f32[64,100]) -> f32[64] {
  %0 = reduce_sum %x axes=[1] : f32[64]
  return %0
}
func @colsum(%x: f32[100,64]) -> f32[64] {
  %0 = reduce_sum %x axes=[0] : f32[64]
  return %0
}
func @total(%x: f32[10,1000]) -> f32[] {
  %0 = reduce_sum %x axes=[0,1] : f32[]
  return %0
}
func @rowmax64(%x: f64[8,33]) -> f64[8] {
  %0 = reduce_max %x axes=[1] : f64[8]
  return %0
}
func @rowsumi(%x: i32[5,7]) -> i32[5] {
  %0 = reduce_sum %x axes=[1] : i32[5]
  return %0
}
func @rowsuml(%x: i64[3,40]) -> i64[3] {
  %0 = reduce_sum %x axes=[1] : i64[3]
  return %0
}
func @softmax(%x: f32[128,10]) -> f32[128,10] {
  %m = reduce_max %x axes=[1] : f32[128]
  %mb = broadcast %m dims=[0] : f32[128,10]
  %d = sub %x, %mb : f32[128,10]
  %e = exp %d : f32[128,10]
  %s = reduce_sum %e axes=[1] : f32[128]
  %sb = broadcast %s dims=[0] : f32[128,10]
  %y = div %e, %sb : f32[128,10]
  return %y
}
func @meansq(%x: f32[256,300]) -> f32[256] {
  %q = mul %x, %x : f32[256,300]
  %s = reduce_sum %q axes=[1] : f32[256]
  %c = constant 0.0033333334 : f32[256]
  %m = mul %s, %c : f32[256]
  return %m
}
)";

TEST(NvptxReduce, ContiguousReductionsRunAHalfWarpPerOutput) {
  Expected<Module> m = parseModule(kReductions, "reductions.dlc");
  ASSERT_TRUE(m) << m.error().str();
  struct Expect {
    const char *fn;
    bool halfWarp;  // every kernel with a contiguous reduction
  };
  const Expect cases[] = {{"rowsum", true},  {"colsum", false},  {"total", true}, {"rowmax64", true},
                          {"rowsumi", true}, {"rowsuml", true},  {"softmax", true}, {"meansq", true}};
  CodegenOptions co;
  co.math = MathMode::Vector;
  for (const Expect &c : cases) {
    const Function *f = m->lookup(c.fn);
    ASSERT_NE(f, nullptr);
    ASSERT_TRUE(verify(*f)) << c.fn;
    for (bool fuse : {true, false}) {
      const std::string tag = fmt::format("{}_{}", c.fn, fuse ? "fused" : "unfused");
      const KernelPlan plan = planKernels(*f, gpuPlanOptions({.fuse = fuse}));
      Expected<PtxModule> ptx = compileToPtx(plan.kernels, co, GpuOptions{});
      ASSERT_TRUE(ptx) << tag << ": " << ptx.error().str();
      bool any = false;
      for (size_t k = 0; k < plan.kernels.size(); ++k) {
        const GpuLaunch &l = ptx->launches[k];
        if (l.threadsPerIndex == 1) continue;
        any = true;
        EXPECT_EQ(l.threadsPerIndex, kReduceLanes) << tag;
        EXPECT_EQ(l.iterations, plan.kernels[k].domain.parallelExtent() * kReduceLanes) << tag << " " << l.name;
      }
      EXPECT_EQ(any, c.halfWarp) << tag;
      const bool shuffles = ptx->ptx.find("shfl.sync.down.b32") != std::string::npos;
      EXPECT_EQ(shuffles, c.halfWarp) << tag;
      if (c.halfWarp) {
        EXPECT_NE(ptx->ptx.find("shfl.sync.idx.b32"), std::string::npos) << tag;
      }
      EXPECT_EQ(assemble(ptx->ptx, tag), "") << tag;
    }
  }
}

/// Every function of the op files (tests/lit/print: every op of ops.def) and of the
/// fusion models (tests/lit/fuse), fused and unfused: PTX that ptxas accepts.
TEST(NvptxReduce, EveryOpFileAndModelAssemblesForSm90) {
  int functions = 0;
  for (const char *dir : {"tests/lit/print", "tests/lit/fuse"}) {
    for (const fs::directory_entry &e : fs::directory_iterator(fs::path(DLC_SOURCE_DIR) / dir)) {
      if (e.path().extension() != ".dlc") continue;
      Expected<Module> m = parseFile(e.path().string());
      if (!m) continue;  // files that test parse errors
      for (const std::unique_ptr<Function> &f : m->functions()) {
        if (!verify(*f)) continue;
        for (bool fuse : {true, false}) {
          const std::string tag = fmt::format("{}_{}_{}", e.path().stem().string(), f->name(), fuse ? "f" : "u");
          const KernelPlan plan = planKernels(*f, gpuPlanOptions({.fuse = fuse}));
          CodegenOptions co;
          co.math = MathMode::Vector;
          Expected<PtxModule> ptx = compileToPtx(plan.kernels, co, GpuOptions{});
          ASSERT_TRUE(ptx) << tag << ": " << ptx.error().str();
          EXPECT_EQ(assemble(ptx->ptx, tag), "") << tag;
        }
        ++functions;
      }
    }
  }
  EXPECT_GE(functions, 15);  // 18 when written
}

}  // namespace
}  // namespace dlc
