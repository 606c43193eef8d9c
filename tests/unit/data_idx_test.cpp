//===- tests/unit/data_idx_test.cpp - the IDX reader and Fashion-MNIST -----===//
#include <array>
#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>
#include <zlib.h>

#include "runtime/data/idx.h"
#include "tests/unit/data_test_util.h"

namespace dlc::data {
namespace {

using testing::readFile;
using testing::TempDir;
using testing::writeFile;

/// Raw bytes from a list of byte values.
std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int v : b)
    s += static_cast<char>(v);
  return s;
}

/// A u8 IDX array with elements 0, 1, 2, ... (mod 256).
IdxArray iotaU8(Shape dims) {
  IdxArray a{IdxType::U8, std::move(dims), {}};
  a.bytes.resize(static_cast<size_t>(a.numElements()));
  for (size_t i = 0; i < a.bytes.size(); ++i)
    a.bytes[i] = static_cast<uint8_t>(i * 7 % 256);
  return a;
}

/// The message of a failed readIdx, or "" (and a test failure) when it succeeded.
std::string idxError(const std::string &path) {
  Expected<IdxArray> r = readIdx(path);
  EXPECT_FALSE(r.ok()) << path << " read without error";
  return r ? std::string() : r.error().message();
}

std::string gzipBytes(const std::string &plain) {
  uLongf n = compressBound(plain.size()) + 64;
  std::string out(n, '\0');
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);  // +16: gzip wrapper
  zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(plain.data()));
  zs.avail_in = static_cast<uInt>(plain.size());
  zs.next_out = reinterpret_cast<Bytef *>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

TEST(DataIdx, ReadsHandWrittenLabelsFile) {
  TempDir dir;
  writeFile(dir.file("l"), bytes({0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9}));
  Expected<IdxArray> a = readIdx(dir.file("l"));
  ASSERT_TRUE(a.ok()) << a.error().str();
  EXPECT_EQ(a->type, IdxType::U8);
  EXPECT_EQ(a->dims, (Shape{3}));
  EXPECT_EQ(a->bytes, (std::vector<uint8_t>{7, 0, 9}));
}

TEST(DataIdx, ConvertsBigEndianElements) {
  TempDir dir;
  // i16 [2] = {-2, 258}; f32 [1] = {1.5} (0x3fc00000).
  writeFile(dir.file("s"), bytes({0, 0, 0x0B, 1, 0, 0, 0, 2, 0xFF, 0xFE, 0x01, 0x02}));
  writeFile(dir.file("f"), bytes({0, 0, 0x0D, 1, 0, 0, 0, 1, 0x3F, 0xC0, 0, 0}));
  Expected<IdxArray> s = readIdx(dir.file("s"));
  Expected<IdxArray> f = readIdx(dir.file("f"));
  ASSERT_TRUE(s.ok() && f.ok());
  EXPECT_EQ(s->get(0), -2.0);
  EXPECT_EQ(s->get(1), 258.0);
  EXPECT_EQ(f->get(0), 1.5);
}

TEST(DataIdx, RoundTripsPlainAndGzipForEveryType) {
  TempDir dir;
  for (IdxType t : {IdxType::U8, IdxType::I8, IdxType::I16, IdxType::I32, IdxType::F32, IdxType::F64}) {
    IdxArray a{t, {3, 2, 5}, {}};
    a.bytes.resize(static_cast<size_t>(30 * idxTypeSize(t)));
    for (size_t i = 0; i < a.bytes.size(); ++i)
      a.bytes[i] = static_cast<uint8_t>(i * 37 + 11);
    for (bool gz : {false, true}) {
      std::string path = dir.file(fmt::format("a_{}_{}", idxTypeName(t), gz));
      ASSERT_TRUE(writeIdx(path, a, gz).ok());
      std::string raw = readFile(path);
      EXPECT_EQ(gz, raw.size() >= 2 && raw[0] == '\x1f' && raw[1] == '\x8b') << path;
      Expected<IdxArray> b = readIdx(path);
      ASSERT_TRUE(b.ok()) << b.error().str();
      EXPECT_EQ(b->type, t);
      EXPECT_EQ(b->dims, a.dims);
      EXPECT_EQ(b->bytes, a.bytes) << path;
    }
  }
}

