// Type-agnostic tensor pieces for the control-flow and sequence kernels: taking one index or a
// range along an axis, and joining tensors along an axis (existing or new). Strings are copied
// element by element; sub-byte types are rejected.
#pragma once

#include <algorithm>
#include <cstring>
#include <vector>

#include "execution_providers/cpu/common.h"

namespace ferry::ep::cpu {

inline size_t element_bytes(DataType dt) {
  if (dt == DataType::kString) return sizeof(std::string);
  const size_t bits = dtype_bits(dt);
  if (bits < 8 || bits % 8 != 0)
    throw Error(ErrorCode::kNotImplemented, "element type '" + std::string(dtype_name(dt)) +
                                                "' is not supported here (sub-byte storage)");
  return bits / 8;
}

/// Copies `count` elements from src (from element `src_at`) into dst (from `dst_at`).
inline void copy_span(const Tensor& src, int64_t src_at, Tensor& dst, int64_t dst_at, int64_t count) {
  if (count <= 0) return;
  if (src.dtype() == DataType::kString) {
    std::copy_n(src.data<std::string>() + src_at, count, dst.data<std::string>() + dst_at);
    return;
  }
  const size_t es = element_bytes(src.dtype());
  std::memcpy(static_cast<uint8_t*>(dst.raw_data()) + dst_at * es,
              static_cast<const uint8_t*>(src.raw_data()) + src_at * es, static_cast<size_t>(count) * es);
}

/// Elements [begin, begin + len) along `axis`, as an owned tensor; the axis is kept, or dropped
/// when `drop_axis` (len must then be 1).
inline Tensor slice_axis(const Tensor& t, size_t axis, int64_t begin, int64_t len, bool drop_axis) {
  std::vector<int64_t> shape = t.shape();
  const int64_t outer = product(shape, 0, axis), dim = shape[axis];
  const int64_t inner = product(shape, axis + 1, shape.size());
  if (drop_axis) shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(axis));
  else shape[axis] = len;
  Tensor out = Tensor::empty(t.dtype(), std::move(shape));
  for (int64_t o = 0; o < outer; ++o)
    copy_span(t, (o * dim + begin) * inner, out, o * len * inner, len * inner);
  return out;
}

/// Joins `parts` along `axis`: an existing axis (concat) or, with `new_axis`, a new one inserted
/// at `axis` (stack). Every part must have the same dtype and the same shape off the axis.
inline Tensor join_axis(const std::vector<Tensor>& parts, size_t axis, bool new_axis, DataType dtype,
                        const std::string& what) {
  if (parts.empty()) throw Error(ErrorCode::kInvalidArgument, what + ": nothing to join");
  std::vector<int64_t> base = parts[0].shape();
  if (new_axis) base.insert(base.begin() + static_cast<std::ptrdiff_t>(axis), 1);
  if (axis >= base.size())
    throw Error(ErrorCode::kInvalidArgument, what + ": axis " + std::to_string(axis) + " is out of range");
  int64_t total = 0;
  for (const Tensor& p : parts) {
    std::vector<int64_t> s = p.shape();
    if (new_axis) s.insert(s.begin() + static_cast<std::ptrdiff_t>(std::min(axis, s.size())), 1);
    bool same = p.dtype() == dtype && s.size() == base.size();
    for (size_t d = 0; same && d < s.size(); ++d)
      if (d != axis && s[d] != base[d]) same = false;
    if (!same)
      throw Error(ErrorCode::kInvalidArgument, what + ": element " + p.describe() + " does not match " +
                                                   parts[0].describe() + " off axis " + std::to_string(axis));
    total += s[axis];
  }
  std::vector<int64_t> shape = base;
  shape[axis] = total;
  Tensor out = Tensor::empty(dtype, shape);
  const int64_t outer = product(shape, 0, axis), inner = product(shape, axis + 1, shape.size());
  int64_t at = 0;
  for (const Tensor& p : parts) {
    const int64_t len = new_axis ? 1 : p.dim(axis);
    for (int64_t o = 0; o < outer; ++o)
      copy_span(p, o * len * inner, out, (o * total + at) * inner, len * inner);
    at += len;
  }
  return out;
}

inline Tensor scalar_bool(bool v) {
  Tensor t = Tensor::empty(DataType::kBool, {});
  *t.data<bool>() = v;
  return t;
}

inline Tensor scalar_int64(int64_t v) {
  Tensor t = Tensor::empty(DataType::kInt64, {});
  *t.data<int64_t>() = v;
  return t;
}

/// The single value of a 1-element int32/int64 tensor.
inline int64_t read_index(const Tensor& t, const char* what) {
  if (t.element_count() != 1 || (t.dtype() != DataType::kInt64 && t.dtype() != DataType::kInt32))
    throw Error(ErrorCode::kInvalidArgument,
                std::string(what) + " must be a single int32/int64 value, got " + t.describe());
  return t.dtype() == DataType::kInt64 ? *t.data<int64_t>() : *t.data<int32_t>();
}

}  // namespace ferry::ep::cpu
