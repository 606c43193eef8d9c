//===- tools/cmd_emit.cpp - `dlc emit`: kernels as LLVM IR or assembly ------===//
//
// `dlc emit FILE --emit=llvm|llvm-opt|asm [--function=NAME] [--target-cpu=X
// --target-features=...] [--stream-stores-from=MiB] [--prefetch-from=MiB]` prints every
// kernel of every function (or of one), as the LLVM IR the backend generates, after
// LLVM's optimization pipeline, or as assembly; each kernel's header line says whether
// it streams its stores and whether it prefetches.
// `--target=cuda [--gpu-arch=sm_XX]` (implied by --emit=ptx) prints the NVPTX backend's
// kernels instead: NVPTX LLVM IR, or PTX for --emit=asm|ptx.
//
//===----------------------------------------------------------------------===//
#include <algorithm>

#include "codegen/emit.h"
#include "codegen/nvptx.h"
#include "tools/codegen_flags.h"
#include "tools/gpu_flags.h"
#include "tools/tool_support.h"

namespace dlc::tool {

namespace cl = llvm::cl;

cl::SubCommand emitCommand("emit", "Print the kernels of a .dlc file as LLVM IR or assembly");

namespace {
cl::opt<std::string> inputPath(cl::Positional, cl::Required, cl::desc("<input .dlc file, or - for stdin>"),
                               cl::sub(emitCommand), cl::cat(dlcCategory()));
cl::opt<EmitKind> emitKind("emit", cl::desc("What to print"), cl::init(EmitKind::LlvmIR),
                           cl::values(clEnumValN(EmitKind::LlvmIR, "llvm", "LLVM IR as generated"),
                                      clEnumValN(EmitKind::LlvmOptimized, "llvm-opt", "LLVM IR after optimization"),
                                      clEnumValN(EmitKind::Assembly, "asm", "native assembly (PTX with --target=cuda)"),
                                      clEnumValN(EmitKind::Ptx, "ptx", "PTX of the NVPTX backend (implies --target=cuda)")),
                           cl::sub(emitCommand), cl::cat(dlcCategory()));
cl::opt<std::string> functionName("function", cl::desc("Only this function (default: all)"),
                                  cl::value_desc("name"), cl::sub(emitCommand), cl::cat(dlcCategory()));
cl::opt<bool> unfused("unfused", cl::desc("One kernel per IR op (no fusion)"), cl::sub(emitCommand),
                      cl::cat(dlcCategory()));
cl::opt<int64_t> streamFrom("stream-stores-from",
                            cl::desc("Flat kernels whose outputs all have at least this many MiB write them with "
                                     "streaming (non-temporal) stores unless written in place (default 32; 0: never)"),
                            cl::value_desc("MiB"), cl::init(32), cl::sub(emitCommand), cl::cat(dlcCategory()));
cl::opt<int64_t> prefetchFrom("prefetch-from",
                              cl::desc("Flat kernels whose full-size inputs and outputs add up to at least this many "
                                       "MiB prefetch them ahead (default 8; 0: never)"),
                              cl::value_desc("MiB"), cl::init(8), cl::sub(emitCommand), cl::cat(dlcCategory()));
cl::opt<bool> noGemmLoopEpilogue("no-gemm-loop-epilogue",
                                 cl::desc("Keep the loop kernels that read a GEMM's product (optimizer updates, "
                                          "ReLU masks) out of its epilogue (the same flag as dlc bench's)"),
                                 cl::sub(emitCommand), cl::cat(dlcCategory()));
CodegenFlags codegenFlags(emitCommand);
GpuFlags gpuFlags(emitCommand);
}  // namespace

int runEmit() {
  std::optional<LoadedModule> input = loadModule(inputPath);
  if (!input) return 1;
  const Source *src = &input->source;
  Module *m = &input->module;
  if (!functionName.empty() && !m->lookup(functionName)) {
    llvm::errs() << "dlc emit: error: no function @" << functionName << " in " << src->name << "\n";
    return 1;
  }
  if (std::string bad = gpuFlags.checkTarget(); !bad.empty()) {
    llvm::errs() << "dlc emit: error: " << bad << "\n";
    return 1;
  }
  if (streamFrom < 0 || streamFrom > (int64_t{1} << 30)) {
    llvm::errs() << "dlc emit: error: --stream-stores-from must be 0 (never) or a size in MiB up to 2^30\n";
    return 1;
  }
  if (prefetchFrom < 0 || prefetchFrom > (int64_t{1} << 30)) {
    llvm::errs() << "dlc emit: error: --prefetch-from must be 0 (never) or a size in MiB up to 2^30\n";
    return 1;
  }
  const bool gpu = gpuFlags.cuda() || emitKind == EmitKind::Ptx;
  for (const auto &f : m->functions()) {
    if (!functionName.empty() && f->name() != functionName) continue;
    KernelPlanOptions plan{.fuse = !unfused, .streamStoreBytes = streamFrom << 20, .prefetchBytes = prefetchFrom << 20};
    plan.gemmLoopEpilogue = !noGemmLoopEpilogue;
    Expected<std::string> text = gpu ? emitGpuKernels(*f, emitKind, codegenFlags.toOptions(), gpuFlags.toOptions(), plan)
                                     : emitKernels(*f, emitKind, codegenFlags.toOptions(), plan);
    if (!text) {
      printDiagnostics(llvm::errs(), text.error(), *src);
      return 1;
    }
    llvm::outs() << *text;
  }
  return 0;
}

}  // namespace dlc::tool
