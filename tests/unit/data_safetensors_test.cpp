//===- tests/unit/data_safetensors_test.cpp - safetensors checkpoints ------===//
#include <gtest/gtest.h>

#include <csignal>
#include <sys/resource.h>
#include <unistd.h>

#include "runtime/data/loader.h"
#include "runtime/data/safetensors.h"
#include "tests/unit/data_test_util.h"

namespace dlc::data {
namespace {

using testing::listDir;
using testing::readFile;
using testing::TempDir;
using testing::writeFile;

/// One tensor of every dtype, a scalar and an empty tensor.
std::vector<NamedTensor> everyDType() {
  return {
      {"f32", HostTensor::fromVector<float>({2, 3}, {1.5f, -2.0f, 0.0f, 3.25f, 1e30f, -1e-30f})},
      {"f64", HostTensor::fromVector<double>({3}, {3.141592653589793, -0.0, 1e300})},
      {"i32", HostTensor::fromVector<int32_t>({2, 2}, {INT32_MIN, -1, 0, INT32_MAX})},
      {"i64", HostTensor::fromVector<int64_t>({2}, {INT64_MIN, INT64_MAX})},
      {"mask", HostTensor::fromVector<uint8_t>({5}, {1, 0, 0, 1, 1})},
      {"scalar", HostTensor::fromVector<float>({}, {42.0f})},
      {"empty", HostTensor(f32({0, 4}))},
  };
}

std::vector<TensorRef> refsOf(const std::vector<NamedTensor> &ts) {
  std::vector<TensorRef> out;
  for (const NamedTensor &t : ts)
    out.push_back({t.name, &t.tensor});
  return out;
}

void expectSameTensors(const Checkpoint &c, const std::vector<NamedTensor> &expected) {
  ASSERT_EQ(c.tensors.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(c.tensors[i].name, expected[i].name);
    EXPECT_EQ(c.tensors[i].tensor, expected[i].tensor)
        << expected[i].name << ": " << formatTensor(c.tensors[i].tensor);
  }
}

/// The message of a failed decode, or "" (and a test failure) when it succeeded.
std::string decodeError(const std::string &bytes) {
  Expected<Checkpoint> c = decodeSafetensors(bytes, "t.safetensors");
  EXPECT_FALSE(c.ok()) << "decoded without error";
  return c ? std::string() : c.error().message();
}

/// A file with header \p json (unpadded) followed by \p data.
std::string withHeader(const std::string &json, const std::string &data = "") {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((json.size() >> (8 * i)) & 0xFF);
  return out + json + data;
}

TEST(DataSafetensors, RoundTripsEveryDType) {
  TempDir dir;
  std::vector<NamedTensor> ts = everyDType();
  Metadata meta{{"format", "pt"}, {"note", "quote \" backslash \\ newline \n tab \t bell \x07 e\xC3\xA9"}};
  std::string path = dir.file("m.safetensors");
  ASSERT_TRUE(saveSafetensors(path, refsOf(ts), meta).ok());
  Expected<Checkpoint> c = loadSafetensors(path);
  ASSERT_TRUE(c.ok()) << c.error().str();
  expectSameTensors(*c, ts);
  EXPECT_EQ(c->metadata, meta);
  EXPECT_EQ(c->source, path);
  EXPECT_EQ(listDir(dir.path()), (std::vector<std::string>{"m.safetensors"}));

  Expected<std::string> bytes = encodeSafetensors(refsOf(ts), meta);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, readFile(path));
  Expected<Checkpoint> d = decodeSafetensors(*bytes, "mem");
  ASSERT_TRUE(d.ok()) << d.error().str();
  expectSameTensors(*d, ts);
  EXPECT_EQ(d->metadata, meta);
  EXPECT_NE(d->find("i64"), nullptr);
  EXPECT_EQ(d->find("nope"), nullptr);

