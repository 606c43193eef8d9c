//===- tests/unit/data_reliability_test.cpp - readers under hostile input ---===//
//
// Regression tests for what fuzzing the readers (fuzz/fuzz_idx.cpp,
// fuzz/fuzz_safetensors.cpp) is about: a header must not be believed before the data is
// there.
//
//===----------------------------------------------------------------------===//
#include "data_test_util.h"
#include "runtime/data/idx.h"

namespace dlc::data {
namespace {

using testing::TempDir;
using testing::writeFile;

TEST(IdxReliability, AShortFileThatPromisesGigabytesFailsWithoutAllocatingThem) {
  // u8, one dimension of 2^31 - 1 elements (just under kIdxMaxBytes), then 3 data bytes.
  // readIdx used to allocate and zero the whole 2 GiB before finding the truncation; now
  // its buffer grows with the data that arrives.
  TempDir dir;
  writeFile(dir.file("short.idx"), std::string("\x00\x00\x08\x01\x7f\xff\xff\xff" "abc", 11));
  Expected<IdxArray> a = readIdx(dir.file("short.idx"));
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().message(),
            "'" + dir.file("short.idx") +
                "': truncated: the header (u8 [2147483647]) promises 2147483647 data bytes but only 3 follow");
}

}  // namespace
}  // namespace dlc::data
