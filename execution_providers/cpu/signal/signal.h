// Internal to the signal family: sub-family registration and shared helpers.
#pragma once

#include "execution_providers/cpu/common.h"

namespace ferry::ep::cpu::signal {

void register_mel_weight_matrix(KernelRegistry& r);  // mel_weight_matrix.cc

/// The element types of DFT / STFT signals; the half types compute in double like the rest.
using SignalTypes = Types<float, double, Float16, BFloat16>;

template <typename T> double load(T v) {
  if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>) return to_float(v);
  else return static_cast<double>(v);
}
template <typename T> T store(double v) {
  if constexpr (std::is_same_v<T, Float16>) return to_float16(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, BFloat16>) return to_bfloat16(static_cast<float>(v));
  else return static_cast<T>(v);
}

/// A scalar (or one-element) int32/int64 input's value; kInvalidArgument naming `what` otherwise.
inline int64_t scalar_int(const Tensor& t, const std::string& what) {
  const std::vector<int64_t> v = read_ints(t, what);
  if (v.size() != 1) throw Error(ErrorCode::kInvalidArgument, what + " must be a scalar, got " + t.describe());
  return v[0];
}

}  // namespace ferry::ep::cpu::signal
