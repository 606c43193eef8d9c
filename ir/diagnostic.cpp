//===- ir/diagnostic.cpp - locations, diagnostics and errors ---------------===//
#include "ir/diagnostic.h"

namespace dlc {

const std::string &Location::fileName() const {
  static const std::string kEmpty;
  return file ? *file : kEmpty;
}

std::string Location::str() const {
  if (!file) return "<unknown>";
  if (col == 0) return fmt::format("{}:{}", *file, line);
  return fmt::format("{}:{}:{}", *file, line, col);
}

Location Location::make(std::string file, uint32_t line, uint32_t col) {
  return Location{std::make_shared<const std::string>(std::move(file)), line, col};
}

static std::string_view severityName(Severity s) {
  switch (s) {
  case Severity::Error: return "error";
  case Severity::Warning: return "warning";
  case Severity::Note: return "note";
  }
  return "error";
}

std::string Diagnostic::str() const {
  std::string out = loc.isKnown() ? fmt::format("{}: {}: {}", loc.str(), severityName(severity), message)
                                  : fmt::format("{}: {}", severityName(severity), message);
  for (const Diagnostic &n : notes) out += "\n" + n.str();
  return out;
}

const std::string &Error::message() const {
  static const std::string kEmpty;
  return diags_.empty() ? kEmpty : diags_.front().message;
}

std::string Error::str() const {
  std::string out;
  for (const Diagnostic &d : diags_) {
    if (!out.empty()) out += "\n";
    out += d.str();
  }
  return out;
}

void reportFatal(const char *kind, const char *file, int line, const std::string &msg) {
  std::fprintf(stderr, "dlc internal error: %s at %s:%d: %s\n", kind, file, line, msg.c_str());
  std::abort();
}

}  // namespace dlc
