//===- ir/verifier.cpp - structural and type checks of the IR -------------===//
#include "ir/verifier.h"

#include <unordered_map>
#include <unordered_set>

#include "ir/shape_inference.h"

namespace dlc {
namespace {

/// Printable name of a value for messages: `%name`, `argument N` or `a node result`.
std::string describe(const Value *v) {
  if (!v->name().empty()) return "'%" + v->name() + "'";
  if (v->isArgument()) return fmt::format("argument {}", v->argIndex());
  return fmt::format("the result of '{}'", v->def()->mnemonic());
}

class FunctionVerifier {
 public:
  explicit FunctionVerifier(const Function &f) : f_(f) {}

  std::vector<Diagnostic> run() {
    const Location &floc = f_.parsedLoc.isKnown() ? f_.parsedLoc : f_.loc;
    for (size_t i = 0; i < f_.numArgs(); ++i) {
      const Value *a = f_.arg(i);
      if (a->argIndex() != static_cast<int>(i))
        diags_.push_back(makeDiag(floc, "argument {} of @{} has a stale index", i, f_.name()));
      checkType(a->type(), floc, describe(a));
      define(a, floc);
    }
    for (const auto &n : f_.nodes()) checkNode(*n);
    checkResults(floc);
    return std::move(diags_);
  }

 private:
  void checkType(const TensorType &t, const Location &loc, const std::string &what) {
    for (int64_t d : t.shape)
      if (d < 0) {
        diags_.push_back(makeDiag(loc, "{} has a negative dimension: {}", what, t));
        return;
      }
    if (!numElements(t.shape)) diags_.push_back(makeDiag(loc, "{} is too large: {}", what, t));
  }

  void define(const Value *v, const Location &loc) {
    defined_.insert(v);
    if (v->name().empty()) return;
    auto [it, inserted] = names_.emplace(v->name(), loc);
    if (!inserted)
      diags_.push_back(makeDiag(loc, "redefinition of '%{}'", v->name()).note(it->second, "previous definition here"));
  }

  void checkNode(const Node &n) {
    const Location &loc = n.diagLoc();
    if (n.parent() != &f_) diags_.push_back(makeDiag(loc, "'{}' belongs to another function", n.mnemonic()));
    bool operandsOk = true;
    for (size_t i = 0; i < n.numOperands(); ++i) {
      const Value *v = n.operand(i);
      if (!v) {
        diags_.push_back(makeDiag(loc, "'{}' operand {} is null", n.mnemonic(), i));
        operandsOk = false;
      } else if (!defined_.count(v)) {
        Diagnostic d = makeDiag(loc, "'{}' operand {} ({}) is not defined before this use", n.mnemonic(), i, describe(v));
        if (v->def()) d.note(v->def()->diagLoc(), "defined here");
        diags_.push_back(std::move(d));
        operandsOk = false;
      }
    }
    if (operandsOk) {
      std::vector<TensorType> types;
      for (const Value *v : n.operands()) types.push_back(v->type());
      Expected<TensorType> t = inferType(n.kind(), types, n.attrs(), &n.type());
      if (!t)
        for (Diagnostic d : t.error().diagnostics()) {
          d.loc = loc;
          diags_.push_back(std::move(d));
        }
    }
    checkType(n.type(), loc, fmt::format("the result of '{}'", n.mnemonic()));
    define(n.result(), loc);
  }

  void checkResults(const Location &loc) {
    const auto &results = f_.results();
    const auto &aliases = f_.resultAliases();
    if (results.empty()) diags_.push_back(makeDiag(loc, "@{} returns nothing", f_.name()));
    if (aliases.size() != results.size()) {
      diags_.push_back(makeDiag(loc, "@{} has {} alias entries for {} results", f_.name(), aliases.size(), results.size()));
      return;
    }
    std::unordered_set<int> donated;
    for (size_t i = 0; i < results.size(); ++i) {
      const Value *r = results[i];
      if (!r || !defined_.count(r)) {
        diags_.push_back(makeDiag(loc, "result {} of @{} is not defined in the function", i, f_.name()));
        continue;
      }
      int a = aliases[i];
      if (a < 0) continue;
      if (a >= static_cast<int>(f_.numArgs())) {
        diags_.push_back(makeDiag(loc, "result {} aliases argument {}, which does not exist", i, a));
      } else if (f_.arg(a)->type() != r->type()) {
        diags_.push_back(makeDiag(loc, "result {} ({}) aliases {} of a different type ({})", i, r->type(),
                                  describe(f_.arg(a)), f_.arg(a)->type()));
      } else if (!donated.insert(a).second) {
        diags_.push_back(makeDiag(loc, "{} is aliased by more than one result", describe(f_.arg(a))));
      }
    }
  }

  const Function &f_;
  std::vector<Diagnostic> diags_;
  std::unordered_set<const Value *> defined_;
  std::unordered_map<std::string, Location> names_;
};

}  // namespace

Expected<void> verify(const Function &f) {
  std::vector<Diagnostic> d = FunctionVerifier(f).run();
  if (d.empty()) return {};
  return Error(std::move(d));
}

Expected<void> verify(const Module &m) {
  std::vector<Diagnostic> all;
  std::unordered_map<std::string, Location> names;
  for (const auto &f : m.functions()) {
    const Location &loc = f->parsedLoc.isKnown() ? f->parsedLoc : f->loc;
    auto [it, inserted] = names.emplace(f->name(), loc);
    if (!inserted)
      all.push_back(makeDiag(loc, "redefinition of function @{}", f->name()).note(it->second, "previous definition here"));
    if (Expected<void> ok = verify(*f); !ok)
      for (Diagnostic &d : ok.error().diagnostics()) all.push_back(std::move(d));
  }
  if (all.empty()) return {};
  return Error(std::move(all));
}

}  // namespace dlc
