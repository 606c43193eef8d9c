//===- ir/parser.cpp - the text format, parsing side -------------------------===//
//
// A recursive-descent parser without recursion: the grammar (docs/text-format.md) is
// flat, so nesting depth in the input cannot exhaust the stack. The parser stops at the
// first error and reports it at the offending token. It checks syntax, names (definition
// before use, no redefinition), operand counts against ops.def, attribute keys and
// values, number ranges and the function signature against its `return`; the verifier
// checks everything about types and shapes.
//
//===----------------------------------------------------------------------===//
#include "ir/parser.h"

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <limits>
#include <type_traits>
#include <unordered_map>

#include "ir/lexer.h"

namespace dlc {
namespace {

/// The largest element count a type may have (a tensor of 4 TiB of f32).
constexpr int64_t kMaxElements = int64_t{1} << 40;

/// Returns the Error of an Expected<void> expression.
#define DL_PARSE_TRY(expr)                    \
  do {                                        \
    if (auto dlErr_ = (expr); !dlErr_)        \
      return dlErr_.takeError();              \
  } while (0)

template <class> inline constexpr bool kAlwaysFalse = false;

/// What the signature says about one result: its type and the argument it may overwrite.
struct ResultDecl {
  TensorType type;
  int alias = -1;
};

class Parser {
 public:
  Parser(std::string_view text, std::string_view fileName)
      : lex_(text), file_(std::make_shared<const std::string>(fileName)) {
    files_.emplace(*file_, file_);
    advance();
  }

  Expected<Module> parseModule() {
    Module m;
    while (!tok_.is(TokKind::Eof)) DL_PARSE_TRY(parseFunction(m));
    return m;
  }

 private:
  struct Def {
    Value *value;
    Location loc;
  };

  // Tokens and errors.
  void advance() { tok_ = lex_.next(); }
  TokKind peekKind() const {
    Lexer copy = lex_;
    return copy.next().kind;
  }
  Location locOf(const Token &t) const { return Location{file_, t.line, t.col}; }
  /// An error at \p t; a malformed token reports the lexer's message instead.
  Error errorAt(const Token &t, std::string msg) const {
    if (t.is(TokKind::Error)) msg = t.value;
    return Error(Diagnostic{Severity::Error, locOf(t), std::move(msg), {}});
  }
  Error expected(std::string_view what) const {
    return errorAt(tok_, fmt::format("expected {}, found {}", what, describeToken(tok_)));
  }
  Expected<void> consume(TokKind k, std::string_view what) {
    if (!tok_.is(k)) return expected(what);
    advance();
    return {};
  }
  bool consumeIf(TokKind k) {
    if (!tok_.is(k)) return false;
    advance();
    return true;
  }

  // Names. Numbered and named values live in one scope under distinct keys, so `%3`
  // and `%"3"` are different values.
  static std::string scopeKey(const Token &t) { return (t.numericName ? "#" : "%") + t.value; }

  Expected<void> checkNewName(const Token &t) const {
    auto it = scope_.find(scopeKey(t));
    if (it == scope_.end()) return {};
    Diagnostic d = makeDiag(locOf(t), "redefinition of {}", describeToken(t));
    d.note(it->second.loc, "previous definition is here");
    return d;
  }
  void define(const Token &t, Value *v) { scope_.emplace(scopeKey(t), Def{v, locOf(t)}); }

  Expected<Value *> parseUse() {
    if (!tok_.is(TokKind::ValueName)) return expected("a value name");
    auto it = scope_.find(scopeKey(tok_));
    if (it == scope_.end()) return errorAt(tok_, fmt::format("use of undefined value {}", describeToken(tok_)));
    advance();
    return it->second.value;
  }

