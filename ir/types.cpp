//===- ir/types.cpp - element types, shapes and tensor types ---------------===//
#include "ir/types.h"

#include "ir/op_kind.h"

namespace dlc {

std::string_view dtypeName(DType t) {
  switch (t) {
  case DType::F32: return "f32";
  case DType::F64: return "f64";
  case DType::I32: return "i32";
  case DType::I64: return "i64";
  case DType::I1: return "i1";
  }
  return "?";
}

std::optional<DType> dtypeFromName(std::string_view s) {
  for (DType t : {DType::F32, DType::F64, DType::I32, DType::I64, DType::I1})
    if (dtypeName(t) == s) return t;
  return std::nullopt;
}

int64_t dtypeSize(DType t) {
  switch (t) {
  case DType::F32: return 4;
  case DType::F64: return 8;
  case DType::I32: return 4;
  case DType::I64: return 8;
  case DType::I1: return 1;
  }
  return 0;
}

std::optional<int64_t> numElements(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) return std::nullopt;
    if (d != 0 && n > INT64_MAX / d) return std::nullopt;
    n *= d;
  }
  return n;
}

std::vector<int64_t> rowMajorStrides(const Shape &s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int64_t i = static_cast<int64_t>(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

std::string shapeString(const Shape &s) { return fmt::format("[{}]", fmt::join(s, ",")); }

int64_t TensorType::numElements() const { return dlc::numElements(shape).value_or(-1); }

std::string typeString(const TensorType &t) {
  return fmt::format("{}{}", dtypeName(t.dtype), shapeString(t.shape));
}

std::optional<OpKind> opKindFromMnemonic(std::string_view m) {
  for (int i = 0; i < kNumOps; ++i)
    if (kOpInfo[i].mnemonic == m) return opKindAt(i);
  return std::nullopt;
}

}  // namespace dlc
