//===- ir/ir.h - Module, Function, Node and Value ------------------------===//
//
// The IR is SSA over tensors with static shapes. A Function owns its arguments and its
// nodes; each Node has exactly one result Value. Nodes are kept in program order, which
// is always a topological order (operands are defined before use) for verified IR.
// Use lists are not stored: `users()` computes them, which keeps every mutation a plain
// pointer update and is cheap at the graph sizes of training steps.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ir/attrs.h"
#include "ir/diagnostic.h"
#include "ir/op_kind.h"
#include "ir/types.h"

namespace dlc {

class Function;
class Node;

/// An SSA value: a function argument or the result of a node.
class Value {
 public:
  const TensorType &type() const { return type_; }
  void setType(TensorType t) { type_ = std::move(t); }
  const Shape &shape() const { return type_.shape; }
  DType dtype() const { return type_.dtype; }
  int64_t rank() const { return type_.rank(); }

  /// The name as written (without `%`); empty when the printer numbers it.
  const std::string &name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }

  /// The defining node, or null for an argument.
  Node *def() const { return def_; }
  bool isArgument() const { return def_ == nullptr; }
  /// Position among the function's arguments; -1 for node results.
  int argIndex() const { return argIndex_; }

 private:
  friend class Function;
  friend class Node;
  TensorType type_;
  std::string name_;
  Node *def_ = nullptr;
  int argIndex_ = -1;
};

/// One operation. Its attributes are the struct ops.def names for its kind.
class Node {
 public:
  OpKind kind() const { return kind_; }
  std::string_view mnemonic() const { return dlc::mnemonic(kind_); }

  std::span<Value *const> operands() const { return operands_; }
  size_t numOperands() const { return operands_.size(); }
  Value *operand(size_t i) const { return operands_[i]; }
  void setOperand(size_t i, Value *v) { operands_[i] = v; }
  void setOperands(std::vector<Value *> v) { operands_ = std::move(v); }

  Value *result() { return &result_; }
  const Value *result() const { return &result_; }
  const TensorType &type() const { return result_.type(); }

  const Attrs &attrs() const { return attrs_; }
  void setAttrs(Attrs a) { attrs_ = std::move(a); }
  template <class A> const A &attrsAs() const { return std::get<A>(attrs_); }

  /// The location the node stands for (from `loc(...)` in text or the C++ call site in
  /// the builder); printed. Unknown when none was given.
  Location loc;
  /// Where the parser read the node; not printed. Used for diagnostics about the text.
  Location parsedLoc;
  /// The best location for a diagnostic: where it was read, else `loc`.
  const Location &diagLoc() const { return parsedLoc.isKnown() ? parsedLoc : loc; }

  Function *parent() const { return parent_; }

 private:
  friend class Function;
  Node(OpKind k, std::vector<Value *> ops, TensorType t, Attrs a)
      : kind_(k), operands_(std::move(ops)), attrs_(std::move(a)) {
    result_.type_ = std::move(t);
    result_.def_ = this;
  }
  OpKind kind_;
  std::vector<Value *> operands_;
  Attrs attrs_;
  Value result_;
  Function *parent_ = nullptr;
};

/// A pure function over tensors. `resultAliases[i] = j` says result i may be written in
/// place of argument j (the argument is donated), which is how a training step updates
/// parameters without side effects in the IR.
class Function {
 public:
  explicit Function(std::string name) : name_(std::move(name)) {}
  Function(const Function &) = delete;
  Function &operator=(const Function &) = delete;

  const std::string &name() const { return name_; }
  void setName(std::string n) { name_ = std::move(n); }
  Location loc;        ///< printed `loc(...)`, if any
  Location parsedLoc;  ///< where the parser read `func`

  // Arguments.
  size_t numArgs() const { return args_.size(); }
  Value *arg(size_t i) const { return args_[i].get(); }
  std::vector<Value *> args() const;
  Value *addArg(TensorType t, std::string name = {});
  /// Reorders arguments: the new i-th argument is the old order[i]. Aliases follow.
  void permuteArgs(const std::vector<int> &order);
  /// Removes argument \p i, which must have no users and no alias.
  void eraseArg(size_t i);

  // Nodes, in program order.
  const std::vector<std::unique_ptr<Node>> &nodes() const { return nodes_; }
  size_t numNodes() const { return nodes_.size(); }
  /// Appends a node at the end (or before \p before when given) and returns it.
  Node *createNode(OpKind k, std::vector<Value *> operands, TensorType type, Attrs attrs,
                   Location loc = {}, const Node *before = nullptr);
  /// Removes a node; its result must have no users left.
  void eraseNode(Node *n);
  /// Position of \p n in program order.
  size_t indexOf(const Node *n) const;

  // Results.
  const std::vector<Value *> &results() const { return results_; }
  void setResults(std::vector<Value *> r, std::vector<int> aliases = {});
  /// -1, or the index of the argument result \p i is written over.
  const std::vector<int> &resultAliases() const { return aliases_; }
  void setResultAlias(size_t result, int arg) { aliases_[result] = arg; }

  // Uses.
  /// Nodes using \p v as an operand, in program order (a node using it twice appears once).
  std::vector<Node *> users(const Value *v) const;
  bool hasUses(const Value *v) const;
  /// Replaces every use of \p from (operands and results) with \p to.
  void replaceAllUsesWith(Value *from, Value *to);
  /// Reorders nodes so that every operand is defined before its use, keeping the
  /// current order where it already is valid. Returns false on a cycle.
  bool sortTopologically();

 private:
  std::string name_;
  std::vector<std::unique_ptr<Value>> args_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<Value *> results_;
  std::vector<int> aliases_;
};

/// A list of functions; the unit the parser reads and the passes transform.
class Module {
 public:
  Module() = default;
  Module(const Module &) = delete;
  Module &operator=(const Module &) = delete;
  Module(Module &&) = default;
  Module &operator=(Module &&) = default;

  const std::vector<std::unique_ptr<Function>> &functions() const { return funcs_; }
  Function *addFunction(std::string name);
  /// The function called \p name, or null.
  Function *lookup(std::string_view name) const;
  /// Removes and returns \p f.
  std::unique_ptr<Function> takeFunction(Function *f);

 private:
  std::vector<std::unique_ptr<Function>> funcs_;
};

/// A deep copy of \p f named \p newName (values keep their names and types).
std::unique_ptr<Function> cloneFunction(const Function &f, std::string newName);

}  // namespace dlc
