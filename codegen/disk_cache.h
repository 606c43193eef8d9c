//===- codegen/disk_cache.h - the on-disk object cache of the JIT -----------===//
//
// INTERNAL to codegen/ (jit.cpp uses it). One file per compiled kernel under the cache
// directory, named by the SHA-256 of everything that decides the object code
// (codegen/kernel_key.h): the kernel's spec (kernelKey) after a prefix with the target
// (triple, cpu, features), the numerics options, the LLVM version, the cache format
// version and a hash of the sources that generate and compile kernels (codegenKey: an
// edited emitter or pipeline never reuses old objects).
//
// An entry is a small header, the kernel's symbol name and the object file:
//
//   "dlcobj\0\0" | u32 format | u32 symbol bytes | u64 object bytes | u64 xxHash64 of
//   symbol + object | symbol | object                                   (little-endian)
//
// Writes go to a temporary file in the same directory that is then renamed over the
// entry, so processes sharing a directory never see a torn entry. A read validates the
// magic, format, sizes (the file must end exactly after the object) and checksum; a
// corrupt or truncated entry counts as a miss (and is rewritten by the compile), never
// as a crash. An unusable directory (cannot be created, not writable, disk full) gives
// one warning on stderr (once per cache object, i.e. per JIT), and compiles go on without the disk
// cache: the cache is an optimization, so it never fails a compile.
//
// LLVM-free interface; thread-safe.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace dlc::cg {

/// Bumped whenever the entry layout or the meaning of a key changes.
inline constexpr uint32_t kObjectCacheFormat = 2;  // 2: keyed by the kernel spec, not its IR

class DiskCache {
 public:
  /// A cache in \p dir; \p keyPrefix is hashed into every key (target, options, versions).
  DiskCache(std::string dir, std::string keyPrefix);

  const std::string &directory() const { return dir_; }

  /// The entry name (64 hex digits) of the kernel with kernelKey \p kernelKey.
  std::string keyFor(std::string_view kernelKey) const;

  struct Entry {
    std::string symbol;
    std::string object;
  };
  /// The entry \p key, or nullopt when it is missing, unreadable or corrupt.
  std::optional<Entry> load(const std::string &key);
  /// Stores an entry atomically; failures are counted and warned about once.
  void store(const std::string &key, std::string_view symbol, std::string_view object);

  struct Stats {
    int64_t hits = 0, misses = 0, corrupt = 0, writes = 0, writeErrors = 0;
  };
  Stats stats() const;
  /// Counts an entry that load() accepted but that turned out unusable (as a miss).
  void countCorrupt();

  /// The whole entry file for (\p symbol, \p object) (exposed for tests).
  static std::string encode(std::string_view symbol, std::string_view object);
  /// Parses an entry file; nullopt when it is not a valid, complete entry.
  static std::optional<Entry> decode(std::string_view bytes);

 private:
  std::string dir_;
  std::string keyPrefix_;
  mutable std::mutex mu_;
  Stats stats_;
  bool warned_ = false;
  bool dirReady_ = false;
};

}  // namespace dlc::cg
