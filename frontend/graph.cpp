//===- frontend/graph.cpp - building a dlc function from C++ ---------------===//
#include "frontend/graph.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "ir/verifier.h"

namespace dlc {

//===----------------------------------------------------------------------===//
// Model
//===----------------------------------------------------------------------===//

std::vector<HostTensor> Model::initialParams() const {
  std::vector<HostTensor> out;
  out.reserve(params.size());
  for (const Parameter &p : params) out.push_back(p.initial);
  return out;
}

std::vector<HostTensor> Model::arguments(std::vector<HostTensor> inputs) const {
  std::vector<HostTensor> out = initialParams();
  for (HostTensor &t : inputs) out.push_back(std::move(t));
  return out;
}

//===----------------------------------------------------------------------===//
// Graph: construction, errors, locations, names
//===----------------------------------------------------------------------===//

static bool isValidName(const std::string &s);

Graph::Graph(std::string name, GraphOptions opts, SrcLoc loc) : name_(std::move(name)), opts_(opts) {
  func_ = module_.addFunction(name_);
  builder_.emplace(*func_);
  if (!isValidName(name_))
    fail(makeDiag(locationOf(loc),
                  "invalid graph name '{}': use letters, digits, '_' and '.', not starting with a digit", name_));
}

Graph::~Graph() {
  if (!error_ || errorChecked_) return;
  // An error nobody looked at: say so rather than lose it (see the policy in graph.h).
  std::fprintf(stderr, "dlc: unchecked error while building graph '%s':\n%s\n", name_.c_str(),
               error_->str().c_str());
#ifndef NDEBUG
  std::fflush(nullptr);  // keep the program's own output, which abort() would drop
  std::abort();
#endif
}

bool Graph::ok() const {
  errorChecked_ = true;
  return !error_.has_value();
}

Error Graph::takeError() {
  errorChecked_ = true;
  return error_ ? *error_ : Error();
}

Tensor Graph::fail(Diagnostic d) {
  if (!error_) {
    error_ = Error(std::move(d));
    errorChecked_ = false;
  }
  return Tensor(this, nullptr);
}

Location Graph::locationOf(SrcLoc loc) {
  SrcLoc site = callSite_.value_or(loc);
  auto [it, inserted] = files_.try_emplace(site.file_name());
  if (inserted) it->second = std::make_shared<const std::string>(site.file_name());
  return Location{it->second, site.line(), site.column()};
}

Graph::CallSite::CallSite(Graph &g, SrcLoc loc) : g_(g), outermost_(!g.callSite_) {
  if (outermost_) g_.callSite_ = loc;
}

Graph::CallSite::~CallSite() {
  if (outermost_) g_.callSite_.reset();
}

bool Graph::checkOperands(std::span<const Tensor> operands, SrcLoc loc) {
  if (error_) return false;  // poisoned: a no-op, the first error stands
  if (finished_) {
    fail(makeDiag(locationOf(loc), "graph '{}' is finished; it accepts no more ops", name_));
    return false;
  }
  for (size_t i = 0; i < operands.size(); ++i) {
    const Tensor &t = operands[i];
    if (t.graph() != this) {
      const char *why = t.graph() ? "belongs to another graph" : "is a default-constructed Tensor";
      fail(makeDiag(locationOf(loc), "operand {} {}", i, why));
      return false;
    }
    if (!t.valid()) {
      fail(makeDiag(locationOf(loc), "operand {} is invalid (the op that made it failed)", i));
      return false;
    }
  }
  return true;
}

static bool isValidName(const std::string &s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') return false;
  return true;
}

bool Graph::claimName(const std::string &name, std::string_view what, SrcLoc loc) {
  if (!isValidName(name)) {
    fail(makeDiag(locationOf(loc),
                  "invalid {} name '{}': use letters, digits, '_' and '.', not starting with a digit",
                  what, name));
    return false;
  }
  if (!names_.insert(name).second) {
    fail(makeDiag(locationOf(loc), "{} name '{}' is already used in graph '{}'", what, name, name_));
    return false;
  }
  return true;
}

void Graph::nameValue(Value *v, std::string name, SrcLoc loc) {
  if (!isValidName(name)) {
    fail(makeDiag(locationOf(loc),
                  "invalid value name '{}': use letters, digits, '_' and '.', not starting with a digit",
                  name));
    return;
  }
  if (v->isArgument()) {
    // Parameters and inputs are known by their names (Model::params, feeds, checkpoints).
    fail(makeDiag(locationOf(loc), "cannot rename argument '{}' to '{}'", v->name(), name));
    return;
  }
  if (!v->name().empty()) names_.erase(v->name());
  std::string unique = name;
  for (int i = 1; names_.count(unique); ++i) unique = fmt::format("{}_{}", name, i);
  names_.insert(unique);
  v->setName(std::move(unique));
}

//===----------------------------------------------------------------------===//
// Graph: sources
//===----------------------------------------------------------------------===//

Tensor Graph::addArgument(std::string name, TensorType type, SrcLoc loc) {
  if (!claimName(name, "argument", loc)) return Tensor(this, nullptr);
  if (!numElements(type.shape))
    return fail(makeDiag(locationOf(loc), "argument '{}' has an invalid type {}", name, type));
  return Tensor(this, func_->addArg(std::move(type), std::move(name)));
}

Tensor Graph::input(std::string name, TensorType type, SrcLoc loc) {
  if (!checkOperands({}, loc)) return Tensor(this, nullptr);
  Tensor t = addArgument(std::move(name), std::move(type), loc);
  if (t.valid()) inputValues_.push_back(t.value());
  return t;
}

Tensor Graph::param(std::string name, Shape shape, Init init, SrcLoc loc) {
  return param(std::move(name), TensorType{DType::F32, std::move(shape)}, init, loc);
}

Tensor Graph::param(std::string name, TensorType type, Init init, SrcLoc loc) {
  if (!checkOperands({}, loc)) return Tensor(this, nullptr);
  if (!isFloat(type.dtype))
    return fail(makeDiag(locationOf(loc), "parameter '{}' must have a floating-point type, got {}", name, type));
  if (!numElements(type.shape))
    return fail(makeDiag(locationOf(loc), "parameter '{}' has an invalid type {}", name, type));
  Expected<HostTensor> initial = initialize(init, type, deriveSeed(opts_.seed, name));
  if (!initial) return fail(makeDiag(locationOf(loc), "parameter '{}': {}", name, initial.error().message()));
  Tensor t = addArgument(name, type, loc);
  if (!t.valid()) return t;
  params_.push_back(Parameter{std::move(name), init, std::move(*initial)});
  paramValues_.push_back(t.value());
  return t;
}

Tensor Graph::constant(double value, TensorType t, SrcLoc loc) {
  return emit(OpKind::Constant, {}, ConstantAttrs{{value}}, std::move(t), loc);
}

Tensor Graph::constant(std::vector<double> values, TensorType t, SrcLoc loc) {
  return emit(OpKind::Constant, {}, ConstantAttrs{std::move(values)}, std::move(t), loc);
}

Tensor Graph::constant(const HostTensor &t, SrcLoc loc) {
  std::vector<double> values(static_cast<size_t>(t.numElements()));
  for (int64_t i = 0; i < t.numElements(); ++i) values[i] = t.getDouble(i);
  return constant(std::move(values), t.type(), loc);
}

Tensor Graph::scalar(double value, DType d, SrcLoc loc) { return constant(value, TensorType{d, {}}, loc); }

Tensor Graph::iota(TensorType t, int64_t dim, SrcLoc loc) {
  return emit(OpKind::Iota, {}, IotaAttrs{dim}, std::move(t), loc);
}

//===----------------------------------------------------------------------===//
// Graph: ops and finishing
//===----------------------------------------------------------------------===//

Tensor Graph::emit(OpKind k, std::span<const Tensor> operands, Attrs attrs, std::optional<TensorType> given,
                   SrcLoc loc) {
  if (!checkOperands(operands, loc)) return Tensor(this, nullptr);
  std::vector<Value *> values;
  values.reserve(operands.size());
  for (const Tensor &t : operands) values.push_back(t.value());
  Location where = locationOf(loc);
  builder_->setLoc(opts_.recordLocations ? where : Location{});
  Expected<Value *> v = builder_->tryCreate(k, std::move(values), std::move(attrs), std::move(given));
  if (!v) {
    Error e = v.takeError();
    for (Diagnostic &d : e.diagnostics())
      if (!d.loc.isKnown()) d.loc = where;
    if (!error_) {
      error_ = std::move(e);
      errorChecked_ = false;
    }
    return Tensor(this, nullptr);
  }
  return Tensor(this, *v);
}

Expected<Model> Graph::finish(const Tensor &output, SrcLoc loc) {
  return finish(std::vector<Tensor>{output}, loc);
}

Expected<Model> Graph::finish(const std::vector<Tensor> &outputs, SrcLoc loc) {
  if (outputs.empty() && !error_ && !finished_)
    fail(makeDiag(locationOf(loc), "graph '{}' needs at least one output", name_));
  if (!checkOperands(outputs, loc)) return takeError();
  std::vector<Value *> results;
  for (const Tensor &t : outputs) results.push_back(t.value());
  func_->setResults(std::move(results));
  // Parameters first, then inputs, each in creation order.
  std::vector<int> order;
  for (Value *p : paramValues_) order.push_back(p->argIndex());
  for (Value *x : inputValues_) order.push_back(x->argIndex());
  func_->permuteArgs(order);
  finished_ = true;

  if (Expected<void> ok = verify(*func_); !ok) return ok.takeError();
  Model m;
  m.module = std::move(module_);
  m.function = func_;
  m.params = std::move(params_);
  for (Value *x : inputValues_) m.inputNames.push_back(x->name());
  func_ = nullptr;
  builder_.reset();
  params_.clear();
  return m;
}

}  // namespace dlc
