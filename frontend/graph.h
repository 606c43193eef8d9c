//===- frontend/graph.h - building a dlc function from C++ -----------------===//
//
// dlc::Graph owns a Module with one Function under construction. Inputs, parameters
// (with seeded initial values) and constants are created on the graph; ops on the
// returned Tensor handles (tensor.h, nn.h) append nodes through ir::Builder, so shape
// inference lives in one place. finish() orders the arguments as parameters (in
// creation order) then inputs (in creation order), verifies the function and hands it
// over as a Model.
//
//   dlc::Graph g("mlp");
//   dlc::Tensor x = g.input("x", dlc::f32({128, 784}));
//   dlc::Tensor y = g.input("y", dlc::i32({128}));
//   dlc::Tensor h = dlc::nn::relu(dlc::nn::linear(g, x, 512, "fc1"));
//   dlc::Tensor loss = dlc::nn::crossEntropy(dlc::nn::linear(g, h, 10, "fc2"), y);
//   dlc::Expected<dlc::Model> m = g.finish(loss);
//   if (!m) { fmt::print(stderr, "{}\n", m.error().str()); return 1; }
//
// Error policy (no exceptions): the first user error is recorded in the Graph together
// with the C++ call site ("mlp.cpp:12:7: error: 'matmul' ..."); the op returns an
// invalid Tensor and the graph is poisoned, so every later op is a no-op. finish()
// returns the recorded error. An error that is never looked at (through finish(),
// ok(), or takeError()) is not lost silently: the Graph's destructor prints it to
// stderr and, in builds without NDEBUG, aborts - as llvm::Error does for unchecked
// errors.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <source_location>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "frontend/init.h"
#include "frontend/tensor.h"
#include "ir/builder.h"
#include "ir/diagnostic.h"
#include "ir/host_tensor.h"
#include "ir/ir.h"

namespace dlc {

/// Options of a Graph.
struct GraphOptions {
  /// Seed of the parameter initializers; each parameter draws from its own stream
  /// derived from this seed and its name (so adding a layer leaves the others' values
  /// unchanged).
  uint64_t seed = 0;
  /// Give each node the C++ call site as Node::loc (printed as `loc("file":line:col)`).
  /// Errors carry the call site either way.
  bool recordLocations = true;
};

/// One trainable parameter: a function argument with an initial value.
struct Parameter {
  std::string name;
  Init init;
  /// The seeded initial value (type = the argument's type).
  HostTensor initial;
};

/// A finished graph: one function `(params..., inputs...) -> outputs` and the
/// parameters' initial values.
struct Model {
  Module module;
  /// The function, owned by `module`.
  Function *function = nullptr;
  /// Argument i < params.size() is params[i].
  std::vector<Parameter> params;
  /// Argument params.size() + i is the input inputNames[i].
  std::vector<std::string> inputNames;

  /// The initial parameter values, in argument order.
  std::vector<HostTensor> initialParams() const;
  /// Arguments for interpret(): the initial parameters followed by \p inputs.
  std::vector<HostTensor> arguments(std::vector<HostTensor> inputs) const;
};

class Graph {
 public:
  /// A graph building a function called \p name (a valid value name, see Tensor::named;
  /// otherwise the error is recorded at \p loc).
  explicit Graph(std::string name = "main", GraphOptions opts = {}, SrcLoc loc = SrcLoc::current());
  ~Graph();
  /// Tensors point at their Graph, so it neither copies nor moves.
  Graph(const Graph &) = delete;
  Graph &operator=(const Graph &) = delete;

