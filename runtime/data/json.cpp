//===- runtime/data/json.cpp - the JSON subset of safetensors headers ------===//
#include "runtime/data/json.h"

#include <unordered_set>

namespace dlc::data::json {

const Value *Value::find(std::string_view key) const {
  for (size_t i = 0; i < keys.size(); ++i)
    if (keys[i] == key) return &items[i];
  return nullptr;
}

std::string_view kindName(Value::Kind k) {
  switch (k) {
  case Value::Kind::String: return "string";
  case Value::Kind::Integer: return "integer";
  case Value::Kind::Array: return "array";
  case Value::Kind::Object: return "object";
  }
  DL_UNREACHABLE("bad JSON kind");
}

namespace {

/// Recursive-descent parser over a string_view; pos_ never passes text_.size().
class Parser {
public:
  explicit Parser(std::string_view text) : text_(text), valuesLeft_(text.size() / 4 + 64) {}

  Expected<Value> parseDocument() {
    DL_TRY(Value v, parseValue(0));
    skipSpace();
    if (pos_ != text_.size())
      return fail("unexpected '{}' after the end of the JSON value", printable(peek()));
    return v;
  }

private:
  template <class... Args> Error fail(fmt::format_string<Args...> f, Args &&...args) {
    return makeError({}, "at byte {}: {}", pos_, fmt::format(f, std::forward<Args>(args)...));
  }
  bool atEnd() const { return pos_ >= text_.size(); }
  char peek() const { return atEnd() ? '\0' : text_[pos_]; }
  static std::string printable(char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f ? std::string(1, c) : fmt::format("\\x{:02x}", u);
  }
  void skipSpace() {
    while (!atEnd() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r'))
      ++pos_;
  }
  Expected<void> expect(char c) {
    skipSpace();
    if (atEnd()) return fail("unexpected end of input, expected '{}'", c);
    if (peek() != c) return fail("expected '{}', found '{}'", c, printable(peek()));
    ++pos_;
    return {};
  }

  Expected<Value> parseValue(int depth) {
    skipSpace();
    if (atEnd()) return fail("unexpected end of input, expected a value");
    if (valuesLeft_-- == 0) return fail("too many values for the input size");
    char c = peek();
    if (c == '{' || c == '[') {
      if (depth >= kMaxDepth) return fail("nesting deeper than {}", kMaxDepth);
      return c == '{' ? parseObject(depth + 1) : parseArray(depth + 1);
    }
    if (c == '"') {
      Value v;
      v.kind = Value::Kind::String;
      DL_TRY(v.str, parseString());
      return v;
    }
    if (c >= '0' && c <= '9') return parseInteger();
    if (c == '-') return fail("negative numbers are not supported here");
    if (c == 't' || c == 'f' || c == 'n') return fail("true, false and null are not supported here");
    return fail("unexpected '{}', expected a value", printable(c));
  }

  Expected<Value> parseInteger() {
    Value v;
    size_t start = pos_;
    if (peek() == '0' && pos_ + 1 < text_.size() && text_[pos_ + 1] >= '0' && text_[pos_ + 1] <= '9')
      return fail("numbers must not have leading zeros");
    while (!atEnd() && peek() >= '0' && peek() <= '9') {
      uint64_t d = static_cast<uint64_t>(peek() - '0');
      if (v.integer > (UINT64_MAX - d) / 10) {
        pos_ = start;
        return fail("integer does not fit in 64 bits");
      }
      v.integer = v.integer * 10 + d;
      ++pos_;
    }
    if (peek() == '.' || peek() == 'e' || peek() == 'E') return fail("only integers are supported here");
    return v;
  }

  Expected<uint32_t> parseHex4() {
    if (text_.size() - pos_ < 4) return fail("truncated \\u escape");
    uint32_t cp = 0;
    for (int i = 0; i < 4; ++i) {
      char h = text_[pos_++];
      uint32_t d = h >= '0' && h <= '9'   ? h - '0'
                   : h >= 'a' && h <= 'f' ? h - 'a' + 10
                   : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                          : 16;
      if (d == 16) return fail("bad hex digit '{}' in \\u escape", printable(h));
      cp = cp * 16 + d;
    }
    return cp;
  }

  static void appendUtf8(std::string &out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  Expected<std::string> parseString() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (atEnd()) return fail("unterminated string");
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string");
      ++pos_;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (atEnd()) return fail("unterminated escape");
      char e = text_[pos_++];
      switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        DL_TRY(uint32_t cp, parseHex4());
        if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("unpaired low surrogate in \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (text_.size() - pos_ < 2 || text_[pos_] != '\\' || text_[pos_ + 1] != 'u')
            return fail("unpaired high surrogate in \\u escape");
          pos_ += 2;
          DL_TRY(uint32_t lo, parseHex4());
          if (lo < 0xDC00 || lo > 0xDFFF) return fail("bad low surrogate in \\u escape");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        appendUtf8(out, cp);
        break;
      }
      default: return fail("bad escape '\\{}'", printable(e));
      }
    }
  }

  Expected<Value> parseArray(int depth) {
    ++pos_;  // '['
    Value v;
    v.kind = Value::Kind::Array;
    skipSpace();
    if (peek() == ']') {
      ++pos_;
      return v;
    }
    for (;;) {
      DL_TRY(Value item, parseValue(depth));
      v.items.push_back(std::move(item));
      skipSpace();
      if (atEnd()) return fail("unterminated array");
      if (peek() == ']') {
        ++pos_;
        return v;
      }
      if (Expected<void> ok = expect(','); !ok) return ok.takeError();
    }
  }

  Expected<Value> parseObject(int depth) {
    ++pos_;  // '{'
    Value v;
    v.kind = Value::Kind::Object;
    std::unordered_set<std::string> seen;
    skipSpace();
    if (peek() == '}') {
      ++pos_;
      return v;
    }
    for (;;) {
      skipSpace();
      if (atEnd()) return fail("unterminated object");
      if (peek() != '"') return fail("expected a string key, found '{}'", printable(peek()));
      size_t keyPos = pos_;
      DL_TRY(std::string key, parseString());
      if (!seen.insert(key).second) {
        pos_ = keyPos;
        return fail("duplicate key {}", quote(key));
      }
      if (Expected<void> ok = expect(':'); !ok) return ok.takeError();
      DL_TRY(Value item, parseValue(depth));
      v.keys.push_back(std::move(key));
      v.items.push_back(std::move(item));
      skipSpace();
      if (atEnd()) return fail("unterminated object");
      if (peek() == '}') {
        ++pos_;
        return v;
      }
      if (Expected<void> ok = expect(','); !ok) return ok.takeError();
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  size_t valuesLeft_;
};

}  // namespace

Expected<Value> parse(std::string_view text) { return Parser(text).parseDocument(); }

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default:
      if (static_cast<unsigned char>(c) < 0x20)
        out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
      else
        out += c;
    }
  }
  return out + "\"";
}

}  // namespace dlc::data::json
