//===- runtime/data/json.h - the JSON subset of safetensors headers --------===//
//
// A small JSON reader and writer for exactly what safetensors headers hold: objects,
// arrays, strings and non-negative integers. true/false/null, negative and fractional
// numbers are rejected with a clear message. The parser is defensive: it never reads
// past its input, bounds nesting depth, rejects duplicate object keys and reports the
// byte offset of every error. Internal to dl_data.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ir/diagnostic.h"

namespace dlc::data::json {

/// One JSON value of the supported subset.
struct Value {
  enum class Kind : uint8_t { String, Integer, Array, Object };
  Kind kind = Kind::Integer;
  std::string str;                ///< String
  uint64_t integer = 0;           ///< Integer
  std::vector<Value> items;       ///< Array elements, or Object values
  std::vector<std::string> keys;  ///< Object keys, parallel to items, in input order

  /// The value of \p key in an Object, or nullptr.
  const Value *find(std::string_view key) const;
};

/// `string`, `integer`, `array`, `object`.
std::string_view kindName(Value::Kind k);

/// The deepest nesting parse() accepts (safetensors headers need 3).
inline constexpr int kMaxDepth = 16;

/// Parses \p text as one JSON value, optionally surrounded by whitespace. Errors read
/// "at byte N: ..." (no file name: the caller adds it). At most one value per 4 bytes
/// of input (plus 64) is accepted, which no real header approaches (they need ~8 bytes
/// per value) and which bounds memory on hostile input such as `[0,0,0,...]`.
Expected<Value> parse(std::string_view text);

/// \p s as a JSON string literal, with quotes; `"` `\` and control characters escaped,
/// other bytes (UTF-8) as they are.
std::string quote(std::string_view s);

}  // namespace dlc::data::json
