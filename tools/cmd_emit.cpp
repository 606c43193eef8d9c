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
CodegenFlags codegenFlags(emitCommand);
PlanFlags planFlags(emitCommand);
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
  if (std::string bad = planFlags.check(); !bad.empty()) {
    llvm::errs() << "dlc emit: error: " << bad << "\n";
    return 1;
  }
  const bool gpu = gpuFlags.cuda() || emitKind == EmitKind::Ptx;
  for (const auto &f : m->functions()) {
    if (!functionName.empty() && f->name() != functionName) continue;
    KernelPlanOptions plan{.fuse = !unfused};
    planFlags.apply(plan);
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
