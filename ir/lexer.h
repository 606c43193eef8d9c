//===- ir/lexer.h - tokens of the dlc text format ---------------------------===//
//
// Splits the text format into tokens. The lexer never fails hard: a malformed token
// (an unexpected byte, an unterminated string, a number like `12ab`) comes back as a
// TokKind::Error token carrying its message and position, and the parser reports it.
// Comments (`//` to the end of the line) and whitespace are skipped. Columns count bytes.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dlc {

/// The kinds of tokens of the text format.
enum class TokKind : uint8_t {
  Eof,
  Error,      ///< a malformed token; `value` holds the message
  Ident,      ///< a bare word `[A-Za-z_][A-Za-z0-9_.]*`: keywords, mnemonics, dtypes, keys
  ValueName,  ///< `%name`, `%42` or `%"any text"`; `value` holds the name without `%`
  FuncName,   ///< `@name` or `@"any text"`; `value` holds the name without `@`
  Integer,    ///< `-?[0-9]+`
  Float,      ///< a number with a fraction or an exponent, or `-inf`
  String,     ///< `"..."`; `value` holds the decoded contents
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  Colon,
  Equal,
  Arrow,  ///< `->`
};

/// One token and where it starts.
struct Token {
  TokKind kind = TokKind::Eof;
  std::string_view spelling;  ///< the source text of the token
  std::string value;          ///< decoded name or string, or the message of an Error
  bool numericName = false;   ///< a ValueName spelled as a decimal number (`%3`)
  uint32_t line = 1, col = 1;

  bool is(TokKind k) const { return kind == k; }
  /// True for the bare word \p word.
  bool isIdent(std::string_view word) const { return kind == TokKind::Ident && spelling == word; }
};

/// True for the bytes that may follow the first byte of an unquoted `%` or `@` name.
bool isNameChar(char c);
/// True when \p s can be printed after `%` or `@` without quotes and does not read as a
/// number: it matches `[A-Za-z_][A-Za-z0-9_.$-]*`.
bool isBareName(std::string_view s);
/// \p s as a double-quoted string literal with `\\`, `\"` and `\XX` escapes.
std::string quoteString(std::string_view s);
/// A short, printable rendering of a token for messages: `'foo'`, `end of file`.
std::string describeToken(const Token &t);

/// Produces the tokens of one text buffer, which must outlive the lexer and its tokens.
/// Copying a Lexer is cheap and gives an independent cursor (used for lookahead).
class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  /// The next token; Eof at the end (and forever after).
  Token next();

 private:
  bool atEnd() const { return pos_ >= text_.size(); }
  char peekChar(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  void bump();
  void skipTrivia();
  Token make(TokKind k, size_t start, uint32_t line, uint32_t col) const;
  Token error(std::string msg, size_t start, uint32_t line, uint32_t col) const;
  Token lexNumber(size_t start, uint32_t line, uint32_t col);
  Token lexName(TokKind k, size_t start, uint32_t line, uint32_t col);
  /// Reads a quoted string at pos_ into \p out; returns an error message or "".
  std::string lexQuoted(std::string &out);

  std::string_view text_;
  size_t pos_ = 0;
  size_t lineStart_ = 0;
  uint32_t line_ = 1;
};

}  // namespace dlc
