//===- runtime/data/idx.cpp - IDX (MNIST format) files and Fashion-MNIST ---===//
#include "runtime/data/idx.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sys/stat.h>

#include <zlib.h>

namespace dlc::data {

std::string_view idxTypeName(IdxType t) {
  switch (t) {
  case IdxType::U8: return "u8";
  case IdxType::I8: return "i8";
  case IdxType::I16: return "i16";
  case IdxType::I32: return "i32";
  case IdxType::F32: return "f32";
  case IdxType::F64: return "f64";
  }
  DL_UNREACHABLE("bad IdxType");
}

int64_t idxTypeSize(IdxType t) {
  switch (t) {
  case IdxType::U8:
  case IdxType::I8: return 1;
  case IdxType::I16: return 2;
  case IdxType::I32:
  case IdxType::F32: return 4;
  case IdxType::F64: return 8;
  }
  DL_UNREACHABLE("bad IdxType");
}

static bool isIdxType(uint8_t code) {
  switch (code) {
  case 0x08:
  case 0x09:
  case 0x0B:
  case 0x0C:
  case 0x0D:
  case 0x0E: return true;
  default: return false;
  }
}

/// Calls `f.template operator()<T>()` with the C++ type stored by IDX type \p t.
template <class F> static decltype(auto) dispatchIdx(IdxType t, F &&f) {
  switch (t) {
  case IdxType::U8: return f.template operator()<uint8_t>();
  case IdxType::I8: return f.template operator()<int8_t>();
  case IdxType::I16: return f.template operator()<int16_t>();
  case IdxType::I32: return f.template operator()<int32_t>();
  case IdxType::F32: return f.template operator()<float>();
  case IdxType::F64: return f.template operator()<double>();
  }
  DL_UNREACHABLE("bad IdxType");
}

int64_t IdxArray::numElements() const { return dlc::numElements(dims).value_or(0); }

double IdxArray::get(int64_t i) const {
  return dispatchIdx(type, [&]<class T>() {
    T v;
    std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));
    return static_cast<double>(v);
  });
}

/// Reverses the bytes of each \p elemSize-byte element: big-endian <-> host order.
static void swapElements(uint8_t *p, size_t n, size_t elemSize) {
  if constexpr (std::endian::native == std::endian::big) return;
  if (elemSize == 1) return;
  for (size_t i = 0; i + elemSize <= n; i += elemSize)
    for (size_t a = i, b = i + elemSize - 1; a < b; ++a, --b)
      std::swap(p[a], p[b]);
}

static uint32_t readBigEndian32(const uint8_t *p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

namespace {

/// Reads a plain file or a gzip stream (chosen by the 1f 8b magic) from one path.
class ByteSource {
public:
  explicit ByteSource(std::string path) : path_(std::move(path)) {}
  ByteSource(const ByteSource &) = delete;
  ByteSource &operator=(const ByteSource &) = delete;
  ~ByteSource() {
    if (file_) std::fclose(file_);
    if (gz_) gzclose(gz_);
  }

  Expected<void> open() {
    struct stat st;
    if (::stat(path_.c_str(), &st) != 0) {
      if (errno == ENOENT) return makeError({}, "'{}': no such file", path_);
      return makeError({}, "'{}': cannot open: {}", path_, std::strerror(errno));
    }
    if (S_ISDIR(st.st_mode)) return makeError({}, "'{}': is a directory, not an IDX file", path_);
    file_ = std::fopen(path_.c_str(), "rb");
    if (!file_) return makeError({}, "'{}': cannot open: {}", path_, std::strerror(errno));
    unsigned char magic[2] = {0, 0};
    size_t got = std::fread(magic, 1, 2, file_);
    if (std::ferror(file_)) return makeError({}, "'{}': cannot read: {}", path_, std::strerror(errno));
    if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
      std::fclose(file_);
      file_ = nullptr;
      gz_ = gzopen(path_.c_str(), "rb");
      if (!gz_) return makeError({}, "'{}': cannot open: {}", path_, std::strerror(errno));
      gzbuffer(gz_, 1 << 17);
    } else {
      std::rewind(file_);
    }
    return {};
  }

  bool isGzip() const { return gz_ != nullptr; }

  /// Reads up to \p n bytes into \p dst; fewer only at the end of the input.
  Expected<size_t> read(void *dst, size_t n) {
    auto *out = static_cast<uint8_t *>(dst);
    size_t total = 0;
    while (total < n) {
      size_t chunk = std::min<size_t>(n - total, size_t{1} << 30);
      if (file_) {
        size_t got = std::fread(out + total, 1, chunk, file_);
        total += got;
        if (got < chunk) {
          if (std::ferror(file_)) return makeError({}, "'{}': cannot read: {}", path_, std::strerror(errno));
          break;
        }
      } else {
        int got = gzread(gz_, out + total, static_cast<unsigned>(chunk));
        int errnum = Z_OK;
        const char *msg = gzerror(gz_, &errnum);
        if (got < 0 || (errnum != Z_OK && errnum != Z_BUF_ERROR))
          return makeError({}, "'{}': corrupt gzip data: {}", path_, msg ? msg : "unknown zlib error");
        if (errnum == Z_BUF_ERROR)  // zlib's report of a stream cut short
          return makeError({}, "'{}': corrupt gzip data: the compressed stream is truncated", path_);
        total += static_cast<size_t>(got);
        if (static_cast<size_t>(got) < chunk) break;
      }
    }
    return total;
  }

private:
  std::string path_;
  FILE *file_ = nullptr;
  gzFile gz_ = nullptr;
};

}  // namespace

