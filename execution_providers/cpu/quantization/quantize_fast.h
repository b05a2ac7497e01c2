// Per-tensor float <-> uint8/int8 loops for QuantizeLinear / DequantizeLinear, the case that
// quantized models run between every pair of quantized ops. Compiled for AVX-512, AVX2 and the
// baseline, picked at load. Same arithmetic as the general kernels in quantize_linear.cc:
// quantize y = saturate(round_half_even(x / scale) + zero_point) with a float division (NaN -> 0);
// dequantize y = float(x - zero_point) * scale.
#pragma once

#include <cstdint>

namespace ferry::ep::cpu::quant {

void quantize_u8(const float* x, int64_t n, float scale, int32_t zero_point, uint8_t* y);
void quantize_s8(const float* x, int64_t n, float scale, int32_t zero_point, int8_t* y);
void dequantize_u8(const uint8_t* x, int64_t n, float scale, int32_t zero_point, float* y);
void dequantize_s8(const int8_t* x, int64_t n, float scale, int32_t zero_point, float* y);
/// lo = min(lo, x...), hi = max(hi, x...), skipping NaNs (as std::min / std::max with the
/// accumulator first).
void min_max(const float* x, int64_t n, float& lo, float& hi);

}  // namespace ferry::ep::cpu::quant
