//===- fuzz/fuzz_safetensors.cpp - the safetensors reader -------------------===//
//
// Any bytes: decodeSafetensors (from memory) and loadSafetensors (streaming from a
// file, here a memfd) return a checkpoint or an Error, never crash or read out of
// bounds, and agree with each other: both fail, or both return the same tensors. A
// checkpoint that loads must encode and decode back to itself.
//
//===----------------------------------------------------------------------===//
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <sys/mman.h>
#include <unistd.h>

#include "runtime/data/safetensors.h"

using namespace dlc;
using namespace dlc::data;

namespace {
[[noreturn]] void fail(const std::string &what) {
  std::fprintf(stderr, "fuzz_safetensors: %s\n", what.c_str());
  std::abort();
}

bool sameTensors(const Checkpoint &a, const Checkpoint &b) {
  if (a.tensors.size() != b.tensors.size() || a.metadata != b.metadata) return false;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const HostTensor &x = a.tensors[i].tensor, &y = b.tensors[i].tensor;
    if (a.tensors[i].name != b.tensors[i].name || x.type() != y.type()) return false;
    if (x.numBytes() > 0 && std::memcmp(x.raw(), y.raw(), static_cast<size_t>(x.numBytes())) != 0) return false;
  }
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char *>(data), size);
  Expected<Checkpoint> mem = decodeSafetensors(bytes, "fuzz.safetensors");

  int fd = memfd_create("fuzz_safetensors", MFD_CLOEXEC);
  if (fd < 0) fail("memfd_create failed");
  for (size_t done = 0; done < size;) {
    ssize_t w = write(fd, data + done, size - done);
    if (w <= 0) fail("writing the memfd failed");
    done += static_cast<size_t>(w);
  }
  Expected<Checkpoint> file = loadSafetensors("/proc/self/fd/" + std::to_string(fd));
  close(fd);

  if (static_cast<bool>(mem) != static_cast<bool>(file))
    fail("decode and load disagree: " + (mem ? std::string("decode ok") : "decode: " + mem.error().str()) + " / " +
         (file ? std::string("load ok") : "load: " + file.error().str()));
  if (!mem) {
    (void)mem.error().str();
    return 0;
  }
  if (!sameTensors(*mem, *file)) fail("decode and load return different tensors");

  Expected<std::string> encoded = encodeSafetensors(mem->refs(), mem->metadata);
  if (!encoded) fail("cannot encode a decoded checkpoint: " + encoded.error().str());
  Expected<Checkpoint> again = decodeSafetensors(*encoded, "encoded.safetensors");
  if (!again) fail("cannot decode an encoded checkpoint: " + again.error().str());
  if (!sameTensors(*mem, *again)) fail("encode/decode changed the checkpoint");
  return 0;
}
