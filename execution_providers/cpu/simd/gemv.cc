// Implementation of simd/gemv.h with GCC vector extensions (see simd/vmath.cc).
#pragma GCC optimize("fp-contract=fast")
#pragma GCC diagnostic ignored "-Wpsabi"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "execution_providers/cpu/simd/gemv.h"

#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(FERRY_SIMD_NO_CLONES)
#define FERRY_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FERRY_SIMD_CLONES
#endif
#define FERRY_AI inline __attribute__((always_inline))

namespace ferry::ep::cpu::simd {
namespace {

typedef float V __attribute__((vector_size(16 * sizeof(float))));

FERRY_AI V load(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}
FERRY_AI V splat(float c) { return c - V{}; }

/// One panel for M rows (1 or 2): acc[i][c] over all k, two k steps per iteration in
/// independent chains. No software prefetch: the hardware's stream prefetch does as well here.
template <int M>
FERRY_AI void panel(const float* a, int64_t lda, int64_t k, const float* p, float alpha, const float* bias,
                    float* out, int64_t ldo, int64_t cols) {
  V acc[M][4], acc2[M][4];
  for (int i = 0; i < M; ++i)
    for (int c = 0; c < 4; ++c) acc[i][c] = acc2[i][c] = V{};
  int64_t kk = 0;
  for (; kk + 2 <= k; kk += 2, p += 2 * kGemvPanel) {
    const V w0 = load(p), w1 = load(p + 16), w2 = load(p + 32), w3 = load(p + 48);
    const V u0 = load(p + 64), u1 = load(p + 80), u2 = load(p + 96), u3 = load(p + 112);
    for (int i = 0; i < M; ++i) {
      const V x = splat(a[i * lda + kk]), z = splat(a[i * lda + kk + 1]);
      acc[i][0] += x * w0, acc[i][1] += x * w1, acc[i][2] += x * w2, acc[i][3] += x * w3;
      acc2[i][0] += z * u0, acc2[i][1] += z * u1, acc2[i][2] += z * u2, acc2[i][3] += z * u3;
    }
  }
  if (kk < k) {
    const V w0 = load(p), w1 = load(p + 16), w2 = load(p + 32), w3 = load(p + 48);
    for (int i = 0; i < M; ++i) {
      const V x = splat(a[i * lda + kk]);
      acc[i][0] += x * w0, acc[i][1] += x * w1, acc[i][2] += x * w2, acc[i][3] += x * w3;
    }
  }
  for (int i = 0; i < M; ++i) {
    float r[kGemvPanel];
    for (int c = 0; c < 4; ++c) {
      V v = (acc[i][c] + acc2[i][c]) * splat(alpha);
      std::memcpy(r + 16 * c, &v, sizeof(V));
    }
    float* o = out + i * ldo;
    if (bias)
      for (int64_t c = 0; c < cols; ++c) o[c] = r[c] + bias[c];
    else
      std::memcpy(o, r, cols * sizeof(float));
  }
}

template <int M>
FERRY_AI void panels(const float* a, int64_t lda, int64_t k, const float* w, int64_t kp, int64_t n_total,
                     int64_t begin, int64_t end, float alpha, const float* bias, float* y, int64_t ldy) {
  for (int64_t j = begin; j < end; ++j) {
    const int64_t n0 = j * kGemvPanel;
    const int64_t cols = n_total - n0 < kGemvPanel ? n_total - n0 : kGemvPanel;
    panel<M>(a, lda, k, w + j * kp * kGemvPanel, alpha, bias ? bias + n0 : nullptr, y + n0, ldy, cols);
  }
}

}  // namespace

FERRY_SIMD_CLONES void gemv_panels(const float* a, int64_t lda, int64_t m, int64_t k, const float* w,
                                   int64_t kp, int64_t n_total, int64_t begin, int64_t end, float alpha,
                                   const float* bias, float* y, int64_t ldy) {
  switch (m) {
    case 1: panels<1>(a, lda, k, w, kp, n_total, begin, end, alpha, bias, y, ldy); break;
    default: panels<2>(a, lda, k, w, kp, n_total, begin, end, alpha, bias, y, ldy); break;
  }
}

}  // namespace ferry::ep::cpu::simd
