// ferry::Tensor: a typed, shaped block of memory. One type serves the public API, model
// initializers in the IR and kernels alike.
//
// A Tensor is a cheap handle: copying it shares the storage (like std::shared_ptr); use
// clone() for a deep copy. Storage is either owned (allocated by Ferry, 64-byte aligned, or
// any buffer kept alive by a shared keeper such as a memory-mapped file) or borrowed (a view
// over memory the caller owns and must keep alive while the tensor is in use).
// Strings are stored as an array of std::string objects. Sub-byte types (int4, uint4,
// float4e2m1, int2, uint2) are packed, low bits first, as in ONNX.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ferry/dtype.h"
#include "ferry/error.h"

namespace ferry {

/// Number of elements of a shape (1 for a scalar). Throws kInvalidArgument for a negative dim
/// or when the product overflows int64.
int64_t shape_element_count(std::span<const int64_t> shape);

/// "[2,3,224,224]"
std::string shape_to_string(std::span<const int64_t> shape);

class Tensor {
 public:
  /// An empty handle: dtype kUndefined, no data. `defined()` is false.
  Tensor() = default;

  /// Owned, zero-initialised storage (strings: empty strings). Throws kInvalidArgument for a
  /// negative dim and kRuntime when the size exceeds `max_allocation_bytes()`.
  static Tensor zeros(DataType dtype, std::vector<int64_t> shape);
  /// Owned, uninitialised storage (strings are still constructed empty).
  static Tensor empty(DataType dtype, std::vector<int64_t> shape);
  /// Borrowed view over caller memory; nothing is copied and nothing is freed.
  static Tensor view(DataType dtype, std::vector<int64_t> shape, void* data);
  /// Shares `keeper`'s lifetime: the data stays valid as long as any handle does.
  static Tensor wrap(DataType dtype, std::vector<int64_t> shape, void* data,
                     std::shared_ptr<void> keeper);
  /// Owned copy of `values` (T must match dtype's C++ type).
  template <typename T>
  static Tensor from_vector(DataType dtype, std::vector<int64_t> shape, const std::vector<T>& values);
  /// Owned copy of `bytes` interpreted as `dtype` (not for strings). Throws kInvalidArgument
  /// when the byte count disagrees with the shape.
  static Tensor from_bytes(DataType dtype, std::vector<int64_t> shape, const void* bytes, size_t byte_count);

  bool defined() const { return dtype_ != DataType::kUndefined; }
  DataType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  size_t rank() const { return shape_.size(); }
  int64_t dim(size_t i) const { return shape_[i]; }
  int64_t element_count() const { return element_count_; }
  size_t byte_size() const { return dtype_storage_bytes(dtype_, static_cast<size_t>(element_count_)); }
  bool is_borrowed() const { return !keeper_ && data_ != nullptr; }

  void* raw_data() { return data_; }
  const void* raw_data() const { return data_; }
  template <typename T> T* data() { return static_cast<T*>(data_); }
  template <typename T> const T* data() const { return static_cast<const T*>(data_); }
  template <typename T> std::span<T> span() { return {data<T>(), static_cast<size_t>(element_count_)}; }
  template <typename T> std::span<const T> span() const { return {data<T>(), static_cast<size_t>(element_count_)}; }

  /// Same storage, another shape with the same element count (a view, no copy).
  Tensor reshaped(std::vector<int64_t> new_shape) const;
  /// Deep copy into owned storage.
  Tensor clone() const;
  /// "float[1,3,224,224]"
  std::string describe() const;

  /// Upper bound for a single owned allocation (default 64 GiB, overridable with the
  /// FERRY_MAX_ALLOCATION_BYTES environment variable); protects against absurd dims.
  static size_t max_allocation_bytes();

 private:
  DataType dtype_ = DataType::kUndefined;
  std::vector<int64_t> shape_;
  int64_t element_count_ = 0;
  void* data_ = nullptr;
  std::shared_ptr<void> keeper_;
};

template <typename T>
Tensor Tensor::from_vector(DataType dtype, std::vector<int64_t> shape, const std::vector<T>& values) {
  Tensor t = empty(dtype, std::move(shape));
  if (static_cast<int64_t>(values.size()) != t.element_count())
    throw Error(ErrorCode::kInvalidArgument, "from_vector: " + std::to_string(values.size()) +
                                                 " values for shape " + shape_to_string(t.shape()));
  T* out = t.data<T>();
  for (size_t i = 0; i < values.size(); ++i) out[i] = values[i];
  return t;
}

}  // namespace ferry
