//===- tests/unit/codegen_perf_test.cpp - DLC_PERF=1: kernels visible to perf ===//
//
// With DLC_PERF=1 the JIT reports every kernel it links to Linux perf through LLVM's
// jitdump writer: a jit-<pid>.dump file under $JITDUMPDIR/.debug/jit/ that names each
// kernel (`perf inject --jit` turns it into symbols). The test points JITDUMPDIR at a
// temporary directory, compiles two kernels and looks for their names in the dump.
//
//===----------------------------------------------------------------------===//
#include <cstdlib>
#include <filesystem>

#include <unistd.h>

#include "codegen/jit.h"
#include "codegen_test_util.h"
#include "data_test_util.h"
#include "runtime/executable.h"

namespace dlc::test {
namespace {

using data::testing::readFile;
using data::testing::TempDir;

/// Sets an environment variable for the scope.
class ScopedEnv {
 public:
  ScopedEnv(const char *name, const std::string &value) : name_(name) { ::setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name_); }
  ScopedEnv(const ScopedEnv &) = delete;
  ScopedEnv &operator=(const ScopedEnv &) = delete;

 private:
  const char *name_;
};

TEST(JitPerf, DumpNamesEveryKernel) {
  TempDir dir;
  std::string dump;
  {
    ScopedEnv perf("DLC_PERF", "1"), where("JITDUMPDIR", dir.path());
    auto f = std::make_unique<Function>("f");
    Value *a = f->addArg(f32({5, 19}), "a"), *b = f->addArg(f32({5, 19}), "b");
    Builder bd(*f);
    Value *sum = bd.add(a, b);
    Value *e = bd.exp(a);
    f->setResults({sum, bd.reduceSum(e, {1})});
    ExecutableOptions o;
    o.plan.fuse = false;
    Expected<std::shared_ptr<Jit>> jit = Jit::create(o.codegen);
    ASSERT_TRUE(jit) << jit.error().str();
    o.jit = *jit;
    Expected<std::unique_ptr<Executable>> ex = Executable::compile(*f, o);
    ASSERT_TRUE(ex) << ex.error().str();
  }
  const std::string want = "jit-" + std::to_string(::getpid()) + ".dump";
  for (const auto &entry : std::filesystem::recursive_directory_iterator(dir.path()))
    if (entry.path().filename() == want) dump = readFile(entry.path().string());
  ASSERT_FALSE(dump.empty()) << "no " << want << " under " << dir.path();
  // jitdump starts with the magic 0x4A695444 ("JiTD") in the host byte order, so
  // "DTiJ" on x86, and holds one code-load record per function, with its name.
  EXPECT_EQ(dump.substr(0, 4), "DTiJ");
  EXPECT_NE(dump.find("add"), std::string::npos);
  EXPECT_NE(dump.find("exp"), std::string::npos);
  EXPECT_NE(dump.find("reduce_sum"), std::string::npos);
}

}  // namespace
}  // namespace dlc::test
