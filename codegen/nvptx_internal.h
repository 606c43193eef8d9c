//===- codegen/nvptx_internal.h - shared by nvptx*.cpp (internal) -----------===//
//
// INTERNAL to codegen/: includes LLVM. The pieces of the NVPTX backend that its files
// share: the kernel skeleton (parameters, nvvm annotation), special registers, and the
// GEMM emitter.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include "codegen/kernel_plan.h"
#include "codegen/nvptx.h"
#include "codegen/options.h"

namespace dlc::cg {

/// `define void @name(ptr align 16 %b0, ..., ptr align 16 %bN)` annotated as an nvvm
/// kernel with at most \p maxThreads threads per block; its entry block is empty.
llvm::Function *createGpuKernel(llvm::Module &m, const std::string &name, size_t numBuffers, int maxThreads);

/// %tid.x, %ctaid.x, ... as i32 (the llvm.nvvm.read.ptx.sreg.* intrinsics).
enum class Sreg { TidX, NtidX, CtaidX, CtaidY, CtaidZ, NctaidX };
llvm::Value *readSreg(llvm::IRBuilder<> &b, Sreg r);

/// The MatMul kernel \p k as a shared-memory tiled GEMM named \p name; fills the
/// launch geometry of \p launch.
llvm::Function *emitGpuGemm(llvm::Module &m, const KernelSpec &k, const std::string &name,
                            const CodegenOptions &opts, const GpuOptions &gpu, GpuLaunch &launch);

}  // namespace dlc::cg