TEST(DataIdx, ReportsMissingFileAndDirectory) {
  TempDir dir;
  EXPECT_EQ(idxError(dir.file("nope")), fmt::format("'{}': no such file", dir.file("nope")));
  EXPECT_EQ(idxError(dir.path()), fmt::format("'{}': is a directory, not an IDX file", dir.path()));
}

TEST(DataIdx, ReportsTruncatedMagicHeaderAndData) {
  TempDir dir;
  writeFile(dir.file("empty"), "");
  writeFile(dir.file("magic"), bytes({0, 0, 8}));
  writeFile(dir.file("header"), bytes({0, 0, 8, 3, 0, 0, 0, 2, 0, 0}));
  writeFile(dir.file("data"), bytes({0, 0, 8, 1, 0, 0, 0, 3, 1, 2}));
  EXPECT_EQ(
      idxError(dir.file("empty")),
      fmt::format("'{}': truncated: the file ends within the 4-byte IDX magic (0 bytes)", dir.file("empty")));
  EXPECT_EQ(
      idxError(dir.file("magic")),
      fmt::format("'{}': truncated: the file ends within the 4-byte IDX magic (3 bytes)", dir.file("magic")));
  EXPECT_EQ(idxError(dir.file("header")),
            fmt::format("'{}': truncated header: 3 dimensions need 12 bytes after the magic, found 6",
                        dir.file("header")));
  EXPECT_EQ(idxError(dir.file("data")),
            fmt::format("'{}': truncated: the header (u8 [3]) promises 3 data bytes but only 2 follow",
                        dir.file("data")));
}

TEST(DataIdx, ReportsWrongMagicTypeRankDimsAndTrailingBytes) {
  TempDir dir;
  writeFile(dir.file("magic"), bytes({0x12, 0x34, 8, 1, 0, 0, 0, 1, 5}));
  writeFile(dir.file("type"), bytes({0, 0, 0x07, 1, 0, 0, 0, 1, 5}));
  writeFile(dir.file("rank"), bytes({0, 0, 8, 0}));
  writeFile(dir.file("dims"), bytes({0, 0, 8, 2, 0, 1, 0, 0, 0, 1, 0, 0}));
  writeFile(dir.file("trail"), bytes({0, 0, 8, 1, 0, 0, 0, 1, 5, 6, 7}));
  EXPECT_EQ(idxError(dir.file("magic")),
            fmt::format("'{}': wrong magic 0x12340801: not an IDX file (the first two bytes must be zero)",
                        dir.file("magic")));
  EXPECT_EQ(idxError(dir.file("type")),
            fmt::format("'{}': unsupported IDX element type 0x07 (magic 0x00000701)", dir.file("type")));
  EXPECT_EQ(idxError(dir.file("rank")),
            fmt::format("'{}': unsupported number of dimensions 0 (magic 0x00000800); expected 1 to 8",
                        dir.file("rank")));
  EXPECT_EQ(
      idxError(dir.file("dims")),
      fmt::format("'{}': absurd dimensions [65536,65536]: the data would exceed the 2147483648-byte limit",
                  dir.file("dims")));
  EXPECT_EQ(idxError(dir.file("trail")),
            fmt::format("'{}': 2 trailing bytes after the 1 data bytes the header (u8 [1]) promises",
                        dir.file("trail")));
}

