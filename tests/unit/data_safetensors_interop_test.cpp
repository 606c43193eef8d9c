//===- tests/unit/data_safetensors_interop_test.cpp - other readers --------===//
//
// Checks our safetensors files against independent implementations: a pure-Python
// reader and writer (json, struct, array: always available with python3), Hugging
// Face's `safetensors` package (through numpy), and PyTorch (with the `safetensors`
// package when importable, else torch.frombuffer over the pure-Python parse), in both
// directions. Each test skips with a reason when its tool is missing.
//
//===----------------------------------------------------------------------===//
#include <gtest/gtest.h>

#include <cstdlib>
#include <sys/wait.h>

#include "runtime/data/safetensors.h"
#include "tests/unit/data_test_util.h"

namespace dlc::data {
namespace {

using testing::readFile;
using testing::TempDir;
using testing::writeFile;

/// Runs `<python> <args>` in the shell; returns its exit status, and its combined
/// output in \p out.
int runPython(const std::string &python, const TempDir &dir, const std::string &args, std::string &out) {
  std::string log = dir.file("python.log");
  int rc = std::system(fmt::format("'{}' {} > '{}' 2>&1", python, args, log).c_str());
  out = readFile(log);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/// The first Python interpreter that can run `import <modules>`: `python3` from PATH,
/// else Debian's /usr/bin/python3 (where apt's python3-torch and python3-numpy land
/// when PATH's python3 is another installation); "" if none can.
std::string findPython(const std::string &modules) {
  for (const char *python : {"python3", "/usr/bin/python3"})
    if (std::system(fmt::format("'{}' -c 'import {}' > /dev/null 2>&1", python, modules).c_str()) == 0)
      return python;
  return "";
}

// Shared by the scripts: an independent parser of the format, checking its rules.
constexpr const char *kPyReader = R"PY(
import json, struct, sys
from array import array

FMT = {"F32": "f", "F64": "d", "I32": "i", "I64": "q", "BOOL": "B"}
SIZE = {"F32": 4, "F64": 8, "I32": 4, "I64": 8, "BOOL": 1}

def read(path):
    blob = open(path, "rb").read()
    (n,) = struct.unpack_from("<Q", blob, 0)
    assert (8 + n) % 8 == 0, "data start is not 8-byte aligned"
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    meta = header.pop("__metadata__", {})
    spans = sorted((v["data_offsets"][0], v["data_offsets"][1], k) for k, v in header.items())
    pos = 0
    for b, e, k in spans:
        assert b == pos, "hole or overlap at %s" % k
        pos = e
    assert pos == len(data), "data not fully covered"
    out = {}
    for k, v in header.items():
        b, e = v["data_offsets"]
        count = 1
        for d in v["shape"]:
            count *= d
        assert e - b == count * SIZE[v["dtype"]], "size mismatch for %s" % k
        vals = list(struct.unpack_from("<%d%s" % (count, FMT[v["dtype"]]), data, b))
        out[k] = (v["dtype"], v["shape"], vals, b)
    return meta, out
)PY";

/// The tensors the interop tests exchange; values have short exact decimal forms.
std::vector<NamedTensor> sample() {
  return {
      {"fc1.weight", HostTensor::fromVector<float>({2, 3}, {1.5f, -2.0f, 0.0f, 3.25f, 1024.0f, -0.5f})},
      {"fc1.bias", HostTensor::fromVector<double>({2}, {0.125, -7.0})},
      {"step", HostTensor::fromVector<int64_t>({}, {INT64_MAX})},
      {"labels", HostTensor::fromVector<int32_t>({3}, {INT32_MIN, 0, 9})},
      {"mask", HostTensor::fromVector<uint8_t>({3}, {1, 0, 1})},
  };
}

Expected<void> saveSample(const std::string &path) {
  static const std::vector<NamedTensor> ts = sample();
  std::vector<TensorRef> refs;
  for (const NamedTensor &t : ts)
    refs.push_back({t.name, &t.tensor});
  return saveSafetensors(path, refs, {{"format", "pt"}, {"producer", "dlc"}});
}

TEST(DataSafetensorsInterop, PurePythonReaderAgrees) {
  std::string python = findPython("json, struct, array");
  if (python.empty()) GTEST_SKIP() << "python3 is not available";
  TempDir dir;
  ASSERT_TRUE(saveSample(dir.file("m.safetensors")).ok());
  writeFile(dir.file("read.py"), std::string(kPyReader) + R"PY(
meta, ts = read(sys.argv[1])
print(sorted(meta.items()))
for k in sorted(ts):
    print(k, ts[k][0], ts[k][1], ts[k][2])
)PY");
  std::string out;
  ASSERT_EQ(
      runPython(python, dir, fmt::format("'{}' '{}'", dir.file("read.py"), dir.file("m.safetensors")), out),
      0)
      << out;
  EXPECT_EQ(out, "[('format', 'pt'), ('producer', 'dlc')]\n"
                 "fc1.bias F64 [2] [0.125, -7.0]\n"
                 "fc1.weight F32 [2, 3] [1.5, -2.0, 0.0, 3.25, 1024.0, -0.5]\n"
                 "labels I32 [3] [-2147483648, 0, 9]\n"
                 "mask BOOL [3] [1, 0, 1]\n"
                 "step I64 [] [9223372036854775807]\n");
}

TEST(DataSafetensorsInterop, ReadsAFileWrittenByPython) {
  std::string python = findPython("json, struct, array");
  if (python.empty()) GTEST_SKIP() << "python3 is not available";
  TempDir dir;
  // Written as Hugging Face does: keys sorted by name, data sorted by dtype size.
  writeFile(dir.file("write.py"), R"PY(
import json, struct, sys
ts = [("b.f64", "F64", [2], struct.pack("<2d", 0.5, -3.0)),
      ("a.i64", "I64", [1], struct.pack("<q", -5)),
      ("z.f32", "F32", [2, 2], struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)),
      ("c.i32", "I32", [], struct.pack("<i", 77)),
      ("m.bool", "BOOL", [2], bytes([0, 1]))]
header, data = {"__metadata__": {"format": "pt"}}, b""
for name, dtype, shape, raw in ts:
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
    data += raw
text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
text += b" " * ((8 - (8 + len(text)) % 8) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(text)) + text + data)
)PY");
  std::string out;
  ASSERT_EQ(
      runPython(python, dir, fmt::format("'{}' '{}'", dir.file("write.py"), dir.file("py.safetensors")), out),
      0)
      << out;
  Expected<Checkpoint> c = loadSafetensors(dir.file("py.safetensors"));
  ASSERT_TRUE(c.ok()) << c.error().str();
  ASSERT_EQ(c->tensors.size(), 5u);
  EXPECT_EQ(c->tensors[0].name, "b.f64");  // data order, not key order
  EXPECT_EQ(*c->find("b.f64"), HostTensor::fromVector<double>({2}, {0.5, -3.0}));
  EXPECT_EQ(*c->find("a.i64"), HostTensor::fromVector<int64_t>({1}, {-5}));
  EXPECT_EQ(*c->find("z.f32"), HostTensor::fromVector<float>({2, 2}, {1, 2, 3, 4}));
  EXPECT_EQ(*c->find("c.i32"), HostTensor::fromVector<int32_t>({}, {77}));
  EXPECT_EQ(*c->find("m.bool"), HostTensor::fromVector<uint8_t>({2}, {0, 1}));
  EXPECT_EQ(c->metadata, (Metadata{{"format", "pt"}}));
}

