//===- tests/unit/interp_test_util.cpp - helpers for the interpreter tests --===//
#include "interp_test_util.h"

#include <random>

namespace dlc::test {

std::map<std::string, std::vector<OpKind>> &interpCoverage() {
  static std::map<std::string, std::vector<OpKind>> registry;
  return registry;
}

bool registerInterpCoverage(const char *name, std::initializer_list<OpKind> ops) {
  std::vector<OpKind> &v = interpCoverage()[name];
  v.insert(v.end(), ops.begin(), ops.end());
  return true;
}

void InterpTest::TearDown() {
  const ::testing::TestInfo *info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string name = std::string(info->test_suite_name()) + "." + info->name();
  auto it = interpCoverage().find(name);
  if (it == interpCoverage().end()) return;
  for (OpKind k : it->second)
    EXPECT_TRUE(evaluated_.count(k)) << name << " declares that it covers '" << mnemonic(k)
                                     << "' but never evaluated it successfully";
}

Expected<std::vector<HostTensor>> InterpTest::tryRun(const Function &f, std::span<const HostTensor> args) {
  InterpreterOptions opts;
  opts.onNode = [this](const Node &n, const HostTensor &) { evaluated_.insert(n.kind()); };
  return interpret(f, args, opts);
}

std::vector<HostTensor> InterpTest::run(const Function &f, std::span<const HostTensor> args) {
  Expected<std::vector<HostTensor>> r = tryRun(f, args);
  if (!r) {
    ADD_FAILURE() << "interpret failed: " << r.error().str();
    return {};
  }
  return std::move(*r);
}

Expected<HostTensor> InterpTest::tryRunOp(OpKind k, const std::vector<HostTensor> &inputs,
                                          const TensorType &type, Attrs attrs) {
  if (std::holds_alternative<NoAttrs>(attrs)) attrs = defaultAttrs(k);
  Function f("op");
  std::vector<Value *> operands;
  for (const HostTensor &t : inputs)
    operands.push_back(f.addArg(t.type()));
  Node *n = f.createNode(k, operands, type, std::move(attrs));
  f.setResults({n->result()});
  Expected<std::vector<HostTensor>> r = tryRun(f, inputs);
  if (!r) return r.takeError();
  return std::move((*r)[0]);
}

HostTensor InterpTest::runOp(OpKind k, const std::vector<HostTensor> &inputs, const TensorType &type,
                             Attrs attrs) {
  Expected<HostTensor> r = tryRunOp(k, inputs, type, std::move(attrs));
  if (!r) {
    ADD_FAILURE() << "'" << mnemonic(k) << "' failed: " << r.error().str();
    return HostTensor();
  }
  return std::move(*r);
}

std::string InterpTest::opError(OpKind k, const std::vector<HostTensor> &inputs, const TensorType &type,
                                Attrs attrs) {
  Expected<HostTensor> r = tryRunOp(k, inputs, type, std::move(attrs));
  if (r) {
    ADD_FAILURE() << "'" << mnemonic(k) << "' unexpectedly succeeded: " << formatTensor(*r);
    return "";
  }
  return r.error().message();
}

::testing::AssertionResult tensorNear(const HostTensor &got, const HostTensor &want, double tol) {
  if (got.type() != want.type())
    return ::testing::AssertionFailure()
           << "type " << typeString(got.type()) << ", want " << typeString(want.type());
  for (int64_t i = 0; i < got.numElements(); ++i) {
    const double g = got.getDouble(i), w = want.getDouble(i);
    if (std::isnan(g) || std::isnan(w)) {
      if (std::isnan(g) && std::isnan(w)) continue;
    } else if (g == w || std::fabs(g - w) <= tol * (1.0 + std::fabs(w))) {
      continue;
    }
    return ::testing::AssertionFailure() << "element " << i << " is " << g << ", want " << w;
  }
  return ::testing::AssertionSuccess();
}

double dot(const HostTensor &a, const HostTensor &b) {
  EXPECT_EQ(a.numElements(), b.numElements());
  double s = 0;
  for (int64_t i = 0; i < a.numElements() && i < b.numElements(); ++i)
    s += a.getDouble(i) * b.getDouble(i);
  return s;
}

HostTensor randomTensor(const TensorType &t, uint32_t seed, double lo, double hi) {
  std::mt19937 gen(seed);
  HostTensor h(t);
  for (int64_t i = 0; i < h.numElements(); ++i) {
    // A fixed mapping from the generator's integers, independent of the std library.
    const double u = static_cast<double>(gen()) / 4294967296.0;
    h.setDouble(i, lo + (hi - lo) * u);
  }
  return h;
}

}  // namespace dlc::test
