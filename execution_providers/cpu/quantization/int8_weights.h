// Helpers shared by the oneDNN int8 paths (int8_dnnl.h): centering constant weights by their
// zero point into int8, the QLinear output multipliers, and zero-point checks.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <vector>

#include "execution_providers/cpu/common.h"

namespace ferry::ep::cpu {

/// Centered constant weights and, for QLinear ops, the output multipliers.
struct Int8Weights {
  std::vector<int8_t> data;    ///< W - w_zero_point, in W's layout
  std::vector<int64_t> shape;  ///< W's shape
  std::vector<float> scales;   ///< QLinear: one multiplier, or one per output channel / column
  DataType src = DataType::kUndefined, dst = DataType::kUndefined;  ///< activation and output types
};

/// out.data = w - zp (zp null, a scalar, or one per index of dimension `axis`) as int8; false
/// when w or zp is not int8/uint8 (zp of w's type) or a centered value leaves [-128, 127].
bool center_int8(const Tensor& w, const Tensor* zp, size_t axis, Int8Weights& out);

/// The QLinear multipliers a_scale * w_scale[j] / y_scale, rounded to float as the reference
/// kernels do; false unless all three are float, a_scale and y_scale scalars and w_scale has 1
/// or `channels` values.
bool qlinear_scales(const Tensor* a_scale, const Tensor* w_scale, const Tensor* y_scale, int64_t channels,
                    std::vector<float>& out);

/// True when the int8 oneDNN paths may run on this CPU (exact int32 dot products: VNNI).
bool int8_dnnl_available();

/// u8 / s8 / s32 for those types, undef otherwise.
dnnl::memory::data_type dnnl_int_type(DataType t);

/// For optional input i, a zero point: sets `present`; returns its element type when it is
/// known to be a scalar (constant with one element, or inferred shape of all 1s), else kUndefined.
DataType scalar_zero_point(const KernelInfo& info, size_t i, bool& present);

/// The value of a scalar zero point (0 when zp is null); fails naming it when not a scalar of
/// type `expected`.
int32_t read_zero_point(const KernelContext& ctx, const Tensor* zp, DataType expected, const char* name);

/// A 64-byte aligned buffer of at least `bytes`, one per (calling thread, slot 0..2), reused across
/// calls: per-run temporaries without a fresh allocation (and its page faults) each time.
void* thread_scratch(int slot, size_t bytes);

/// y[i] = saturate(acc[i] + zp) into uint8 / int8 `dst` (ONNX adds the zero point after
/// rounding; oneDNN would add it before, which differs on ties). Split over the pool's threads.
void add_zero_point(const KernelContext& ctx, const int32_t* acc, int64_t count, int32_t zp, DataType dst, void* y);
/// The same from a channels-last acc [images, spatial, channels] into a channels-first y
/// [images, channels, spatial] (the transpose fused in).
void add_zero_point_to_nchw(const KernelContext& ctx, const int32_t* acc, int64_t images, int64_t spatial,
                            int64_t channels, int32_t zp, DataType dst, void* y);

}  // namespace ferry::ep::cpu
