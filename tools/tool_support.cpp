//===- tools/tool_support.cpp - helpers shared by the dlc subcommands ------===//
#include "tools/tool_support.h"

#include <llvm/Support/MemoryBuffer.h>

#include "ir/parser.h"
#include "ir/verifier.h"

namespace dlc::tool {

llvm::cl::OptionCategory &dlcCategory() {
  static llvm::cl::OptionCategory category("dlc options");
  return category;
}

Expected<Source> readSource(const std::string &path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf = llvm::MemoryBuffer::getFileOrSTDIN(path);
  if (!buf) return makeError(Location{}, "cannot open '{}': {}", path, buf.getError().message());
  return Source{path == "-" ? "<stdin>" : path, std::string((*buf)->getBuffer())};
}

std::vector<std::string> splitInput(std::string_view text) {
  std::vector<std::string> chunks;
  std::string current;
  size_t newlinesSeen = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = text.find('\n', pos);
    const bool hasNewline = end != std::string_view::npos;
    const size_t next = hasNewline ? end + 1 : text.size();
    const std::string_view line = text.substr(pos, next - pos);
    std::string_view trimmed = line;
    while (!trimmed.empty() && std::string_view("\n\r \t").find(trimmed.back()) != std::string_view::npos)
      trimmed.remove_suffix(1);
    if (trimmed == "// -----") {
      // The next chunk starts with one blank line per line before it, separator included.
      chunks.push_back(std::move(current));
      current.assign(newlinesSeen + (hasNewline ? 1 : 0), '\n');
    } else {
      current.append(line);
    }
    if (hasNewline) ++newlinesSeen;
    pos = next;
  }
  chunks.push_back(std::move(current));
  return chunks;
}

Expected<Module> parseAndVerify(std::string_view text, const std::string &name) {
  Expected<Module> m = parseModule(text, name);
  if (!m) return m;
  if (Expected<void> ok = verify(*m); !ok) return ok.takeError();
  return m;
}

std::optional<LoadedModule> loadModule(const std::string &path) {
  Expected<Source> src = readSource(path);
  if (!src) {
    printDiagnostics(llvm::errs(), src.error(), {});
    return std::nullopt;
  }
  Expected<Module> m = parseAndVerify(src->text, src->name);
  if (!m) {
    printDiagnostics(llvm::errs(), m.error(), *src);
    return std::nullopt;
  }
  return LoadedModule{std::move(*src), std::move(*m)};
}

namespace {

/// Line \p line (1-based) of \p text without its newline, or nullopt past the end.
std::optional<std::string_view> lineOf(std::string_view text, uint32_t line) {
  size_t pos = 0;
  for (uint32_t l = 1; l < line; ++l) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return std::nullopt;
    pos = nl + 1;
  }
  size_t end = text.find('\n', pos);
  std::string_view s = text.substr(pos, end == std::string_view::npos ? text.size() - pos : end - pos);
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

/// Prints the source line of \p loc (a window of it, for very long lines) and a caret.
void printSnippet(llvm::raw_ostream &os, const Location &loc, const Source &src) {
  if (!loc.isKnown() || loc.fileName() != src.name || loc.line == 0) return;
  std::optional<std::string_view> line = lineOf(src.text, loc.line);
  if (!line) return;
  constexpr size_t kWidth = 120;
  const size_t col = loc.col == 0 ? 0 : loc.col - 1;
  size_t begin = 0;
  if (col > kWidth / 2 && line->size() > kWidth) begin = std::min(col - kWidth / 2, line->size() - kWidth);
  std::string_view shown = line->substr(begin, kWidth);
  std::string text = begin > 0 ? "..." : "";
  const size_t caret = text.size() + (col >= begin ? col - begin : 0);
  // Unprintable bytes (binary input) become '?', one for one, so the caret stays aligned.
  for (char c : shown) {
    auto u = static_cast<unsigned char>(c);
    text += c == '\t' ? ' ' : (u < 0x20 || u >= 0x7f) ? '?' : c;
  }
  if (begin + shown.size() < line->size()) text += "...";
  os << "  " << text << "\n";
  if (loc.col != 0) os << "  " << std::string(caret, ' ') << "^\n";
}

void printOne(llvm::raw_ostream &os, const Diagnostic &d, const Source &src) {
  Diagnostic head = d;
  head.notes.clear();
  os << head.str() << "\n";
  printSnippet(os, d.loc, src);
  for (const Diagnostic &n : d.notes) printOne(os, n, src);
}

}  // namespace

void printDiagnostics(llvm::raw_ostream &os, const Error &err, const Source &src) {
  for (const Diagnostic &d : err.diagnostics()) printOne(os, d, src);
  os.flush();
}

}  // namespace dlc::tool