  // A loaded checkpoint saves back to the same bytes.
  std::vector<TensorRef> again = c->refs();
  Expected<std::string> rebytes = encodeSafetensors(again, c->metadata);
  ASSERT_TRUE(rebytes.ok());
  EXPECT_EQ(*rebytes, *bytes);
}

TEST(DataSafetensors, ByteExactLayout) {
  HostTensor a = HostTensor::fromVector<float>({2}, {1.0f, -2.0f});
  HostTensor b = HostTensor::fromVector<uint8_t>({3}, {1, 0, 1});
  std::vector<TensorRef> ts = {{"a", &a}, {"b", &b}};
  Expected<std::string> bytes = encodeSafetensors(ts, {{"format", "pt"}});
  ASSERT_TRUE(bytes.ok());
  // 140 bytes of JSON + 4 spaces = 144 = 0x90, so the data starts at 8 + 144 = 152 = 19 * 8.
  std::string expected = std::string("\x90\0\0\0\0\0\0\0", 8) +
                         R"({"__metadata__":{"format":"pt"},)"
                         R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"BOOL","shape":[3],"data_offsets":[8,11]}})"
                         "    " +
                         std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0\x01\x00\x01", 11);
  EXPECT_EQ(*bytes, expected);
  // Without metadata the key is omitted; the empty file is `{}` padded.
  Expected<std::string> empty = encodeSafetensors({});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
  Expected<Checkpoint> c = decodeSafetensors(*empty, "e");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->tensors.empty() && c->metadata.empty());
}

TEST(DataSafetensors, RejectsBadNamesOnSave) {
  HostTensor a = HostTensor::fromVector<float>({1}, {1.0f});
  std::vector<TensorRef> dup = {{"w", &a}, {"w", &a}};
  std::vector<TensorRef> empty = {{"", &a}};
  std::vector<TensorRef> reserved = {{"__metadata__", &a}};
  EXPECT_EQ(encodeSafetensors(dup).error().message(), "safetensors: duplicate tensor name 'w'");
  EXPECT_EQ(encodeSafetensors(empty).error().message(), "safetensors: a tensor has an empty name");
  EXPECT_FALSE(encodeSafetensors(reserved).ok());
}

TEST(DataSafetensors, AcceptsAnyKeyOrderAndReturnsDataOrder) {
  // As Hugging Face writes: keys sorted by name, data in another order.
  std::string data = std::string("\x07\x00\x00\x00", 4) + std::string("\x00\x00\x80\x3f", 4);
  std::string file = withHeader(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                                R"( "b" : {"data_offsets":[0,4],"shape":[],"dtype":"I32"}})",
                                data);
  Expected<Checkpoint> c = decodeSafetensors(file, "hf");
  ASSERT_TRUE(c.ok()) << c.error().str();
  ASSERT_EQ(c->tensors.size(), 2u);
  EXPECT_EQ(c->tensors[0].name, "b");
  EXPECT_EQ(c->tensors[0].tensor, HostTensor::fromVector<int32_t>({}, {7}));
  EXPECT_EQ(c->tensors[1].tensor, HostTensor::fromVector<float>({1}, {1.0f}));
}

TEST(DataSafetensors, ParsesJsonEscapes) {
  std::string file = withHeader(R"({"__metadata__":{"k\u00e9\ud83d\ude00":"a\/b\n"}})");
  Expected<Checkpoint> c = decodeSafetensors(file, "esc");
  ASSERT_TRUE(c.ok()) << c.error().str();
  EXPECT_EQ(c->metadata.at("k\xC3\xA9\xF0\x9F\x98\x80"), "a/b\n");
}

