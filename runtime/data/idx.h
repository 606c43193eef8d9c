//===- runtime/data/idx.h - IDX (MNIST format) files and Fashion-MNIST -----===//
//
// The IDX format (LeCun's MNIST files): a big-endian magic word whose first two bytes
// are zero, the third the element type and the fourth the number of dimensions; then
// one big-endian u32 per dimension; then the elements, big-endian, row-major. Files
// may be gzip-compressed (detected by the 1f 8b magic, read through zlib).
//
// Every failure is an Error whose message names the file: missing or unreadable file,
// corrupt gzip stream, truncated header or data, wrong magic, unsupported element
// type, absurd dimensions (more than kIdxMaxBytes of data) and trailing bytes.
// Trailing bytes are an error, not a warning: a well-formed IDX file ends exactly
// where its header says, so extra bytes mean a wrong or corrupted file.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ir/diagnostic.h"
#include "ir/host_tensor.h"

namespace dlc::data {

/// IDX element type codes (the third magic byte).
enum class IdxType : uint8_t { U8 = 0x08, I8 = 0x09, I16 = 0x0B, I32 = 0x0C, F32 = 0x0D, F64 = 0x0E };

/// `u8`, `i8`, `i16`, `i32`, `f32`, `f64`.
std::string_view idxTypeName(IdxType t);
/// Size in bytes of one element of \p t.
int64_t idxTypeSize(IdxType t);

/// The largest data section readIdx accepts (2 GiB); larger dimensions are rejected
/// before anything is allocated.
inline constexpr int64_t kIdxMaxBytes = int64_t{1} << 31;
/// The largest number of dimensions readIdx accepts.
inline constexpr int kIdxMaxRank = 8;

/// The contents of one IDX file, elements converted to host byte order.
struct IdxArray {
  IdxType type = IdxType::U8;
  Shape dims;
  /// numElements(dims) * idxTypeSize(type) bytes, host byte order.
  std::vector<uint8_t> bytes;

  int64_t numElements() const;
  /// Element \p i converted to double (exact for every IDX type).
  double get(int64_t i) const;
};

/// Reads the IDX file at \p path (plain or gzip).
Expected<IdxArray> readIdx(const std::string &path);

/// Writes \p a to \p path as IDX, gzip-compressed when \p gzip. For tests and tools.
Expected<void> writeIdx(const std::string &path, const IdxArray &a, bool gzip);

/// Converts \p a to a tensor of dtype \p d (F32, F64, I32 or I64) and shape \p shape,
/// which must have as many elements as \p a (empty: \p a's own dims). Values are
/// converted exactly, without scaling.
Expected<HostTensor> idxToTensor(const IdxArray &a, DType d, const Shape &shape = {});

/// How loadFashionMnist maps raw pixel values 0..255 to floats.
struct Normalization {
  enum class Kind : uint8_t {
    None,        ///< raw values 0..255
    Unit,        ///< x / 255, in [0, 1] (the default, as the PyTorch reference uses)
    Standardize  ///< (x / 255 - mean) / std
  };
  Kind kind = Kind::Unit;
  /// Used by Standardize. Defaults: the Fashion-MNIST training set's statistics
  /// (MNIST's are 0.1307 / 0.3081).
  float mean = 0.2860f;
  float std = 0.3530f;
};

/// Applies \p n in place to raw pixel values 0..255 in an f32 tensor. Fails on a
/// non-f32 tensor or a non-positive std.
Expected<void> normalizePixels(HostTensor &images, const Normalization &n);
/// Mean and standard deviation (population) of an f32 tensor's elements.
std::pair<double, double> meanStd(const HostTensor &t);

enum class Split : uint8_t { Train, Test };

/// The default data directory: Debian's dataset-fashion-mnist package.
inline constexpr const char *kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct MnistOptions {
  Normalization normalization;
  /// Images as [N, rows*cols] instead of [N, rows, cols].
  bool flatten = false;
  /// Labels must lie in [0, numClasses).
  int numClasses = 10;
};

/// Images f32 [N, 28, 28] (or [N, 784]) and labels i32 [N].
struct Dataset {
  HostTensor images;
  HostTensor labels;
  int64_t size() const { return labels.numElements(); }
};

/// Loads one split from \p dataDir, which holds `train-images-idx3-ubyte.gz`,
/// `train-labels-idx1-ubyte.gz`, `t10k-images-idx3-ubyte.gz` and
/// `t10k-labels-idx1-ubyte.gz` (or the same names without `.gz`): the layout of
/// Fashion-MNIST and MNIST alike. Checks the magics (0x803 images, 0x801 labels), that
/// image and label counts agree and that labels are in range.
Expected<Dataset> loadMnistLike(const std::string &dataDir, Split split, const MnistOptions &opts = {});

/// loadMnistLike from \p dataDir, by default kFashionMnistDir.
inline Expected<Dataset> loadFashionMnist(const std::string &dataDir = kFashionMnistDir,
                                          Split split = Split::Train, const MnistOptions &opts = {}) {
  return loadMnistLike(dataDir, split, opts);
}

}  // namespace dlc::data
