// Vector row steps of the float pools (pool_rows.h): 16 floats per step with GCC vector types
// (unit stride: plain loads; stride 2: two loads and an even-lane shuffle), a scalar tail.
#include "execution_providers/cpu/nn/pool_rows.h"

#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FERRY_POOL_ROW_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FERRY_POOL_ROW_CLONES
#endif

namespace ferry::ep::cpu {
namespace {

constexpr int64_t kW = 16;
typedef float V __attribute__((vector_size(kW * sizeof(float))));
typedef int32_t VI __attribute__((vector_size(kW * sizeof(int32_t))));

inline V load(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void store(float* p, V v) { std::memcpy(p, &v, sizeof(v)); }
/// x[0], x[2], .., x[30].
inline V load_even(const float* p) {
  return __builtin_shuffle(load(p), load(p + kW), VI{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30});
}
inline V vmax(V acc, V x) { return x > acc ? x : acc; }

}  // namespace

FERRY_POOL_ROW_CLONES void pool_max_row(float* acc, const float* x, int64_t n, int64_t stride) {
  int64_t i = 0;
  if (stride == 1) {
    for (; i + kW <= n; i += kW) store(acc + i, vmax(load(acc + i), load(x + i)));
  } else if (stride == 2) {
    // The last even load reads x[2i + 31]; stop where it would pass the row's last element read.
    for (; i + kW <= n && 2 * (i + kW) - 1 <= 2 * (n - 1); i += kW)
      store(acc + i, vmax(load(acc + i), load_even(x + 2 * i)));
  }
  for (; i < n; ++i) {
    const float v = x[i * stride];
    acc[i] = v > acc[i] ? v : acc[i];
  }
}

FERRY_POOL_ROW_CLONES void pool_add_row(float* acc, const float* x, int64_t n, int64_t stride) {
  int64_t i = 0;
  if (stride == 1) {
    for (; i + kW <= n; i += kW) store(acc + i, load(acc + i) + load(x + i));
  } else if (stride == 2) {
    for (; i + kW <= n && 2 * (i + kW) - 1 <= 2 * (n - 1); i += kW) store(acc + i, load(acc + i) + load_even(x + 2 * i));
  }
  for (; i < n; ++i) acc[i] += x[i * stride];
}

FERRY_POOL_ROW_CLONES void pool_scale_row(float* y, const float* acc, float s, int64_t n) {
  int64_t i = 0;
  for (; i + kW <= n; i += kW) store(y + i, load(acc + i) * s);
  for (; i < n; ++i) y[i] = acc[i] * s;
}

}  // namespace ferry::ep::cpu
