//===- codegen/disk_cache.cpp - the on-disk object cache of the JIT ---------===//
#include "codegen/disk_cache.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <llvm/Support/SHA256.h>
#include <llvm/Support/xxhash.h>

namespace dlc {

std::string defaultCacheDir() {
  if (const char *d = std::getenv("DLC_CACHE_DIR")) return d;
  if (const char *x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/dlc";
  if (const char *h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/dlc";
  return "";
}

namespace cg {
namespace {

constexpr char kMagic[8] = {'d', 'l', 'c', 'o', 'b', 'j', 0, 0};
constexpr size_t kHeaderBytes = 8 + 4 + 4 + 8 + 8;
/// Entries larger than this are not objects dlc wrote.
constexpr uint64_t kMaxEntryBytes = uint64_t{1} << 30;
constexpr uint32_t kMaxSymbolBytes = 4096;

void put(std::string &out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t get(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<uint8_t>(in[at + static_cast<size_t>(i)])} << (8 * i);
  return v;
}

uint64_t checksum(std::string_view symbol, std::string_view object) {
  return llvm::xxHash64(llvm::StringRef(symbol.data(), symbol.size())) * 31 +
         llvm::xxHash64(llvm::StringRef(object.data(), object.size()));
}

/// Writes all of \p bytes to \p fd.
bool writeAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

DiskCache::DiskCache(std::string dir, std::string keyPrefix) : dir_(std::move(dir)), keyPrefix_(std::move(keyPrefix)) {}

std::string DiskCache::keyFor(std::string_view kernelKey) const {
  llvm::SHA256 sha;
  sha.update(fmt::format("dlc object cache {}\n{}\n", kObjectCacheFormat, keyPrefix_));
  sha.update(llvm::StringRef(kernelKey.data(), kernelKey.size()));
  std::array<uint8_t, 32> digest = sha.final();
  std::string hex;
  for (uint8_t b : digest) hex += fmt::format("{:02x}", b);
  return hex;
}

std::string DiskCache::encode(std::string_view symbol, std::string_view object) {
  std::string out(kMagic, sizeof kMagic);
  put(out, kObjectCacheFormat, 4);
  put(out, symbol.size(), 4);
  put(out, object.size(), 8);
  put(out, checksum(symbol, object), 8);
  out.append(symbol);
  out.append(object);
  return out;
}

std::optional<DiskCache::Entry> DiskCache::decode(std::string_view bytes) {
  if (bytes.size() < kHeaderBytes || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) return std::nullopt;
  if (get(bytes, 8, 4) != kObjectCacheFormat) return std::nullopt;
  const uint64_t symbolBytes = get(bytes, 12, 4), objectBytes = get(bytes, 16, 8), sum = get(bytes, 24, 8);
  if (symbolBytes == 0 || symbolBytes > kMaxSymbolBytes || objectBytes == 0 || objectBytes > kMaxEntryBytes)
    return std::nullopt;
  if (bytes.size() != kHeaderBytes + symbolBytes + objectBytes) return std::nullopt;  // truncated or trailing
  Entry e{std::string(bytes.substr(kHeaderBytes, symbolBytes)),
          std::string(bytes.substr(kHeaderBytes + symbolBytes))};
  if (checksum(e.symbol, e.object) != sum) return std::nullopt;
  return e;
}

std::optional<DiskCache::Entry> DiskCache::load(const std::string &key) {
  const std::string path = dir_ + "/" + key;
  auto miss = [&](bool corrupt) -> std::optional<Entry> {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.misses;
    stats_.corrupt += corrupt;
    return std::nullopt;
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return miss(false);
  std::string bytes;
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) <= kMaxEntryBytes;
  if (ok) {
    bytes.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < bytes.size()) {
      ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    ok = got == bytes.size();
  }
  ::close(fd);
  std::optional<Entry> e = ok ? decode(bytes) : std::nullopt;
  if (!e) return miss(true);
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.hits;
  return e;
}

void DiskCache::store(const std::string &key, std::string_view symbol, std::string_view object) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!dirReady_) {
      std::error_code ec;
      std::filesystem::create_directories(dir_, ec);
      if (ec || !std::filesystem::is_directory(dir_, ec)) {
        ++stats_.writeErrors;
        if (!warned_) {
          warned_ = true;
          std::fprintf(stderr,
                       "dlc: warning: cannot use the kernel cache directory '%s' (%s); compiling without the "
                       "on-disk cache\n",
                       dir_.c_str(), ec ? ec.message().c_str() : "not a directory");
        }
        return;
      }
      dirReady_ = true;
    }
  }
  // Unique in this directory: the pid and a serial shared by every cache of the process.
  static std::atomic<uint64_t> tempSerial{0};
  const std::string tmp = fmt::format("{}/{}.tmp.{}.{}", dir_, key, ::getpid(), tempSerial++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  int err = 0;
  if (fd < 0) {
    err = errno;
  } else {
    bool ok = writeAll(fd, encode(symbol, object));
    if (!ok) err = errno;
    if (::close(fd) != 0 && ok) err = errno, ok = false;
    if (ok && ::rename(tmp.c_str(), (dir_ + "/" + key).c_str()) != 0) err = errno, ok = false;
    if (!ok) ::unlink(tmp.c_str());
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (err == 0) {
    ++stats_.writes;
    return;
  }
  ++stats_.writeErrors;
  if (!warned_) {
    warned_ = true;
    std::fprintf(stderr,
                 "dlc: warning: cannot write to the kernel cache directory '%s' (%s); compiling without the "
                 "on-disk cache\n",
                 dir_.c_str(), std::strerror(err));
  }
}

void DiskCache::countCorrupt() {
  std::lock_guard<std::mutex> lock(mu_);
  --stats_.hits;
  ++stats_.misses;
  ++stats_.corrupt;
}

DiskCache::Stats DiskCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace cg
}  // namespace dlc
