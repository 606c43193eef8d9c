//===- codegen/llvm_support.h - LLVM plumbing shared inside codegen ---------===//
//
// INTERNAL to codegen/: this header includes LLVM. Public codegen headers and every
// other folder stay LLVM-free (DESIGN section 1); they reach this through jit.h and
// emit.h.
//
// Target machines with the strict numeric contract, the optimization pipeline, text
// and assembly printing, and the conversion of llvm::Error into dlc::Error.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <llvm/IR/Module.h>
#include <llvm/Support/CodeGen.h>
#include <llvm/Support/Error.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>

#include "codegen/options.h"
#include "codegen/target.h"
#include "ir/diagnostic.h"

namespace dlc {
struct KernelSpec;  // codegen/kernel_plan.h
}  // namespace dlc

namespace dlc::cg {

/// Registers the native target, its assembly printer and parser (once per process).
void initializeLlvm();

/// Converts \p e (which must be a failure) into a dlc Error prefixed with \p what.
Error toError(llvm::Error e, std::string_view what);

/// TargetOptions of the numeric contract: no FMA contraction and no unsafe math unless
/// fast math is requested.
llvm::TargetOptions targetOptions(const CodegenOptions &opts);
/// The code generator's optimization level for LLVM opt level \p level (0-3).
llvm::CodeGenOpt::Level codegenLevel(int level);

/// A TargetMachine for \p t (used for optimization, assembly and by the JIT's compilers).
Expected<std::unique_ptr<llvm::TargetMachine>> makeTargetMachine(const TargetInfo &t,
                                                                  const CodegenOptions &opts);

/// A fresh context and an empty module for one kernel, with the given data layout and
/// triple; the context keeps LLVM's optimization remarks off stderr.
std::pair<std::unique_ptr<llvm::LLVMContext>, std::unique_ptr<llvm::Module>>
newKernelModule(const std::string &name, const llvm::DataLayout &dl, const std::string &triple);

/// Which pass pipeline optimizeModule runs.
enum class Pipeline {
  /// LLVM's default per-module pipeline at the opt level (loop and SLP vectorizers at O2+).
  Default,
  /// GEMM kernels (codegen/gemm.h), at opt levels 1-3: their code is emitted vectorized and
  /// register-blocked already, so they get only what it needs -- inline the body, SROA
  /// (the accumulator allocas become registers), EarlyCSE, InstCombine, SimplifyCFG, LICM
  /// (addresses and masks out of the loops), IndVarSimplify (loop exits on the pointer
  /// induction, as O2 made them), InstCombine and SimplifyCFG again. About a fifth of
  /// O2's optimization time for the same micro-kernel loop (docs/codegen.md, W6); no
  /// pass in it reassociates or contracts floating-point operations.
  Gemm,
  /// A GEMM with a loop epilogue (KernelSpec::gemmLoop): Gemm, then the loop vectorizer
  /// for the loops marked llvm.loop.vectorize.enable only (the epilogue's; the GEMM's own
  /// loops are vector code already), after LoopSimplify and LCSSA, and EarlyCSE. The
  /// default pipeline took twice W1's compile time for the same kernels.
  GemmLoop,
};
/// The pipeline of CPU kernel \p k: Gemm or GemmLoop for the generated GEMM, else Default.
Pipeline pipelineOf(const KernelSpec &k);
/// Function attribute of a CPU kernel entry whose aligned vector stores are to stream
/// (KernelSpec::streamStores; set by the kernel emitter, read by optimizeModule).
inline constexpr const char *kStreamStoresAttr = "dlc-stream-stores";

/// Runs \p pipeline at \p optLevel with \p tm's cost model (which decides the vector
/// width of the loop vectorizer); with \p inlineFirst (CPU kernels: the JIT and `dlc
/// emit`), alwaysinline functions are inlined before the default pipeline. Then, in
/// functions marked kStreamStoresAttr, vector stores whose alignment LLVM proves to be
/// at least their size become non-temporal (markStreamingStores).
void optimizeModule(llvm::Module &m, llvm::TargetMachine &tm, int optLevel, bool inlineFirst = false,
                    Pipeline pipeline = Pipeline::Default);

/// The module printed as LLVM assembly text.
std::string moduleText(const llvm::Module &m);

/// Native assembly of \p m (which should be optimized already).
Expected<std::string> emitAssembly(llvm::Module &m, llvm::TargetMachine &tm);

}  // namespace dlc::cg
