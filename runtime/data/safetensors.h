//===- runtime/data/safetensors.h - checkpoints in the safetensors format --===//
//
// The safetensors format (Hugging Face; readable by PyTorch, JAX and HF tools):
//
//   u64 little-endian N | N bytes of JSON header | raw tensor data
//
// The header is {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [2,3],
// "data_offsets": [begin, end]}, ...}; offsets are relative to the start of the data
// and the data is little-endian, row-major. Supported dtypes: F32, F64, I32, I64 and
// BOOL (dlc's i1, one byte 0/1).
//
// Writing: tensors are laid out in the caller's order, the header lists them in the
// same order (after "__metadata__", omitted when empty), compact JSON padded with
// spaces so that the data starts at an 8-byte-aligned offset. The format allows no gaps
// between tensors, so a tensor is aligned to its element size only if those before it
// keep it so: list wider dtypes first (as Hugging Face's writer does) where readers
// that map the file need aligned tensors; readers that copy do not. Saving is atomic: the
// file is written to `<path>.tmp.<pid>` in the same directory, fsynced and renamed over
// the target, then the directory is fsynced. On failure the target is untouched and
// the temporary file removed. Do not save to one path from two threads at once.
//
// Reading validates everything before trusting it, and returns an Error naming the file
// (never crashes or reads out of bounds) for: a file shorter than 8 bytes, a header
// length over kMaxHeaderBytes or past the end of the file, malformed JSON, unknown
// fields or dtypes, bad shapes, offsets with begin > end or past the data, a byte
// size that does not match dtype x shape, and data ranges that overlap, leave holes or
// do not cover the data exactly (as the format requires). Header keys may come in any
// order (Hugging Face writes them sorted by name, data sorted by dtype); tensors are
// returned in data order. BOOL bytes other than 0 and 1 are rejected.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ir/diagnostic.h"
#include "ir/host_tensor.h"

namespace dlc::data {

/// The largest JSON header accepted on load. Hugging Face's reader allows 100 MB; 16 MiB
/// still holds ~200k tensor entries and bounds the parser's memory on hostile input.
inline constexpr uint64_t kMaxHeaderBytes = 16u << 20;

/// "F32", "F64", "I32", "I64", "BOOL".
std::string_view safetensorsDTypeName(DType d);
std::optional<DType> dtypeFromSafetensorsName(std::string_view s);

/// A tensor to save: a name and a tensor that outlives the save call.
struct TensorRef {
  std::string name;
  const HostTensor *tensor = nullptr;
};

/// Free-form string metadata stored under "__metadata__" (written sorted by key).
using Metadata = std::map<std::string, std::string>;

struct NamedTensor {
  std::string name;
  HostTensor tensor;
};

/// The contents of a safetensors file.
struct Checkpoint {
  /// In data order (for files dlc wrote: the order they were saved in).
  std::vector<NamedTensor> tensors;
  Metadata metadata;
  /// The file it was read from (for messages).
  std::string source;

  /// The tensor named \p name, or nullptr.
  const HostTensor *find(std::string_view name) const;
  /// References to every tensor, for saving a loaded checkpoint again.
  std::vector<TensorRef> refs() const;
};

/// The whole file as bytes. Fails on empty, duplicate or reserved ("__metadata__") names.
Expected<std::string> encodeSafetensors(std::span<const TensorRef> tensors, const Metadata &metadata = {});

/// Parses the bytes of a whole file; \p source names it in error messages.
Expected<Checkpoint> decodeSafetensors(std::string_view bytes, const std::string &source);

/// Writes \p tensors to \p path atomically (see the file comment).
Expected<void> saveSafetensors(const std::string &path, std::span<const TensorRef> tensors,
                               const Metadata &metadata = {});

/// Reads \p path, streaming each tensor straight into its HostTensor.
Expected<Checkpoint> loadSafetensors(const std::string &path);

/// Checks \p loaded against the tensors a model expects (name -> type). The Error lists
/// every missing name, every unexpected name and every type (dtype or shape) mismatch.
Expected<void> checkCompatible(const std::map<std::string, TensorType> &expected, const Checkpoint &loaded);

}  // namespace dlc::data
