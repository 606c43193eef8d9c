//===- tests/unit/passes_test_util.cpp - helpers for the pass tests ---------===//
#include "passes_test_util.h"

#include <cmath>
#include <limits>
#include <random>

#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"

namespace dlc::test {

Module parseOrFail(std::string_view text) {
  Expected<Module> m = parseModule(text, "test.dlc");
  if (!m) {
    ADD_FAILURE() << "parse error: " << m.error().str();
    return Module();
  }
  if (Expected<void> ok = verify(*m); !ok) {
    ADD_FAILURE() << "verifier error: " << ok.error().str();
    return Module();
  }
  return std::move(*m);
}

HostTensor sampleTensor(const TensorType &t, uint32_t seed, bool specials) {
  HostTensor h(t);
  std::mt19937 rng(seed);
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> floatSpecials{-0.0, 0.0, inf, -inf, std::nan(""), 1e-40, 3e38, -1.5, 0.75};
  const std::vector<double> intSpecials{0, -1, -2147483648.0, 2147483647.0, 7};
  for (int64_t i = 0; i < h.numElements(); ++i) {
    double v;
    if (t.dtype == DType::I1) {
      v = static_cast<double>(rng() % 2);
    } else if (isFloat(t.dtype)) {
      const size_t k = static_cast<size_t>(i);
      v = specials && k < floatSpecials.size() ? floatSpecials[k]
                                               : std::uniform_real_distribution<double>(-4, 4)(rng);
    } else {
      const size_t k = static_cast<size_t>(i);
      v = specials && k < intSpecials.size() ? intSpecials[k]
                                             : static_cast<double>(static_cast<int>(rng() % 100) - 50);
    }
    h.setDouble(i, v);
  }
  return h;
}

std::vector<HostTensor> sampleArgs(const Function &f, uint32_t seed, bool specials) {
  std::vector<HostTensor> out;
  for (size_t i = 0; i < f.numArgs(); ++i) out.push_back(sampleTensor(f.arg(i)->type(), seed + 17 * static_cast<uint32_t>(i), specials));
  return out;
}

std::vector<HostTensor> runOrFail(const Function &f, const std::vector<HostTensor> &args) {
  Expected<std::vector<HostTensor>> r = interpret(f, args);
  if (!r) {
    ADD_FAILURE() << "interpreter error: " << r.error().str() << "\n" << printFunction(f);
    return {};
  }
  return std::move(*r);
}

namespace {

template <class Same>
::testing::AssertionResult compareResults(const std::vector<HostTensor> &a, const std::vector<HostTensor> &b,
                                          Same same) {
  if (a.size() != b.size())
    return ::testing::AssertionFailure() << "result counts differ: " << a.size() << " vs " << b.size();
  for (size_t r = 0; r < a.size(); ++r) {
    if (a[r].type() != b[r].type())
      return ::testing::AssertionFailure() << "result " << r << " types differ: " << typeString(a[r].type())
                                           << " vs " << typeString(b[r].type());
    for (int64_t i = 0; i < a[r].numElements(); ++i) {
      const double x = a[r].getDouble(i), y = b[r].getDouble(i);
      if (std::isnan(x) && std::isnan(y)) continue;
      if (!same(x, y))
        return ::testing::AssertionFailure() << "result " << r << " element " << i << ": " << x << " vs " << y
                                             << "\n  " << formatTensor(a[r]) << "\n  " << formatTensor(b[r]);
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace

::testing::AssertionResult sameBits(const std::vector<HostTensor> &a, const std::vector<HostTensor> &b) {
  return compareResults(a, b, [](double x, double y) { return std::signbit(x) == std::signbit(y) && (x == y); });
}

::testing::AssertionResult closeTo(const std::vector<HostTensor> &a, const std::vector<HostTensor> &b,
                                   double relTol) {
  return compareResults(a, b, [&](double x, double y) {
    if (x == y) return true;
    return std::abs(x - y) <= relTol * std::max(1.0, std::max(std::abs(x), std::abs(y)));
  });
}

CapturedStream::CapturedStream() { file_ = open_memstream(&buf_, &size_); }

CapturedStream::~CapturedStream() {
  std::fclose(file_);
  std::free(buf_);
}

std::string CapturedStream::str() {
  std::fflush(file_);
  return std::string(buf_, size_);
}

size_t countNodes(const Function &f, OpKind k) {
  size_t n = 0;
  for (const auto &node : f.nodes()) n += node->kind() == k;
  return n;
}

}  // namespace dlc::test
