//===- codegen/llvm_support.cpp - pipeline, IR text, assembly, kernel modules ===//
//
// GEMM kernels get a short pipeline of their own (Pipeline::Gemm in llvm_support.h).
// Every other kernel: the default O1-O3 module pipeline of the new pass manager, run with the target
// machine's cost model so that the loop vectorizer uses the target's vector width,
// then (O2 and up) a short clean-up of the functions that still hold stack arrays: the
// partial accumulators of contiguous reductions (codegen/elemental_data.cpp) are
// accessed by an inner loop of 16 iterations that the vectorizer leaves as a vector loop
// of one to four iterations (16 lanes AVX-512, 8 AVX2, 4 SSE), still marked "do not
// unroll". Without that mark, SCCP and the full unroller turn it into straight-line
// code, LICM promotes the accumulators out of the loop over blocks and SROA turns them
// into vector registers (phis), so they no longer go through the stack every block.
//
//===----------------------------------------------------------------------===//
#include <llvm/Analysis/AssumptionCache.h>
#include <llvm/Analysis/CGSCCPassManager.h>
#include <llvm/Analysis/LoopAnalysisManager.h>
#include <llvm/Analysis/LoopInfo.h>
#include <llvm/IR/DiagnosticInfo.h>
#include <llvm/IR/DiagnosticPrinter.h>
#include <llvm/IR/Dominators.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/PassManager.h>
#include <llvm/IR/PassTimingInfo.h>
#include <llvm/Pass.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Transforms/IPO/AlwaysInliner.h>
#include <llvm/Transforms/IPO/GlobalDCE.h>
#include <llvm/Transforms/InstCombine/InstCombine.h>
#include <llvm/Transforms/Scalar/EarlyCSE.h>
#include <llvm/Transforms/Scalar/IndVarSimplify.h>
#include <llvm/Transforms/Scalar/LICM.h>
#include <llvm/Transforms/Scalar/LoopUnrollPass.h>
#include <llvm/Transforms/Scalar/SCCP.h>
#include <llvm/Transforms/Scalar/SROA.h>
#include <llvm/Transforms/Scalar/SimplifyCFG.h>
#include <llvm/Transforms/Utils/LCSSA.h>
#include <llvm/Transforms/Utils/Local.h>
#include <llvm/Transforms/Utils/LoopSimplify.h>
#include <llvm/Transforms/Vectorize/LoopVectorize.h>

#include <optional>

#include "codegen/llvm_support.h"

#include "codegen/kernel_plan.h"