TEST(DataSafetensors, ReportsMalformedFiles) {
  const std::string t = "'t.safetensors': ";
  const std::string w = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string eight(8, 'x');
  EXPECT_EQ(decodeError("abc"), t + "file is 3 bytes, too short for the 8-byte header length");
  EXPECT_EQ(decodeError(std::string("\0\0\0\0\0\1\0\0", 8)),
            t + "header length 1099511627776 exceeds the 16777216-byte limit (not a safetensors file?)");
  EXPECT_EQ(decodeError(std::string("\x40\0\0\0\0\0\0\0{}", 10)),
            t + "header length 64 runs past the end of the file (10 bytes)");
  EXPECT_EQ(decodeError(withHeader("{\"w\":")),
            t + "malformed header JSON: at byte 5: unexpected end of input, expected a value");
  EXPECT_EQ(decodeError(withHeader("[1]")), t + "the header must be a JSON object, found array");
  EXPECT_EQ(decodeError(withHeader("{} x")),
            t + "malformed header JSON: at byte 3: unexpected 'x' after the end of the JSON value");
  EXPECT_EQ(decodeError(withHeader(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", "1234")),
            t + "tensor 'w': data_offsets [0, 8] run past the 4 bytes of data");
  EXPECT_EQ(decodeError(withHeader("{" + w + "}", "1234")),
            t + "tensor 'w': f32[2] needs more than the file's 4 bytes of data");
  EXPECT_EQ(decodeError(withHeader(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", eight)),
            t + "tensor 'w': data_offsets [8, 0] are reversed");
  EXPECT_EQ(decodeError(withHeader(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}})", eight)),
            t + "tensor 'w': f32[4] needs more than the file's 8 bytes of data");
  EXPECT_EQ(decodeError(withHeader(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", eight)),
            t + "tensor 'w': f32[1] needs 4 bytes but data_offsets [0, 8] hold 8");
  EXPECT_EQ(decodeError(withHeader(R"({"w":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})", eight)),
            t + "tensor 'w': unsupported dtype \"F16\" (supported: F32, F64, I32, I64, BOOL)");
  EXPECT_EQ(decodeError(withHeader(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight)),
            t + "malformed header JSON: at byte 29: negative numbers are not supported here");
  EXPECT_EQ(decodeError(withHeader(R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", eight)),
            t + "malformed header JSON: at byte 30: only integers are supported here");
  EXPECT_EQ(decodeError(withHeader(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", eight)),
            t + "tensor 'w': unknown field 'x'");
  EXPECT_EQ(decodeError(withHeader(R"({"w":{"dtype":"F32","shape":[2]}})", eight)),
            t + "tensor 'w': needs dtype, shape and data_offsets");
  EXPECT_EQ(decodeError(withHeader(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", eight)),
            t + "tensor 'w': data_offsets must be an array of two integers");
  EXPECT_EQ(decodeError(withHeader("{" + w + "," + w + "}", eight)),
            t + "malformed header JSON: at byte 54: duplicate key \"w\"");
  EXPECT_EQ(decodeError(withHeader(R"({"__metadata__":{"k":1}})")),
            t + "__metadata__ value of 'k' must be a string");
  EXPECT_EQ(decodeError(withHeader(R"({"__metadata__":{"k":null}})")),
            t + "malformed header JSON: at byte 21: true, false and null are not supported here");
  EXPECT_EQ(decodeError(withHeader(std::string(100, '[') + std::string(100, ']'))),
            t + "malformed header JSON: at byte 16: nesting deeper than 16");
  EXPECT_EQ(decodeError(withHeader(R"({"__metadata__":{"k":"\ud800"}})")),
            t + "malformed header JSON: at byte 28: unpaired high surrogate in \\u escape");
  EXPECT_EQ(
      decodeError(withHeader(R"({"w":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]}})")),
      t + "malformed header JSON: at byte 29: integer does not fit in 64 bits");
  // Shapes whose element count overflows int64, in either order of a zero dimension.
  EXPECT_NE(decodeError(
                withHeader(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}})"))
                .find("needs more than"),
            std::string::npos);
  EXPECT_TRUE(decodeSafetensors(withHeader(R"({"w":{"dtype":"F32","shape":[0,4294967296,4294967296],)"
                                           R"("data_offsets":[0,0]}})"),
                                "zero")
                  .ok());
}

TEST(DataSafetensors, ReportsBadDataLayout) {
  const std::string t = "'t.safetensors': ";
  std::string a = R"("a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]})";
  std::string b4 = R"("b":{"dtype":"I32","shape":[1],"data_offsets":[4,8]})";
  std::string b2 = R"("b":{"dtype":"I32","shape":[1],"data_offsets":[2,6]})";
  std::string b6 = R"("b":{"dtype":"I32","shape":[1],"data_offsets":[6,10]})";
  EXPECT_EQ(decodeError(withHeader("{" + a + "," + b2 + "}", std::string(8, '\0'))),
            t + "tensor 'b' (bytes [2, 6)) overlaps tensor 'a'");
  EXPECT_EQ(decodeError(withHeader("{" + a + "," + b6 + "}", std::string(10, '\0'))),
            t + "bytes [4, 6) of the data belong to no tensor (a hole before 'b')");
  EXPECT_EQ(decodeError(withHeader("{" + a + "," + b4 + "}", std::string(12, '\0'))),
            t + "4 bytes of data after the last tensor belong to no tensor");
  std::string mask = R"({"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})";
  EXPECT_EQ(decodeError(withHeader(mask, std::string("\x01\x02", 2))),
            t + "BOOL tensor 'm' holds byte 2 at element 1");
}

TEST(DataSafetensors, EveryTruncationFailsCleanly) {
  std::vector<NamedTensor> ts = everyDType();
  Expected<std::string> bytes = encodeSafetensors(refsOf(ts), {{"k", "v"}});
  ASSERT_TRUE(bytes.ok());
  TempDir dir;
  for (size_t n = 0; n < bytes->size(); ++n) {
    std::string cut = bytes->substr(0, n);
    EXPECT_FALSE(decodeSafetensors(cut, "cut").ok()) << "prefix of " << n << " bytes";
    if (n % 16 == 0 || n < 24) {  // the file path too, at fewer offsets (file I/O is slow)
      writeFile(dir.file("cut"), cut);
      EXPECT_FALSE(loadSafetensors(dir.file("cut")).ok()) << "prefix of " << n << " bytes";
    }
  }
}

TEST(DataSafetensors, FlippedHeaderBytesNeverCrash) {
  std::vector<NamedTensor> ts = everyDType();
  Expected<std::string> bytes = encodeSafetensors(refsOf(ts), {{"k", "v"}});
  ASSERT_TRUE(bytes.ok());
  size_t headerEnd = 8 + static_cast<size_t>(static_cast<unsigned char>((*bytes)[0])) +
                     (static_cast<size_t>(static_cast<unsigned char>((*bytes)[1])) << 8);
  int errors = 0, total = 0;
  for (size_t i = 0; i < headerEnd; ++i) {
    for (unsigned char x : {0x01, 0x02, 0x10, 0x20, 0x80, 0xFF}) {
      std::string b = *bytes;
      b[i] = static_cast<char>(b[i] ^ x);
      Expected<Checkpoint> c = decodeSafetensors(b, "flip");  // must return, never crash
      ++total;
      if (!c) {
        ++errors;
        EXPECT_EQ(c.error().message().rfind("'flip': ", 0), 0u) << c.error().message();
      }
    }
  }
  EXPECT_GT(errors, total * 9 / 10);  // nearly every flip breaks the header
}

TEST(DataSafetensors, RandomMutationsNeverCrash) {
  // Deterministic fuzzing: replace, insert or delete a few random bytes anywhere (the
  // length prefix included) and decode; under ASan this checks every read is in bounds.
  std::vector<NamedTensor> ts = everyDType();
  Expected<std::string> valid = encodeSafetensors(refsOf(ts), {{"k", "v"}});
  ASSERT_TRUE(valid.ok());
  SplitMix64 rng(2024);
  static constexpr char kAlphabet[] = "{}[]\":,0123456789 -.eu\\\0\xff";
  const std::string alphabet(kAlphabet, sizeof kAlphabet - 1);
  for (int iter = 0; iter < 3000; ++iter) {
    std::string b = *valid;
    int edits = 1 + static_cast<int>(rng.below(4));
    for (int e = 0; e < edits && !b.empty(); ++e) {
      size_t at = rng.below(b.size());
      char c = rng.below(2) ? alphabet[rng.below(alphabet.size())] : static_cast<char>(rng.below(256));
      switch (rng.below(3)) {
      case 0: b[at] = c; break;
      case 1: b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), c); break;
      default: b.erase(at, 1); break;
      }
    }
    Expected<Checkpoint> c = decodeSafetensors(b, "fuzz");
    if (c) {  // a mutation that happened to stay valid must still describe the bytes
      uint64_t total = 0;
      for (const NamedTensor &t : c->tensors)
        total += static_cast<uint64_t>(t.tensor.numBytes());
      EXPECT_LE(total, b.size());
    }
  }
}

TEST(DataSafetensors, LoadReportsMissingAndNonRegularFiles) {
  TempDir dir;
  EXPECT_EQ(loadSafetensors(dir.file("x")).error().message(),
            fmt::format("'{}': no such file", dir.file("x")));
  EXPECT_EQ(loadSafetensors(dir.path()).error().message(),
            fmt::format("'{}': not a regular file", dir.path()));
}

TEST(DataSafetensors, SaveOverwritesAtomically) {
  TempDir dir;
  std::string path = dir.file("ckpt.safetensors");
  HostTensor a = HostTensor::fromVector<float>({1}, {1.0f});
  HostTensor b = HostTensor::fromVector<float>({2}, {2.0f, 3.0f});
  ASSERT_TRUE(saveSafetensors(path, std::vector<TensorRef>{{"w", &a}}).ok());
  ASSERT_TRUE(saveSafetensors(path, std::vector<TensorRef>{{"w", &b}}).ok());
  Expected<Checkpoint> c = loadSafetensors(path);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c->find("w"), b);
  EXPECT_EQ(listDir(dir.path()), (std::vector<std::string>{"ckpt.safetensors"}));
  // A relative path (no directory part) works too.
  std::string cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  EXPECT_TRUE(saveSafetensors("rel.safetensors", std::vector<TensorRef>{{"w", &a}}).ok());
  std::filesystem::current_path(cwd);
  EXPECT_TRUE(loadSafetensors(dir.file("rel.safetensors")).ok());
}

TEST(DataSafetensors, FailedSaveLeavesNoTraceAndTheOldFileIntact) {
  TempDir dir;
  HostTensor a = HostTensor::fromVector<float>({1}, {1.0f});
  std::vector<TensorRef> ts = {{"w", &a}};
  // The parent is a regular file: the temporary file cannot be created (this works as
  // root too, unlike a read-only directory).
  writeFile(dir.file("plain"), "precious");
  Expected<void> r = saveSafetensors(dir.file("plain") + "/ckpt.safetensors", ts);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("cannot create the temporary file"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(readFile(dir.file("plain")), "precious");

  // The target is a directory: writing succeeds, the rename fails, the temp is removed.
  std::filesystem::create_directory(dir.file("taken"));
  r = saveSafetensors(dir.file("taken"), ts);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("cannot rename"), std::string::npos) << r.error().message();
  EXPECT_TRUE(std::filesystem::is_directory(dir.file("taken")));

  // Invalid tensors: nothing is written, the old checkpoint stays.
  std::string path = dir.file("ckpt.safetensors");
  ASSERT_TRUE(saveSafetensors(path, ts).ok());
  std::string before = readFile(path);
  std::vector<TensorRef> dup = {{"w", &a}, {"w", &a}};
  EXPECT_FALSE(saveSafetensors(path, dup).ok());
  EXPECT_EQ(readFile(path), before);
  EXPECT_EQ(listDir(dir.path()), (std::vector<std::string>{"ckpt.safetensors", "plain", "taken"}));
}

TEST(DataSafetensors, WriteErrorMidFileLeavesTheOldCheckpoint) {
  // Simulates a full disk: RLIMIT_FSIZE makes write() fail with EFBIG past 4 KiB.
  TempDir dir;
  std::string path = dir.file("ckpt.safetensors");
  HostTensor small = HostTensor::fromVector<float>({1}, {1.0f});
  ASSERT_TRUE(saveSafetensors(path, std::vector<TensorRef>{{"w", &small}}).ok());
  std::string before = readFile(path);
  HostTensor big(f32({64, 1024}));  // 256 KiB
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit limited = old;
  limited.rlim_cur = 4096;
  auto oldHandler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limited), 0);
  Expected<void> r = saveSafetensors(path, std::vector<TensorRef>{{"w", &big}});
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, oldHandler);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("File too large"), std::string::npos) << r.error().message();
  EXPECT_EQ(readFile(path), before);
  EXPECT_EQ(listDir(dir.path()), (std::vector<std::string>{"ckpt.safetensors"}));
}