  /// `%a, %b, ...`, possibly empty; the locations go to \p locs when given.
  Expected<std::vector<Value *>> parseUseList(std::vector<Location> *locs = nullptr) {
    std::vector<Value *> out;
    if (!tok_.is(TokKind::ValueName)) return out;
    do {
      if (locs) locs->push_back(locOf(tok_));
      DL_TRY(Value * v, parseUse());
      out.push_back(v);
    } while (consumeIf(TokKind::Comma));
    return out;
  }

  // Numbers.
  Expected<int64_t> parseInteger(std::string_view what) {
    if (!tok_.is(TokKind::Integer)) return expected(what);
    int64_t v = 0;
    const std::string_view s = tok_.spelling;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size())
      return errorAt(tok_, fmt::format("integer {} does not fit in 64 bits", describeToken(tok_)));
    advance();
    return v;
  }

  Expected<uint32_t> parseLocNumber(std::string_view what) {
    Token t = tok_;
    DL_TRY(int64_t v, parseInteger(what));
    if (v < 0 || v > std::numeric_limits<uint32_t>::max())
      return errorAt(t, fmt::format("location {} must be between 0 and {}", what,
                                    std::numeric_limits<uint32_t>::max()));
    return static_cast<uint32_t>(v);
  }

  Expected<double> parseDouble() {
    double v = 0;
    if (tok_.isIdent("inf")) {
      v = std::numeric_limits<double>::infinity();
    } else if (tok_.isIdent("nan")) {
      v = std::numeric_limits<double>::quiet_NaN();
    } else if (tok_.is(TokKind::Integer) || tok_.is(TokKind::Float)) {
      const std::string_view s = tok_.spelling;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc() || ptr != s.data() + s.size())
        return errorAt(tok_, fmt::format("number {} is out of the range of f64", describeToken(tok_)));
    } else {
      return expected("a number");
    }
    advance();
    return v;
  }

  /// `[x, y, ...]` of integers or numbers.
  template <class T> Expected<std::vector<T>> parseList() {
    DL_PARSE_TRY(consume(TokKind::LBracket, "'['"));
    std::vector<T> out;
    if (consumeIf(TokKind::RBracket)) return out;
    do {
      if constexpr (std::is_same_v<T, int64_t>) {
        DL_TRY(int64_t v, parseInteger("an integer"));
        out.push_back(v);
      } else {
        DL_TRY(double v, parseDouble());
        out.push_back(v);
      }
    } while (consumeIf(TokKind::Comma));
    DL_PARSE_TRY(consume(TokKind::RBracket, "',' or ']'"));
    return out;
  }

  // Types and locations.
  Expected<TensorType> parseType() {
    if (!tok_.is(TokKind::Ident)) return expected("a type such as 'f32[2,3]'");
    const Token typeTok = tok_;
    std::optional<DType> dtype = dtypeFromName(tok_.spelling);
    if (!dtype)
      return errorAt(tok_, fmt::format("unknown element type {}; expected f32, f64, i32, i64 or i1",
                                       describeToken(tok_)));
    advance();
    DL_PARSE_TRY(consume(TokKind::LBracket, "'[' after the element type"));
    TensorType type{*dtype, {}};
    int64_t extent = 1;  // product of the dimensions, zeros counted as one
    if (!tok_.is(TokKind::RBracket)) {
      do {
        const Token dimTok = tok_;
        DL_TRY(int64_t d, parseInteger("a dimension"));
        if (d < 0) return errorAt(dimTok, fmt::format("dimension {} is negative", d));
        if (d > 1 && extent > kMaxElements / d)
          return errorAt(typeTok, "type is too large: its dimensions multiply to more than 2^40");
        extent *= d > 1 ? d : 1;
        type.shape.push_back(d);
      } while (consumeIf(TokKind::Comma));
    }
    DL_PARSE_TRY(consume(TokKind::RBracket, "',' or ']' in the shape"));
    return type;
  }

  std::shared_ptr<const std::string> internFile(const std::string &name) {
    auto [it, inserted] = files_.try_emplace(name);
    if (inserted) it->second = std::make_shared<const std::string>(name);
    return it->second;
  }