TEST(DataIdx, EveryTruncationAndHeaderFlipFailsCleanly) {
  TempDir dir;
  IdxArray a{IdxType::I16, {2, 3}, std::vector<uint8_t>(12, 0x11)};
  ASSERT_TRUE(writeIdx(dir.file("ok"), a, false).ok());
  std::string valid = readFile(dir.file("ok"));
  ASSERT_EQ(valid.size(), 4u + 8u + 12u);
  for (size_t n = 0; n < valid.size(); ++n) {
    writeFile(dir.file("cut"), valid.substr(0, n));
    EXPECT_FALSE(readIdx(dir.file("cut")).ok()) << "prefix of " << n << " bytes";
  }
  for (size_t i = 0; i < 12; ++i) {  // every byte of the magic and the dims
    for (int x : {0x01, 0x80, 0xFF}) {
      std::string b = valid;
      b[i] = static_cast<char>(b[i] ^ x);
      writeFile(dir.file("flip"), b);
      Expected<IdxArray> r = readIdx(dir.file("flip"));  // must return, never crash
      EXPECT_FALSE(r.ok()) << "byte " << i << " ^ " << x;
    }
  }
}

TEST(DataIdx, AbsurdDimsWithoutOverflow) {
  TempDir dir;
  // f64 [2^32-1]^8: the product would overflow int64 if not checked step by step.
  std::string b = bytes({0, 0, 0x0E, 8});
  for (int i = 0; i < 8; ++i)
    b += bytes({0xFF, 0xFF, 0xFF, 0xFF});
  writeFile(dir.file("huge"), b);
  EXPECT_NE(idxError(dir.file("huge")).find("absurd dimensions"), std::string::npos);
}

TEST(DataIdx, ReportsCorruptAndTruncatedGzip) {
  TempDir dir;
  IdxArray a = iotaU8({50, 40});
  ASSERT_TRUE(writeIdx(dir.file("ok.gz"), a, true).ok());
  std::string gz = readFile(dir.file("ok.gz"));
  ASSERT_GT(gz.size(), 40u);

  std::string corrupt = gz;
  for (size_t i = 12; i < 24; ++i)
    corrupt[i] = static_cast<char>(corrupt[i] ^ 0x5A);
  writeFile(dir.file("corrupt.gz"), corrupt);
  EXPECT_NE(idxError(dir.file("corrupt.gz")).find("corrupt gzip data"), std::string::npos);

  writeFile(dir.file("cut.gz"), gz.substr(0, gz.size() / 2));
  EXPECT_EQ(idxError(dir.file("cut.gz")),
            fmt::format("'{}': corrupt gzip data: the compressed stream is truncated", dir.file("cut.gz")));

  std::string badCrc = gz;
  badCrc[badCrc.size() - 6] = static_cast<char>(badCrc[badCrc.size() - 6] ^ 1);  // in the CRC32 trailer
  writeFile(dir.file("crc.gz"), badCrc);
  EXPECT_NE(idxError(dir.file("crc.gz")).find("corrupt gzip data"), std::string::npos);

  writeFile(dir.file("magiconly.gz"), bytes({0x1f, 0x8b}));
  EXPECT_FALSE(readIdx(dir.file("magiconly.gz")).ok());

  // Truncations of a gzip file are errors, never crashes (a sample of offsets: file
  // I/O is slow on some filesystems).
  for (size_t n = 0; n < gz.size(); n += n < 32 ? 1 : 7) {
    writeFile(dir.file("t.gz"), gz.substr(0, n));
    EXPECT_FALSE(readIdx(dir.file("t.gz")).ok()) << "truncated at " << n;
  }
}

TEST(DataIdx, TruncatedDataInsideValidGzip) {
  TempDir dir;
  writeFile(dir.file("l.gz"), gzipBytes(bytes({0, 0, 8, 1, 0, 0, 0, 9, 1, 2, 3})));
  EXPECT_EQ(idxError(dir.file("l.gz")),
            fmt::format("'{}': truncated: the header (u8 [9]) promises 9 data bytes but only 3 follow",
                        dir.file("l.gz")));
}

