//===- tests/unit/frontend_models_test.cpp - W1/W2 models and examples/*.dlc --===//
//
// The MLP and CNN build, verify, print, re-parse to the same text, and evaluate in the
// interpreter to about ln(10) at initialization. examples/mlp.dlc and examples/cnn.dlc
// must equal what the builders print; run with DLC_UPDATE_EXAMPLES=1 to rewrite them.
//
//===----------------------------------------------------------------------===//
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "frontend/models.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"

namespace dlc {
namespace {

/// Random inputs in [0, 1) and labels in [0, 10).
std::vector<HostTensor> randomBatch(const Model &m, uint64_t seed) {
  const Function &f = *m.function;
  HostTensor x(f.arg(m.params.size())->type());
  HostTensor y(f.arg(m.params.size() + 1)->type());
  Rng rng(seed);
  for (int64_t i = 0; i < x.numElements(); ++i) x.setDouble(i, rng.uniform());
  for (int64_t i = 0; i < y.numElements(); ++i) y.setDouble(i, static_cast<double>(rng.next() % 10));
  return {std::move(x), std::move(y)};
}

double lossAtInit(const Model &m) {
  std::vector<HostTensor> args = m.arguments(randomBatch(m, 11));
  Expected<std::vector<HostTensor>> out = interpret(*m.function, args);
  EXPECT_TRUE(out) << out.error().str();
  if (!out) return NAN;
  EXPECT_EQ(out->front().type(), f32({}));
  return out->front().getDouble(0);
}

void expectRoundTrip(const Model &m) {
  ASSERT_TRUE(verify(m.module)) << verify(m.module).error().str();
  std::string text = printModule(m.module);
  Expected<Module> again = parseModule(text, "printed.dlc");
  ASSERT_TRUE(again) << again.error().str() << "\n" << text;
  ASSERT_TRUE(verify(*again)) << verify(*again).error().str();
  EXPECT_EQ(printModule(*again), text);
}

std::string readFile(const std::string &path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The text of examples/<name>: a header comment, then the printed module.
std::string exampleText(const std::string &what, const std::string &builder, const std::string &printed) {
  return fmt::format(
      "// {}\n"
      "// Printed by {} (frontend/models.cpp); tests/unit/frontend_models_test.cpp keeps\n"
      "// this file equal to it. Regenerate with\n"
      "//   DLC_UPDATE_EXAMPLES=1 dlc_unit_tests --gtest_filter='FrontendModels.Examples*'\n"
      "// RUN: %dlc verify %s\n\n{}",
      what, builder, printed);
}

/// Compares examples/<name> with \p text, or rewrites it when DLC_UPDATE_EXAMPLES is set.
void checkExample(const std::string &name, const std::string &text) {
  std::string path = std::string(DLC_SOURCE_DIR) + "/examples/" + name;
  if (const char *u = std::getenv("DLC_UPDATE_EXAMPLES"); u && std::string(u) == "1") {
    std::ofstream(path) << text;
    GTEST_SKIP() << "rewrote " << path;
  }
  EXPECT_EQ(readFile(path), text) << path << " is stale: rerun this test with DLC_UPDATE_EXAMPLES=1";
  Expected<Module> parsed = parseFile(path);
  ASSERT_TRUE(parsed) << parsed.error().str();
  EXPECT_TRUE(verify(*parsed));
}

TEST(FrontendModels, MlpStructure) {
  Expected<Model> m = buildMlp(128);
  ASSERT_TRUE(m) << m.error().str();
  const Function &f = *m->function;
  EXPECT_EQ(f.name(), "mlp");
  std::vector<std::pair<std::string, Shape>> want = {
      {"fc1.weight", {512, 784}}, {"fc1.bias", {512}}, {"fc2.weight", {512, 512}},
      {"fc2.bias", {512}},        {"fc3.weight", {10, 512}}, {"fc3.bias", {10}},
      {"x", {128, 784}},          {"labels", {128}}};
  ASSERT_EQ(f.numArgs(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(f.arg(i)->name(), want[i].first);
    EXPECT_EQ(f.arg(i)->shape(), want[i].second);
  }
  EXPECT_EQ(f.arg(7)->dtype(), DType::I32);
  ASSERT_EQ(m->params.size(), 6u);
  ASSERT_EQ(f.results().size(), 1u);
  EXPECT_EQ(f.results()[0]->type(), f32({}));
  EXPECT_EQ(f.results()[0]->name(), "loss");
  int matmuls = 0;
  for (const auto &n : f.nodes()) {
    EXPECT_FALSE(n->loc.isKnown());
    if (n->kind() == OpKind::MatMul) {
      ++matmuls;
      EXPECT_TRUE(n->attrsAs<MatMulAttrs>().transposeB);  // x . W^T (BENCHMARKS: NT)
    }
  }
  EXPECT_EQ(matmuls, 3);
  expectRoundTrip(*m);
}

TEST(FrontendModels, MlpLossAtInitIsAboutLn10) {
  Expected<Model> m = buildMlp(8);
  ASSERT_TRUE(m) << m.error().str();
  double loss = lossAtInit(*m);
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(loss, std::log(10.0), 0.25);
}

TEST(FrontendModels, CnnStructure) {
  Expected<Model> m = buildCnn(64);
  ASSERT_TRUE(m) << m.error().str();
  const Function &f = *m->function;
  EXPECT_EQ(f.name(), "cnn");
  std::vector<std::pair<std::string, Shape>> want = {
      {"conv1.weight", {32, 1, 5, 5}}, {"conv1.bias", {32}},   {"conv2.weight", {64, 32, 5, 5}},
      {"conv2.bias", {64}},            {"fc1.weight", {128, 3136}}, {"fc1.bias", {128}},
      {"fc2.weight", {10, 128}},       {"fc2.bias", {10}},     {"x", {64, 1, 28, 28}},
      {"labels", {64}}};
  ASSERT_EQ(f.numArgs(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(f.arg(i)->name(), want[i].first);
    EXPECT_EQ(f.arg(i)->shape(), want[i].second);
  }
  int convs = 0, pools = 0;
  for (const auto &n : f.nodes()) {
    convs += n->kind() == OpKind::Conv2d;
    pools += n->kind() == OpKind::MaxPool2d;
    if (n->kind() == OpKind::Reshape) {
      EXPECT_EQ(n->type(), f32({64, 3136}));
    }
  }
  EXPECT_EQ(convs, 2);
  EXPECT_EQ(pools, 2);
  expectRoundTrip(*m);
}

TEST(FrontendModels, CnnLossAtInitIsAboutLn10) {
  Expected<Model> m = buildCnn(2);
  ASSERT_TRUE(m) << m.error().str();
  double loss = lossAtInit(*m);
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(loss, std::log(10.0), 0.25);
}

TEST(FrontendModels, BuildsAreDeterministic) {
  Expected<Model> a = buildMlp(4), b = buildMlp(4), c = buildMlp(4, {.seed = 1});
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(printModule(a->module), printModule(b->module));
  for (size_t i = 0; i < a->params.size(); ++i) {
    EXPECT_EQ(a->params[i].initial, b->params[i].initial);
    EXPECT_FALSE(a->params[i].initial == c->params[i].initial);
  }
}

TEST(FrontendModels, ExamplesAreUpToDate) {
  Expected<Model> mlp = buildMlp(128);
  Expected<Model> cnn = buildCnn(64);
  ASSERT_TRUE(mlp && cnn);
  checkExample("mlp.dlc", exampleText("W1 `mlp` (BENCHMARKS.md), batch 128: forward pass to the mean softmax "
                                      "cross-entropy.",
                                      "dlc::buildMlp(128)", printModule(mlp->module)));
  checkExample("cnn.dlc", exampleText("W2 `cnn` (BENCHMARKS.md), batch 64: forward pass to the mean softmax "
                                      "cross-entropy.",
                                      "dlc::buildCnn(64)", printModule(cnn->module)));
}

}  // namespace
}  // namespace dlc
