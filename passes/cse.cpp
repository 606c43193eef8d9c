//===- passes/cse.cpp - common subexpression elimination -------------------===//
#include "passes/cse.h"

#include <bit>
#include <cstring>
#include <type_traits>
#include <unordered_map>

#include "passes/pass_util.h"

namespace dlc {
namespace {

/// Appends the bytes of a field to a key. Handles every field type the attrs use:
/// integers, bools, enums, doubles (bitwise) and vectors of those.
struct KeyWriter {
  std::string &out;

  template <class T> void put(const T &v) {
    if constexpr (std::is_same_v<T, double>) {
      putBytes(std::bit_cast<uint64_t>(v));
    } else if constexpr (std::is_enum_v<T>) {
      putBytes(static_cast<std::underlying_type_t<T>>(v));
    } else if constexpr (std::is_integral_v<T>) {
      putBytes(v);
    } else {  // a std::vector of the above: length, then the elements
      putBytes(static_cast<uint64_t>(v.size()));
      for (const auto &e : v) put(e);
    }
  }
  template <class T> void putBytes(T v) {
    char buf[sizeof(T)];
    std::memcpy(buf, &v, sizeof(T));
    out.append(buf, sizeof(T));
  }
  template <class T> void operator()(std::string_view /*name*/, const T &v) { put(v); }
};

/// The identity of a node as an expression.
std::string nodeKey(const Node &n) {
  std::string key;
  KeyWriter w{key};
  w.putBytes(static_cast<uint8_t>(n.kind()));
  w.putBytes(static_cast<uint8_t>(n.type().dtype));
  w.put(n.type().shape);
  w.putBytes(static_cast<uint64_t>(n.numOperands()));
  for (const Value *op : n.operands()) w.putBytes(reinterpret_cast<uintptr_t>(op));
  key += attrsKey(n.attrs());
  return key;
}

}  // namespace

std::string attrsKey(const Attrs &a) {
  std::string key;
  KeyWriter w{key};
  w.putBytes(static_cast<uint8_t>(a.index()));
  std::visit([&](const auto &s) { s.fields(w); }, a);
  return key;
}

size_t eliminateCommonSubexpressions(Function &f) {
  // One forward sweep: a node's operands are redirected to the surviving copies before
  // the node is keyed (program order is topological), so chains of duplicates merge too.
  std::unordered_map<std::string, Value *> seen;
  std::unordered_map<const Value *, Value *> replacement;
  std::vector<Node *> duplicates;
  for (const auto &node : f.nodes()) {
    Node &n = *node;
    for (size_t i = 0; i < n.numOperands(); ++i)
      if (auto r = replacement.find(n.operand(i)); r != replacement.end()) n.setOperand(i, r->second);
    auto [it, inserted] = seen.try_emplace(nodeKey(n), n.result());
    if (inserted) continue;
    replacement[n.result()] = it->second;
    duplicates.push_back(&n);
  }
  if (duplicates.empty()) return 0;
  std::vector<Value *> results = f.results();
  for (Value *&r : results)
    if (auto it = replacement.find(r); it != replacement.end()) r = it->second;
  f.setResults(std::move(results), f.resultAliases());
  for (auto it = duplicates.rbegin(); it != duplicates.rend(); ++it) f.eraseNode(*it);
  return duplicates.size();
}

Expected<bool> eliminateCommonSubexpressions(Module &m, const PassOptions &opts) {
  DL_TRY(std::vector<Function *> funcs, selectFunctions(m, opts));
  bool changed = false;
  for (Function *f : funcs) changed |= eliminateCommonSubexpressions(*f) > 0;
  return changed;
}

}  // namespace dlc