Expected<IdxArray> readIdx(const std::string &path) {
  ByteSource src(path);
  if (Expected<void> ok = src.open(); !ok) return ok.takeError();

  uint8_t magic[4];
  DL_TRY(size_t got, src.read(magic, 4));
  if (got < 4)
    return makeError({}, "'{}': truncated: the file ends within the 4-byte IDX magic ({} bytes)", path, got);
  uint32_t magicWord = readBigEndian32(magic);
  if (magic[0] != 0 || magic[1] != 0)
    return makeError({}, "'{}': wrong magic 0x{:08x}: not an IDX file (the first two bytes must be zero)",
                     path, magicWord);
  if (!isIdxType(magic[2]))
    return makeError({}, "'{}': unsupported IDX element type 0x{:02x} (magic 0x{:08x})", path, magic[2],
                     magicWord);
  int rank = magic[3];
  if (rank < 1 || rank > kIdxMaxRank)
    return makeError({}, "'{}': unsupported number of dimensions {} (magic 0x{:08x}); expected 1 to {}", path,
                     rank, magicWord, kIdxMaxRank);

  IdxArray a;
  a.type = static_cast<IdxType>(magic[2]);
  uint8_t dimBytes[4 * kIdxMaxRank];
  DL_TRY(got, src.read(dimBytes, 4 * rank));
  if (got < static_cast<size_t>(4 * rank))
    return makeError({}, "'{}': truncated header: {} dimensions need {} bytes after the magic, found {}",
                     path, rank, 4 * rank, got);
  int64_t bytes = idxTypeSize(a.type);
  for (int i = 0; i < rank; ++i) {
    int64_t d = readBigEndian32(dimBytes + 4 * i);
    a.dims.push_back(d);
    // Checked per step so the product cannot overflow: every factor is < 2^32.
    if (bytes <= kIdxMaxBytes) bytes *= d;
  }
  if (bytes > kIdxMaxBytes)
    return makeError({}, "'{}': absurd dimensions {}: the data would exceed the {}-byte limit", path,
                     shapeString(a.dims), kIdxMaxBytes);

  // Read in pieces, growing the buffer with the data that actually arrives: a short file
  // whose header promises up to kIdxMaxBytes must not make us allocate (and zero) them.
  const size_t want = static_cast<size_t>(bytes);
  constexpr size_t kPiece = size_t{1} << 24;
  size_t have = 0;
  while (have < want) {
    const size_t piece = std::min(kPiece, want - have);
    a.bytes.resize(have + piece);
    DL_TRY(got, src.read(a.bytes.data() + have, piece));
    have += got;
    if (got < piece) break;
  }
  if (have < want)
    return makeError({}, "'{}': truncated: the header ({} {}) promises {} data bytes but only {} follow",
                     path, idxTypeName(a.type), shapeString(a.dims), bytes, have);

  // Trailing bytes: count them for the message (bounded by the file itself).
  uint64_t extra = 0;
  uint8_t scratch[4096];
  for (;;) {
    DL_TRY(size_t n, src.read(scratch, sizeof scratch));
    extra += n;
    if (n < sizeof scratch) break;
  }
  if (extra > 0)
    return makeError({}, "'{}': {} trailing bytes after the {} data bytes the header ({} {}) promises", path,
                     extra, bytes, idxTypeName(a.type), shapeString(a.dims));

  swapElements(a.bytes.data(), a.bytes.size(), static_cast<size_t>(idxTypeSize(a.type)));
  return a;
}

