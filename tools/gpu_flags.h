//===- tools/gpu_flags.h - `--target=cpu|cuda`, `--gpu-arch`, `--gpu-tf32`, ... -===//
//
// The flags that select the NVPTX backend (codegen/nvptx.h) for the commands that
// generate or run code (emit, run, bench). Each command owns one GpuFlags bound to its
// SubCommand. bench declares its own --target (it existed before the backend).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

#include <llvm/Support/CommandLine.h>

#include "codegen/nvptx.h"
#include "tools/tool_support.h"

namespace dlc::tool {

class GpuFlags {
 public:
  explicit GpuFlags(llvm::cl::SubCommand &sub, bool withTarget = true)
      : arch_("gpu-arch", llvm::cl::desc("GPU architecture for --target=cuda (default sm_90)"),
              llvm::cl::value_desc("sm_XX"), llvm::cl::init("sm_90"), llvm::cl::sub(sub),
              llvm::cl::cat(dlcCategory())),
        libdevice_("libdevice",
                   llvm::cl::desc("libdevice bitcode for --target=cuda (default: $DLC_LIBDEVICE, "
                                  "$CUDA_HOME/nvvm/libdevice/libdevice.10.bc, /usr/local/cuda/...)"),
                   llvm::cl::value_desc("file"), llvm::cl::sub(sub), llvm::cl::cat(dlcCategory())),
        tf32_("gpu-tf32",
              llvm::cl::desc("--target=cuda: f32 matrix multiplies on the tensor cores with TF32 operands (10-bit "
                             "mantissa, f32 accumulation; not bitwise the CPU's). Default: strict f32"),
              llvm::cl::init(false), llvm::cl::sub(sub), llvm::cl::cat(dlcCategory())),
        flatElements_("gpu-flat-elements",
                      llvm::cl::desc("--target=cuda: elements per thread and iteration of elementwise kernels (1, 2, "
                                     "4, 8 or 16; default 0: 4, or 8 with exp/tanh/division)"),
                      llvm::cl::init(0), llvm::cl::value_desc("n"), llvm::cl::sub(sub), llvm::cl::cat(dlcCategory())) {
    if (withTarget)
      target_.emplace("target", llvm::cl::desc("cpu (default) or cuda (the NVPTX backend, an NVIDIA GPU)"),
                      llvm::cl::init("cpu"), llvm::cl::value_desc("cpu|cuda"), llvm::cl::sub(sub),
                      llvm::cl::cat(dlcCategory()));
  }

  /// The --target value ("cpu" when this command has no such flag).
  std::string target() const { return target_ ? std::string(*target_) : "cpu"; }
  bool cuda() const { return target() == "cuda"; }
  /// An error message for an unknown --target, else empty.
  std::string checkTarget() const {
    const std::string t = target();
    if (t != "cpu" && t != "cuda") return "unknown --target '" + t + "'; targets: cpu, cuda";
    const int n = flatElements_;
    if (n != 0 && n != 1 && n != 2 && n != 4 && n != 8 && n != 16)
      return "--gpu-flat-elements must be 1, 2, 4, 8 or 16 (0: automatic), got " + std::to_string(n);
    return "";
  }
  GpuOptions toOptions(bool keepDenormals = false) const {
    GpuOptions g;
    g.arch = arch_;
    g.libdevice = libdevice_;
    g.flushDenormals = !keepDenormals;
    g.tf32 = tf32_;
    g.flatElements = flatElements_;
    return g;
  }

 private:
  llvm::cl::opt<std::string> arch_, libdevice_;
  llvm::cl::opt<bool> tf32_;
  llvm::cl::opt<int> flatElements_;
  std::optional<llvm::cl::opt<std::string>> target_;
};

}  // namespace dlc::tool
