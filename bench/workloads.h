//===- bench/workloads.h - the benchmark workloads W1-W6 and gemm as IR -----===//
//
// Builders for the workloads of ../shared/BENCHMARKS.md, each a verified function plus
// seeded inputs, ready for Executable::compile. LLVM-free (frontend + passes only), so
// `dlc bench`, the microbenchmarks and tests share one definition of every workload.
//
//   W1 mlp     train_step of buildMlp(batch), Adam(lr 1e-3)        (one step)
//   W2 cnn     train_step of buildCnn(batch), SGD momentum 0.9, lr 0.01
//   W3 gelu    fwd: y = 0.5 x (1 + tanh(0.7978845608 (x + 0.044715 x^3))) on f32[2^24]
//              bwd: d/dx sum(y) through autodiff (x -> dx)
//   W4 adam    one Adam update of 2^24 params: (p, g, m, v, step) -> (p', m', v')
//   W5 xent    logits f32[4096,1000], labels i32[4096] -> (mean softmax CE, d/dlogits)
//   gemm       C[M,N] = op(A) op(B), one matmul node with the transpose attributes
//   W6 compile W1's step from graph construction to an Executable (see compileW1Step)
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ir/diagnostic.h"
#include "ir/host_tensor.h"
#include "ir/ir.h"

namespace dlc::bench {

/// One timed function: a function of its own module and the arguments to run it on.
struct BenchCase {
  /// Stable identifier used in JSON and by bench/compare (`mlp.b128`, `gelu.fwd`,
  /// `gemm.128x512x784.NT`).
  std::string id;
  /// The `--workload` name (`mlp`, `gelu`, ...) and the part of it (`step`, `fwd`, ...).
  std::string workload, part;
  int64_t batch = 0;
  std::unique_ptr<Module> module;
  const Function *function = nullptr;
  std::vector<HostTensor> inputs;
};

/// Options shared by the builders.
struct WorkloadOptions {
  /// W1/W2 batch (0: the workload's default, 128 for mlp, 64 for cnn).
  int64_t batch = 0;
  /// Elements of W3 and W4 (default 2^24).
  int64_t elements = int64_t{1} << 24;
  /// W5 rows and classes.
  int64_t xentRows = 4096, xentClasses = 1000;
  /// gemm: C[M,N] = op(A)[M,K] op(B)[K,N]; a transposed operand is stored transposed.
  int64_t m = 128, n = 512, k = 784;
  bool transA = false, transB = true;
  /// Seed of the random inputs (and of the models' initial parameters).
  uint64_t seed = 0;
};

/// The workload names `--workload` accepts (the W6 `compile` included).
const std::vector<std::string> &workloadNames();

/// The cases of workload \p name (gelu has two: fwd and bwd). `compile` has none (it is
/// timed by compileW1Step). An unknown name or a bad option is an error.
Expected<std::vector<BenchCase>> buildWorkload(const std::string &name, const WorkloadOptions &opts);

/// W1's training step as built by the tools: buildMlp(batch), buildTrainStep with Adam
/// (lr an input), then simplify, cse, dce on the step. The step is `train_step` of \p m.
Expected<Function *> buildMlpTrainStep(Module &m, int64_t batch, uint64_t seed);

/// Parses `M,N,K` into opts.m/n/k and `NN|NT|TN|TT` into opts.transA/transB.
Expected<void> parseGemmShape(const std::string &shape, const std::string &trans, WorkloadOptions &opts);

}  // namespace dlc::bench
