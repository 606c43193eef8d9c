//===- examples/inspect_codegen.cpp - look at the code dlc generates ----------===//
//
// Builds a small function (a tanh-approximated GELU of x * w), prints its IR, the
// kernels the runtime launches, and one kernel as LLVM IR (as generated and after
// LLVM's optimization) and as native assembly - what `dlc print` and `dlc emit`
// show, through the C++ API.
//
//   inspect_codegen [KERNEL]     the first kernel whose name starts with KERNEL (tanh)
//   inspect_codegen --full       every kernel
//
//===----------------------------------------------------------------------===//
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "codegen/emit.h"
#include "frontend/graph.h"
#include "frontend/tensor.h"
#include "ir/printer.h"
#include "runtime/executable.h"

namespace {

template <class E> int fail(const E &e) {
  std::fprintf(stderr, "%s\n", e.error().str().c_str());
  return 1;
}

/// The section of \p text that emitKernels wrote for the first kernel whose name
/// starts with \p prefix: from its `; kernel NAME:` line to the next kernel's.
std::string kernelSection(const std::string &text, const std::string &prefix) {
  size_t begin = text.find("; kernel " + prefix);
  if (begin == std::string::npos) return "(no kernel " + prefix + "*)\n";
  size_t end = text.find("; kernel ", begin + 1);
  return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

}  // namespace

int main(int argc, char **argv) {
  const bool full = argc > 1 && std::strcmp(argv[1], "--full") == 0;
  const std::string kernel = argc > 1 && !full ? argv[1] : "tanh";
  dlc::Graph g("gelu", {.recordLocations = false});
  dlc::Tensor x = g.input("x", dlc::f32({1000}));
  dlc::Tensor w = g.input("w", dlc::f32({1000}));
  dlc::Tensor v = x * w;
  dlc::Tensor inner = (v + dlc::pow(v, 3.0) * 0.044715) * std::sqrt(2.0 / M_PI);
  auto model = g.finish((v * 0.5 * (dlc::tanh(inner) + 1.0)).named("y"));
  if (!model) return fail(model);

  std::printf("== IR\n%s\n", dlc::printFunction(*model->function).c_str());

  dlc::ExecutableOptions eo;
  eo.codegen.math = dlc::MathMode::Vector;  // tanh vectorized (the default; MathMode::Libm calls tanhf)
  auto exe = dlc::Executable::compile(*model->function, eo);
  if (!exe) return fail(exe);
  std::printf("== %zu kernel launches:", (*exe)->kernelNames().size());
  for (const std::string &k : (*exe)->kernelNames()) std::printf(" %s", k.c_str());
  std::printf("\n\n");

  for (auto [kind, title] : {std::pair{dlc::EmitKind::LlvmIR, "LLVM IR as generated"},
                             std::pair{dlc::EmitKind::LlvmOptimized, "LLVM IR after optimization"},
                             std::pair{dlc::EmitKind::Assembly, "assembly"}}) {
    auto text = dlc::emitKernels(*model->function, kind, eo.codegen);
    if (!text) return fail(text);
    std::printf("== %s\n%s\n", title, full ? text->c_str() : kernelSection(*text, kernel).c_str());
  }
  return 0;
}
