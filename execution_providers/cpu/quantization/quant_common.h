// Helpers shared by the quantization kernels: element readers and writers over every type the
// Q/DQ family accepts (packed sub-byte ints, float8/float4, half types), chosen once per
// tensor so that the loops do not switch on dtype per element, and the family's sub-registrations.
#pragma once

#include <cmath>
#include <string>

#include "execution_providers/cpu/common.h"
#include "execution_providers/cpu/small_float.h"

namespace ferry::ep::cpu {

void register_quantize_linear_kernels(KernelRegistry& r);  // quantization/quantize_linear.cc
void register_qlinear_matmul_kernels(KernelRegistry& r);   // quantization/qlinear_matmul.cc
void register_conv_integer_kernels(KernelRegistry& r);     // quantization/conv_integer.cc

namespace quant {

/// Reads element i of a buffer as double.
using Reader = double (*)(const void* data, int64_t i);

template <typename T> double read_plain(const void* d, int64_t i) { return static_cast<double>(static_cast<const T*>(d)[i]); }
inline double read_f16(const void* d, int64_t i) { return to_float(static_cast<const Float16*>(d)[i]); }
inline double read_bf16(const void* d, int64_t i) { return to_float(static_cast<const BFloat16*>(d)[i]); }
inline double read_e8m0(const void* d, int64_t i) { return e8m0_to_float(static_cast<const uint8_t*>(d)[i]); }
template <int Bits, bool Signed> double read_packed(const void* d, int64_t i) {
  return get_packed(static_cast<const uint8_t*>(d), i, Bits, Signed);
}
template <const MiniFloatFormat& F> double read_minifloat(const void* d, int64_t i) {
  return minifloat_to_float(get_minifloat_code(static_cast<const uint8_t*>(d), i, F), F);
}

/// The reader for a dtype, or null when the type is not one the quantization ops handle.
inline Reader reader_for(DataType dt) {
  switch (dt) {
    case DataType::kFloat: return read_plain<float>;
    case DataType::kDouble: return read_plain<double>;
    case DataType::kFloat16: return read_f16;
    case DataType::kBFloat16: return read_bf16;
    case DataType::kInt8: return read_plain<int8_t>;
    case DataType::kUInt8: return read_plain<uint8_t>;
    case DataType::kInt16: return read_plain<int16_t>;
    case DataType::kUInt16: return read_plain<uint16_t>;
    case DataType::kInt32: return read_plain<int32_t>;
    case DataType::kInt4: return read_packed<4, true>;
    case DataType::kUInt4: return read_packed<4, false>;
    case DataType::kInt2: return read_packed<2, true>;
    case DataType::kUInt2: return read_packed<2, false>;
    case DataType::kFloat8E4M3FN: return read_minifloat<kE4M3FN>;
    case DataType::kFloat8E4M3FNUZ: return read_minifloat<kE4M3FNUZ>;
    case DataType::kFloat8E5M2: return read_minifloat<kE5M2>;
    case DataType::kFloat8E5M2FNUZ: return read_minifloat<kE5M2FNUZ>;
    case DataType::kFloat4E2M1: return read_minifloat<kE2M1>;
    case DataType::kFloat8E8M0: return read_e8m0;
    default: return nullptr;
  }
}

/// Rounds a double to the precision of a floating type (float, float16, bfloat16, double).
inline double round_to(DataType dt, double v) {
  switch (dt) {
    case DataType::kFloat: return static_cast<float>(v);
    case DataType::kFloat16: return to_float(to_float16(static_cast<float>(v)));
    case DataType::kBFloat16: return to_float(to_bfloat16(static_cast<float>(v)));
    default: return v;
  }
}

/// Integer range of a quantized integer type; false for non-integer types.
inline bool int_range(DataType dt, int64_t& lo, int64_t& hi) {
  switch (dt) {
    case DataType::kUInt8: lo = 0; hi = 255; return true;
    case DataType::kInt8: lo = -128; hi = 127; return true;
    case DataType::kUInt16: lo = 0; hi = 65535; return true;
    case DataType::kInt16: lo = -32768; hi = 32767; return true;
    case DataType::kInt32: lo = INT32_MIN; hi = INT32_MAX; return true;
    case DataType::kUInt4: lo = 0; hi = 15; return true;
    case DataType::kInt4: lo = -8; hi = 7; return true;
    case DataType::kUInt2: lo = 0; hi = 3; return true;
    case DataType::kInt2: lo = -2; hi = 1; return true;
    default: return false;
  }
}

/// Writes an already clamped integer `v` as element i of an integer tensor of type dt.
inline void write_int(DataType dt, void* d, int64_t i, int64_t v) {
  switch (dt) {
    case DataType::kUInt8: static_cast<uint8_t*>(d)[i] = static_cast<uint8_t>(v); break;
    case DataType::kInt8: static_cast<int8_t*>(d)[i] = static_cast<int8_t>(v); break;
    case DataType::kUInt16: static_cast<uint16_t*>(d)[i] = static_cast<uint16_t>(v); break;
    case DataType::kInt16: static_cast<int16_t*>(d)[i] = static_cast<int16_t>(v); break;
    case DataType::kInt32: static_cast<int32_t*>(d)[i] = static_cast<int32_t>(v); break;
    default: set_packed(static_cast<uint8_t*>(d), i, packed_int_bits(dt), static_cast<int32_t>(v)); break;
  }
}

/// Writes a floating value as element i of a float/float16/bfloat16/double tensor.
inline void write_float(DataType dt, void* d, int64_t i, double v) {
  switch (dt) {
    case DataType::kFloat: static_cast<float*>(d)[i] = static_cast<float>(v); break;
    case DataType::kDouble: static_cast<double*>(d)[i] = v; break;
    case DataType::kFloat16: static_cast<Float16*>(d)[i] = to_float16(static_cast<float>(v)); break;
    case DataType::kBFloat16: static_cast<BFloat16*>(d)[i] = to_bfloat16(static_cast<float>(v)); break;
    default: break;
  }
}

/// Saturating, round-half-to-even conversion of v to the integer range [lo, hi].
inline int64_t round_clamp(double v, int64_t lo, int64_t hi) {
  if (std::isnan(v)) return lo <= 0 && hi >= 0 ? 0 : lo;
  const double r = std::nearbyint(v);
  if (r <= static_cast<double>(lo)) return lo;
  if (r >= static_cast<double>(hi)) return hi;
  return static_cast<int64_t>(r);
}

}  // namespace quant
}  // namespace ferry::ep::cpu
