//===- codegen/kernel_key.h - what a kernel's generated code depends on -----===//
//
// The JIT's caches (in memory and on disk) are keyed by a compact, complete description
// of a kernel instead of its printed LLVM IR, so a cache hit costs neither emitting nor
// printing the kernel:
//
//  - kernelKey(k): the kernel spec as bytes: its kind, loop domain and chunk, and its
//    values numbered by first appearance (inputs, then the group's results, then any
//    other operand), each with its dtype and shape; every node's op, attributes
//    (passes/cse.h's attrsKey, doubles bitwise), result and operands by number; the
//    outputs, the hoisted, row-buffered and invariant members, the inputs read in place,
//    the GEMM epilogue. Names and node positions in the function are left out, so the
//    same `add` on the same shapes is one kernel wherever it appears.
//  - codegenKey(t, o): what every kernel of one JIT shares: the resolved target (triple,
//    cpu, full feature string, vector width), the optimization level, fast math, the math
//    mode, the LLVM version, the cache format, and a hash of the sources that generate
//    and compile kernels (codegen/, the IR headers; computed at build time), which stands
//    for dlc's version: an edited emitter never reuses objects an older one produced.
//
// Two kernels get equal keys exactly when these descriptions are equal, and the emitter
// reads nothing else (KernelEmitter sees the spec, the nodes' kinds, attributes, types
// and operands, the target and the options), so equal keys mean equal generated code.
//
// LLVM-free.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

#include "codegen/kernel_plan.h"
#include "codegen/options.h"
#include "codegen/target.h"

namespace dlc {

/// The bytes that identify kernel \p k's generated code for a given target and options.
std::string kernelKey(const KernelSpec &k);

/// The bytes every key of a JIT for \p t and \p o starts with (target, numerics,
/// versions); text, one `name value` per line.
std::string codegenKey(const TargetInfo &t, const CodegenOptions &o);

/// The full cache key: codegenKey(t, o) + kernelKey(k).
std::string kernelCacheKey(const KernelSpec &k, const TargetInfo &t, const CodegenOptions &o);

/// The hash of the sources that generate kernels (build time; 16 hex digits).
const char *codegenSourceHash();

}  // namespace dlc