TEST(DataSafetensorsInterop, HuggingFaceReaderLoadsOurCheckpoint) {
  std::string python = findPython("numpy, safetensors.numpy");
  if (python.empty()) GTEST_SKIP() << "the `safetensors` and `numpy` Python packages are not importable";
  TempDir dir;
  ASSERT_TRUE(saveSample(dir.file("m.safetensors")).ok());
  writeFile(dir.file("hf_read.py"), R"PY(
import sys, numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file
ts = load_file(sys.argv[1])
with safe_open(sys.argv[1], "np") as f:
    assert f.metadata() == {"format": "pt", "producer": "dlc"}, f.metadata()
expected = {
    "fc1.weight": np.array([[1.5, -2.0, 0.0], [3.25, 1024.0, -0.5]], dtype=np.float32),
    "fc1.bias": np.array([0.125, -7.0], dtype=np.float64),
    "step": np.array(2**63 - 1, dtype=np.int64),
    "labels": np.array([-2**31, 0, 9], dtype=np.int32),
    "mask": np.array([True, False, True]),
}
assert sorted(ts) == sorted(expected), sorted(ts)
for k, v in expected.items():
    assert ts[k].dtype == v.dtype and ts[k].shape == v.shape and (ts[k] == v).all(), (k, ts[k], v)
print("ok")
)PY");
  std::string out;
  ASSERT_EQ(runPython(python, dir,
                      fmt::format("'{}' '{}'", dir.file("hf_read.py"), dir.file("m.safetensors")), out),
            0)
      << out;
  EXPECT_EQ(out, "ok\n");
}

