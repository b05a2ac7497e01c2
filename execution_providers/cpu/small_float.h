// Element conversions for the small ONNX types: the float8 formats (E4M3FN, E4M3FNUZ, E5M2,
// E5M2FNUZ, E8M0), float4 E2M1, and the packed sub-byte integers (int4, uint4, int2, uint2).
// Shared by Cast and the quantization kernels. Header-only.
//
// Encoding rounds to nearest even. Out-of-range values follow the ONNX Cast tables (the same
// results as ml_dtypes, which onnx's reference uses): with `saturate` they clamp to the largest
// finite value (infinities too); without, they become infinity where the format has one (E5M2)
// and NaN otherwise. float4e2m1 has neither, so it always saturates; its NaN becomes zero.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "ferry/dtype.h"

namespace ferry::ep::cpu {

/// The parameters of one minifloat format (1 sign bit).
struct MiniFloatFormat {
  int mantissa_bits;
  int bias;
  bool has_inf;       ///< IEEE-style: max exponent field holds inf / NaN (E5M2)
  bool nan_is_0x80;   ///< "FNUZ": the only NaN is 0x80, and there is no negative zero
  bool no_nan;        ///< float4e2m1: no NaN or inf codes
  uint8_t max_code;   ///< bits of the largest finite positive value
  int total_bits;
};

inline constexpr MiniFloatFormat kE4M3FN{3, 7, false, false, false, 0x7e, 8};
inline constexpr MiniFloatFormat kE4M3FNUZ{3, 8, false, true, false, 0x7f, 8};
inline constexpr MiniFloatFormat kE5M2{2, 15, true, false, false, 0x7b, 8};
inline constexpr MiniFloatFormat kE5M2FNUZ{2, 16, false, true, false, 0x7f, 8};
inline constexpr MiniFloatFormat kE2M1{1, 1, false, false, true, 0x7, 4};

/// The format of a minifloat DataType (nullptr for other types; E8M0 has its own helpers).
inline const MiniFloatFormat* minifloat_format(DataType dt) {
  switch (dt) {
    case DataType::kFloat8E4M3FN: return &kE4M3FN;
    case DataType::kFloat8E4M3FNUZ: return &kE4M3FNUZ;
    case DataType::kFloat8E5M2: return &kE5M2;
    case DataType::kFloat8E5M2FNUZ: return &kE5M2FNUZ;
    case DataType::kFloat4E2M1: return &kE2M1;
    default: return nullptr;
  }
}

/// Decodes a minifloat code (low `total_bits` bits of `code`).
inline float minifloat_to_float(uint8_t code, const MiniFloatFormat& f) {
  const int exp_bits = f.total_bits - 1 - f.mantissa_bits;
  const uint8_t sign_bit = static_cast<uint8_t>(1u << (f.total_bits - 1));
  code &= static_cast<uint8_t>((1u << f.total_bits) - 1);
  if (f.nan_is_0x80 && code == 0x80) return std::numeric_limits<float>::quiet_NaN();
  const bool neg = (code & sign_bit) != 0;
  const uint8_t mag = static_cast<uint8_t>(code & (sign_bit - 1));
  const int exp_field = mag >> f.mantissa_bits;
  const int mant = mag & ((1 << f.mantissa_bits) - 1);
  const int exp_max = (1 << exp_bits) - 1;
  float v;
  if (f.has_inf && exp_field == exp_max) {
    v = mant == 0 ? std::numeric_limits<float>::infinity() : std::numeric_limits<float>::quiet_NaN();
  } else if (!f.has_inf && !f.nan_is_0x80 && !f.no_nan && mag == (sign_bit - 1)) {
    v = std::numeric_limits<float>::quiet_NaN();  // E4M3FN: S.1111.111
  } else if (exp_field == 0) {
    v = std::ldexp(static_cast<float>(mant), 1 - f.bias - f.mantissa_bits);
  } else {
    v = std::ldexp(static_cast<float>(mant + (1 << f.mantissa_bits)), exp_field - f.bias - f.mantissa_bits);
  }
  return neg ? -v : v;
}

/// Encodes `x` as a minifloat code (round to nearest even; see the header for overflow).
inline uint8_t float_to_minifloat(double x, const MiniFloatFormat& f, bool saturate) {
  const uint8_t sign_bit = static_cast<uint8_t>(1u << (f.total_bits - 1));
  const bool neg = std::signbit(x);
  const uint8_t sign = neg ? sign_bit : 0;
  const uint8_t nan_code = f.nan_is_0x80 ? 0x80 : static_cast<uint8_t>(sign | (sign_bit - 1));
  if (std::isnan(x)) {
    if (f.no_nan) return neg ? 0 : sign_bit;  // ml_dtypes' float4e2m1 behaviour
    return f.has_inf ? static_cast<uint8_t>(sign | 0x7e) : nan_code;
  }
  const double a = std::fabs(x);
  const double max_value = minifloat_to_float(f.max_code, f);
  const uint8_t overflow_code =
      (saturate || f.no_nan) ? static_cast<uint8_t>(sign | f.max_code)
                             : (f.has_inf ? static_cast<uint8_t>(sign | 0x7c) : nan_code);
  if (std::isinf(a)) return overflow_code;
  const int emin = 1 - f.bias;  // exponent of the smallest normal
  int e;
  std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  const int exp = std::max(e - 1, emin);
  const double quantum = std::ldexp(1.0, exp - f.mantissa_bits);
  const double r = std::nearbyint(a / quantum) * quantum;  // a/quantum is exact
  if (r > max_value) return overflow_code;
  if (r == 0) return f.nan_is_0x80 ? 0 : sign;
  int re;
  std::frexp(r, &re);
  uint8_t mag;
  if (re - 1 < emin) {
    mag = static_cast<uint8_t>(r / std::ldexp(1.0, emin - f.mantissa_bits));
  } else {
    const int mant = static_cast<int>(r / std::ldexp(1.0, re - 1 - f.mantissa_bits)) - (1 << f.mantissa_bits);
    mag = static_cast<uint8_t>(((re - 1 + f.bias) << f.mantissa_bits) | mant);
  }
  return static_cast<uint8_t>(sign | mag);
}

/// float8e8m0 (exponent only, bias 127, 0xff is NaN): 2^(code - 127).
inline float e8m0_to_float(uint8_t code) {
  if (code == 0xff) return std::numeric_limits<float>::quiet_NaN();
  return std::ldexp(1.0f, static_cast<int>(code) - 127);
}

// ---------------------------------------------------------------------------------------------
// Packed sub-byte integers: element i sits in byte i * bits / 8, low bits first.

/// Bits per element of a packed integer type (4 or 2), 0 for other types.
inline int packed_int_bits(DataType dt) {
  switch (dt) {
    case DataType::kInt4: case DataType::kUInt4: return 4;
    case DataType::kInt2: case DataType::kUInt2: return 2;
    default: return 0;
  }
}

/// Element i of a packed buffer, sign-extended when `is_signed`.
inline int32_t get_packed(const uint8_t* data, int64_t i, int bits, bool is_signed) {
  const int per_byte = 8 / bits;
  const int shift = static_cast<int>(i % per_byte) * bits;
  const uint32_t mask = (1u << bits) - 1;
  const uint32_t v = (static_cast<uint32_t>(data[i / per_byte]) >> shift) & mask;
  if (is_signed && (v & (1u << (bits - 1)))) return static_cast<int32_t>(v) - (1 << bits);
  return static_cast<int32_t>(v);
}

/// Stores the low `bits` bits of v as element i (the buffer's other elements are kept).
inline void set_packed(uint8_t* data, int64_t i, int bits, int32_t v) {
  const int per_byte = 8 / bits;
  const int shift = static_cast<int>(i % per_byte) * bits;
  const uint32_t mask = ((1u << bits) - 1) << shift;
  uint8_t& byte = data[i / per_byte];
  byte = static_cast<uint8_t>((byte & ~mask) | ((static_cast<uint32_t>(v) << shift) & mask));
}

/// Code of a minifloat element i: float4e2m1 is packed two per byte, the float8s one per byte.
inline uint8_t get_minifloat_code(const uint8_t* data, int64_t i, const MiniFloatFormat& f) {
  if (f.total_bits == 4) return static_cast<uint8_t>(get_packed(data, i, 4, false));
  return data[i];
}
inline void set_minifloat_code(uint8_t* data, int64_t i, const MiniFloatFormat& f, uint8_t code) {
  if (f.total_bits == 4) return set_packed(data, i, 4, code);
  data[i] = code;
}

}  // namespace ferry::ep::cpu