TEST(DataSafetensors, CheckCompatibleNamesEveryDifference) {
  std::vector<NamedTensor> ts = {
      {"a", HostTensor(f32({3, 2}))}, {"b", HostTensor(i32({4}))}, {"d", HostTensor(f64({}))}};
  Checkpoint c{std::move(ts), {}, "m.safetensors"};
  std::map<std::string, TensorType> expected = {{"a", f32({2, 3})}, {"b", i32({4})}, {"c", f32({1})}};
  Expected<void> r = checkCompatible(expected, c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "'m.safetensors': checkpoint does not match the model: missing tensors: c; "
            "unexpected tensors: d; type mismatches: a (expected f32[2,3], found f32[3,2])");
  std::map<std::string, TensorType> exact = {{"a", f32({3, 2})}, {"b", i32({4})}, {"d", f64({})}};
  EXPECT_TRUE(checkCompatible(exact, c).ok());
  std::map<std::string, TensorType> dtype = {{"a", f64({3, 2})}, {"b", i32({4})}, {"d", f64({})}};
  EXPECT_EQ(
      checkCompatible(dtype, c).error().message(),
      "'m.safetensors': checkpoint does not match the model: type mismatches: a (expected f64[3,2], found "
      "f32[3,2])");
}

}  // namespace
}  // namespace dlc::data
