//===- codegen/emit.cpp - kernels as text: LLVM IR or assembly --------------===//
#include "codegen/emit.h"

#include "codegen/kernel_emitter.h"
#include "codegen/kernel_plan.h"
#include "codegen/llvm_support.h"

namespace dlc {

Expected<std::string> emitKernels(const Function &f, EmitKind kind, const CodegenOptions &opts,
                                  const KernelPlanOptions &planOpts) {
  DL_TRY(TargetInfo target, resolveTarget(opts));
  DL_TRY(std::unique_ptr<llvm::TargetMachine> tm, cg::makeTargetMachine(target, opts));
  const llvm::DataLayout dl = tm->createDataLayout();
  const KernelPlan plan = planKernels(f, planOpts);

  std::string out = fmt::format("; dlc kernels of @{} for {}\n", f.name(), target.str());
  for (const auto &[value, owner] : plan.aliases)
    out += fmt::format("; {} {} aliases its operand's buffer (no kernel)\n", value->def()->mnemonic(),
                       typeString(value->type()));
  for (const KernelSpec &k : plan.kernels) {
    auto [ctx, mod] = cg::newKernelModule(k.name, dl, target.triple);
    cg::emitKernel(*mod, k, k.name, target, opts);
    out += fmt::format("\n; kernel {}: {} -> {}, parallel extent {} in chunks of {}{}{}{}\n", k.name,
                       k.root().mnemonic(), typeString(k.root().type()), k.domain.parallelExtent(), k.chunk,
                       k.streamStores ? ", streaming stores" : "", k.prefetch ? ", prefetching" : "",
                       k.interleave > 1 ? fmt::format(", interleaved {}", k.interleave) : "");
    if (kind != EmitKind::LlvmIR) cg::optimizeModule(*mod, *tm, opts.optLevel, /*inlineFirst=*/true, cg::pipelineOf(k));
    if (kind == EmitKind::Assembly) {
      DL_TRY(std::string text, cg::emitAssembly(*mod, *tm));
      out += text;
    } else {
      out += cg::moduleText(*mod);
    }
  }
  return out;
}

}  // namespace dlc
