//===- runtime/data/safetensors.cpp - checkpoints in the safetensors format ===//
#include "runtime/data/safetensors.h"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/data/json.h"

namespace dlc::data {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian: add byte swapping before building on a big-endian host");

std::string_view safetensorsDTypeName(DType d) {
  switch (d) {
  case DType::F32: return "F32";
  case DType::F64: return "F64";
  case DType::I32: return "I32";
  case DType::I64: return "I64";
  case DType::I1: return "BOOL";
  }
  DL_UNREACHABLE("bad dtype");
}

std::optional<DType> dtypeFromSafetensorsName(std::string_view s) {
  for (DType d : {DType::F32, DType::F64, DType::I32, DType::I64, DType::I1})
    if (safetensorsDTypeName(d) == s) return d;
  return std::nullopt;
}

const HostTensor *Checkpoint::find(std::string_view name) const {
  for (const NamedTensor &t : tensors)
    if (t.name == name) return &t.tensor;
  return nullptr;
}

std::vector<TensorRef> Checkpoint::refs() const {
  std::vector<TensorRef> out;
  for (const NamedTensor &t : tensors)
    out.push_back({t.name, &t.tensor});
  return out;
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

/// The 8-byte length prefix and the padded JSON header for \p tensors.
static Expected<std::string> buildHeader(std::span<const TensorRef> tensors, const Metadata &metadata) {
  std::string j = "{";
  if (!metadata.empty()) {
    j += "\"__metadata__\":{";
    bool first = true;
    for (const auto &[k, v] : metadata) {
      if (!first) j += ",";
      first = false;
      j += json::quote(k) + ":" + json::quote(v);
    }
    j += "}";
  }
  std::set<std::string_view> seen;
  uint64_t offset = 0;
  for (const TensorRef &t : tensors) {
    if (t.name.empty()) return makeError({}, "safetensors: a tensor has an empty name");
    if (t.name == "__metadata__")
      return makeError({}, "safetensors: '__metadata__' is reserved, not a tensor name");
    if (!seen.insert(t.name).second) return makeError({}, "safetensors: duplicate tensor name '{}'", t.name);
    DL_ASSERT(t.tensor != nullptr, "TensorRef without a tensor");
    const HostTensor &h = *t.tensor;
    if (j.size() > 1) j += ",";
    j += fmt::format("{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}", json::quote(t.name),
                     safetensorsDTypeName(h.dtype()), fmt::join(h.shape(), ","), offset,
                     offset + static_cast<uint64_t>(h.numBytes()));
    offset += static_cast<uint64_t>(h.numBytes());
  }
  j += "}";
  while ((8 + j.size()) % 8 != 0)
    j += ' ';  // the data starts 8-byte aligned
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((static_cast<uint64_t>(j.size()) >> (8 * i)) & 0xFF);
  return out + j;
}

Expected<std::string> encodeSafetensors(std::span<const TensorRef> tensors, const Metadata &metadata) {
  DL_TRY(std::string out, buildHeader(tensors, metadata));
  for (const TensorRef &t : tensors)
    out.append(reinterpret_cast<const char *>(t.tensor->raw()), static_cast<size_t>(t.tensor->numBytes()));
  return out;
}

/// Writes all \p n bytes to \p fd; returns 0 or an errno value.
static int writeAll(int fd, const void *p, size_t n) {
  const char *c = static_cast<const char *>(p);
  while (n > 0) {
    ssize_t w = ::write(fd, c, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    c += w;
    n -= static_cast<size_t>(w);
  }
  return 0;
}

namespace {
/// An open temporary file that is closed and removed unless commit() renamed it.
class TempFile {
public:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  TempFile(const TempFile &) = delete;
  TempFile &operator=(const TempFile &) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (created_ && !committed_) ::unlink(path_.c_str());
  }
  int create() {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) return errno;
    created_ = true;
    return 0;
  }
  int fd() const { return fd_; }
  /// fsync + close; returns 0 or an errno value.
  int syncAndClose() {
    int err = ::fsync(fd_) != 0 ? errno : 0;
    int closeErr = ::close(fd_) != 0 ? errno : 0;
    fd_ = -1;
    return err ? err : closeErr;
  }
  void markCommitted() { committed_ = true; }
  const std::string &path() const { return path_; }

private:
  std::string path_;
  int fd_ = -1;
  bool created_ = false, committed_ = false;
};
}  // namespace

static std::string parentDirectory(const std::string &path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

namespace {
/// A test hook for crash safety: `DLC_TEST_KILL_SAVE=N:write` makes the N-th save of the
/// process SIGKILL itself after writing the header, `N:rename` after the temporary file
/// is complete but before the rename (tests/train/kill_during_save.sh).
void maybeKillForTest(const char *where) {
  static const char *spec = std::getenv("DLC_TEST_KILL_SAVE");
  if (!spec) return;
  static std::atomic<long> saves{0};
  long n = std::strtol(spec, nullptr, 10);
  const char *colon = std::strchr(spec, ':');
  if (std::strcmp(where, "write") == 0) ++saves;  // every save passes "write" first
  if (colon && std::strcmp(colon + 1, where) == 0 && saves.load() == n) ::raise(SIGKILL);
}
}  // namespace

Expected<void> saveSafetensors(const std::string &path, std::span<const TensorRef> tensors,
                               const Metadata &metadata) {
  Expected<std::string> header = buildHeader(tensors, metadata);
  if (!header) return makeError({}, "'{}': {}", path, header.error().message());
  TempFile tmp(fmt::format("{}.tmp.{}", path, ::getpid()));
  if (int err = tmp.create())
    return makeError({}, "'{}': cannot create the temporary file '{}': {}", path, tmp.path(),
                     std::strerror(err));
  int err = writeAll(tmp.fd(), header->data(), header->size());
  maybeKillForTest("write");
  for (size_t i = 0; err == 0 && i < tensors.size(); ++i)
    if (tensors[i].tensor->numBytes() > 0)
      err = writeAll(tmp.fd(), tensors[i].tensor->raw(), static_cast<size_t>(tensors[i].tensor->numBytes()));
  if (err) return makeError({}, "'{}': writing '{}' failed: {}", path, tmp.path(), std::strerror(err));
  if ((err = tmp.syncAndClose()))
    return makeError({}, "'{}': syncing '{}' failed: {}", path, tmp.path(), std::strerror(err));
  maybeKillForTest("rename");
  if (::rename(tmp.path().c_str(), path.c_str()) != 0)
    return makeError({}, "'{}': cannot rename '{}' over it: {}", path, tmp.path(), std::strerror(errno));
  tmp.markCommitted();
  // Make the rename itself durable. Filesystems that cannot sync a directory (EINVAL)
  // are accepted; an I/O error is reported, although the new file is already in place.
  int dirFd = ::open(parentDirectory(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd >= 0) {
    int syncErr = ::fsync(dirFd) != 0 ? errno : 0;
    ::close(dirFd);
    if (syncErr == EIO)
      return makeError({}, "'{}': written, but syncing its directory failed: {}", path,
                       std::strerror(syncErr));
  }
  return {};
}

//===----------------------------------------------------------------------===//
// Reading
//===----------------------------------------------------------------------===//

namespace {
/// One tensor's header entry, validated.
struct Entry {
  std::string name;
  TensorType type;
  uint64_t begin = 0, end = 0;
};
struct Header {
  std::vector<Entry> entries;  // sorted by data offset
  Metadata metadata;
};
}  // namespace

template <class... Args>
static Error fail(const std::string &source, fmt::format_string<Args...> f, Args &&...args) {
  return makeError({}, "'{}': {}", source, fmt::format(f, std::forward<Args>(args)...));
}

static Expected<Entry> parseEntry(const std::string &name, const json::Value &v, uint64_t dataSize,
                                  const std::string &src) {
  if (v.kind != json::Value::Kind::Object)
    return fail(src, "tensor '{}': expected an object, found {}", name, json::kindName(v.kind));
  for (const std::string &k : v.keys)
    if (k != "dtype" && k != "shape" && k != "data_offsets")
      return fail(src, "tensor '{}': unknown field '{}'", name, k);
  const json::Value *dtype = v.find("dtype"), *shape = v.find("shape"), *offsets = v.find("data_offsets");
  if (!dtype || !shape || !offsets)
    return fail(src, "tensor '{}': needs dtype, shape and data_offsets", name);
  if (dtype->kind != json::Value::Kind::String) return fail(src, "tensor '{}': dtype must be a string", name);
  std::optional<DType> d = dtypeFromSafetensorsName(dtype->str);
  if (!d)
    return fail(src, "tensor '{}': unsupported dtype {} (supported: F32, F64, I32, I64, BOOL)", name,
                json::quote(dtype->str));
  Entry e{name, {*d, {}}, 0, 0};
  if (shape->kind != json::Value::Kind::Array) return fail(src, "tensor '{}': shape must be an array", name);
  for (const json::Value &dim : shape->items) {
    if (dim.kind != json::Value::Kind::Integer || dim.integer > static_cast<uint64_t>(INT64_MAX))
      return fail(src, "tensor '{}': shape entries must be integers below 2^63", name);
    e.type.shape.push_back(static_cast<int64_t>(dim.integer));
  }
  // The byte size must fit in the data section; checked without overflow.
  std::optional<int64_t> n = numElements(e.type.shape);
  if (!n || static_cast<uint64_t>(*n) > dataSize / static_cast<uint64_t>(dtypeSize(*d)))
    return fail(src, "tensor '{}': {} needs more than the file's {} bytes of data", name, typeString(e.type),
                dataSize);
  int64_t bytes = *n * dtypeSize(*d);
  if (offsets->kind != json::Value::Kind::Array || offsets->items.size() != 2 ||
      offsets->items[0].kind != json::Value::Kind::Integer ||
      offsets->items[1].kind != json::Value::Kind::Integer)
    return fail(src, "tensor '{}': data_offsets must be an array of two integers", name);
  e.begin = offsets->items[0].integer;
  e.end = offsets->items[1].integer;
  if (e.begin > e.end)
    return fail(src, "tensor '{}': data_offsets [{}, {}] are reversed", name, e.begin, e.end);
  if (e.end > dataSize)
    return fail(src, "tensor '{}': data_offsets [{}, {}] run past the {} bytes of data", name, e.begin, e.end,
                dataSize);
  if (e.end - e.begin != static_cast<uint64_t>(bytes))
    return fail(src, "tensor '{}': {} needs {} bytes but data_offsets [{}, {}] hold {}", name,
                typeString(e.type), bytes, e.begin, e.end, e.end - e.begin);
  return e;
}

/// Parses and validates the JSON header against a data section of \p dataSize bytes.
static Expected<Header> parseHeader(std::string_view text, uint64_t dataSize, const std::string &src) {
  Expected<json::Value> root = json::parse(text);
  if (!root) return fail(src, "malformed header JSON: {}", root.error().message());
  if (root->kind != json::Value::Kind::Object)
    return fail(src, "the header must be a JSON object, found {}", json::kindName(root->kind));
  Header h;
  for (size_t i = 0; i < root->keys.size(); ++i) {
    const std::string &key = root->keys[i];
    const json::Value &v = root->items[i];
    if (key == "__metadata__") {
      if (v.kind != json::Value::Kind::Object) return fail(src, "__metadata__ must be an object");
      for (size_t m = 0; m < v.keys.size(); ++m) {
        if (v.items[m].kind != json::Value::Kind::String)
          return fail(src, "__metadata__ value of '{}' must be a string", v.keys[m]);
        h.metadata[v.keys[m]] = v.items[m].str;
      }
      continue;
    }
    DL_TRY(Entry e, parseEntry(key, v, dataSize, src));
    h.entries.push_back(std::move(e));
  }
  std::stable_sort(h.entries.begin(), h.entries.end(), [](const Entry &a, const Entry &b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  std::string_view prev;
  for (const Entry &e : h.entries) {
    if (e.begin < covered)
      return fail(src, "tensor '{}' (bytes [{}, {})) overlaps tensor '{}'", e.name, e.begin, e.end, prev);
    if (e.begin > covered)
      return fail(src, "bytes [{}, {}) of the data belong to no tensor (a hole before '{}')", covered,
                  e.begin, e.name);
    if (e.end > e.begin) prev = e.name;
    covered = e.end;
  }
  if (covered != dataSize)
    return fail(src, "{} bytes of data after the last tensor belong to no tensor", dataSize - covered);
  return h;
}

static uint64_t readLE64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

/// Checks the header length \p n against a file of \p fileSize bytes.
static Expected<void> checkHeaderLength(uint64_t n, uint64_t fileSize, const std::string &src) {
  if (n > kMaxHeaderBytes)
    return fail(src, "header length {} exceeds the {}-byte limit (not a safetensors file?)", n,
                kMaxHeaderBytes);
  if (n > fileSize - 8)
    return fail(src, "header length {} runs past the end of the file ({} bytes)", n, fileSize);
  return {};
}

/// BOOL tensors must hold only 0 and 1.
static Expected<void> checkBool(const NamedTensor &t, const std::string &src) {
  if (t.tensor.dtype() != DType::I1) return {};
  std::span<const uint8_t> b = t.tensor.data<uint8_t>();
  for (size_t i = 0; i < b.size(); ++i)
    if (b[i] > 1) return fail(src, "BOOL tensor '{}' holds byte {} at element {}", t.name, b[i], i);
  return {};
}

Expected<Checkpoint> decodeSafetensors(std::string_view bytes, const std::string &source) {
  if (bytes.size() < 8)
    return fail(source, "file is {} bytes, too short for the 8-byte header length", bytes.size());
  uint64_t n = readLE64(reinterpret_cast<const unsigned char *>(bytes.data()));
  if (Expected<void> ok = checkHeaderLength(n, bytes.size(), source); !ok) return ok.takeError();
  std::string_view data = bytes.substr(8 + n);
  DL_TRY(Header h, parseHeader(bytes.substr(8, n), data.size(), source));
  Checkpoint c{{}, std::move(h.metadata), source};
  for (Entry &e : h.entries) {
    NamedTensor t{std::move(e.name), HostTensor(std::move(e.type))};
    if (t.tensor.numBytes() > 0) std::memcpy(t.tensor.raw(), data.data() + e.begin, t.tensor.numBytes());
    if (Expected<void> ok = checkBool(t, source); !ok) return ok.takeError();
    c.tensors.push_back(std::move(t));
  }
  return c;
}

/// Reads exactly \p n bytes at \p offset; returns 0, an errno value, or -1 for a short read.
static int preadAll(int fd, void *dst, size_t n, uint64_t offset) {
  char *c = static_cast<char *>(dst);
  while (n > 0) {
    ssize_t r = ::pread(fd, c, n, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (r == 0) return -1;
    c += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return 0;
}

static std::string readErrorText(int err) { return err < 0 ? "the file ended early" : std::strerror(err); }

Expected<Checkpoint> loadSafetensors(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return fail(path, "no such file");
    return fail(path, "cannot open: {}", std::strerror(errno));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return fail(path, "cannot stat: {}", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail(path, "not a regular file");
  uint64_t fileSize = static_cast<uint64_t>(st.st_size);
  if (fileSize < 8) return fail(path, "file is {} bytes, too short for the 8-byte header length", fileSize);
  unsigned char lenBytes[8];
  if (int err = preadAll(fd, lenBytes, 8, 0)) return fail(path, "cannot read: {}", readErrorText(err));
  uint64_t n = readLE64(lenBytes);
  if (Expected<void> ok = checkHeaderLength(n, fileSize, path); !ok) return ok.takeError();
  std::string text(n, '\0');
  if (int err = preadAll(fd, text.data(), n, 8))
    return fail(path, "cannot read the header: {}", readErrorText(err));
  uint64_t dataStart = 8 + n;
  DL_TRY(Header h, parseHeader(text, fileSize - dataStart, path));
  Checkpoint c{{}, std::move(h.metadata), path};
  for (Entry &e : h.entries) {
    NamedTensor t{std::move(e.name), HostTensor(std::move(e.type))};
    if (t.tensor.numBytes() > 0)
      if (int err =
              preadAll(fd, t.tensor.raw(), static_cast<size_t>(t.tensor.numBytes()), dataStart + e.begin))
        return fail(path, "cannot read tensor '{}': {}", t.name, readErrorText(err));
    if (Expected<void> ok = checkBool(t, path); !ok) return ok.takeError();
    c.tensors.push_back(std::move(t));
  }
  return c;
}

/// `a, b, c` with at most 16 names, then `... (N more)`.
static std::string nameList(const std::vector<std::string> &names) {
  constexpr size_t kShown = 16;
  std::string out;
  for (size_t i = 0; i < names.size() && i < kShown; ++i)
    out += (i ? ", " : "") + names[i];
  if (names.size() > kShown) out += fmt::format(", ... ({} more)", names.size() - kShown);
  return out;
}

Expected<void> checkCompatible(const std::map<std::string, TensorType> &expected, const Checkpoint &loaded) {
  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto &[name, type] : expected) {
    const HostTensor *t = loaded.find(name);
    if (!t)
      missing.push_back(name);
    else if (t->type() != type)
      mismatched.push_back(
          fmt::format("{} (expected {}, found {})", name, typeString(type), typeString(t->type())));
  }
  for (const NamedTensor &t : loaded.tensors)
    if (!expected.contains(t.name)) unexpected.push_back(t.name);
  if (missing.empty() && unexpected.empty() && mismatched.empty()) return {};
  std::vector<std::string> parts;
  if (!missing.empty()) parts.push_back("missing tensors: " + nameList(missing));
  if (!unexpected.empty()) parts.push_back("unexpected tensors: " + nameList(unexpected));
  if (!mismatched.empty()) parts.push_back("type mismatches: " + nameList(mismatched));
  std::string src = loaded.source.empty() ? "<checkpoint>" : loaded.source;
  return fail(src, "checkpoint does not match the model: {}", fmt::join(parts, "; "));
}

}  // namespace dlc::data
