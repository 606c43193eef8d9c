//===- tools/gpu_flags.h - `--target=cpu|cuda`, `--gpu-arch`, `--libdevice` -===//
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
                   llvm::cl::value_desc("file"), llvm::cl::sub(sub), llvm::cl::cat(dlcCategory())) {
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
    return t == "cpu" || t == "cuda" ? "" : "unknown --target '" + t + "'; targets: cpu, cuda";
  }
  GpuOptions toOptions(bool keepDenormals = false) const {
    GpuOptions g;
    g.arch = arch_;
    g.libdevice = libdevice_;
    g.flushDenormals = !keepDenormals;
    return g;
  }

 private:
  llvm::cl::opt<std::string> arch_, libdevice_;
  std::optional<llvm::cl::opt<std::string>> target_;
};

}  // namespace dlc::tool
