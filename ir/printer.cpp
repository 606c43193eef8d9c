//===- ir/printer.cpp - the text format, printing side ----------------------===//
//
// Prints the canonical form of the text format (docs/text-format.md): every attribute
// field, unnamed values numbered %0, %1, ... in definition order (arguments first), one
// space between tokens, `loc(...)` only where a node or function has a known location.
// The parser reads back exactly what is printed here, so print(parse(print(m))) ==
// print(m). The printer never fails: IR that the verifier would reject (a dangling
// operand, say) still prints, with `%<unknown>` where a name cannot be given.
//
//===----------------------------------------------------------------------===//
#include "ir/printer.h"

#include <cmath>
#include <iterator>
#include <type_traits>
#include <unordered_map>

#include "ir/lexer.h"

namespace dlc {
namespace {

template <class> inline constexpr bool kAlwaysFalse = false;

/// Shortest spelling that parses back to the same double; NaN loses sign and payload.
std::string formatDouble(double d) {
  if (std::isnan(d)) return "nan";
  return fmt::format("{}", d);
}

/// `%name`, `%"odd name"`, or `%7` for an unnamed value numbered 7.
std::string sigilName(char sigil, std::string_view name) {
  return isBareName(name) ? fmt::format("{}{}", sigil, name)
                          : fmt::format("{}{}", sigil, quoteString(name));
}

/// One attribute field value, in the syntax the parser reads for its C++ type.
template <class T> void printFieldValue(std::string &out, const T &v) {
  if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
    fmt::format_to(std::back_inserter(out), "[{}]", fmt::join(v, ","));
  } else if constexpr (std::is_same_v<T, int64_t>) {
    fmt::format_to(std::back_inserter(out), "{}", v);
  } else if constexpr (std::is_same_v<T, bool>) {
    out += v ? "true" : "false";
  } else if constexpr (std::is_same_v<T, double>) {
    out += formatDouble(v);
  } else if constexpr (std::is_same_v<T, CmpDir>) {
    out += cmpDirName(v);
  } else if constexpr (std::is_same_v<T, std::vector<double>>) {
    out += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out += ", ";
      out += formatDouble(v[i]);
    }
    out += ']';
  } else {
    static_assert(kAlwaysFalse<T>, "attribute field type without a text spelling");
  }
}

/// ` loc("file":line:col)`, or nothing for an unknown location.
void printLoc(std::string &out, const Location &loc) {
  if (!loc.isKnown()) return;
  fmt::format_to(std::back_inserter(out), " loc({}:{}:{})", quoteString(loc.fileName()), loc.line,
                 loc.col);
}

class FunctionPrinter {
 public:
  FunctionPrinter(const Function &f, std::string &out) : f_(f), out_(out) {}

  void print() {
    nameValues();
    out_ += fmt::format("func {}(", sigilName('@', f_.name()));
    for (size_t i = 0; i < f_.numArgs(); ++i) {
      if (i) out_ += ", ";
      out_ += fmt::format("{}: {}", nameOf(f_.arg(i)), typeOf(f_.arg(i)));
    }
    out_ += ") -> ";
    printResultTypes();
    printLoc(out_, f_.loc);
    out_ += " {\n";
    for (const auto &n : f_.nodes()) printNode(*n);
    out_ += "  return";
    for (size_t i = 0; i < f_.results().size(); ++i)
      out_ += fmt::format("{}{}", i ? ", " : " ", nameOf(f_.results()[i]));
    out_ += "\n}\n";
  }

 private:
  /// Stored names are kept; the rest are numbered in definition order. A stored name
  /// never looks like a number (it would print quoted), so numbers cannot collide.
  void nameValues() {
    int next = 0;
    auto assign = [&](const Value *v) {
      names_[v] = v->name().empty() ? fmt::format("%{}", next++) : sigilName('%', v->name());
    };
    for (size_t i = 0; i < f_.numArgs(); ++i) assign(f_.arg(i));
    for (const auto &n : f_.nodes()) assign(n->result());
  }

  std::string nameOf(const Value *v) const {
    if (!v) return "%<null>";
    auto it = names_.find(v);
    return it == names_.end() ? "%<unknown>" : it->second;
  }

  static std::string typeOf(const Value *v) { return v ? typeString(v->type()) : "<null>"; }

  void printResultTypes() {
    const auto &results = f_.results();
    const auto &aliases = f_.resultAliases();
    const bool parens = results.size() != 1;
    if (parens) out_ += '(';
    for (size_t i = 0; i < results.size(); ++i) {
      if (i) out_ += ", ";
      out_ += typeOf(results[i]);
      if (i < aliases.size() && aliases[i] >= 0) {
        const auto arg = static_cast<size_t>(aliases[i]);
        out_ += " aliases ";
        out_ += arg < f_.numArgs() ? nameOf(f_.arg(arg)) : "%<unknown>";
      }
    }
    if (parens) out_ += ')';
  }

  void printNode(const Node &n) {
    out_ += fmt::format("  {} = {}", nameOf(n.result()), n.mnemonic());
    const bool isConstant = n.kind() == OpKind::Constant;
    if (isConstant) {
      // The values follow the mnemonic without a key: `constant 0.5` or `constant [1, 2]`.
      if (const auto *c = std::get_if<ConstantAttrs>(&n.attrs())) {
        out_ += ' ';
        if (c->isSplat())
          out_ += formatDouble(c->values.front());
        else
          printFieldValue(out_, c->values);
      }
    }
    for (size_t i = 0; i < n.numOperands(); ++i)
      out_ += fmt::format("{}{}", i ? ", " : " ", nameOf(n.operand(i)));
    std::visit(
        [&](const auto &attrs) {
          attrs.fields([&](std::string_view key, const auto &value) {
            if (isConstant && key == "value") return;
            fmt::format_to(std::back_inserter(out_), " {}=", key);
            printFieldValue(out_, value);
          });
        },
        n.attrs());
    out_ += fmt::format(" : {}", typeString(n.type()));
    printLoc(out_, n.loc);
    out_ += '\n';
  }

  const Function &f_;
  std::string &out_;
  std::unordered_map<const Value *, std::string> names_;
};

}  // namespace

std::string printFunction(const Function &f) {
  std::string out;
  FunctionPrinter(f, out).print();
  return out;
}

std::string printModule(const Module &m) {
  std::string out;
  for (const auto &f : m.functions()) {
    if (!out.empty()) out += '\n';
    FunctionPrinter(*f, out).print();
  }
  return out;
}

}  // namespace dlc
