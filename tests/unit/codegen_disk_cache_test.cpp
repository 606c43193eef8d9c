//===- tests/unit/codegen_disk_cache_test.cpp - the JIT's on-disk object cache ===//
//
// The entry format (round trip; every truncation and flipped byte is detected), a cold
// compile that writes entries and a fresh JIT (as a new process would have) that loads
// them instead of compiling, with identical results; corrupt entries recompiled and
// rewritten; an unusable directory and a full disk warned about once, never failing a
// compile or leaving a partial entry behind. Every test uses its own temporary directory.
//
//===----------------------------------------------------------------------===//
#include <csignal>
#include <filesystem>

#include <sys/resource.h>
#include <unistd.h>

#include "codegen/disk_cache.h"
#include "codegen/jit.h"
#include "codegen_test_util.h"
#include "data_test_util.h"
#include "ir/interpreter.h"
#include "runtime/executable.h"

namespace dlc::test {
namespace {

using data::testing::listDir;
using data::testing::readFile;
using data::testing::TempDir;
using data::testing::writeFile;

/// Five distinct one-op kernels: ((a + b) * a, exp(a) - b, reduce_sum(a) over rows).
constexpr int64_t kKernels = 5;
std::unique_ptr<Function> someKernels() {
  auto f = std::make_unique<Function>("f");
  Value *a = f->addArg(f32({5, 19}), "a"), *b = f->addArg(f32({5, 19}), "b");
  Builder bd(*f);
  f->setResults({bd.mul(bd.add(a, b), a), bd.sub(bd.exp(a), b), bd.reduceSum(a, {1})});
  return f;
}

std::vector<HostTensor> inputsOf(const Function &f) {
  Rng rng(7);
  std::vector<HostTensor> in;
  for (size_t i = 0; i < f.numArgs(); ++i) in.push_back(rng.tensor(f.arg(i)->type()));
  return in;
}

/// Compiles and runs \p f with a fresh JIT using \p cacheDir; returns the JIT's stats.
Jit::Stats compileAndCheck(const Function &f, const std::string &cacheDir) {
  ExecutableOptions o;
  o.plan.fuse = false;  // counts one kernel per op
  o.keepDenormals = true;
  o.codegen.cacheDir = cacheDir;
  Expected<std::shared_ptr<Jit>> jit = Jit::create(o.codegen);
  EXPECT_TRUE(jit) << jit.error().str();
  if (!jit) return {};
  o.jit = *jit;
  Expected<std::unique_ptr<Executable>> ex = Executable::compile(f, o);
  EXPECT_TRUE(ex) << ex.error().str();
  if (!ex) return {};
  std::vector<HostTensor> in = inputsOf(f);
  Expected<std::vector<HostTensor>> got = (*ex)->run(in);
  Expected<std::vector<HostTensor>> want = interpret(f, in);
  EXPECT_TRUE(got && want);
  if (got && want) {
    for (size_t i = 0; i < want->size(); ++i) EXPECT_TRUE(sameElements((*got)[i], (*want)[i])) << "result " << i;
  }
  return (*jit)->stats();
}

/// Collects what is written to stderr through a pipe: unlike gtest's CaptureStderr (a
/// file), a pipe is not subject to RLIMIT_FSIZE.
class StderrPipe {
 public:
  StderrPipe() {
    EXPECT_EQ(::pipe(fds_), 0);
    std::fflush(stderr);
    saved_ = ::dup(2);
    ::dup2(fds_[1], 2);
  }
  std::string finish() {
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    ::close(fds_[1]);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds_[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    ::close(fds_[0]);
    return out;
  }

 private:
  int fds_[2] = {-1, -1};
  int saved_ = -1;
};

/// Entries of \p dir (temporary files excluded).
std::vector<std::string> entries(const std::string &dir) {
  std::vector<std::string> out;
  if (!std::filesystem::is_directory(dir)) return out;
  for (const std::string &n : listDir(dir))
    if (n.find(".tmp.") == std::string::npos) out.push_back(n);
  return out;
}

TEST(DiskCache, EntryRoundTripsAndRejectsDamage) {
  const std::string symbol = "add_3.0123456789abcdef.0", object(300, 'o');
  const std::string bytes = cg::DiskCache::encode(symbol, object);
  std::optional<cg::DiskCache::Entry> e = cg::DiskCache::decode(bytes);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->symbol, symbol);
  EXPECT_EQ(e->object, object);
  for (size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(cg::DiskCache::decode(bytes.substr(0, n))) << n;
  EXPECT_FALSE(cg::DiskCache::decode(bytes + "x"));
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x20);
    EXPECT_FALSE(cg::DiskCache::decode(flipped)) << "flipped byte " << i;
  }
}

TEST(DiskCache, KeysDependOnIrAndPrefix) {
  cg::DiskCache a("/nonexistent", "target x86-64"), b("/nonexistent", "target haswell");
  EXPECT_EQ(a.keyFor("ir").size(), 64u);
  EXPECT_EQ(a.keyFor("ir"), a.keyFor("ir"));
  EXPECT_NE(a.keyFor("ir"), a.keyFor("ir2"));
  EXPECT_NE(a.keyFor("ir"), b.keyFor("ir"));
}

TEST(DiskCache, AFreshJitLoadsWhatAnotherCompiled) {
  TempDir dir;
  std::unique_ptr<Function> f = someKernels();
  Jit::Stats cold = compileAndCheck(*f, dir.path());
  EXPECT_EQ(cold.compiled, kKernels);
  EXPECT_EQ(cold.diskHits, 0);
  EXPECT_EQ(cold.diskWrites, kKernels);
  EXPECT_EQ(entries(dir.path()).size(), size_t{kKernels});

  Jit::Stats warm = compileAndCheck(*f, dir.path());
  EXPECT_EQ(warm.compiled, 0);
  EXPECT_EQ(warm.diskHits, kKernels);
  EXPECT_EQ(warm.diskWrites, 0);
  EXPECT_EQ(warm.diskCorrupt, 0);
}

TEST(DiskCache, OtherTargetsDoNotShareEntries) {
  TempDir dir;
  std::unique_ptr<Function> f = someKernels();
  compileAndCheck(*f, dir.path());
  ExecutableOptions o;
  o.plan.fuse = false;  // counts one kernel per op
  o.codegen.cacheDir = dir.path();
  o.codegen.cpu = "x86-64";
  Expected<std::shared_ptr<Jit>> jit = Jit::create(o.codegen);
  ASSERT_TRUE(jit);
  o.jit = *jit;
  ASSERT_TRUE(Executable::compile(*f, o));
  EXPECT_EQ((*jit)->stats().diskHits, 0);
  EXPECT_EQ((*jit)->stats().compiled, kKernels);
  EXPECT_EQ(entries(dir.path()).size(), size_t{2 * kKernels});
}

TEST(DiskCache, CorruptEntriesAreRecompiledAndRewritten) {
  TempDir dir;
  std::unique_ptr<Function> f = someKernels();
  compileAndCheck(*f, dir.path());
  std::vector<std::string> names = entries(dir.path());
  ASSERT_EQ(names.size(), size_t{kKernels});
  // Truncated, one flipped byte in the object, empty (e.g. a crash before any write).
  std::string e0 = readFile(dir.file(names[0])), e1 = readFile(dir.file(names[1]));
  writeFile(dir.file(names[0]), e0.substr(0, e0.size() / 2));
  e1[e1.size() - 10] = static_cast<char>(e1[e1.size() - 10] ^ 1);
  writeFile(dir.file(names[1]), e1);
  writeFile(dir.file(names[2]), "");
  // A valid entry whose object does not define its symbol (as a bug once wrote them).
  std::optional<cg::DiskCache::Entry> e3 = cg::DiskCache::decode(readFile(dir.file(names[3])));
  ASSERT_TRUE(e3);
  writeFile(dir.file(names[3]), cg::DiskCache::encode("not_the_kernel", e3->object));

  Jit::Stats s = compileAndCheck(*f, dir.path());
  EXPECT_EQ(s.diskCorrupt, 4);
  EXPECT_EQ(s.compiled, 4);
  EXPECT_EQ(s.diskHits, kKernels - 4);
  EXPECT_EQ(s.diskWrites, 4);
  Jit::Stats again = compileAndCheck(*f, dir.path());
  EXPECT_EQ(again.diskHits, kKernels);
  EXPECT_EQ(again.diskCorrupt, 0);
}

TEST(DiskCache, UnusableDirectoryWarnsOnceAndCompiles) {
  TempDir dir;
  writeFile(dir.file("file"), "not a directory");
  std::unique_ptr<Function> f = someKernels();
  StderrPipe pipe;
  Jit::Stats s = compileAndCheck(*f, dir.file("file") + "/cache");  // a path below a regular file
  const std::string err = pipe.finish();
  EXPECT_EQ(s.compiled, kKernels);
  EXPECT_EQ(s.diskWrites, 0);
  EXPECT_EQ(s.diskWriteErrors, kKernels);
  EXPECT_NE(err.find("dlc: warning: cannot use the kernel cache directory '" + dir.file("file") + "/cache'"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("warning", err.find("warning") + 1), std::string::npos) << "more than one warning: " << err;
}

TEST(DiskCache, FullDiskWarnsOnceAndLeavesNoPartialEntry) {
  TempDir dir;
  std::unique_ptr<Function> f = someKernels();
  // A full disk, as the safetensors tests simulate it: writes past 64 bytes fail (EFBIG).
  struct rlimit old {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  struct rlimit limited = old;
  limited.rlim_cur = 64;
  auto oldHandler = std::signal(SIGXFSZ, SIG_IGN);
  StderrPipe pipe;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limited), 0);
  Jit::Stats s = compileAndCheck(*f, dir.path());
  setrlimit(RLIMIT_FSIZE, &old);
  const std::string err = pipe.finish();
  std::signal(SIGXFSZ, oldHandler);
  EXPECT_EQ(s.compiled, kKernels);
  EXPECT_EQ(s.diskWriteErrors, kKernels);
  EXPECT_NE(err.find("dlc: warning: cannot write to the kernel cache directory"), std::string::npos) << err;
  EXPECT_EQ(err.find("warning", err.find("warning") + 1), std::string::npos) << err;
  EXPECT_TRUE(listDir(dir.path()).empty()) << "partial or temporary entries were left behind";
  // With room again, the same kernels are stored and then loaded.
  EXPECT_EQ(compileAndCheck(*f, dir.path()).diskWrites, kKernels);
  EXPECT_EQ(compileAndCheck(*f, dir.path()).diskHits, kKernels);
}

}  // namespace
}  // namespace dlc::test
