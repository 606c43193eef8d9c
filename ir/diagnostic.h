//===- ir/diagnostic.h - locations, diagnostics, Error and Expected<T> -----===//
//
// Bad input is reported with a located Diagnostic carried in an Error through
// Expected<T>; nothing throws across a library boundary. Compiler bugs use DL_ASSERT
// and DL_UNREACHABLE instead.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

namespace dlc {

/// A source position: a file (shared, so copies are cheap) and a 1-based line and column.
/// Column 0 means "the whole line"; line 0 means unknown.
struct Location {
  std::shared_ptr<const std::string> file;
  uint32_t line = 0, col = 0;

  bool isKnown() const { return file != nullptr; }
  const std::string &fileName() const;
  /// `file:line:col`, or `<unknown>`.
  std::string str() const;
  static Location make(std::string file, uint32_t line, uint32_t col);
  friend bool operator==(const Location &a, const Location &b) {
    return a.line == b.line && a.col == b.col &&
           (a.file == b.file || (a.file && b.file && *a.file == *b.file));
  }
};

enum class Severity : uint8_t { Error, Warning, Note };

/// One message with its location and attached notes.
struct Diagnostic {
  Severity severity = Severity::Error;
  Location loc;
  std::string message;
  std::vector<Diagnostic> notes;

  /// Adds a note (e.g. "lhs defined here"); returns *this for chaining.
  template <class... Args>
  Diagnostic &note(Location l, fmt::format_string<Args...> f, Args &&...args) {
    notes.push_back({Severity::Note, std::move(l), fmt::format(f, std::forward<Args>(args)...), {}});
    return *this;
  }
  /// `file:line:col: error: message` followed by the notes, one per line.
  std::string str() const;
};

/// The failure side of Expected: one or more diagnostics.
class Error {
 public:
  Error() = default;
  explicit Error(Diagnostic d) { diags_.push_back(std::move(d)); }
  explicit Error(std::vector<Diagnostic> d) : diags_(std::move(d)) {}

  const std::vector<Diagnostic> &diagnostics() const { return diags_; }
  std::vector<Diagnostic> &diagnostics() { return diags_; }
  /// The first diagnostic's message alone (no location), for tests and short reports.
  const std::string &message() const;
  /// All diagnostics, formatted, newline-separated.
  std::string str() const;

 private:
  std::vector<Diagnostic> diags_;
};

/// An error diagnostic at \p loc.
template <class... Args>
Diagnostic makeDiag(Location loc, fmt::format_string<Args...> f, Args &&...args) {
  return Diagnostic{Severity::Error, std::move(loc), fmt::format(f, std::forward<Args>(args)...), {}};
}
/// An Error holding one located diagnostic.
template <class... Args>
Error makeError(Location loc, fmt::format_string<Args...> f, Args &&...args) {
  return Error(makeDiag(std::move(loc), f, std::forward<Args>(args)...));
}

/// A value or an Error. Check with `if (!e)`, then use `*e` / `e->`, or `e.error()`.
template <class T> class [[nodiscard]] Expected {
 public:
  Expected(T v) : v_(std::in_place_index<0>, std::move(v)) {}
  Expected(Error e) : v_(std::in_place_index<1>, std::move(e)) {}
  Expected(Diagnostic d) : v_(std::in_place_index<1>, Error(std::move(d))) {}

  explicit operator bool() const { return v_.index() == 0; }
  bool ok() const { return v_.index() == 0; }
  T &operator*() { return std::get<0>(v_); }
  const T &operator*() const { return std::get<0>(v_); }
  T *operator->() { return &std::get<0>(v_); }
  const T *operator->() const { return &std::get<0>(v_); }
  T &value() { return std::get<0>(v_); }
  const T &value() const { return std::get<0>(v_); }
  Error &error() { return std::get<1>(v_); }
  const Error &error() const { return std::get<1>(v_); }
  Error takeError() { return std::move(std::get<1>(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <> class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(Error e) : err_(std::move(e)), failed_(true) {}
  Expected(Diagnostic d) : err_(std::move(d)), failed_(true) {}
  explicit operator bool() const { return !failed_; }
  bool ok() const { return !failed_; }
  Error &error() { return err_; }
  const Error &error() const { return err_; }
  Error takeError() { return std::move(err_); }

 private:
  Error err_;
  bool failed_ = false;
};

[[noreturn]] void reportFatal(const char *kind, const char *file, int line, const std::string &msg);

}  // namespace dlc

/// A compiler invariant: a failure is a bug in dlc, never a user's mistake.
#define DL_ASSERT(cond, msg)                                                            \
  do {                                                                                  \
    if (!(cond)) ::dlc::reportFatal("assertion failed: " #cond, __FILE__, __LINE__, msg); \
  } while (0)
#define DL_UNREACHABLE(msg) ::dlc::reportFatal("unreachable", __FILE__, __LINE__, msg)

/// Propagates the error of an Expected expression: `DL_TRY(auto x, parseFoo());`
#define DL_CONCAT_IMPL(a, b) a##b
#define DL_CONCAT(a, b) DL_CONCAT_IMPL(a, b)
#define DL_TRY(decl, expr) DL_TRY_IMPL(decl, expr, DL_CONCAT(dlTry_, __LINE__))
#define DL_TRY_IMPL(decl, expr, tmp)     \
  auto tmp = (expr);                     \
  if (!tmp) return tmp.takeError();      \
  decl = std::move(*tmp)
