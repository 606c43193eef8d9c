//===- tests/unit/passes_pipeline_test.cpp - registry and pipeline runner ----===//
#include <algorithm>

#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/pipeline.h"
#include "passes_test_util.h"

namespace dlc {
namespace {

constexpr std::string_view kDoubleNeg = R"(func @f(%x: f32[2]) -> f32[2] {
  %a = neg %x : f32[2]
  %b = neg %a : f32[2]
  %dead = exp %x : f32[2]
  return %b
})";

TEST(PassRegistry, KnowsTheRegisteredPasses) {
  for (std::string_view name : {"dce", "cse", "constant-fold", "simplify", "train-step", "autodiff"}) {
    const PassEntry *p = lookupPass(name);
    ASSERT_NE(p, nullptr) << name;
    EXPECT_EQ(p->name, name);
  }
  EXPECT_EQ(lookupPass("nope"), nullptr);
  const std::string names = knownPassNames();
  EXPECT_EQ(static_cast<size_t>(std::count(names.begin(), names.end(), ',')) + 1, registeredPasses().size());
}

TEST(PassRegistry, ParsesAPipeline) {
  Expected<std::vector<PassEntry>> p = parsePassPipeline("simplify, cse,dce");
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 3u);
  EXPECT_EQ((*p)[0].name, "simplify");
  EXPECT_EQ((*p)[1].name, "cse");
  EXPECT_EQ((*p)[2].name, "dce");
}

TEST(PassRegistry, UnknownPassListsTheKnownOnes) {
  Expected<std::vector<PassEntry>> p = parsePassPipeline("simplify,fold-everything");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message(), "unknown pass 'fold-everything'; known passes: " + knownPassNames());
  EXPECT_NE(knownPassNames().find("constant-fold"), std::string::npos);
  Expected<std::vector<PassEntry>> empty = parsePassPipeline("dce,,cse");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message().find("empty pass name"), std::string::npos);
}

TEST(Pipeline, PrintsReparseableDumpsAfterChosenPasses) {
  Module m = test::parseOrFail(kDoubleNeg);
  test::CapturedStream dump;
  PipelineOptions o;
  o.printAfter.insert("simplify");
  o.dumpStream = dump.file();
  Expected<std::vector<PassEntry>> passes = parsePassPipeline("cse,simplify");
  ASSERT_TRUE(passes.ok());
  Expected<bool> changed = runPipeline(m, *passes, o);
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(*changed);
  const std::string text = dump.str();
  EXPECT_EQ(text, "// ----- IR after simplify -----\n"
                  "func @f(%x: f32[2]) -> f32[2] {\n"
                  "  return %x\n"
                  "}\n");
  Expected<Module> again = parseModule(text, "dump");
  ASSERT_TRUE(again.ok()) << again.error().str();
  EXPECT_EQ(printModule(*again), printModule(m));
}

TEST(Pipeline, PrintAfterAllAndTimePasses) {
  Module m = test::parseOrFail(kDoubleNeg);
  test::CapturedStream dump, timing;
  PipelineOptions o;
  o.printAfterAll = true;
  o.timePasses = true;
  o.dumpStream = dump.file();
  o.timingStream = timing.file();
  Expected<std::vector<PassEntry>> passes = parsePassPipeline("dce,simplify");
  ASSERT_TRUE(passes.ok());
  ASSERT_TRUE(runPipeline(m, *passes, o).ok());
  const std::string text = dump.str();
  const size_t second = text.find("// ----- IR after simplify -----\n");
  ASSERT_EQ(text.find("// ----- IR after dce -----\n"), 0u) << text;
  ASSERT_NE(second, std::string::npos) << text;
  EXPECT_TRUE(parseModule(text.substr(0, second), "dump1").ok());
  EXPECT_TRUE(parseModule(text.substr(second), "dump2").ok());
  const std::string table = timing.str();
  EXPECT_NE(table.find("pass execution timing report"), std::string::npos) << table;
  EXPECT_NE(table.find(" dce\n"), std::string::npos) << table;
  EXPECT_NE(table.find(" simplify\n"), std::string::npos) << table;
}

/// A pass that leaves the IR invalid: a result type that disagrees with its operands.
Expected<bool> breakTypes(Module &m, const PassOptions &) {
  for (const auto &f : m.functions())
    for (const auto &n : f->nodes()) n->result()->setType(f64({7}));
  return true;
}

Expected<bool> failLoudly(Module &, const PassOptions &) {
  return makeError(Location{}, "this pass always fails");
}

TEST(Pipeline, VerifyEachNamesTheGuiltyPass) {
  Module m = test::parseOrFail(kDoubleNeg);
  const PassEntry passes[] = {{"dce", lookupPass("dce")->fn}, {"break-types", breakTypes}};
  PipelineOptions o;
  o.verifyEach = true;
  Expected<bool> r = runPipeline(m, passes, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "module does not verify after pass 'break-types'");
  EXPECT_GE(r.error().diagnostics().size(), 2u);  // the headline, then the verifier's findings
}

TEST(Pipeline, StopsAtAFailingPass) {
  Module m = test::parseOrFail(kDoubleNeg);
  test::CapturedStream dump;
  const PassEntry passes[] = {{"fail", failLoudly}, {"dce", lookupPass("dce")->fn}};
  PipelineOptions o;
  o.printAfterAll = true;
  o.dumpStream = dump.file();
  Expected<bool> r = runPipeline(m, passes, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "pass 'fail' failed");
  ASSERT_EQ(r.error().diagnostics().size(), 2u);
  EXPECT_EQ(r.error().diagnostics()[1].message, "this pass always fails");
  EXPECT_EQ(dump.str(), "");  // dce never ran
}

}  // namespace
}  // namespace dlc