namespace dlc::cg {
namespace {

/// Keeps "loop not vectorized" and other remarks off stderr; reports real errors.
void handleDiagnostic(const llvm::DiagnosticInfo &di, void *) {
  if (di.getSeverity() != llvm::DS_Error) return;
  llvm::DiagnosticPrinterRawOStream printer(llvm::errs());
  llvm::errs() << "dlc: LLVM error: ";
  di.print(printer);
  llvm::errs() << "\n";
}

/// True when \p f still has a stack array after the default pipeline.
bool hasStackArray(const llvm::Function &f) {
  if (f.isDeclaration()) return false;
  for (const llvm::Instruction &i : f.getEntryBlock())
    if (const auto *a = llvm::dyn_cast<llvm::AllocaInst>(&i); a && a->getAllocatedType()->isArrayTy()) return true;
  return false;
}

/// Drops the loop metadata of loops the vectorizer has handled (their "do not unroll"
/// mark was meant for the scalar loop before vectorization).
void dropVectorizedLoopIds(llvm::Function &f) {
  for (llvm::BasicBlock &bb : f)
    if (llvm::Instruction *t = bb.getTerminator())
      if (llvm::MDNode *id = t->getMetadata(llvm::LLVMContext::MD_loop);
          id && llvm::findOptionMDForLoopID(id, "llvm.loop.isvectorized"))
        t->setMetadata(llvm::LLVMContext::MD_loop, nullptr);
}

/// Streaming stores (KernelSpec::streamStores, flat_loop.cpp): in a function marked
/// kStreamStoresAttr, every vector store of 16 bytes or more whose address LLVM proves
/// aligned to its size (from the alignment assumptions of the kernel's streaming loop,
/// through the vectorized induction) gets !nontemporal, which x86 lowers to vmovntps.
/// The loop vectorizer itself refuses !nontemporal stores (it checks the scalar store's
/// alignment), so the mark is added after it. Scalar remainders and the unaligned
/// fallback loop keep ordinary stores. Returns the number of stores marked.
int markStreamingStores(llvm::Function &f, llvm::FunctionAnalysisManager &fam) {
  if (f.isDeclaration() || !f.hasFnAttribute(kStreamStoresAttr)) return 0;
  const llvm::DataLayout &dl = f.getParent()->getDataLayout();
  auto &ac = fam.getResult<llvm::AssumptionAnalysis>(f);
  auto &dt = fam.getResult<llvm::DominatorTreeAnalysis>(f);
  llvm::MDNode *one = llvm::MDNode::get(
      f.getContext(), {llvm::ConstantAsMetadata::get(llvm::ConstantInt::get(llvm::Type::getInt32Ty(f.getContext()), 1))});
  int marked = 0;
  for (llvm::BasicBlock &bb : f)
    for (llvm::Instruction &i : bb) {
      auto *st = llvm::dyn_cast<llvm::StoreInst>(&i);
      if (!st || !st->getValueOperand()->getType()->isVectorTy() || st->isVolatile()) continue;
      const uint64_t bytes = dl.getTypeStoreSize(st->getValueOperand()->getType()).getFixedValue();
      if (bytes < 16 || (bytes & (bytes - 1)) != 0) continue;
      const llvm::Align known = llvm::getKnownAlignment(st->getPointerOperand(), dl, st, &ac, &dt);
      if (known.value() < bytes) continue;
      st->setAlignment(std::max(st->getAlign(), llvm::Align(bytes)));
      st->setMetadata(llvm::LLVMContext::MD_nontemporal, one);
      ++marked;
    }
  return marked;
}

/// The clean-up described at the top of this file, on the functions that need it. It
/// changes no float operation (no pass here reassociates without fast-math flags).
void promoteStackAccumulators(llvm::Module &m, llvm::FunctionAnalysisManager &fam) {
  llvm::FunctionPassManager fpm;
  fpm.addPass(llvm::SCCPPass());
  fpm.addPass(llvm::InstCombinePass());
  fpm.addPass(llvm::SimplifyCFGPass());
  fpm.addPass(llvm::createFunctionToLoopPassAdaptor(llvm::LoopFullUnrollPass(2)));
  fpm.addPass(llvm::SROAPass(llvm::SROAOptions::ModifyCFG));
  fpm.addPass(llvm::InstCombinePass());
  fpm.addPass(llvm::SimplifyCFGPass());
  fpm.addPass(llvm::createFunctionToLoopPassAdaptor(llvm::LICMPass(llvm::LICMOptions()), /*UseMemorySSA=*/true));
  fpm.addPass(llvm::SROAPass(llvm::SROAOptions::ModifyCFG));
  fpm.addPass(llvm::InstCombinePass());
  fpm.addPass(llvm::SimplifyCFGPass());
  for (llvm::Function &f : m)
    if (hasStackArray(f)) {
      dropVectorizedLoopIds(f);
      fam.invalidate(f, llvm::PreservedAnalyses::none());
      fpm.run(f, fam);
    }
}

}  // namespace

std::pair<std::unique_ptr<llvm::LLVMContext>, std::unique_ptr<llvm::Module>>
newKernelModule(const std::string &name, const llvm::DataLayout &dl, const std::string &triple) {
  auto ctx = std::make_unique<llvm::LLVMContext>();
  ctx->setDiagnosticHandlerCallBack(handleDiagnostic);
  auto m = std::make_unique<llvm::Module>(name, *ctx);
  m->setDataLayout(dl);
  m->setTargetTriple(triple);
  return {std::move(ctx), std::move(m)};
}

namespace {

/// Pipeline::Gemm and Pipeline::GemmLoop (llvm_support.h).
llvm::ModulePassManager gemmPipeline(bool loopEpilogue) {
  llvm::FunctionPassManager fpm;
  fpm.addPass(llvm::SROAPass(llvm::SROAOptions::ModifyCFG));
  fpm.addPass(llvm::EarlyCSEPass(/*UseMemorySSA=*/false));
  fpm.addPass(llvm::InstCombinePass());
  fpm.addPass(llvm::SimplifyCFGPass());
  fpm.addPass(llvm::createFunctionToLoopPassAdaptor(llvm::LICMPass(llvm::LICMOptions()), /*UseMemorySSA=*/true));
  fpm.addPass(llvm::createFunctionToLoopPassAdaptor(llvm::IndVarSimplifyPass()));
  if (loopEpilogue) {  // only the loops that ask for it (the epilogue's), none of the GEMM's own
    fpm.addPass(llvm::LoopSimplifyPass());
    fpm.addPass(llvm::LCSSAPass());
    fpm.addPass(llvm::LoopVectorizePass(
        llvm::LoopVectorizeOptions(/*InterleaveOnlyWhenForced=*/true, /*VectorizeOnlyWhenForced=*/true)));
    fpm.addPass(llvm::EarlyCSEPass(/*UseMemorySSA=*/false));
  }
  fpm.addPass(llvm::InstCombinePass());
  fpm.addPass(llvm::SimplifyCFGPass());
  llvm::ModulePassManager mpm;
  mpm.addPass(llvm::AlwaysInlinerPass());
  mpm.addPass(llvm::createModuleToFunctionPassAdaptor(std::move(fpm)));
  mpm.addPass(llvm::GlobalDCEPass());
  return mpm;
}

}  // namespace

Pipeline pipelineOf(const KernelSpec &k) {
  if (!isGemmKernel(k)) return Pipeline::Default;
  return k.gemmLoop ? Pipeline::GemmLoop : Pipeline::Gemm;
}

void optimizeModule(llvm::Module &m, llvm::TargetMachine &tm, int optLevel, bool inlineFirst, Pipeline pipeline) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions pto;
  pto.LoopVectorization = optLevel >= 2;
  pto.SLPVectorization = optLevel >= 2;
  // With LLVM's pass timers on (the JIT's DLC_JIT_TIMES=passes), this module's passes
  // are timed and reported when the handler goes out of scope.
  llvm::PassInstrumentationCallbacks pic;
  std::optional<llvm::TimePassesHandler> timers;
  if (llvm::TimePassesIsEnabled) {
    timers.emplace(true);
    timers->registerCallbacks(pic);
  }
  llvm::PassBuilder pb(&tm, pto, std::nullopt, timers ? &pic : nullptr);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);

  llvm::OptimizationLevel level = llvm::OptimizationLevel::O2;
  switch (optLevel) {
  case 0: level = llvm::OptimizationLevel::O0; break;
  case 1: level = llvm::OptimizationLevel::O1; break;
  case 2: level = llvm::OptimizationLevel::O2; break;
  default: level = llvm::OptimizationLevel::O3; break;
  }
  if ((pipeline == Pipeline::Gemm || pipeline == Pipeline::GemmLoop) && optLevel > 0) {
    gemmPipeline(pipeline == Pipeline::GemmLoop).run(m, mam);
    return;
  }
  llvm::ModulePassManager mpm;
  // A CPU kernel is an entry that calls its alwaysinline body once. Left to the
  // pipeline, the CGSCC inliner simplifies the body, inlines it, and then simplifies
  // the entry, i.e. the whole body, a second time; inlining it first runs the function
  // simplification pipeline once (about a fifth less optimization time per kernel).
  if (inlineFirst && optLevel > 0) mpm.addPass(llvm::AlwaysInlinerPass());
  mpm.addPass(optLevel == 0 ? pb.buildO0DefaultPipeline(level) : pb.buildPerModuleDefaultPipeline(level));
  mpm.run(m, mam);
  if (optLevel >= 2) promoteStackAccumulators(m, fam);
  for (llvm::Function &f : m) markStreamingStores(f, fam);
}

std::string moduleText(const llvm::Module &m) {
  std::string s;
  llvm::raw_string_ostream os(s);
  m.print(os, nullptr);
  os.flush();
  return s;
}

Expected<std::string> emitAssembly(llvm::Module &m, llvm::TargetMachine &tm) {
  llvm::SmallString<4096> buf;
  llvm::raw_svector_ostream os(buf);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CGFT_AssemblyFile))
    return makeError(Location{}, "the target cannot emit assembly");
  pm.run(m);
  return std::string(buf.str());
}

}  // namespace dlc::cg