TEST(DataIdx, ConvertsToTensors) {
  IdxArray a = iotaU8({2, 3});
  Expected<HostTensor> f = idxToTensor(a, DType::F32, {6});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->shape(), (Shape{6}));
  EXPECT_EQ(f->data<float>()[1], 7.0f);
  Expected<HostTensor> i = idxToTensor(a, DType::I32);
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(i->shape(), (Shape{2, 3}));
  EXPECT_EQ(i->data<int32_t>()[5], 35);
  EXPECT_FALSE(idxToTensor(a, DType::F32, {5}).ok());
  EXPECT_FALSE(idxToTensor(a, DType::I1).ok());
  IdxArray fl{IdxType::F32, {1}, {0, 0, 0, 0}};
  EXPECT_FALSE(idxToTensor(fl, DType::I32).ok());
}

TEST(DataIdx, Normalizes) {
  HostTensor t = HostTensor::fromVector<float>({3}, {0.0f, 51.0f, 255.0f});
  HostTensor u = t;
  ASSERT_TRUE(normalizePixels(u, {}).ok());
  EXPECT_EQ(u.data<float>()[0], 0.0f);
  EXPECT_FLOAT_EQ(u.data<float>()[1], 0.2f);
  EXPECT_EQ(u.data<float>()[2], 1.0f);
  HostTensor s = t;
  ASSERT_TRUE(normalizePixels(s, {Normalization::Kind::Standardize, 0.5f, 0.25f}).ok());
  EXPECT_FLOAT_EQ(s.data<float>()[0], -2.0f);
  EXPECT_FLOAT_EQ(s.data<float>()[2], 2.0f);
  HostTensor n = t;
  ASSERT_TRUE(normalizePixels(n, {Normalization::Kind::None}).ok());
  EXPECT_EQ(n, t);
  EXPECT_FALSE(normalizePixels(s, {Normalization::Kind::Standardize, 0.5f, 0.0f}).ok());
  HostTensor i = HostTensor::fromVector<int32_t>({1}, {3});
  EXPECT_FALSE(normalizePixels(i, {}).ok());
  auto [mean, stdev] = meanStd(HostTensor::fromVector<float>({4}, {1, 3, 1, 3}));
  EXPECT_DOUBLE_EQ(mean, 2.0);
  EXPECT_DOUBLE_EQ(stdev, 1.0);
}

/// Writes a tiny MNIST-layout split into \p dir: \p n images of 2x3 and \p nLabels labels.
void writeTinySplit(const TempDir &dir, const std::string &prefix, int64_t n, int64_t nLabels, bool gz) {
  IdxArray images = iotaU8({n, 2, 3});
  IdxArray labels{IdxType::U8, {nLabels}, {}};
  for (int64_t i = 0; i < nLabels; ++i)
    labels.bytes.push_back(static_cast<uint8_t>(i % 10));
  std::string ext = gz ? ".gz" : "";
  ASSERT_TRUE(writeIdx(dir.file(prefix + "-images-idx3-ubyte" + ext), images, gz).ok());
  ASSERT_TRUE(writeIdx(dir.file(prefix + "-labels-idx1-ubyte" + ext), labels, gz).ok());
}

TEST(DataIdx, LoadsMnistLayoutDirectory) {
  TempDir dir;
  writeTinySplit(dir, "train", 4, 4, true);
  writeTinySplit(dir, "t10k", 3, 3, false);  // plain files are found too
  Expected<Dataset> train = loadMnistLike(dir.path(), Split::Train);
  ASSERT_TRUE(train.ok()) << train.error().str();
  EXPECT_EQ(train->images.type(), f32({4, 2, 3}));
  EXPECT_EQ(train->labels.type(), i32({4}));
  EXPECT_FLOAT_EQ(train->images.data<float>()[1], 7.0f / 255.0f);
  EXPECT_EQ(train->labels.data<int32_t>()[3], 3);
  MnistOptions raw;
  raw.normalization.kind = Normalization::Kind::None;
  raw.flatten = true;
  Expected<Dataset> test = loadMnistLike(dir.path(), Split::Test, raw);
  ASSERT_TRUE(test.ok()) << test.error().str();
  EXPECT_EQ(test->images.type(), f32({3, 6}));
  EXPECT_EQ(test->images.data<float>()[1], 7.0f);
}

