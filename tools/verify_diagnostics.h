//===- tools/verify_diagnostics.h - `dlc verify --verify-diagnostics` -------===//
//
// MLIR's -verify-diagnostics for dlc: a test file states the diagnostics it must produce
// in its comments, and the check passes when the produced diagnostics and the stated
// ones match one for one.
//
//   %0 = add %a, %b : f32[4]   // expected-error {{operand types differ}}
//   // expected-error@+1 {{use of undefined value '%y'}}
//   // expected-note@-3 {{previous definition is here}}
//
// `{{...}}` is a substring of the message; `@+N` / `@-N` move the expected line
// relative to the annotation's own line. Kinds: expected-error, expected-warning,
// expected-note (notes are matched like any other diagnostic, at their own location).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <llvm/Support/raw_ostream.h>

#include "ir/diagnostic.h"

namespace dlc::tool {

/// Checks \p produced (diagnostics of \p text, which diagnostics call \p fileName)
/// against the annotations in \p text. Returns true on a one-for-one match; otherwise
/// writes each unexpected, missing or malformed item to \p os and returns false.
bool checkExpectedDiagnostics(std::string_view text, const std::string &fileName,
                              const std::vector<Diagnostic> &produced, llvm::raw_ostream &os);

}  // namespace dlc::tool
