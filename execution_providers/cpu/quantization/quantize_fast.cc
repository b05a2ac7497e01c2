#include "execution_providers/cpu/quantization/quantize_fast.h"

#include <algorithm>
#include <cmath>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FERRY_QUANT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FERRY_QUANT_CLONES
#endif

namespace ferry::ep::cpu::quant {
namespace {

template <typename T>
inline void quantize(const float* x, int64_t n, float scale, int32_t zero_point, T* y, float lo, float hi) {
  const float z = static_cast<float>(zero_point);
  for (int64_t i = 0; i < n; ++i) {
    const float q = std::nearbyint(x[i] / scale) + z;  // |q| large or inf saturates below
    // NaN fails both comparisons: the first clamp maps it to lo, then 0 is chosen explicitly.
    const float c = std::min(std::max(q, lo), hi);
    y[i] = static_cast<T>(q == q ? c : 0.0f);
  }
}

}  // namespace

FERRY_QUANT_CLONES void quantize_u8(const float* x, int64_t n, float scale, int32_t zero_point, uint8_t* y) {
  quantize(x, n, scale, zero_point, y, 0.0f, 255.0f);
}
FERRY_QUANT_CLONES void quantize_s8(const float* x, int64_t n, float scale, int32_t zero_point, int8_t* y) {
  quantize(x, n, scale, zero_point, y, -128.0f, 127.0f);
}
FERRY_QUANT_CLONES void dequantize_u8(const uint8_t* x, int64_t n, float scale, int32_t zero_point, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(static_cast<int32_t>(x[i]) - zero_point) * scale;
}
FERRY_QUANT_CLONES void dequantize_s8(const int8_t* x, int64_t n, float scale, int32_t zero_point, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(static_cast<int32_t>(x[i]) - zero_point) * scale;
}

FERRY_QUANT_CLONES void min_max(const float* x, int64_t n, float& lo, float& hi) {
  float mn = lo, mx = hi;
  for (int64_t i = 0; i < n; ++i) {
    mn = x[i] < mn ? x[i] : mn;
    mx = mx < x[i] ? x[i] : mx;
  }
  lo = mn;
  hi = mx;
}

}  // namespace ferry::ep::cpu::quant