TEST(DataIdx, LoadReportsBadDirectories) {
  TempDir dir;
  Expected<Dataset> none = loadMnistLike(dir.file("absent"), Split::Train);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("data directory '" + dir.file("absent") + "' does not exist"),
            std::string::npos);
  Expected<Dataset> empty = loadMnistLike(dir.path(), Split::Train);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().message(),
            fmt::format("'{0}.gz': no such file (nor '{0}')", dir.file("train-images-idx3-ubyte")));

  writeTinySplit(dir, "train", 4, 5, true);
  Expected<Dataset> counts = loadMnistLike(dir.path(), Split::Train);
  ASSERT_FALSE(counts.ok());
  EXPECT_EQ(counts.error().message(),
            fmt::format("'{}' holds 4 images but '{}' holds 5 labels", dir.file("train-images-idx3-ubyte.gz"),
                        dir.file("train-labels-idx1-ubyte.gz")));

  MnistOptions fewClasses;
  fewClasses.numClasses = 3;
  writeTinySplit(dir, "train", 4, 4, true);
  Expected<Dataset> range = loadMnistLike(dir.path(), Split::Train, fewClasses);
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.error().message(), fmt::format("'{}': label 3 at index 3 is outside [0, 3)",
                                                 dir.file("train-labels-idx1-ubyte.gz")));

  // A labels file where the images should be.
  std::filesystem::copy_file(dir.file("train-labels-idx1-ubyte.gz"), dir.file("train-images-idx3-ubyte.gz"),
                             std::filesystem::copy_options::overwrite_existing);
  Expected<Dataset> kind = loadMnistLike(dir.path(), Split::Train);
  ASSERT_FALSE(kind.ok());
  EXPECT_EQ(kind.error().message(),
            fmt::format("'{}': expected an images file (magic 0x00000803: u8, 3 dims), found u8 with 1 dims",
                        dir.file("train-images-idx3-ubyte.gz")));
}

/// The real Fashion-MNIST from Debian's dataset-fashion-mnist (installed by
/// scripts/install-deps); skipped where it is absent.
TEST(DataIdx, LoadsRealFashionMnist) {
  if (!std::filesystem::exists(kFashionMnistDir))
    GTEST_SKIP() << kFashionMnistDir << " is absent (install Debian's dataset-fashion-mnist)";
  for (Split split : {Split::Train, Split::Test}) {
    int64_t n = split == Split::Train ? 60000 : 10000;
    Expected<Dataset> ds = loadFashionMnist(kFashionMnistDir, split);
    ASSERT_TRUE(ds.ok()) << ds.error().str();
    EXPECT_EQ(ds->images.type(), f32({n, 28, 28}));
    EXPECT_EQ(ds->labels.type(), i32({n}));
    std::array<int64_t, 10> histogram{};
    for (int32_t l : ds->labels.data<int32_t>()) {
      ASSERT_TRUE(l >= 0 && l < 10) << l;
      ++histogram[static_cast<size_t>(l)];
    }
    for (int64_t count : histogram)
      EXPECT_EQ(count, n / 10);  // both splits are balanced
    float lo = 1.0f, hi = 0.0f;
    for (float v : ds->images.data<float>()) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    EXPECT_EQ(lo, 0.0f);
    EXPECT_EQ(hi, 1.0f);
    if (split == Split::Train) {  // the statistics Normalization's defaults quote
      auto [mean, stdev] = meanStd(ds->images);
      EXPECT_NEAR(mean, 0.2860, 5e-4);
      EXPECT_NEAR(stdev, 0.3530, 5e-4);
    }
  }
}

}  // namespace
}  // namespace dlc::data
