//===- ir/types.h - element types, shapes and tensor types -----------------===//
//
// Every SSA value has a TensorType: an element type and a static shape. A shape of
// rank zero is a scalar. Text spelling: `f32[128,784]`, `i32[128]`, `f32[]`.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace dlc {

/// Element types. i1 is the boolean produced by `compare` and consumed by `select`.
enum class DType : uint8_t { F32, F64, I32, I64, I1 };

std::string_view dtypeName(DType t);
std::optional<DType> dtypeFromName(std::string_view s);
/// Size in bytes of one element (i1 is stored as one byte).
int64_t dtypeSize(DType t);
inline bool isFloat(DType t) { return t == DType::F32 || t == DType::F64; }
inline bool isInteger(DType t) { return t == DType::I32 || t == DType::I64; }

/// A static shape: the extent of each dimension, outermost first.
using Shape = std::vector<int64_t>;

/// Number of elements of \p s, or nullopt when the product overflows int64.
std::optional<int64_t> numElements(const Shape &s);
/// Row-major strides of \p s, in elements.
std::vector<int64_t> rowMajorStrides(const Shape &s);
/// `[2,3]`
std::string shapeString(const Shape &s);

/// The type of every SSA value.
struct TensorType {
  DType dtype = DType::F32;
  Shape shape;

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  /// Element count; the verifier guarantees it fits in int64 for verified IR.
  int64_t numElements() const;
  int64_t numBytes() const { return numElements() * dtypeSize(dtype); }
  bool isScalar() const { return shape.empty(); }
  friend bool operator==(const TensorType &, const TensorType &) = default;
};

/// `f32[128,784]`
std::string typeString(const TensorType &t);

inline TensorType f32(Shape s) { return {DType::F32, std::move(s)}; }
inline TensorType f64(Shape s) { return {DType::F64, std::move(s)}; }
inline TensorType i32(Shape s) { return {DType::I32, std::move(s)}; }
inline TensorType i64(Shape s) { return {DType::I64, std::move(s)}; }
inline TensorType i1(Shape s) { return {DType::I1, std::move(s)}; }

}  // namespace dlc

template <> struct fmt::formatter<dlc::DType> : fmt::formatter<std::string_view> {
  auto format(dlc::DType t, format_context &ctx) const {
    return fmt::formatter<std::string_view>::format(dlc::dtypeName(t), ctx);
  }
};
template <> struct fmt::formatter<dlc::TensorType> : fmt::formatter<std::string_view> {
  auto format(const dlc::TensorType &t, format_context &ctx) const {
    return fmt::formatter<std::string_view>::format(dlc::typeString(t), ctx);
  }
};
