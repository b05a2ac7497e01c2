// Arithmetic type for storage types: float16 and bfloat16 compute through float, everything else
// as itself. Kernels that accept half types load with to_compute() and store with from_compute().
#pragma once

#include <type_traits>

#include "execution_providers/cpu/common.h"

namespace ferry::ep::cpu {

template <typename T> struct ComputeOf { using type = T; };
template <> struct ComputeOf<Float16> { using type = float; };
template <> struct ComputeOf<BFloat16> { using type = float; };
template <typename T> using compute_t = typename ComputeOf<T>::type;

template <typename T> inline constexpr bool kIsHalf = std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>;
/// Floating storage types, half types included.
template <typename T> inline constexpr bool kIsFloating = std::is_floating_point_v<T> || kIsHalf<T>;

template <typename T> inline compute_t<T> to_compute(T v) {
  if constexpr (kIsHalf<T>) return to_float(v);
  else return v;
}

/// Converts an arithmetic value (any type) to storage type T.
template <typename T, typename V> inline T from_compute(V v) {
  if constexpr (std::is_same_v<T, Float16>) return to_float16(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, BFloat16>) return to_bfloat16(static_cast<float>(v));
  else return static_cast<T>(v);
}

using FloatHalfTypes = Types<float, double, Float16, BFloat16>;

}  // namespace ferry::ep::cpu
