//===- tools/verify_diagnostics.cpp - `dlc verify --verify-diagnostics` -----===//
#include "tools/verify_diagnostics.h"

#include <charconv>
#include <optional>

namespace dlc::tool {
namespace {

std::string_view severityName(Severity s) {
  switch (s) {
  case Severity::Error: return "error";
  case Severity::Warning: return "warning";
  case Severity::Note: return "note";
  }
  return "error";
}

/// One `expected-<kind>[@+N] {{text}}` annotation.
struct Expectation {
  Severity severity;
  uint32_t line;       ///< the line the diagnostic must be on
  uint32_t annotLine;  ///< the line of the annotation itself
  std::string text;
  bool seen = false;
};

class ExpectationParser {
 public:
  ExpectationParser(const std::string &fileName, std::vector<Expectation> &out,
                    std::vector<Diagnostic> &problems)
      : fileName_(fileName), out_(out), problems_(problems) {}

  /// Reads the annotations in the comment part of one line.
  void parseLine(std::string_view line, uint32_t lineNo) {
    size_t pos = line.find("//");
    while (pos != std::string_view::npos) {
      pos = line.find("expected-", pos);
      if (pos == std::string_view::npos) return;
      pos = parseAt(line, pos, lineNo);
    }
  }

 private:
  /// Parses the annotation at \p pos; returns where to continue searching.
  size_t parseAt(std::string_view line, size_t pos, uint32_t lineNo) {
    const uint32_t col = static_cast<uint32_t>(pos + 1);
    std::string_view rest = line.substr(pos + 9);  // after "expected-"
    std::optional<Severity> sev;
    for (Severity s : {Severity::Error, Severity::Warning, Severity::Note})
      if (rest.starts_with(severityName(s))) sev = s;
    if (!sev) return pos + 9;  // some other word, not an annotation
    size_t i = pos + 9 + severityName(*sev).size();
    int64_t target = lineNo;
    if (i < line.size() && line[i] == '@') {
      ++i;
      const bool minus = i < line.size() && line[i] == '-';
      if (i >= line.size() || (line[i] != '+' && line[i] != '-'))
        return malformed(lineNo, col, "expected '@+N' or '@-N'");
      ++i;
      int64_t offset = 0;
      auto [ptr, ec] = std::from_chars(line.data() + i, line.data() + line.size(), offset);
      if (ec != std::errc() || offset > 1000000) return malformed(lineNo, col, "expected a line offset after '@+' or '@-'");
      i = static_cast<size_t>(ptr - line.data());
      target += minus ? -offset : offset;
      if (target < 1) return malformed(lineNo, col, "the line offset points before the first line");
    }
    while (i < line.size() && line[i] == ' ') ++i;
    if (line.substr(i, 2) != "{{") return malformed(lineNo, col, "expected '{{'");
    const size_t close = line.find("}}", i + 2);
    if (close == std::string_view::npos) return malformed(lineNo, col, "expected '}}'");
    out_.push_back({*sev, static_cast<uint32_t>(target), lineNo, std::string(line.substr(i + 2, close - i - 2))});
    return close + 2;
  }

  size_t malformed(uint32_t line, uint32_t col, std::string_view why) {
    problems_.push_back(makeDiag(Location::make(fileName_, line, col), "malformed expected-* annotation: {}", why));
    return std::string_view::npos;
  }

  const std::string &fileName_;
  std::vector<Expectation> &out_;
  std::vector<Diagnostic> &problems_;
};

/// Each diagnostic followed by its notes, depth first.
void flatten(const Diagnostic &d, std::vector<const Diagnostic *> &out) {
  out.push_back(&d);
  for (const Diagnostic &n : d.notes) flatten(n, out);
}

}  // namespace

bool checkExpectedDiagnostics(std::string_view text, const std::string &fileName,
                              const std::vector<Diagnostic> &produced, llvm::raw_ostream &os) {
  std::vector<Expectation> expected;
  std::vector<Diagnostic> problems;
  ExpectationParser parser(fileName, expected, problems);
  uint32_t lineNo = 1;
  for (size_t pos = 0; pos <= text.size(); ++lineNo) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    parser.parseLine(text.substr(pos, end - pos), lineNo);
    pos = end + 1;
  }

  std::vector<const Diagnostic *> all;
  for (const Diagnostic &d : produced) flatten(d, all);
  for (const Diagnostic *d : all) {
    bool matched = false;
    for (Expectation &e : expected) {
      if (e.seen || e.severity != d->severity || !d->loc.isKnown() || d->loc.fileName() != fileName ||
          d->loc.line != e.line || d->message.find(e.text) == std::string::npos)
        continue;
      e.seen = matched = true;
      break;
    }
    if (!matched)
      problems.push_back(makeDiag(d->loc, "unexpected {}: {}", severityName(d->severity), d->message));
  }
  for (const Expectation &e : expected) {
    if (e.seen) continue;
    std::string where = e.line == e.annotLine ? "" : fmt::format(" on line {}", e.line);
    problems.push_back(makeDiag(Location::make(fileName, e.annotLine, 0), "expected {}{} was not produced: {{{{{}}}}}",
                                severityName(e.severity), where, e.text));
  }
  for (const Diagnostic &p : problems) os << p.str() << "\n";
  return problems.empty();
}

}  // namespace dlc::tool
