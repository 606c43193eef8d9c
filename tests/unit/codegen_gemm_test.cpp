//===- tests/unit/codegen_gemm_test.cpp - the generated GEMM ----------------===//
//
// The f32 GEMM (codegen/gemm.h) against the interpreter, bitwise: random shapes around
// the vector widths and the micro-kernel's MR/NR, size-1 dims, empty contractions,
// shapes that cut into several tiles and K blocks, all four transposes, batches; for the
// host (AVX-512), AVX2 and generic targets, 1 and 2 threads (checkJitCase). Then the
// epilogue hook: a GEMM kernel with bias + ReLU in its epilogue equals the interpreter's
// max(matmul + bias, 0) bitwise. This file sees LLVM (codegen's internal headers) for
// the hook, which only codegen code can set.
//
//===----------------------------------------------------------------------===//
#include <array>
#include <map>

#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>

#include "codegen/emit.h"
#include "codegen/gemm.h"
#include "codegen/gemm_plan.h"
#include "codegen/jit.h"
#include "codegen/kernel_emitter.h"
#include "codegen/llvm_support.h"
#include "codegen/target.h"
#include "codegen_test_util.h"
#include "ir/interpreter.h"

namespace dlc::test {
namespace {

JitCase gemmCase(Rng &r, std::vector<int64_t> batch, int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  Shape a = batch, b = batch;
  a.insert(a.end(), ta ? std::initializer_list<int64_t>{k, m} : std::initializer_list<int64_t>{m, k});
  b.insert(b.end(), tb ? std::initializer_list<int64_t>{n, k} : std::initializer_list<int64_t>{k, n});
  std::vector<TensorType> types{TensorType{DType::F32, a}, TensorType{DType::F32, b}};
  JitCase c;
  c.label = fmt::format("matmul [{}] {}x{}x{} {}{}", fmt::join(batch, ","), m, n, k, ta ? 'T' : 'N', tb ? 'T' : 'N');
  c.fn = singleOp(OpKind::MatMul, types, MatMulAttrs{ta, tb});
  InputStyle style;
  style.special = 0.002;  // a few NaN/inf/denormals/extremes, not so many that all is NaN
  for (const TensorType &t : types) c.inputs.push_back(r.tensor(t, style));
  return c;
}

TEST(CodegenGemm, RandomShapesAllTransposesMatchInterpreter) {
  Rng r(4242);
  const std::vector<int64_t> ms{1, 2, 5, 6, 7, 12, 13, 31, 64}, ns{1, 3, 8, 10, 15, 16, 17, 32, 33, 47, 64, 100},
      ks{0, 1, 2, 15, 16, 17, 40};
  for (int i = 0; i < 24; ++i)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        std::vector<int64_t> batch;
        if (r.coin(0.25)) batch = {r.uniformInt(1, 3)};
        JitCase c = gemmCase(r, batch, r.pick(ms), r.pick(ns), r.pick(ks), ta, tb);
        SCOPED_TRACE(c.label);
        checkJitCase(c);
      }
}

// Several tiles (M > 192 or N > 512, or work enough to split), several K blocks
// (K > 256), partial panels and row remainders at once; K = 1024 and 2048 pack A even
// when it is not transposed (a 4 KiB row stride: the vector load + shuffle packing, with
// the rows past M clamped to the last one).
TEST(CodegenGemm, TiledAndKBlockedShapesMatchInterpreter) {
  Rng r(77);
  struct S {
    int64_t m, n, k;
  };
  const S shapes[] = {{197, 45, 300}, {50, 530, 70}, {128, 300, 520}, {7, 1025, 33}, {130, 10, 600}, {13, 40, 1024},
                      {25, 70, 2048}, {97, 13, 500}};
  int i = 0;
  for (const S &s : shapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        if (++i % 2 == 0 && s.k > 500) continue;  // keep the interpreter's share small
        JitCase c = gemmCase(r, {}, s.m, s.n, s.k, ta, tb);
        SCOPED_TRACE(c.label);
        checkJitCase(c);
      }
}

// The AVX-512 micro-kernel shapes (6 x 4 vectors; 12 x 2 for tiles of <= 12 rows or
// <= 32 columns; 8 x 3 for <= 48 columns) and the partial panels of a tile's last
// columns, which run kernels of fewer vectors (1-4 of 4), with each row remainder the
// shapes allow. Every target runs each case (checkJitCase), so AVX2 and generic see the
// same shapes through their 6 x 2 kernels.
TEST(CodegenGemm, MicroKernelShapesAndPartialPanelsMatchInterpreter) {
  using cg::microKernelShape;
  EXPECT_EQ(microKernelShape(512, 128, 512).mr, 6);
  EXPECT_EQ(microKernelShape(512, 128, 512).nv, 4);
  EXPECT_EQ(microKernelShape(512, 10, 256).mr, 12);
  EXPECT_EQ(microKernelShape(512, 10, 256).nv, 2);
  EXPECT_EQ(microKernelShape(512, 100, 48).nv, 3);
  EXPECT_EQ(microKernelShape(512, 100, 16).nv, 1);
  EXPECT_EQ(microKernelShape(256, 128, 512).nv, 2);
  EXPECT_EQ(microKernelShape(128, 128, 512).nv, 2);
  Rng r(2024);
  struct S {
    int64_t m, n, k;
  };
  // 10 x 512: one 12-row group; 37 x 40: 8 x 3; 29 x 100, 13 x 120, 23 x 80: a last panel
  // of 36, 56, 16 columns (3, 4, 1 vectors); 50 x 784: tiles of 400 and 384 columns
  // (a 16-column panel in one of them only); 61 x 200 x 300: two K blocks and rows
  // remainders 1 (61 = 10 * 6 + 1).
  const S shapes[] = {{10, 512, 128}, {37, 40, 33}, {29, 100, 17}, {13, 120, 9},
                      {23, 80, 64},   {50, 784, 20}, {61, 200, 300}, {1, 130, 5}};
  for (const S &s : shapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        JitCase c = gemmCase(r, {}, s.m, s.n, s.k, ta, tb);
        SCOPED_TRACE(c.label);
        checkJitCase(c);
      }
}

TEST(CodegenGemm, TilingDependsOnShapesOnly) {
  // W1's shapes: a few tiles, each with enough work for a thread; tiny products: one.
  GemmTiling big = planGemmTiling(1, 128, 512, 784);
  EXPECT_GE(big.numTiles(), 2);
  EXPECT_EQ(big.kBlocks, 7);  // blocks of 112: a packed 6 x 64 kernel's panel stays in L1
  EXPECT_LE(big.blockK, 128);
  EXPECT_GE(big.blockK * big.kBlocks, 784);
  EXPECT_EQ(planGemmTiling(1, 16, 10, 16).numTiles(), 1);
  EXPECT_EQ(planGemmTiling(1, 8, 8, 8).numTiles(), 1);
  // Small W1 products (~1 MFLOP) still go to both threads.
  EXPECT_GE(planGemmTiling(1, 128, 10, 512).numTiles(), 2);
  EXPECT_GE(planGemmTiling(1, 128, 512, 10).numTiles(), 2);
  // ...but once both threads have a tile, rows are not cut below 64: each tile row packs
  // its own copy of B (128x10x512 NT: two tiles of 64 rows, not four of 32).
  GemmTiling narrow = planGemmTiling(1, 128, 10, 512);
  EXPECT_EQ(narrow.numTiles(), 2);
  EXPECT_EQ(narrow.tileM, 64);
  EXPECT_EQ(planGemmTiling(1, 256, 10, 512).tileM, 64);
  // One vector of columns keeps K in one block while its packed B fits a normal panel's
  // 32 KiB (K <= 512): no round trips of C.
  EXPECT_EQ(narrow.kBlocks, 1);
  EXPECT_EQ(planGemmTiling(1, 128, 16, 512).kBlocks, 1);
  EXPECT_EQ(planGemmTiling(1, 128, 10, 513).kBlocks, 5);
  EXPECT_EQ(planGemmTiling(1, 128, 17, 512).kBlocks, 4);
  // No odd handful of tiles (3 tiles on 2 threads leave one idle a third of the time).
  for (auto [m, n, k] : {std::array<int64_t, 3>{512, 512, 128}, {512, 784, 128}, {1024, 1024, 1024}, {600, 200, 300}}) {
    GemmTiling t = planGemmTiling(1, m, n, k);
    EXPECT_TRUE(t.numTiles() >= 8 || t.numTiles() % 2 == 0) << m << "x" << n << "x" << k << ": " << t.numTiles();
    EXPECT_GE(t.tileM * t.tilesM, m);
    EXPECT_GE(t.tileN * t.tilesN, n);
    EXPECT_LE(t.tileM, 384);
  }
  // 1024^3: B is packed once per tile row; tall tiles keep that to 3 times.
  EXPECT_LE(planGemmTiling(1, 1024, 1024, 1024).tilesM, 3);
  GemmTiling huge = planGemmTiling(2, 2048, 2048, 2048);
  EXPECT_EQ(huge.numTiles(), 2 * huge.tilesM * huge.tilesN);
  EXPECT_LE(huge.tileN, 512);
  EXPECT_GE(huge.tileM * huge.tilesM, 2048);
  EXPECT_GE(huge.tileN * huge.tilesN, 2048);
}

// --- The epilogue hook ---------------------------------------------------------------

/// Compiles a one-kernel module with LLJIT and returns its entry.
struct TinyJit {
  std::unique_ptr<llvm::orc::LLJIT> jit;
  KernelFn fn = nullptr;
};

TinyJit compileWithEpilogue(const CodegenOptions &opts, const KernelSpec &spec, const Value *bias, bool relu) {
  cg::initializeLlvm();
  TinyJit out;
  Expected<TargetInfo> target = resolveTarget(opts);
  EXPECT_TRUE(static_cast<bool>(target));
  if (!target) return out;
  // The same target machine as dlc::Jit: CPU, features and the strict numeric options.
  llvm::orc::JITTargetMachineBuilder jtmb{llvm::Triple(target->triple)};
  jtmb.setCPU(target->cpu);
  jtmb.getFeatures() = llvm::SubtargetFeatures(target->features);
  jtmb.setOptions(cg::targetOptions(opts));
  auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(jtmb).create();
  EXPECT_TRUE(static_cast<bool>(jit));
  if (!jit) {
    llvm::consumeError(jit.takeError());
    return out;
  }
  out.jit = std::move(*jit);
  // fmaf and the other C library functions generic code calls.
  auto gen = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(out.jit->getDataLayout().getGlobalPrefix());
  EXPECT_TRUE(static_cast<bool>(gen));
  if (!gen) {
    llvm::consumeError(gen.takeError());
    return out;
  }
  out.jit->getMainJITDylib().addGenerator(std::move(*gen));
  auto [ctx, mod] = cg::newKernelModule("gemm_epilogue", out.jit->getDataLayout(), out.jit->getTargetTriple().str());
  cg::KernelEmitter e(*mod, spec, *target, opts);
  e.setGemmEpilogue([&](cg::KernelEmitter &em) { return cg::biasReluEpilogue(em.buffer(bias), relu); });
  e.emit("gemm_bias_relu");
  Expected<std::unique_ptr<llvm::TargetMachine>> tm = cg::makeTargetMachine(*target, opts);
  EXPECT_TRUE(static_cast<bool>(tm));
  if (!tm) return out;
  cg::optimizeModule(*mod, **tm, 2);
  llvm::Error err = out.jit->addIRModule(llvm::orc::ThreadSafeModule(std::move(mod), std::move(ctx)));
  EXPECT_FALSE(static_cast<bool>(err));
  llvm::consumeError(std::move(err));
  auto sym = out.jit->lookup("gemm_bias_relu");
  EXPECT_TRUE(static_cast<bool>(sym));
  if (!sym) {
    llvm::consumeError(sym.takeError());
    return out;
  }
  out.fn = sym->toPtr<KernelFn>();
  return out;
}

// GEMM kernels get a short pass pipeline instead of O2 (codegen/llvm_support.h: a fifth
// of the optimization time). It must keep the AVX-512 6 x 64 micro-kernel's loop as O2
// made it: 4 loads of B, 6 broadcasts, 24 FMAs and the loop control, with every
// accumulator in a register (no stack access) and the K block's depth a constant.
TEST(CodegenGemm, LightPipelineKeepsTheMicroKernelLoopTight) {
  for (bool tb : {false, true}) {
    auto f = singleOp(OpKind::MatMul, {TensorType{DType::F32, {128, 512}}, TensorType{DType::F32, {512, 512}}},
                      MatMulAttrs{false, tb});
    CodegenOptions o;
    o.cpu = "skylake-avx512";
    Expected<std::string> text = emitKernels(*f, EmitKind::Assembly, o, KernelPlanOptions{});
    ASSERT_TRUE(text) << text.error().str();
    // The loops: a label, then the instructions up to a jump back to it.
    std::vector<std::string> lines;
    for (size_t at = 0, nl; at < text->size(); at = nl + 1) {
      nl = text->find('\n', at);
      if (nl == std::string::npos) nl = text->size();
      lines.push_back(text->substr(at, nl - at));
    }
    int microLoops = 0;
    std::map<std::string, size_t> labels;
    for (size_t i = 0; i < lines.size(); ++i) {
      const std::string &l = lines[i];
      if (l.starts_with(".LBB") && l.ends_with(":")) labels[l.substr(0, l.size() - 1)] = i;
      if (!l.starts_with("\tj")) continue;
      auto target = labels.find(l.substr(l.find_last_of(" \t") + 1));
      if (target == labels.end()) continue;
      int fmas = 0, instructions = 0, stack = 0;
      bool inner = true;
      for (size_t j = target->second + 1; j <= i; ++j) {
        const std::string &x = lines[j];
        if (x.starts_with(".LBB")) inner = false;
        if (!x.starts_with("\t") || x.starts_with("\t.") || x.starts_with("\t#")) continue;
        ++instructions;
        fmas += x.find("vfmadd231ps") != std::string::npos;
        stack += x.find("%rsp") != std::string::npos || x.find("%rbp") != std::string::npos;
      }
      if (!inner || fmas != 24) continue;
      ++microLoops;
      SCOPED_TRACE(fmt::format("transpose_b={} loop at line {}", tb, target->second));
      EXPECT_EQ(stack, 0);
      EXPECT_LE(instructions, 38);  // 24 FMAs, 4 loads, 6 broadcasts, 2 adds, cmp, jump
    }
    EXPECT_GE(microLoops, 1) << *text;
  }
}

TEST(CodegenGemm, BiasReluEpilogueMatchesUnfusedOps) {
  Rng r(9);
  struct S {
    int64_t m, n, k;
    bool ta, tb;
  };
  const S shapes[] = {{13, 37, 300, false, true}, {128, 10, 64, false, false}, {33, 530, 20, true, false}};
  for (const TestTarget &tt : testTargets())
    for (const S &s : shapes) {
      SCOPED_TRACE(fmt::format("{} {}x{}x{}", tt.name, s.m, s.n, s.k));
      // Reference: max(matmul(a, b) + broadcast(bias), 0) in the interpreter.
      Function f("f");
      Value *a = f.addArg(TensorType{DType::F32, s.ta ? Shape{s.k, s.m} : Shape{s.m, s.k}}, "a");
      Value *b = f.addArg(TensorType{DType::F32, s.tb ? Shape{s.n, s.k} : Shape{s.k, s.n}}, "b");
      Value *bias = f.addArg(TensorType{DType::F32, {s.n}}, "bias");
      Builder bld(f);
      Value *mm = bld.matmul(a, b, s.ta, s.tb);
      Value *biased = bld.add(mm, bld.broadcast(bias, {s.m, s.n}, {1}));
      f.setResults({bld.max(biased, bld.splatLike(0.0, biased))});
      std::vector<HostTensor> in;
      InputStyle style;
      style.special = 0.002;
      for (const Value *v : f.args()) in.push_back(r.tensor(v->type(), style));
      Expected<std::vector<HostTensor>> want = interpret(f, in);
      ASSERT_TRUE(static_cast<bool>(want));

      // The kernel: the matmul node with the bias as an extra input buffer.
      KernelSpec spec = makeNodeKernel(*mm->def(), 0);
      spec.inputs.push_back(bias);
      TinyJit j = compileWithEpilogue(tt.opts, spec, bias, /*relu=*/true);
      ASSERT_NE(j.fn, nullptr);
      HostTensor got(mm->type());
      void *bufs[] = {in[0].raw(), in[1].raw(), in[2].raw(), got.raw()};
      const int64_t tiles = spec.domain.parallelExtent();
      for (int64_t t = tiles; t-- > 0;) j.fn(bufs, t, t + 1);  // tile by tile, in reverse
      EXPECT_TRUE(sameElements(got, (*want)[0]));
    }
}

}  // namespace
}  // namespace dlc::test