  /// An optional `loc("file":line:col)`; an unknown Location when absent.
  Expected<Location> parseOptionalLoc() {
    if (!tok_.isIdent("loc")) return Location{};
    advance();
    DL_PARSE_TRY(consume(TokKind::LParen, "'(' after 'loc'"));
    if (!tok_.is(TokKind::String)) return expected("a quoted file name");
    Location loc;
    loc.file = internFile(tok_.value);
    advance();
    DL_PARSE_TRY(consume(TokKind::Colon, "':' after the file name"));
    DL_TRY(loc.line, parseLocNumber("line"));
    DL_PARSE_TRY(consume(TokKind::Colon, "':' after the line"));
    DL_TRY(loc.col, parseLocNumber("column"));
    DL_PARSE_TRY(consume(TokKind::RParen, "')' after the location"));
    return loc;
  }

  // Attributes.
  template <class T> Expected<void> parseFieldValue(T &field) {
    if constexpr (std::is_same_v<T, std::vector<int64_t>> || std::is_same_v<T, std::vector<double>>) {
      DL_TRY(field, parseList<typename T::value_type>());
    } else if constexpr (std::is_same_v<T, int64_t>) {
      DL_TRY(field, parseInteger("an integer"));
    } else if constexpr (std::is_same_v<T, double>) {
      DL_TRY(field, parseDouble());
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!tok_.isIdent("true") && !tok_.isIdent("false")) return expected("'true' or 'false'");
      field = tok_.isIdent("true");
      advance();
    } else if constexpr (std::is_same_v<T, CmpDir>) {
      // CmpDir's enumerators are dense from 0; cmpDirName answers "?" past the last one.
      for (int i = 0; cmpDirName(static_cast<CmpDir>(i)) != "?"; ++i) {
        if (tok_.isIdent(cmpDirName(static_cast<CmpDir>(i)))) {
          field = static_cast<CmpDir>(i);
          advance();
          return {};
        }
      }
      return expected("a comparison direction (eq, ne, lt, le, gt, ge)");
    } else {
      static_assert(kAlwaysFalse<T>, "attribute field type without a text spelling");
    }
    return {};
  }

  /// `key=value ...` after the operands. The key "value" of `constant` is written
  /// without its key, right after the mnemonic, so it is not accepted here.
  Expected<void> parseAttrs(OpKind kind, Attrs &attrs) {
    std::vector<std::string> seen;
    while (tok_.is(TokKind::Ident) && peekKind() == TokKind::Equal) {
      const Token keyTok = tok_;
      for (const std::string &s : seen)
        if (s == keyTok.spelling) return errorAt(keyTok, fmt::format("duplicate attribute '{}'", s));
      seen.emplace_back(keyTok.spelling);
      bool found = false;
      std::optional<Error> err;
      std::vector<std::string_view> keys;
      std::visit(
          [&](auto &a) {
            a.fields([&](std::string_view key, auto &field) {
              if (kind == OpKind::Constant && key == "value") return;
              keys.push_back(key);
              if (found || key != keyTok.spelling) return;
              found = true;
              advance();  // the key
              advance();  // '='
              if (auto r = parseFieldValue(field); !r) err = r.takeError();
            });
          },
          attrs);
      if (err) return std::move(*err);
      if (!found) {
        std::string valid = keys.empty() ? fmt::format("'{}' has no attributes", mnemonic(kind))
                                         : fmt::format("expected one of: {}", fmt::join(keys, ", "));
        return errorAt(keyTok, fmt::format("unknown attribute '{}' for '{}'; {}", keyTok.spelling,
                                           mnemonic(kind), valid));
      }
    }
    return {};
  }

  // Functions and nodes.
  Expected<void> parseFunction(Module &m);
  Expected<std::vector<ResultDecl>> parseResultDecls(const Function &f);
  Expected<void> parseNode(Function &f);
  Expected<void> parseReturn(Function &f, const std::vector<ResultDecl> &decls);

  Lexer lex_;
  Token tok_;
  std::shared_ptr<const std::string> file_;
  std::unordered_map<std::string, std::shared_ptr<const std::string>> files_;
  std::unordered_map<std::string, Def> scope_;
};

