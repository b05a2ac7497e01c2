// Shared pieces of the data-movement kernels (Slice, Split, Tile, Expand, Pad, the gathers and
// scatters, ...): sub-family registration functions, checked size arithmetic, and one copy
// engine, `map_copy`, that every "output element o reads input element map(o)" kernel uses.
//
// Errors thrown from here do not name the node: the runtime prefixes that.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "execution_providers/cpu/common.h"

namespace ferry::ep::cpu {

void register_slice_kernels(KernelRegistry& r);        // tensor/slice.cc: Slice, Split
void register_tile_kernels(KernelRegistry& r);         // tensor/tile.cc: Tile, Expand
void register_pad_kernels(KernelRegistry& r);          // tensor/pad.cc: Pad, CenterCropPad
void register_generator_kernels(KernelRegistry& r);    // tensor/generators.cc: ConstantOfShape Range Size EyeLike OneHot
void register_select_kernels(KernelRegistry& r);       // tensor/select.cc: NonZero Compress Unique
void register_scatter_kernels(KernelRegistry& r);      // tensor/scatter.cc: GatherElements GatherND Scatter*
void register_layout_kernels(KernelRegistry& r);       // tensor/layout.cc: DepthToSpace SpaceToDepth Trilu ReverseSequence
void register_col2im_kernels(KernelRegistry& r);       // tensor/col2im.cc: Col2Im

namespace tensor_ext {

[[noreturn]] inline void invalid(const std::string& msg) { throw Error(ErrorCode::kInvalidArgument, msg); }

/// a * b, or kInvalidArgument naming `what` when it overflows int64.
inline int64_t checked_mul(int64_t a, int64_t b, const std::string& what) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) invalid(what + ": size " + std::to_string(a) + " x " + std::to_string(b) + " overflows");
  return r;
}

/// Axis in [-rank, rank) made non-negative; kInvalidArgument naming `what` otherwise.
inline int64_t axis_in(int64_t axis, int64_t rank, const std::string& what) { return checked_axis(axis, rank, what); }

/// Elements of an int32/int64 tensor as int64s; kInvalidArgument naming `what` for other types.
inline std::vector<int64_t> ints_of(const Tensor& t, const std::string& what) { return read_ints(t, what); }

/// Row-major strides, in elements.
inline std::vector<int64_t> strides_of(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

/// Output element (o_0..o_k) = src[sum_d maps[d][o_d] * src_strides[d]], or `fill` when any
/// maps[d][o_d] is -1. maps[d].size() is the output dim d. Innermost contiguous runs are
/// copied as blocks.
template <typename T>
void map_copy(const T* src, const std::vector<int64_t>& src_strides, T* dst,
              const std::vector<std::vector<int64_t>>& maps, const T& fill, const runtime::ThreadPool& pool) {
  const size_t rank = maps.size();
  if (rank == 0) {
    dst[0] = src[0];
    return;
  }
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < rank; ++d) rows *= static_cast<int64_t>(maps[d].size());
  const auto& last = maps[rank - 1];
  const int64_t inner = static_cast<int64_t>(last.size());
  if (rows == 0 || inner == 0) return;
  const int64_t last_stride = src_strides[rank - 1];
  bool contiguous = last_stride == 1;
  for (int64_t i = 1; contiguous && i < inner; ++i) contiguous = last[i] == last[i - 1] + 1 && last[0] >= 0;
  if (contiguous && last[0] < 0) contiguous = false;
  // Rough ns per element: a contiguous row is one copy (about 16 GB/s, as Concat's estimate),
  // an element gathered one by one about 1.
  const double cost_per_element = contiguous ? 0.25 * static_cast<double>(sizeof(T)) / 4.0 : 1.0;
  pool.parallel_for(rows, cost_per_element * static_cast<double>(inner), [&](int64_t b, int64_t e) {
    std::vector<int64_t> idx(rank, 0);
    int64_t r = b;
    for (size_t d = rank - 1; d-- > 0;) {
      idx[d] = r % static_cast<int64_t>(maps[d].size());
      r /= static_cast<int64_t>(maps[d].size());
    }
    for (int64_t row = b; row < e; ++row) {
      T* out = dst + row * inner;
      int64_t base = 0;
      bool filled = false;
      for (size_t d = 0; d + 1 < rank; ++d) {
        const int64_t m = maps[d][static_cast<size_t>(idx[d])];
        if (m < 0) {
          filled = true;
          break;
        }
        base += m * src_strides[d];
      }
      if (filled) {
        std::fill(out, out + inner, fill);
      } else if (contiguous) {
        std::copy(src + base + last[0], src + base + last[0] + inner, out);
      } else {
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t m = last[static_cast<size_t>(i)];
          out[i] = m < 0 ? fill : src[base + m * last_stride];
        }
      }
      for (size_t d = rank - 1; d-- > 0;) {
        if (++idx[d] < static_cast<int64_t>(maps[d].size())) break;
        idx[d] = 0;
      }
    }
  });
}

/// map_copy for any byte-addressable element type; `fill` points at one element of `dtype`
/// (null: zero / empty string).
inline void map_copy_any(const Tensor& src, Tensor& dst, const std::vector<std::vector<int64_t>>& maps,
                         const void* fill, const runtime::ThreadPool& pool) {
  if (dst.element_count() == 0) return;
  visit_by_size(src.dtype(), "input", [&](auto tag) {
    using T = typename decltype(tag)::type;
    T f{};
    if (fill) f = *static_cast<const T*>(fill);
    map_copy<T>(src.data<T>(), strides_of(src.shape()), dst.data<T>(), maps, f, pool);
  });
}

/// Capability: input 0's element type is byte-addressable (or unknown at load).
inline bool input0_byte_addressable(const ir::Node& node, int64_t) {
  const ir::Value* x = node.input(0);
  return x == nullptr || byte_addressable(x->dtype());
}

}  // namespace tensor_ext
}  // namespace ferry::ep::cpu
