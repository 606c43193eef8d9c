//===- codegen/emit.h - kernels as text: LLVM IR or assembly ----------------===//
//
// What `dlc emit` prints: every kernel of a function, each preceded by a comment line
// naming it, as LLVM IR before or after optimization, or as native assembly for the
// target in the options. LLVM-free header.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

#include "codegen/kernel_plan.h"
#include "codegen/options.h"
#include "ir/diagnostic.h"
#include "ir/ir.h"

namespace dlc {

enum class EmitKind : uint8_t {
  LlvmIR,         ///< the IR as generated
  LlvmOptimized,  ///< after LLVM's pipeline at the options' opt level
  Assembly,       ///< native assembly
  Ptx,            ///< PTX of the NVPTX backend (codegen/nvptx.h; --target=cuda)
};

/// The kernels of \p f (which must be verified), planned with \p plan, as text of kind
/// \p kind.
Expected<std::string> emitKernels(const Function &f, EmitKind kind, const CodegenOptions &opts,
                                  const KernelPlanOptions &plan = {});

}  // namespace dlc