Expected<void> Parser::parseFunction(Module &m) {
  if (!tok_.isIdent("func")) return expected("'func'");
  const Location funcLoc = locOf(tok_);
  advance();
  if (!tok_.is(TokKind::FuncName)) return expected("a function name such as '@main'");
  if (const Function *prev = m.lookup(tok_.value)) {
    Diagnostic d = makeDiag(locOf(tok_), "redefinition of function {}", describeToken(tok_));
    d.note(prev->parsedLoc, "previous definition is here");
    return d;
  }
  Function &f = *m.addFunction(tok_.value);
  f.parsedLoc = funcLoc;
  scope_.clear();
  advance();

  DL_PARSE_TRY(consume(TokKind::LParen, "'(' before the arguments"));
  if (!tok_.is(TokKind::RParen)) {
    do {
      if (!tok_.is(TokKind::ValueName)) return expected("an argument name such as '%x'");
      const Token nameTok = tok_;
      DL_PARSE_TRY(checkNewName(nameTok));
      advance();
      DL_PARSE_TRY(consume(TokKind::Colon, "':' after the argument name"));
      DL_TRY(TensorType type, parseType());
      define(nameTok, f.addArg(std::move(type), nameTok.numericName ? "" : nameTok.value));
    } while (consumeIf(TokKind::Comma));
  }
  DL_PARSE_TRY(consume(TokKind::RParen, "',' or ')' after an argument"));
  DL_PARSE_TRY(consume(TokKind::Arrow, "'->' before the result types"));
  DL_TRY(std::vector<ResultDecl> decls, parseResultDecls(f));
  DL_TRY(f.loc, parseOptionalLoc());
  DL_PARSE_TRY(consume(TokKind::LBrace, "'{' before the function body"));
  while (tok_.is(TokKind::ValueName)) DL_PARSE_TRY(parseNode(f));
  return parseReturn(f, decls);
}

Expected<std::vector<ResultDecl>> Parser::parseResultDecls(const Function &f) {
  std::vector<ResultDecl> decls;
  auto parseOne = [&]() -> Expected<void> {
    DL_TRY(TensorType type, parseType());
    ResultDecl d{std::move(type), -1};
    if (tok_.isIdent("aliases")) {
      advance();
      if (!tok_.is(TokKind::ValueName)) return expected("an argument name after 'aliases'");
      // Only arguments are in scope while the signature is read.
      auto it = scope_.find(scopeKey(tok_));
      if (it == scope_.end())
        return errorAt(tok_, fmt::format("'aliases' names {}, which is not an argument of '@{}'",
                                         describeToken(tok_), f.name()));
      d.alias = it->second.value->argIndex();
      advance();
    }
    decls.push_back(std::move(d));
    return {};
  };
  if (!consumeIf(TokKind::LParen)) {
    DL_PARSE_TRY(parseOne());
    return decls;
  }
  if (!tok_.is(TokKind::RParen)) {
    do DL_PARSE_TRY(parseOne());
    while (consumeIf(TokKind::Comma));
  }
  DL_PARSE_TRY(consume(TokKind::RParen, "',' or ')' after a result type"));
  return decls;
}