/// Writes all of \p n bytes through a FILE* or a gzFile.
static bool writeAll(FILE *f, gzFile gz, const void *p, size_t n) {
  if (f) return std::fwrite(p, 1, n, f) == n;
  const auto *c = static_cast<const uint8_t *>(p);
  while (n > 0) {
    unsigned chunk = static_cast<unsigned>(std::min<size_t>(n, size_t{1} << 30));
    if (gzwrite(gz, c, chunk) != static_cast<int>(chunk)) return false;
    c += chunk;
    n -= chunk;
  }
  return true;
}

Expected<void> writeIdx(const std::string &path, const IdxArray &a, bool gzip) {
  if (a.dims.empty() || a.dims.size() > static_cast<size_t>(kIdxMaxRank))
    return makeError({}, "'{}': cannot write an IDX array of rank {}", path, a.dims.size());
  if (static_cast<int64_t>(a.bytes.size()) != a.numElements() * idxTypeSize(a.type))
    return makeError({}, "'{}': IDX array holds {} bytes, its dims {} need {}", path, a.bytes.size(),
                     shapeString(a.dims), a.numElements() * idxTypeSize(a.type));
  std::vector<uint8_t> out = {0, 0, static_cast<uint8_t>(a.type), static_cast<uint8_t>(a.dims.size())};
  for (int64_t d : a.dims) {
    if (d < 0 || d > UINT32_MAX) return makeError({}, "'{}': IDX dimension {} out of range", path, d);
    for (int s = 24; s >= 0; s -= 8)
      out.push_back(static_cast<uint8_t>(static_cast<uint64_t>(d) >> s));
  }
  size_t header = out.size();
  out.insert(out.end(), a.bytes.begin(), a.bytes.end());
  swapElements(out.data() + header, a.bytes.size(), static_cast<size_t>(idxTypeSize(a.type)));

  FILE *f = gzip ? nullptr : std::fopen(path.c_str(), "wb");
  gzFile gz = gzip ? gzopen(path.c_str(), "wb") : nullptr;
  if (!f && !gz) return makeError({}, "'{}': cannot create: {}", path, std::strerror(errno));
  bool ok = writeAll(f, gz, out.data(), out.size());
  ok = (f ? std::fclose(f) == 0 : gzclose(gz) == Z_OK) && ok;
  if (!ok) return makeError({}, "'{}': write failed", path);
  return {};
}

template <class Src, class Dst> static void convertElements(const uint8_t *src, Dst *dst, int64_t n) {
  if constexpr (sizeof(Src) == 1) {  // the MNIST case: no memcpy per element
    for (int64_t i = 0; i < n; ++i)
      dst[i] = static_cast<Dst>(static_cast<Src>(src[i]));
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    Src v;
    std::memcpy(&v, src + i * sizeof(Src), sizeof(Src));
    dst[i] = static_cast<Dst>(v);
  }
}

Expected<HostTensor> idxToTensor(const IdxArray &a, DType d, const Shape &shape) {
  Shape s = shape.empty() ? a.dims : shape;
  if (numElements(s) != a.numElements())
    return makeError({}, "cannot view IDX data of shape {} as {}", shapeString(a.dims), shapeString(s));
  bool srcFloat = a.type == IdxType::F32 || a.type == IdxType::F64;
  if (d == DType::I1 || (srcFloat && !isFloat(d)))
    return makeError({}, "cannot convert IDX {} data to {}", idxTypeName(a.type), dtypeName(d));
  HostTensor t(TensorType{d, std::move(s)});
  dispatchDType(d, [&]<class Dst>() {
    dispatchIdx(a.type, [&]<class Src>() {
      if constexpr (std::is_floating_point_v<Src> && !std::is_floating_point_v<Dst>)
        DL_UNREACHABLE("checked above");
      else
        convertElements<Src>(a.bytes.data(), t.data<Dst>().data(), t.numElements());
    });
  });
  return t;
}

