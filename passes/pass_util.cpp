//===- passes/pass_util.cpp - small helpers shared by the passes -----------===//
#include "passes/pass_util.h"

#include <bit>
#include <cstring>

namespace dlc {

Expected<std::vector<Function *>> selectFunctions(Module &m, const PassOptions &opts) {
  std::vector<Function *> out;
  if (!opts.function.empty()) {
    Function *f = m.lookup(opts.function);
    if (!f) return makeError(Location{}, "no function named '@{}' in the module", opts.function);
    out.push_back(f);
    return out;
  }
  for (const auto &f : m.functions()) out.push_back(f.get());
  return out;
}

std::string valueLabel(const Function &f, const Value *v) {
  if (!v->name().empty()) return "%" + v->name();
  // The printer numbers unnamed values in definition order, arguments first.
  int64_t number = 0;
  for (size_t i = 0; i < f.numArgs(); ++i) {
    if (f.arg(i) == v) return fmt::format("%{}", number);
    if (f.arg(i)->name().empty()) ++number;
  }
  for (const auto &n : f.nodes()) {
    if (n->result() == v) return fmt::format("%{}", number);
    if (n->result()->name().empty()) ++number;
  }
  return "%<unknown>";
}

std::optional<double> splatValue(const Value *v) {
  const Node *d = v->def();
  if (!d || d->kind() != OpKind::Constant) return std::nullopt;
  // A dense constant whose elements are all bitwise equal counts as a splat too.
  const std::vector<double> &vals = d->attrsAs<ConstantAttrs>().values;
  if (vals.empty()) return std::nullopt;
  const uint64_t first = std::bit_cast<uint64_t>(vals[0]);
  for (double x : vals)
    if (std::bit_cast<uint64_t>(x) != first) return std::nullopt;
  return vals[0];
}

bool isSplatOf(const Value *v, double c) {
  std::optional<double> s = splatValue(v);
  return s && std::bit_cast<uint64_t>(*s) == std::bit_cast<uint64_t>(c);
}

Node *defOf(const Value *v, OpKind k) {
  Node *d = v->def();
  return d && d->kind() == k ? d : nullptr;
}

}  // namespace dlc
