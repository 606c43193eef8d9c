//===- ir/lexer.cpp - tokens of the dlc text format -------------------------===//
#include "ir/lexer.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

namespace dlc {

static bool isDigit(char c) { return c >= '0' && c <= '9'; }
static bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool isIdentChar(char c) { return isAlpha(c) || isDigit(c) || c == '.'; }
bool isNameChar(char c) { return isIdentChar(c) || c == '$' || c == '-'; }

bool isBareName(std::string_view s) {
  if (s.empty() || !isAlpha(s.front())) return false;
  return std::all_of(s.begin(), s.end(), isNameChar);
}

static int hexValue(char c) {
  if (isDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string quoteString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\{:02X}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

/// \p s with unprintable bytes as `\xNN`, cut to a readable length.
static std::string printable(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out;
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    auto u = static_cast<unsigned char>(s[i]);
    if (u < 0x20 || u >= 0x7f)
      out += fmt::format("\\x{:02X}", u);
    else
      out += s[i];
  }
  if (s.size() > kMax) out += "...";
  return out;
}

std::string describeToken(const Token &t) {
  if (t.kind == TokKind::Eof) return "end of file";
  return fmt::format("'{}'", printable(t.spelling));
}

void Lexer::bump() {
  if (text_[pos_] == '\n') {
    ++line_;
    lineStart_ = pos_ + 1;
  }
  ++pos_;
}

void Lexer::skipTrivia() {
  while (!atEnd()) {
    char c = peekChar();
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
      bump();
    } else if (c == '/' && peekChar(1) == '/') {
      while (!atEnd() && peekChar() != '\n') ++pos_;
    } else {
      return;
    }
  }
}

Token Lexer::make(TokKind k, size_t start, uint32_t line, uint32_t col) const {
  Token t;
  t.kind = k;
  t.spelling = text_.substr(start, pos_ - start);
  t.line = line;
  t.col = col;
  return t;
}

Token Lexer::error(std::string msg, size_t start, uint32_t line, uint32_t col) const {
  Token t = make(TokKind::Error, start, line, col);
  t.value = std::move(msg);
  return t;
}

Token Lexer::next() {
  skipTrivia();
  const size_t start = pos_;
  const uint32_t line = line_;
  // Columns past 2^32 (a multi-gigabyte line) saturate rather than wrap.
  const auto col = static_cast<uint32_t>(
      std::min<size_t>(pos_ - lineStart_ + 1, std::numeric_limits<uint32_t>::max()));
  if (atEnd()) return make(TokKind::Eof, start, line, col);

  auto single = [&](TokKind k) {
    ++pos_;
    return make(k, start, line, col);
  };
  const char c = peekChar();
  switch (c) {
  case '(': return single(TokKind::LParen);
  case ')': return single(TokKind::RParen);
  case '[': return single(TokKind::LBracket);
  case ']': return single(TokKind::RBracket);
  case '{': return single(TokKind::LBrace);
  case '}': return single(TokKind::RBrace);
  case ',': return single(TokKind::Comma);
  case ':': return single(TokKind::Colon);
  case '=': return single(TokKind::Equal);
  case '%': return lexName(TokKind::ValueName, start, line, col);
  case '@': return lexName(TokKind::FuncName, start, line, col);
  case '"': {
    Token t = make(TokKind::String, start, line, col);
    std::string msg = lexQuoted(t.value);
    if (!msg.empty()) return error(std::move(msg), start, line, col);
    t.spelling = text_.substr(start, pos_ - start);
    return t;
  }
  case '-':
    if (peekChar(1) == '>') {
      pos_ += 2;
      return make(TokKind::Arrow, start, line, col);
    }
    if (isDigit(peekChar(1))) return lexNumber(start, line, col);
    if (text_.substr(pos_, 4) == "-inf" && !isIdentChar(peekChar(4))) {
      pos_ += 4;
      return make(TokKind::Float, start, line, col);
    }
    ++pos_;
    return error("unexpected character '-'", start, line, col);
  default: break;
  }
  if (isDigit(c)) return lexNumber(start, line, col);
  if (isAlpha(c)) {
    while (!atEnd() && isIdentChar(peekChar())) ++pos_;
    return make(TokKind::Ident, start, line, col);
  }
  ++pos_;
  return error(fmt::format("unexpected character '{}'", printable(text_.substr(start, 1))), start,
               line, col);
}

Token Lexer::lexNumber(size_t start, uint32_t line, uint32_t col) {
  bool isFloat = false;
  if (peekChar() == '-') ++pos_;
  while (isDigit(peekChar())) ++pos_;
  bool malformed = false;
  if (peekChar() == '.') {
    isFloat = true;
    ++pos_;
    if (!isDigit(peekChar())) malformed = true;
    while (isDigit(peekChar())) ++pos_;
  }
  if (peekChar() == 'e' || peekChar() == 'E') {
    isFloat = true;
    ++pos_;
    if (peekChar() == '+' || peekChar() == '-') ++pos_;
    if (!isDigit(peekChar())) malformed = true;
    while (isDigit(peekChar())) ++pos_;
  }
  // `12abc`, `1.`, `1e`: swallow the rest of the word so the message shows all of it.
  if (isIdentChar(peekChar())) malformed = true;
  if (malformed) {
    while (!atEnd() && isIdentChar(peekChar())) ++pos_;
    return error(fmt::format("malformed number '{}'", printable(text_.substr(start, pos_ - start))),
                 start, line, col);
  }
  return make(isFloat ? TokKind::Float : TokKind::Integer, start, line, col);
}

Token Lexer::lexName(TokKind k, size_t start, uint32_t line, uint32_t col) {
  const char sigil = peekChar();
  ++pos_;
  Token t = make(k, start, line, col);
  if (peekChar() == '"') {
    std::string msg = lexQuoted(t.value);
    if (!msg.empty()) return error(std::move(msg), start, line, col);
  } else if (k == TokKind::ValueName && isDigit(peekChar())) {
    while (!atEnd() && isNameChar(peekChar())) ++pos_;
    t.value = std::string(text_.substr(start + 1, pos_ - start - 1));
    if (!std::all_of(t.value.begin(), t.value.end(), isDigit))
      return error(fmt::format("invalid value name '%{}': a name is a number or starts with a "
                               "letter or '_'",
                               printable(t.value)),
                   start, line, col);
    t.numericName = true;
  } else if (isAlpha(peekChar())) {
    while (!atEnd() && isNameChar(peekChar())) ++pos_;
    t.value = std::string(text_.substr(start + 1, pos_ - start - 1));
  } else {
    return error(fmt::format("expected a name after '{}'", sigil), start, line, col);
  }
  t.spelling = text_.substr(start, pos_ - start);
  return t;
}

std::string Lexer::lexQuoted(std::string &out) {
  ++pos_;  // the opening quote
  while (true) {
    if (atEnd()) return "unterminated string";
    const char c = peekChar();
    const auto u = static_cast<unsigned char>(c);
    if (c == '"') {
      ++pos_;
      return "";
    }
    if (c == '\n') return "unterminated string";
    if (u < 0x20 && c != '\t') return "invalid character in string; use a \\XX escape";
    if (c != '\\') {
      out += c;
      ++pos_;
      continue;
    }
    const char e = peekChar(1);
    if (e == '"' || e == '\\') {
      out += e;
      pos_ += 2;
    } else if (e == 'n') {
      out += '\n';
      pos_ += 2;
    } else if (e == 't') {
      out += '\t';
      pos_ += 2;
    } else if (hexValue(e) >= 0 && hexValue(peekChar(2)) >= 0) {
      out += static_cast<char>(hexValue(e) * 16 + hexValue(peekChar(2)));
      pos_ += 3;
    } else {
      return "invalid escape in string; use \\\\, \\\", \\n, \\t or \\XX";
    }
  }
}

}  // namespace dlc