Expected<void> normalizePixels(HostTensor &images, const Normalization &n) {
  if (images.dtype() != DType::F32)
    return makeError({}, "normalizePixels needs f32 images, got {}", typeString(images.type()));
  std::span<float> x = images.data<float>();
  switch (n.kind) {
  case Normalization::Kind::None: return {};
  case Normalization::Kind::Unit:
    for (float &v : x)
      v /= 255.0f;
    return {};
  case Normalization::Kind::Standardize:
    if (!(n.std > 0.0f) || !std::isfinite(n.std) || !std::isfinite(n.mean))
      return makeError({}, "standardization needs a finite mean and a positive std (got {} and {})", n.mean,
                       n.std);
    for (float &v : x)
      v = (v / 255.0f - n.mean) / n.std;
    return {};
  }
  DL_UNREACHABLE("bad normalization kind");
}

std::pair<double, double> meanStd(const HostTensor &t) {
  int64_t n = t.numElements();
  if (n == 0) return {0.0, 0.0};
  double sum = 0.0, sumSq = 0.0;
  auto add = [&](double v) {
    sum += v;
    sumSq += v * v;
  };
  if (t.dtype() == DType::F32)  // the common case, without per-element dispatch
    for (float v : t.data<float>())
      add(v);
  else
    for (int64_t i = 0; i < n; ++i)
      add(t.getDouble(i));
  double mean = sum / static_cast<double>(n);
  double var = std::max(0.0, sumSq / static_cast<double>(n) - mean * mean);
  return {mean, std::sqrt(var)};
}

static bool fileExists(const std::string &p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

/// `dir/name.gz` if present, else `dir/name` if present, else an Error naming both.
static Expected<std::string> findIdxFile(const std::string &dir, const std::string &name) {
  std::string base = dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
  if (fileExists(base + ".gz")) return base + ".gz";
  if (fileExists(base)) return base;
  if (!fileExists(dir))
    return makeError({},
                     "data directory '{}' does not exist (Fashion-MNIST: install Debian's "
                     "dataset-fashion-mnist, or point --data-dir at an MNIST-layout directory)",
                     dir);
  return makeError({}, "'{}.gz': no such file (nor '{}')", base, base);
}

/// Checks that \p a has the magic \p expectMagic (type byte and rank).
static Expected<void> expectKind(const IdxArray &a, const std::string &path, int rank, const char *what) {
  if (a.type == IdxType::U8 && static_cast<int>(a.dims.size()) == rank) return {};
  return makeError({}, "'{}': expected {} file (magic 0x{:08x}: u8, {} dims), found {} with {} dims", path,
                   what, 0x800 + rank, rank, idxTypeName(a.type), a.dims.size());
}

Expected<Dataset> loadMnistLike(const std::string &dataDir, Split split, const MnistOptions &opts) {
  std::string prefix = split == Split::Train ? "train" : "t10k";
  DL_TRY(std::string imagesPath, findIdxFile(dataDir, prefix + "-images-idx3-ubyte"));
  DL_TRY(std::string labelsPath, findIdxFile(dataDir, prefix + "-labels-idx1-ubyte"));
  DL_TRY(IdxArray images, readIdx(imagesPath));
  if (Expected<void> ok = expectKind(images, imagesPath, 3, "an images"); !ok) return ok.takeError();
  DL_TRY(IdxArray labels, readIdx(labelsPath));
  if (Expected<void> ok = expectKind(labels, labelsPath, 1, "a labels"); !ok) return ok.takeError();
  if (images.dims[0] != labels.dims[0])
    return makeError({}, "'{}' holds {} images but '{}' holds {} labels", imagesPath, images.dims[0],
                     labelsPath, labels.dims[0]);
  for (int64_t i = 0; i < labels.dims[0]; ++i)
    if (labels.bytes[i] >= opts.numClasses)
      return makeError({}, "'{}': label {} at index {} is outside [0, {})", labelsPath, labels.bytes[i], i,
                       opts.numClasses);

  int64_t n = images.dims[0], rows = images.dims[1], cols = images.dims[2];
  Shape shape = opts.flatten ? Shape{n, rows * cols} : Shape{n, rows, cols};
  Dataset ds;
  DL_TRY(ds.images, idxToTensor(images, DType::F32, shape));
  images.bytes = {};  // release the raw bytes before normalizing
  if (Expected<void> ok = normalizePixels(ds.images, opts.normalization); !ok) return ok.takeError();
  DL_TRY(ds.labels, idxToTensor(labels, DType::I32));
  return ds;
}

}  // namespace dlc::data