TEST(DataSafetensorsInterop, WeLoadAHuggingFaceCheckpoint) {
  std::string python = findPython("numpy, safetensors.numpy");
  if (python.empty()) GTEST_SKIP() << "the `safetensors` and `numpy` Python packages are not importable";
  TempDir dir;
  writeFile(dir.file("hf_write.py"), R"PY(
import sys, numpy as np
from safetensors.numpy import save_file
save_file({"w": np.arange(6, dtype=np.float32).reshape(2, 3), "d": np.array([0.5], dtype=np.float64),
           "n": np.array([3], dtype=np.int64), "i": np.array(-4, dtype=np.int32),
           "flag": np.array([False, True, True])}, sys.argv[1], metadata={"format": "np"})
)PY");
  std::string out;
  ASSERT_EQ(runPython(python, dir,
                      fmt::format("'{}' '{}'", dir.file("hf_write.py"), dir.file("hf.safetensors")), out),
            0)
      << out;
  Expected<Checkpoint> c = loadSafetensors(dir.file("hf.safetensors"));
  ASSERT_TRUE(c.ok()) << c.error().str();
  EXPECT_EQ(*c->find("w"), HostTensor::fromVector<float>({2, 3}, {0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(*c->find("d"), HostTensor::fromVector<double>({1}, {0.5}));
  EXPECT_EQ(*c->find("n"), HostTensor::fromVector<int64_t>({1}, {3}));
  EXPECT_EQ(*c->find("i"), HostTensor::fromVector<int32_t>({}, {-4}));
  EXPECT_EQ(*c->find("flag"), HostTensor::fromVector<uint8_t>({3}, {0, 1, 1}));
  EXPECT_EQ(c->metadata, (Metadata{{"format", "np"}}));
}

TEST(DataSafetensorsInterop, PyTorchLoadsOurCheckpoint) {
  std::string python = findPython("torch");
  if (python.empty())
    GTEST_SKIP()
        << "PyTorch is not importable (`python3 -c \"import torch\"` fails, also with /usr/bin/python3); "
           "the pure-Python reader test covers the format";
  bool haveSafetensors =
      std::system(fmt::format("'{}' -c 'import safetensors.torch' > /dev/null 2>&1", python).c_str()) == 0;
  TempDir dir;
  ASSERT_TRUE(saveSample(dir.file("m.safetensors")).ok());
  writeFile(dir.file("torch_read.py"), std::string(kPyReader) + R"PY(
import torch
path, use_pkg = sys.argv[1], sys.argv[2] == "1"
if use_pkg:
    from safetensors.torch import load_file
    ts = load_file(path)
else:
    DT = {"F32": torch.float32, "F64": torch.float64, "I32": torch.int32, "I64": torch.int64, "BOOL": torch.bool}
    blob = open(path, "rb").read()
    (n,) = struct.unpack_from("<Q", blob, 0)
    _, parsed = read(path)
    ts = {}
    for k, (dtype, shape, _, begin) in parsed.items():
        size = torch.empty(0, dtype=DT[dtype]).element_size()
        count = 1
        for d in shape:
            count *= d
        raw = bytearray(blob[8 + n + begin: 8 + n + begin + count * size])
        ts[k] = torch.frombuffer(raw, dtype=DT[dtype]).reshape(shape).clone()
expected = {
    "fc1.weight": torch.tensor([[1.5, -2.0, 0.0], [3.25, 1024.0, -0.5]], dtype=torch.float32),
    "fc1.bias": torch.tensor([0.125, -7.0], dtype=torch.float64),
    "step": torch.tensor(2**63 - 1, dtype=torch.int64),
    "labels": torch.tensor([-2**31, 0, 9], dtype=torch.int32),
    "mask": torch.tensor([True, False, True]),
}
assert sorted(ts) == sorted(expected), sorted(ts)
for k, v in expected.items():
    assert ts[k].dtype == v.dtype and ts[k].shape == v.shape and torch.equal(ts[k], v), (k, ts[k], v)
print("ok")
)PY");
  std::string out;
  ASSERT_EQ(runPython(python, dir,
                      fmt::format("'{}' '{}' {}", dir.file("torch_read.py"), dir.file("m.safetensors"),
                                  haveSafetensors ? 1 : 0),
                      out),
            0)
      << out;
  EXPECT_EQ(out, "ok\n");
  if (!haveSafetensors)
    std::printf("note: the `safetensors` package is not importable; PyTorch read the file through the "
                "pure-Python parser\n");
}

TEST(DataSafetensorsInterop, WeLoadAPyTorchCheckpoint) {
  std::string python = findPython("safetensors, safetensors.torch");
  if (python.empty())
    GTEST_SKIP() << "needs PyTorch and the `safetensors` Python package importable together";
  TempDir dir;
  writeFile(dir.file("torch_write.py"), R"PY(
import sys, torch
from safetensors.torch import save_file
save_file({"w": torch.arange(6, dtype=torch.float32).reshape(2, 3), "n": torch.tensor([3], dtype=torch.int64),
           "flag": torch.tensor([False, True])}, sys.argv[1], metadata={"format": "pt"})
)PY");
  std::string out;
  ASSERT_EQ(runPython(python, dir,
                      fmt::format("'{}' '{}'", dir.file("torch_write.py"), dir.file("t.safetensors")), out),
            0)
      << out;
  Expected<Checkpoint> c = loadSafetensors(dir.file("t.safetensors"));
  ASSERT_TRUE(c.ok()) << c.error().str();
  EXPECT_EQ(*c->find("w"), HostTensor::fromVector<float>({2, 3}, {0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(*c->find("n"), HostTensor::fromVector<int64_t>({1}, {3}));
  EXPECT_EQ(*c->find("flag"), HostTensor::fromVector<uint8_t>({2}, {0, 1}));
}

}  // namespace
}  // namespace dlc::data
