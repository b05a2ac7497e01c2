#include "ferry/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace ferry {

int64_t shape_element_count(std::span<const int64_t> shape) {
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0)
      throw Error(ErrorCode::kInvalidArgument,
                  "shape " + shape_to_string(shape) + " has a negative dimension");
    if (__builtin_mul_overflow(count, d, &count))
      throw Error(ErrorCode::kInvalidArgument,
                  "shape " + shape_to_string(shape) + " has more elements than int64 can count");
  }
  return count;
}

std::string shape_to_string(std::span<const int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

size_t Tensor::max_allocation_bytes() {
  constexpr size_t kDefault = size_t{64} << 30;
  const char* env = std::getenv("FERRY_MAX_ALLOCATION_BYTES");
  if (!env || !*env) return kDefault;
  char* end = nullptr;
  unsigned long long v = std::strtoull(env, &end, 10);
  if (end == env || *end != '\0') return kDefault;
  return static_cast<size_t>(v);
}

namespace {

constexpr size_t kAlignment = 64;

void check_dtype(DataType dtype) {
  if (!is_known_dtype_code(static_cast<int32_t>(dtype)))
    throw Error(ErrorCode::kInvalidArgument,
                "tensor element type code " + std::to_string(static_cast<int32_t>(dtype)) + " is not valid");
}

// Allocates owned, 64-byte aligned storage for `count` elements; strings are constructed.
std::shared_ptr<void> allocate(DataType dtype, const std::vector<int64_t>& shape, int64_t count, bool zero) {
  const size_t bytes = dtype_storage_bytes(dtype, static_cast<size_t>(count));
  if (bytes > Tensor::max_allocation_bytes())
    throw Error(ErrorCode::kRuntime, "tensor " + std::string(dtype_name(dtype)) + shape_to_string(shape) +
                                         " needs " + std::to_string(bytes) +
                                         " bytes, more than the allocation limit of " +
                                         std::to_string(Tensor::max_allocation_bytes()) +
                                         " bytes (FERRY_MAX_ALLOCATION_BYTES)");
  const size_t alloc = (bytes + kAlignment - 1) / kAlignment * kAlignment + (bytes == 0 ? kAlignment : 0);
  void* p = ::operator new(alloc, std::align_val_t(kAlignment), std::nothrow);
  if (!p)
    throw Error(ErrorCode::kRuntime, "out of memory allocating " + std::to_string(bytes) + " bytes for tensor " +
                                         std::string(dtype_name(dtype)) + shape_to_string(shape));
  if (dtype == DataType::kString) {
    auto* strs = static_cast<std::string*>(p);
    for (int64_t i = 0; i < count; ++i) new (strs + i) std::string();
    return std::shared_ptr<void>(p, [count](void* q) {
      auto* s = static_cast<std::string*>(q);
      for (int64_t i = 0; i < count; ++i) s[i].~basic_string();
      ::operator delete(q, std::align_val_t(kAlignment));
    });
  }
  if (zero) std::memset(p, 0, alloc);
  return std::shared_ptr<void>(p, [](void* q) { ::operator delete(q, std::align_val_t(kAlignment)); });
}

}  // namespace


Tensor Tensor::zeros(DataType dtype, std::vector<int64_t> shape) {
  check_dtype(dtype);
  Tensor t;
  t.element_count_ = shape_element_count(shape);
  t.keeper_ = allocate(dtype, shape, t.element_count_, true);
  t.data_ = t.keeper_.get();
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::empty(DataType dtype, std::vector<int64_t> shape) {
  check_dtype(dtype);
  Tensor t;
  t.element_count_ = shape_element_count(shape);
  t.keeper_ = allocate(dtype, shape, t.element_count_, false);
  t.data_ = t.keeper_.get();
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::view(DataType dtype, std::vector<int64_t> shape, void* data) {
  check_dtype(dtype);
  Tensor t;
  t.element_count_ = shape_element_count(shape);
  if (!data && t.element_count_ > 0)
    throw Error(ErrorCode::kInvalidArgument, "Tensor::view of " + shape_to_string(shape) + " over a null pointer");
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = data;
  return t;
}

Tensor Tensor::wrap(DataType dtype, std::vector<int64_t> shape, void* data, std::shared_ptr<void> keeper) {
  Tensor t = view(dtype, std::move(shape), data);
  t.keeper_ = keeper ? std::move(keeper) : std::shared_ptr<void>(data, [](void*) {});
  return t;
}

Tensor Tensor::from_bytes(DataType dtype, std::vector<int64_t> shape, const void* bytes, size_t byte_count) {
  if (dtype == DataType::kString)
    throw Error(ErrorCode::kInvalidArgument, "Tensor::from_bytes cannot create string tensors");
  check_dtype(dtype);
  const int64_t count = shape_element_count(shape);
  const size_t expected = dtype_storage_bytes(dtype, static_cast<size_t>(count));
  if (expected != byte_count)
    throw Error(ErrorCode::kInvalidArgument, std::string(dtype_name(dtype)) + shape_to_string(shape) + " needs " +
                                                 std::to_string(expected) + " bytes, got " +
                                                 std::to_string(byte_count));
  Tensor t = empty(dtype, std::move(shape));
  if (byte_count) std::memcpy(t.data_, bytes, byte_count);
  return t;
}

Tensor Tensor::reshaped(std::vector<int64_t> new_shape) const {
  const int64_t count = shape_element_count(new_shape);
  if (count != element_count_)
    throw Error(ErrorCode::kInvalidArgument, "cannot reshape " + describe() + " to " + shape_to_string(new_shape) +
                                                 ": element counts differ");
  Tensor t = *this;
  t.shape_ = std::move(new_shape);
  return t;
}

Tensor Tensor::clone() const {
  if (!defined()) return Tensor();
  Tensor t = empty(dtype_, shape_);
  if (dtype_ == DataType::kString) {
    const auto* src = data<std::string>();
    auto* dst = t.data<std::string>();
    for (int64_t i = 0; i < element_count_; ++i) dst[i] = src[i];
  } else if (byte_size()) {
    std::memcpy(t.data_, data_, byte_size());
  }
  return t;
}

std::string Tensor::describe() const { return std::string(dtype_name(dtype_)) + shape_to_string(shape_); }

}  // namespace ferry