  // Sources.
  /// A function input (data fed at every call), e.g. `g.input("x", f32({128, 784}))`.
  Tensor input(std::string name, TensorType type, SrcLoc loc = SrcLoc::current());
  /// A trainable f32 parameter initialized by \p init.
  Tensor param(std::string name, Shape shape, Init init, SrcLoc loc = SrcLoc::current());
  /// A trainable parameter of any floating-point type.
  Tensor param(std::string name, TensorType type, Init init, SrcLoc loc = SrcLoc::current());
  /// A splat constant: every element of type \p t equals \p value.
  Tensor constant(double value, TensorType t, SrcLoc loc = SrcLoc::current());
  /// A constant with one value per element (row-major).
  Tensor constant(std::vector<double> values, TensorType t, SrcLoc loc = SrcLoc::current());
  /// A constant holding a copy of \p t.
  Tensor constant(const HostTensor &t, SrcLoc loc = SrcLoc::current());
  /// A rank-0 constant.
  Tensor scalar(double value, DType d = DType::F32, SrcLoc loc = SrcLoc::current());
  /// Each element is its index along \p dim.
  Tensor iota(TensorType t, int64_t dim, SrcLoc loc = SrcLoc::current());

  // Finishing.
  /// Sets the function's results, orders the arguments (parameters, then inputs),
  /// verifies, and moves the function out into a Model. The graph accepts no further
  /// ops. Returns the first recorded error instead, if any.
  Expected<Model> finish(const std::vector<Tensor> &outputs, SrcLoc loc = SrcLoc::current());
  Expected<Model> finish(const Tensor &output, SrcLoc loc = SrcLoc::current());

  // Errors.
  /// True while no error was recorded. Counts as looking at the error.
  bool ok() const;
  /// The recorded error, if any, without consuming it. Counts as looking at the error.
  const Error *error() const {
    errorChecked_ = true;
    return error_ ? &*error_ : nullptr;
  }
  /// Moves the recorded error out (empty Error when none); the graph stays poisoned.
  Error takeError();

  // The function under construction (null after finish()).
  Function *function() const { return func_; }
  const std::string &name() const { return name_; }
  const GraphOptions &options() const { return opts_; }
  /// The parameters created so far, in creation order.
  const std::vector<Parameter> &params() const { return params_; }

  // For writing frontend ops (tensor.cpp, nn.cpp); not needed by users.
  /// Appends op \p k through Builder::tryCreate at call site \p loc. Returns an invalid
  /// Tensor (and records the error) when the graph is poisoned or finished, an operand
  /// is invalid or from another graph, or shape inference rejects the op.
  Tensor emit(OpKind k, std::span<const Tensor> operands, Attrs attrs, std::optional<TensorType> given,
              SrcLoc loc);
  /// Checks that \p operands are valid tensors of this graph and the graph accepts ops;
  /// records an error at \p loc when they are not.
  bool checkOperands(std::span<const Tensor> operands, SrcLoc loc);
  /// Records \p d as the graph's error unless one is recorded already; returns an
  /// invalid Tensor for convenience.
  Tensor fail(Diagnostic d);
  /// The Location that ops at \p loc report: the outermost active CallSite's location,
  /// else \p loc itself.
  Location locationOf(SrcLoc loc);
  /// Gives a value a unique printable name (see Tensor::named).
  void nameValue(Value *v, std::string name, SrcLoc loc);

  /// While alive, every op on this graph reports the location of the outermost
  /// CallSite instead of its own, so a composite op (nn::linear, nn::crossEntropy)
  /// points at the user's line rather than at frontend/nn.cpp.
  class CallSite {
   public:
    CallSite(Graph &g, SrcLoc loc);
    ~CallSite();
    CallSite(const CallSite &) = delete;
    CallSite &operator=(const CallSite &) = delete;

   private:
    Graph &g_;
    bool outermost_;
  };

 private:
  Tensor addArgument(std::string name, TensorType type, SrcLoc loc);
  bool claimName(const std::string &name, std::string_view what, SrcLoc loc);

  std::string name_;
  GraphOptions opts_;
  Module module_;
  Function *func_ = nullptr;
  std::optional<Builder> builder_;
  std::vector<Parameter> params_;
  std::vector<Value *> paramValues_;
  std::vector<Value *> inputValues_;
  std::unordered_set<std::string> names_;
  std::unordered_map<const char *, std::shared_ptr<const std::string>> files_;
  std::optional<SrcLoc> callSite_;
  std::optional<Error> error_;
  mutable bool errorChecked_ = false;
  bool finished_ = false;
};

}  // namespace dlc