Expected<void> Parser::parseNode(Function &f) {
  const Token nameTok = tok_;
  DL_PARSE_TRY(checkNewName(nameTok));
  advance();
  DL_PARSE_TRY(consume(TokKind::Equal, "'=' after the result name"));
  if (!tok_.is(TokKind::Ident)) return expected("an op name");
  const Token opTok = tok_;
  const std::optional<OpKind> kind = opKindFromMnemonic(opTok.spelling);
  if (!kind) return errorAt(opTok, fmt::format("unknown op {}", describeToken(opTok)));
  advance();

  Attrs attrs = defaultAttrs(*kind);
  if (*kind == OpKind::Constant) {
    // The verifier checks that a list has one value per element.
    auto &values = std::get<ConstantAttrs>(attrs).values;
    if (tok_.is(TokKind::LBracket)) {
      DL_TRY(values, parseList<double>());
    } else {
      if (!tok_.is(TokKind::Integer) && !tok_.is(TokKind::Float) && !tok_.isIdent("inf") &&
          !tok_.isIdent("nan"))
        return expected("the constant's value: a number or a list '[1, 2, ...]'");
      DL_TRY(double v, parseDouble());
      values.push_back(v);
    }
  }

  DL_TRY(std::vector<Value *> operands, parseUseList());
  if (tok_.is(TokKind::ValueName)) return expected("',' between operands");
  const int arity = opInfo(*kind).arity;
  const auto got = static_cast<int64_t>(operands.size());
  if (arity < 0 && got == 0)
    return errorAt(opTok, fmt::format("'{}' expects at least 1 operand, got 0", opTok.spelling));
  if (arity >= 0 && got != arity)
    return errorAt(opTok, fmt::format("'{}' expects {} operand{}, got {}", opTok.spelling, arity,
                                      arity == 1 ? "" : "s", got));

  DL_PARSE_TRY(parseAttrs(*kind, attrs));
  DL_PARSE_TRY(consume(TokKind::Colon, "':' before the result type"));
  DL_TRY(TensorType type, parseType());
  DL_TRY(Location loc, parseOptionalLoc());

  Node *n = f.createNode(*kind, std::move(operands), std::move(type), std::move(attrs), std::move(loc));
  n->parsedLoc = locOf(nameTok);
  if (!nameTok.numericName) n->result()->setName(nameTok.value);
  define(nameTok, n->result());
  return {};
}

Expected<void> Parser::parseReturn(Function &f, const std::vector<ResultDecl> &decls) {
  if (!tok_.isIdent("return")) return expected("a node or 'return'");
  const Token retTok = tok_;
  advance();
  std::vector<Location> locs;
  DL_TRY(std::vector<Value *> results, parseUseList(&locs));
  DL_PARSE_TRY(consume(TokKind::RBrace, "'}' after the returned values"));
  // The signature is not stored apart from the returned values, so it must agree now.
  if (results.size() != decls.size())
    return errorAt(retTok, fmt::format("'return' has {} value{} but '@{}' declares {} result{}",
                                       results.size(), results.size() == 1 ? "" : "s", f.name(),
                                       decls.size(), decls.size() == 1 ? "" : "s"));
  std::vector<int> aliases;
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i]->type() != decls[i].type)
      return Error(makeDiag(locs[i], "returned value {} has type {} but '@{}' declares {}", i,
                            typeString(results[i]->type()), f.name(), typeString(decls[i].type)));
    aliases.push_back(decls[i].alias);
  }
  f.setResults(std::move(results), std::move(aliases));
  return {};
}

}  // namespace

Expected<Module> parseModule(std::string_view text, std::string_view fileName) {
  return Parser(text, fileName).parseModule();
}

Expected<Module> parseFile(const std::string &path) {
  const bool isStdin = path == "-";
  const std::string name = isStdin ? "<stdin>" : path;
  std::FILE *in = isStdin ? stdin : std::fopen(path.c_str(), "rb");
  if (!in) return makeError(Location{}, "cannot open '{}': {}", path, std::strerror(errno));
  std::string text;
  char buf[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) text.append(buf, n);
  const bool failed = std::ferror(in) != 0;
  const int err = errno;
  if (!isStdin) std::fclose(in);
  if (failed) return makeError(Location{}, "cannot read '{}': {}", name, std::strerror(err));
  return parseModule(text, name);
}

}  // namespace dlc
