//===- fuzz/fuzz_ir.cpp - the text-format parser and the verifier -----------===//
//
// Any bytes: parseModule must return a module or an Error, never crash. A module that
// parses and verifies must print, and the printed text must parse and verify again and
// print the same (the round trip the text format promises).
//
//===----------------------------------------------------------------------===//
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"

using namespace dlc;

namespace {
[[noreturn]] void fail(const char *what, const std::string &text) {
  std::fprintf(stderr, "fuzz_ir: %s\n--- text:\n%s\n", what, text.c_str());
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  Expected<Module> m = parseModule(text, "fuzz.dlc");
  if (!m) {
    (void)m.error().str();  // formatting diagnostics must not crash either
    return 0;
  }
  if (Expected<void> ok = verify(*m); !ok) {
    (void)ok.error().str();
    return 0;
  }
  const std::string printed = printModule(*m);
  Expected<Module> again = parseModule(printed, "printed.dlc");
  if (!again) fail(("printed module does not parse: " + again.error().str()).c_str(), printed);
  if (Expected<void> ok = verify(*again); !ok)
    fail(("printed module does not verify: " + ok.error().str()).c_str(), printed);
  if (printModule(*again) != printed) fail("printing is not a fixed point", printed);
  return 0;
}
