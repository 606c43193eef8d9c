//===- ir/host_tensor.h - a tensor's data in host memory ------------------===//
//
// HostTensor owns the elements of one tensor of a static TensorType, row-major. It is
// what the reference interpreter computes on, what constants fold into and what a user
// passes to and reads from a compiled step. Element storage per dtype:
// f32 float, f64 double, i32 int32_t, i64 int64_t, i1 uint8_t (0 or 1).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <utility>
#include <vector>

#include "ir/diagnostic.h"
#include "ir/types.h"

namespace dlc {

/// The C++ element type that stores dtype \p D.
template <DType D> struct DTypeTraits;
template <> struct DTypeTraits<DType::F32> { using type = float; };
template <> struct DTypeTraits<DType::F64> { using type = double; };
template <> struct DTypeTraits<DType::I32> { using type = int32_t; };
template <> struct DTypeTraits<DType::I64> { using type = int64_t; };
template <> struct DTypeTraits<DType::I1> { using type = uint8_t; };

/// The dtype stored by C++ type \p T.
template <class T> constexpr DType dtypeOf();
template <> constexpr DType dtypeOf<float>() { return DType::F32; }
template <> constexpr DType dtypeOf<double>() { return DType::F64; }
template <> constexpr DType dtypeOf<int32_t>() { return DType::I32; }
template <> constexpr DType dtypeOf<int64_t>() { return DType::I64; }
template <> constexpr DType dtypeOf<uint8_t>() { return DType::I1; }

/// Calls `f.template operator()<T>()` with the C++ element type of \p d.
template <class F> decltype(auto) dispatchDType(DType d, F &&f) {
  switch (d) {
  case DType::F32: return f.template operator()<float>();
  case DType::F64: return f.template operator()<double>();
  case DType::I32: return f.template operator()<int32_t>();
  case DType::I64: return f.template operator()<int64_t>();
  case DType::I1: return f.template operator()<uint8_t>();
  }
  DL_UNREACHABLE("bad dtype");
}

class HostTensor {
 public:
  HostTensor() = default;
  /// Zero-filled tensor of type \p t.
  explicit HostTensor(TensorType t);

  template <class T> static HostTensor fromVector(Shape s, const std::vector<T> &v) {
    HostTensor h(TensorType{dtypeOf<T>(), std::move(s)});
    DL_ASSERT(static_cast<int64_t>(v.size()) == h.numElements(), "element count mismatch");
    std::copy(v.begin(), v.end(), h.data<T>().begin());
    return h;
  }
  /// A tensor of type \p t with every element equal to \p value (converted).
  static HostTensor full(TensorType t, double value);
  /// A tensor of type \p t whose bytes are left unset, for a caller that writes all of
  /// them before any read (Executable's results: zero-filling a 1 MiB result costs as much
  /// as a small GEMM). Builds without NDEBUG fill them with 0xA5 bytes (a NaN pattern
  /// for floats), so that a test sees any byte the caller failed to write.
  static HostTensor uninitialized(TensorType t);

  const TensorType &type() const { return type_; }
  const Shape &shape() const { return type_.shape; }
  DType dtype() const { return type_.dtype; }
  int64_t numElements() const { return numElements_; }
  int64_t numBytes() const { return static_cast<int64_t>(bytes_.size()); }
  std::byte *raw() { return bytes_.data(); }
  const std::byte *raw() const { return bytes_.data(); }

  /// Typed element access; T must match the dtype.
  template <class T> std::span<T> data() {
    DL_ASSERT(dtypeOf<T>() == type_.dtype, "element type mismatch");
    return {reinterpret_cast<T *>(bytes_.data()), static_cast<size_t>(numElements_)};
  }
  template <class T> std::span<const T> data() const {
    DL_ASSERT(dtypeOf<T>() == type_.dtype, "element type mismatch");
    return {reinterpret_cast<const T *>(bytes_.data()), static_cast<size_t>(numElements_)};
  }

  /// Element \p i converted to double (exact except i64 beyond 2^53).
  double getDouble(int64_t i) const;
  /// Sets element \p i from a double, converting as `cast` does.
  void setDouble(int64_t i, double v);
  /// A copy converted to \p d with the semantics of the `cast` op.
  HostTensor castTo(DType d) const;

  /// Bitwise equality of type and bytes.
  friend bool operator==(const HostTensor &a, const HostTensor &b) {
    return a.type_ == b.type_ && a.bytes_ == b.bytes_;
  }

 private:
  TensorType type_;
  int64_t numElements_ = 0;
  /// value-initializes (zeroes) only when asked: resize() leaves the bytes unset. The
  /// bytes start on a 64-byte boundary (a cache line, one AVX-512 vector) like the
  /// executable's arena, so a kernel that writes a result tensor in place (a GEMM's C)
  /// never splits a vector store across two lines (malloc aligns to 16 only), and
  /// streaming stores find the alignment they need (codegen/loop_kernel.cpp).
  struct DefaultInitAllocator : std::allocator<std::byte> {
    static constexpr std::align_val_t kAlign{64};
    template <class U> struct rebind {
      using other = DefaultInitAllocator;
    };
    std::byte *allocate(size_t n) { return static_cast<std::byte *>(::operator new(n, kAlign)); }
    void deallocate(std::byte *p, size_t) noexcept { ::operator delete(p, kAlign); }
    template <class U> void construct(U *p) noexcept { ::new (static_cast<void *>(p)) U; }
    template <class U, class... Args> void construct(U *p, Args &&...args) {
      ::new (static_cast<void *>(p)) U(std::forward<Args>(args)...);
    }
  };
  std::vector<std::byte, DefaultInitAllocator> bytes_;
};

/// `f32[2,2] [1, 2, 3, 4]` - for test failure messages and `dlc run` output. Prints at
/// most \p maxElements elements.
std::string formatTensor(const HostTensor &t, int64_t maxElements = 64);

}  // namespace dlc
