//===- ir/host_tensor.cpp - a tensor's data in host memory ----------------===//
#include "ir/host_tensor.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dlc {

HostTensor::HostTensor(TensorType t) : type_(std::move(t)) {
  std::optional<int64_t> n = dlc::numElements(type_.shape);
  DL_ASSERT(n.has_value(), "tensor size overflows");
  numElements_ = *n;
  bytes_.assign(static_cast<size_t>(numElements_ * dtypeSize(type_.dtype)), std::byte{0});
}

HostTensor HostTensor::uninitialized(TensorType t) {
  HostTensor h;
  std::optional<int64_t> n = dlc::numElements(t.shape);
  DL_ASSERT(n.has_value(), "tensor size overflows");
  h.numElements_ = *n;
  h.bytes_.resize(static_cast<size_t>(h.numElements_ * dtypeSize(t.dtype)));
#ifndef NDEBUG
  std::fill(h.bytes_.begin(), h.bytes_.end(), std::byte{0xA5});
#endif
  h.type_ = std::move(t);
  return h;
}

HostTensor HostTensor::full(TensorType t, double value) {
  HostTensor h(std::move(t));
  for (int64_t i = 0; i < h.numElements(); ++i) h.setDouble(i, value);
  return h;
}

double HostTensor::getDouble(int64_t i) const {
  return dispatchDType(type_.dtype, [&]<class T>() { return static_cast<double>(data<T>()[i]); });
}

/// Converts \p v to T as `cast` does: floats round to nearest; to integers, truncation
/// toward zero with NaN -> 0 and saturation at the type's limits; to i1, v != 0.
template <class T> static T convertFromDouble(double v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else if constexpr (std::is_same_v<T, uint8_t>) {
    return v != 0.0 ? 1 : 0;
  } else {
    if (std::isnan(v)) return 0;
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  }
}

void HostTensor::setDouble(int64_t i, double v) {
  dispatchDType(type_.dtype, [&]<class T>() { data<T>()[i] = convertFromDouble<T>(v); });
}

HostTensor HostTensor::castTo(DType d) const {
  HostTensor out(TensorType{d, type_.shape});
  if (type_.dtype == DType::I64 && d == DType::I32) {  // exact, without going through double
    auto src = data<int64_t>();
    auto dst = out.data<int32_t>();
    for (int64_t i = 0; i < numElements_; ++i)
      dst[i] = static_cast<int32_t>(std::clamp<int64_t>(src[i], INT32_MIN, INT32_MAX));
    return out;
  }
  for (int64_t i = 0; i < numElements_; ++i) out.setDouble(i, getDouble(i));
  return out;
}

std::string formatTensor(const HostTensor &t, int64_t maxElements) {
  std::string out = typeString(t.type()) + " [";
  int64_t n = std::min(t.numElements(), maxElements);
  for (int64_t i = 0; i < n; ++i) {
    if (i) out += ", ";
    out += fmt::format("{}", t.getDouble(i));
  }
  if (n < t.numElements()) out += fmt::format(", ... ({} more)", t.numElements() - n);
  return out + "]";
}

}  // namespace dlc
