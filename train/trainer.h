//===- train/trainer.h - the embedding API: compile once, train, evaluate, save ===//
//
// dlc::Trainer is what a C++ program links to train a model (DESIGN.md section 5):
//
//   DL_TRY(dlc::Model m, dlc::buildMlp(128));                 // or a dlc::Graph
//   dlc::TrainerOptions o;
//   o.optimizer = dlc::Adam{};
//   o.schedule = dlc::ConstantLr{1e-3};
//   DL_TRY(auto trainer, dlc::Trainer::create(std::move(m), o)); // compiles once
//   for (each batch x, y) { DL_TRY(float loss, trainer->step(x, y)); }
//   DL_TRY(dlc::EvalSummary test, trainer->evaluate(testImages, testLabels));
//   trainer->save("model.safetensors");                       // params + optimizer state
//
// What create() builds from the model (a loss function `(params..., inputs...) -> loss`
// with initial parameter values, frontend/graph.h):
//  - the training step (passes/train_step.h: autodiff + the optimizer update, the
//    learning rate an input so the host-side schedule never recompiles), cleaned up by
//    TrainerOptions::pipeline and JIT-compiled (runtime/executable.h);
//  - the evaluation function: the same forward pass returning (loss, logits), on the
//    same parameters. The logits are the loss function's second result when it has
//    one, else the value named `logits` (as buildMlp/buildCnn name it); without either,
//    evaluation reports the loss only.
//
// Inputs: the model's inputs in order (for buildMlp/buildCnn: x, labels). step(x, y)
// and the dataset evaluate() need exactly two inputs, the second integer labels [batch].
//
// Evaluation of a dataset walks it in batches of the model's (static) batch size; the
// last partial batch is zero-padded and only its real rows count. With logits, the
// loss is the mean softmax cross-entropy of the logits computed on the host in double
// precision over the real rows; without them it is the model's own loss per batch,
// weighted by real rows (approximate for a padded batch).
//
// Checkpoints (safetensors, runtime/data/safetensors.h; written atomically): every
// parameter under its own name (`fc1.weight`, as PyTorch's state_dict names it), the
// optimizer state as `optimizer.<param>.<state>` (`optimizer.fc1.weight.exp_avg`, the
// torch.optim state keys) and, for Adam/AdamW, `optimizer.step` (i32, steps taken).
// Metadata: `dlc.format` = `dlc-trainer-1`, `dlc.optimizer` (its name), `dlc.steps`
// (optimizer steps taken, which drives the schedule), `dlc.model` (the function name),
// plus the caller's entries. load() refuses a checkpoint whose tensor names or types
// differ from this trainer's (listing every difference) or whose optimizer differs, and
// changes nothing then. loadParameters() reads only the parameters (fine-tuning,
// evaluation) and accepts files with extra tensors.
//
// On a GPU (TrainerOptions::cuda) the step runs there with parameters and optimizer
// state resident on the device (as one CUDA graph when the driver has them); the batch
// and learning rate are uploaded and the loss downloaded per step. The GPU's kernels
// follow the CPU's numerics (docs/gpu.md), so with --math=vector and --keep-denormals a
// GPU run should equal the CPU run bitwise.
//
// Numerics: kernels flush denormals by default (runtime/executable.h); results do not
// depend on TrainerOptions::threads, and fused equals unfused bitwise for elementwise
// work, so a run is reproducible from its seed and a resumed run equals an
// uninterrupted one bitwise.
//
// Thread safety: a Trainer owns mutable parameters and optimizer state; use one
// Trainer from one thread at a time (two Trainers are independent).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codegen/nvptx.h"
#include "codegen/options.h"
#include "frontend/graph.h"
#include "ir/diagnostic.h"
#include "ir/host_tensor.h"
#include "passes/lr_schedule.h"
#include "passes/optimizer_config.h"
#include "runtime/data/safetensors.h"

namespace dlc {

class Executable;
class CudaExecutable;

struct TrainerOptions {
  OptimizerConfig optimizer = Adam{};
  /// The learning rate per optimizer step (host side; no recompilation).
  LrSchedule schedule = ConstantLr{1e-3};
  /// Gradient clipping by global norm; 0 disables it.
  double clipNorm = 0.0;
  /// Kernel threads; 0 = one per hardware thread. Results do not depend on it.
  int threads = 0;
  /// false: one kernel per IR op (`--unfused`), for comparison and debugging.
  bool fuse = true;
  /// Keep IEEE denormals instead of flushing them to zero in kernel threads.
  bool keepDenormals = false;
  /// Target and numerics of the generated code (its `threads` is replaced by `threads`).
  CodegenOptions codegen;
  /// Passes run on the training step and the evaluation function before compiling.
  std::string pipeline = "simplify,cse,dce";
  /// Run the training step on an NVIDIA GPU (codegen/nvptx.h, runtime/cuda_executable.h):
  /// parameters and optimizer state stay on the device between steps; each step uploads
  /// the batch and the learning rate and downloads the loss. Evaluation, parameter()
  /// and save() first download the parameters and state (evaluation runs on the CPU).
  bool cuda = false;
  /// --target=cuda: the GPU (its `flushDenormals` is replaced by !keepDenormals).
  GpuOptions gpu;
  /// --target=cuda: replay the whole step as one CUDA graph when the driver has them.
  bool cudaGraph = true;
};

/// The evaluation of one batch.
struct BatchEval {
  /// Mean loss over the real rows (see the file comment).
  double loss = 0;
  /// Rows whose arg-max logit equals the label (0 without logits).
  int64_t correct = 0;
  /// Real rows counted.
  int64_t rows = 0;
  /// The logits of every row, padded ones included; empty without logits.
  HostTensor logits;
};

/// The evaluation of a whole dataset.
struct EvalSummary {
  double loss = 0;
  /// Percent of samples classified correctly; -1 when the model has no logits.
  double accuracy = -1;
  int64_t samples = 0;
};

class Trainer {
 public:
  /// Builds and compiles the training step and the evaluation function of \p model.
  static Expected<std::unique_ptr<Trainer>> create(Model model, const TrainerOptions &opts = {});
  ~Trainer();
  Trainer(const Trainer &) = delete;
  Trainer &operator=(const Trainer &) = delete;

