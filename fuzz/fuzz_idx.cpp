//===- fuzz/fuzz_idx.cpp - the IDX reader ---------------------------------===//
//
// Any bytes, as a file (plain, or gzip when they start with 1f 8b): readIdx returns an
// array or an Error, never crashes, reads out of bounds or allocates past kIdxMaxBytes.
// An array it returns must be self-consistent, convert to a tensor, and survive a
// write/read round trip unchanged.
//
// The bytes reach readIdx through a memfd (/proc/self/fd/N), so no disk is touched and
// the reader's own file and zlib paths are what is fuzzed.
//
//===----------------------------------------------------------------------===//
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/mman.h>
#include <unistd.h>

#include "runtime/data/idx.h"

using namespace dlc;
using namespace dlc::data;

namespace {
[[noreturn]] void fail(const char *what) {
  std::fprintf(stderr, "fuzz_idx: %s\n", what);
  std::abort();
}

/// A memory file holding \p n bytes; its path is /proc/self/fd/<fd>.
struct MemFile {
  int fd = -1;
  MemFile(const uint8_t *data, size_t n) {
    fd = memfd_create("fuzz_idx", MFD_CLOEXEC);
    if (fd < 0) fail("memfd_create failed");
    for (size_t done = 0; done < n;) {
      ssize_t w = write(fd, data + done, n - done);
      if (w <= 0) fail("writing the memfd failed");
      done += static_cast<size_t>(w);
    }
  }
  ~MemFile() { close(fd); }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd); }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MemFile in(data, size);
  Expected<IdxArray> a = readIdx(in.path());
  if (!a) {
    (void)a.error().str();
    return 0;
  }
  const int64_t n = a->numElements();
  if (n < 0 || static_cast<int64_t>(a->bytes.size()) != n * idxTypeSize(a->type)) fail("inconsistent array");
  if (static_cast<int64_t>(a->bytes.size()) > kIdxMaxBytes) fail("array larger than kIdxMaxBytes");
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += a->get(i);
  (void)sum;
  for (DType d : {DType::F32, DType::F64, DType::I32, DType::I64})
    if (Expected<HostTensor> t = idxToTensor(*a, d); t && t->numElements() != n) fail("idxToTensor lost elements");

  // Round trip through a second memory file, plain and gzip.
  for (bool gzip : {false, true}) {
    MemFile out(nullptr, 0);
    if (Expected<void> w = writeIdx(out.path(), *a, gzip); !w) continue;  // e.g. dims past u32
    Expected<IdxArray> b = readIdx(out.path());
    if (!b) fail(("cannot read back a written array: " + b.error().str()).c_str());
    if (b->type != a->type || b->dims != a->dims || b->bytes != a->bytes) fail("round trip changed the array");
  }
  return 0;
}
