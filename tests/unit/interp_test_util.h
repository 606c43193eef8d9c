//===- tests/unit/interp_test_util.h - helpers for the interpreter tests ----===//
//
// InterpTest runs functions through the reference interpreter and records, through the
// onNode observer, every op kind it evaluated. INTERP_TEST(Suite, Name, OpKind::...)
// declares a test together with the ops it covers: the declaration is registered at
// static-initialization time (so the coverage test sees it even when each test runs in
// its own process, as under ctest), and the fixture checks after the test that each
// declared op was really evaluated. InterpCoverage.EveryOpHasATest then requires every
// op of ops.def to be covered, so a new op without an interpreter test fails.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ir/host_tensor.h"
#include "ir/interpreter.h"
#include "ir/ir.h"

namespace dlc::test {

/// Test name ("Suite.Name") -> the op kinds it declares to cover.
std::map<std::string, std::vector<OpKind>> &interpCoverage();
/// Registers \p ops as covered by test \p name; returns true (for a static initializer).
bool registerInterpCoverage(const char *name, std::initializer_list<OpKind> ops);

/// The fixture of every interpreter test.
class InterpTest : public ::testing::Test {
protected:
  /// Fails the test if a declared op was not evaluated.
  void TearDown() override;

public:
  /// Interprets \p f, recording the evaluated op kinds.
  Expected<std::vector<HostTensor>> tryRun(const Function &f, std::span<const HostTensor> args);
  /// As tryRun, failing the test on an Error.
  std::vector<HostTensor> run(const Function &f, std::span<const HostTensor> args);

  /// Evaluates one `k` node with one function argument per input and result type \p type.
  /// NoAttrs \p attrs stand for the op's default attributes.
  Expected<HostTensor> tryRunOp(OpKind k, const std::vector<HostTensor> &inputs, const TensorType &type,
                                Attrs attrs = NoAttrs{});
  /// As tryRunOp, failing the test on an Error (and returning an empty tensor).
  HostTensor runOp(OpKind k, const std::vector<HostTensor> &inputs, const TensorType &type,
                   Attrs attrs = NoAttrs{});
  /// The message of the Error tryRunOp gives; fails the test when it succeeds.
  std::string opError(OpKind k, const std::vector<HostTensor> &inputs, const TensorType &type,
                      Attrs attrs = NoAttrs{});

  std::set<OpKind> evaluated_;
};

#define INTERP_TEST(Suite, Name, ...)                                                                        \
  [[maybe_unused]] static const bool Suite##_##Name##_covers =                                               \
      ::dlc::test::registerInterpCoverage(#Suite "." #Name, {__VA_ARGS__});                                  \
  TEST_F(Suite, Name)

// Tensor literals.
inline HostTensor f32t(Shape s, std::vector<float> v) { return HostTensor::fromVector(std::move(s), v); }
inline HostTensor f64t(Shape s, std::vector<double> v) { return HostTensor::fromVector(std::move(s), v); }
inline HostTensor i32t(Shape s, std::vector<int32_t> v) { return HostTensor::fromVector(std::move(s), v); }
inline HostTensor i64t(Shape s, std::vector<int64_t> v) { return HostTensor::fromVector(std::move(s), v); }
inline HostTensor i1t(Shape s, std::vector<uint8_t> v) { return HostTensor::fromVector(std::move(s), v); }

inline constexpr float kInfF = std::numeric_limits<float>::infinity();
inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr float kNanF = std::numeric_limits<float>::quiet_NaN();
inline constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

/// Element equality for the tests: NaN equals NaN, and +0 differs from -0.
template <class T> bool sameElement(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    return a == b && std::signbit(a) == std::signbit(b);
  } else {
    return a == b;
  }
}

/// Checks that \p got has type T[shape] and exactly the elements \p want.
template <class T>
::testing::AssertionResult tensorEq(const HostTensor &got, const Shape &shape, const std::vector<T> &want) {
  TensorType wantType{dtypeOf<T>(), shape};
  if (got.type() != wantType)
    return ::testing::AssertionFailure()
           << "type " << typeString(got.type()) << ", want " << typeString(wantType);
  std::span<const T> g = got.data<T>();
  if (g.size() != want.size()) return ::testing::AssertionFailure() << "want has the wrong size";
  for (size_t i = 0; i < want.size(); ++i)
    if (!sameElement(g[i], want[i]))
      return ::testing::AssertionFailure() << "element " << i << " is " << +g[i] << ", want " << +want[i]
                                           << "\n  got " << formatTensor(got, 256);
  return ::testing::AssertionSuccess();
}

/// Checks that \p got and \p want have the same type and elements within \p tol
/// (absolute plus relative to the element's magnitude).
::testing::AssertionResult tensorNear(const HostTensor &got, const HostTensor &want, double tol);

/// sum_i a[i] * b[i], in double.
double dot(const HostTensor &a, const HostTensor &b);

/// A tensor of \p t with elements uniform in [lo, hi) from a fixed seed.
HostTensor randomTensor(const TensorType &t, uint32_t seed, double lo = -1.0, double hi = 1.0);

}  // namespace dlc::test