  // Training.
  /// One optimizer step on a batch (the model's inputs, in order). Returns the loss
  /// before the update. On error the parameters and state are unchanged (on a GPU: when
  /// the error comes before the launch, e.g. a wrong input type; a failed launch leaves
  /// the device state undefined).
  Expected<float> step(std::span<const HostTensor> inputs);
  Expected<float> step(const HostTensor &x, const HostTensor &labels);
  /// Optimizer steps taken (also restored by load()).
  int64_t stepsTaken() const { return steps_; }
  /// The learning rate the next step uses.
  double learningRate() const;

  // Evaluation on the current parameters.
  /// One batch; \p validRows < 0 means all rows are real.
  Expected<BatchEval> evaluateBatch(std::span<const HostTensor> inputs, int64_t validRows = -1);
  /// A whole dataset (inputs [N, ...], labels [N]); \p limit > 0 uses the first
  /// \p limit samples only.
  Expected<EvalSummary> evaluate(const HostTensor &inputs, const HostTensor &labels, int64_t limit = 0);
  bool hasLogits() const { return hasLogits_; }

  // Parameters, in the model's order.
  const std::vector<std::string> &parameterNames() const { return paramNames_; }
  /// The current value of the parameter \p name, or nullptr.
  const HostTensor *parameter(std::string_view name) const;
  /// Replaces a parameter's value; fails on an unknown name or a different type.
  Expected<void> setParameter(std::string_view name, HostTensor value);
  /// The optimizer state tensors under their checkpoint names.
  std::vector<data::TensorRef> optimizerState() const;

  // Checkpoints.
  /// Saves parameters, optimizer state and the step count atomically, with \p extra
  /// added to the metadata.
  Expected<void> save(const std::string &path, const data::Metadata &extra = {}) const;
  /// Restores everything save() wrote; returns the file's metadata.
  Expected<data::Metadata> load(const std::string &path);
  /// Restores the parameters only (optimizer state and step count are untouched).
  Expected<data::Metadata> loadParameters(const std::string &path);

  // The model and what was compiled.
  /// The model's inputs: names and the types a batch must have.
  const std::vector<std::string> &inputNames() const { return inputNames_; }
  const std::vector<TensorType> &inputTypes() const { return inputTypes_; }
  int64_t batchSize() const;
  const Module &module() const { return model_.module; }
  const Function &trainStepFunction() const { return *stepFn_; }
  const Function &evalFunction() const { return *evalFn_; }
  Executable &stepExecutable() { return *stepExe_; }
  Executable &evalExecutable() { return *evalExe_; }
  /// Wall time of create(): building, passes and JIT compilation, in seconds.
  double compileSeconds() const { return compileSeconds_; }
  const TrainerOptions &options() const { return opts_; }
  /// The GPU's training step (TrainerOptions::cuda), else nullptr.
  CudaExecutable *gpuStepExecutable() { return gpuStep_.get(); }

 private:
  Trainer() = default;
  Expected<data::Checkpoint> readCheckpoint(const std::string &path, bool paramsOnly) const;
  /// GPU: downloads parameters and state into args_ when the device's are newer.
  Expected<void> pullFromDevice() const;

  TrainerOptions opts_;
  Model model_;
  Function *stepFn_ = nullptr;
  Function *evalFn_ = nullptr;
  std::unique_ptr<Executable> stepExe_, evalExe_;
  std::vector<std::string> paramNames_, stateNames_, inputNames_;
  std::vector<TensorType> inputTypes_;
  /// Arguments of the step: params..., state..., inputs..., lr. On the GPU the
  /// parameters and state here are stale while hostStale_ (pullFromDevice()), and the
  /// device's while deviceStale_ (uploaded before the next step).
  mutable std::vector<HostTensor> args_;
  std::unique_ptr<CudaExecutable> gpuStep_;
  mutable bool hostStale_ = false;
  bool deviceStale_ = true;
  /// Results of the last step (only the loss is written here; the rest alias args_).
  std::vector<HostTensor> stepOut_;
  size_t numParams_ = 0, numState_ = 0;
  int64_t steps_ = 0;
  bool hasLogits_ = false;
  double compileSeconds_ = 0;
};

/// Reads a model from a loss function in a module (the `.dlc` convention of
/// `dlc train`, docs/training.md): the arguments named `x` and `labels` (when present,
/// else the last two arguments) are the inputs, every other argument is a
/// floating-point parameter, initialized from \p seed like PyTorch's layers: rank >= 2
/// U(-1/sqrt(fanIn), 1/sqrt(fanIn)) (kaiming_uniform(a=sqrt(5))), rank < 2 zeros.
/// Result 0 is the loss (a floating-point scalar); an optional result 1 is the logits.
/// \p function selects the function (empty: the first). Arguments are reordered to
/// parameters first, then x, then labels.
Expected<Model> modelFromModule(Module module, std::string_view function, uint64_t seed);

/// \p samples [N, ...] viewed as [N, the sample shape of \p batchType] (e.g. images
/// [N, 28, 28] for a model input [B, 1, 28, 28]): same dtype and elements per sample.
Expected<HostTensor> reshapeSamples(HostTensor samples, const TensorType &batchType);

}  // namespace dlc
