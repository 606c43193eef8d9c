//===- tests/unit/passes_test_util.h - helpers for the pass tests -----------===//
//
// Parsing IR text in tests, deterministic inputs that include the awkward IEEE values
// (signed zeros, infinities, NaN, subnormals), bitwise comparison of interpreter results
// and capturing a pass's debug output.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "ir/host_tensor.h"
#include "ir/ir.h"

namespace dlc::test {

/// Parses and verifies \p text; fails the test (and returns an empty module) on error.
Module parseOrFail(std::string_view text);

/// A deterministic tensor of type \p t. With \p specials, the first elements of a float
/// tensor are -0, +0, inf, -inf, NaN, a subnormal and huge values (integers: 0, -1, the
/// extremes); the rest are pseudo-random in [-4, 4) (integers in [-50, 50)).
HostTensor sampleTensor(const TensorType &t, uint32_t seed, bool specials = true);
/// One sampleTensor per argument of \p f.
std::vector<HostTensor> sampleArgs(const Function &f, uint32_t seed, bool specials = true);

/// Interprets \p f on \p args; fails the test on an Error.
std::vector<HostTensor> runOrFail(const Function &f, const std::vector<HostTensor> &args);

/// Same types and bitwise-equal elements, except that any NaN matches any NaN.
::testing::AssertionResult sameBits(const std::vector<HostTensor> &a, const std::vector<HostTensor> &b);
/// Same types and elements within \p relTol (relative to max(1, |a|)); NaN matches NaN.
::testing::AssertionResult closeTo(const std::vector<HostTensor> &a, const std::vector<HostTensor> &b,
                                   double relTol);

/// A FILE* writing into memory; str() returns what was written so far.
class CapturedStream {
 public:
  CapturedStream();
  ~CapturedStream();
  CapturedStream(const CapturedStream &) = delete;
  CapturedStream &operator=(const CapturedStream &) = delete;
  std::FILE *file() const { return file_; }
  std::string str();

 private:
  std::FILE *file_ = nullptr;
  char *buf_ = nullptr;
  size_t size_ = 0;
};

/// Number of nodes of kind \p k in \p f.
size_t countNodes(const Function &f, OpKind k);

}  // namespace dlc::test
