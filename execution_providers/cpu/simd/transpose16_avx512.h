// The in-register 16x16 transpose of 32-bit lanes that the AVX-512 kernels share (Transpose's
// tiles, RNN weight packing, attention's bias tiles). x86-64 only; callers are themselves
// compiled for avx512f (target attribute) and chosen at run time.
#pragma once

#include <immintrin.h>

namespace ferry::ep::cpu::simd {

/// r[i] holds row i of a 16x16 block on entry and column i on return.
__attribute__((target("avx512f"), always_inline)) inline void transpose16x16_ps(__m512 (&r)[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int k = 0; k < 8; ++k) {
    t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
  }
  // r[4q + c] holds, per 128-bit lane L, column 4L + c of rows 4q..4q+3.
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    const int b = 4 * k;
    r[b] = _mm512_shuffle_ps(t[b], t[b + 2], 0x44);
    r[b + 1] = _mm512_shuffle_ps(t[b], t[b + 2], 0xEE);
    r[b + 2] = _mm512_shuffle_ps(t[b + 1], t[b + 3], 0x44);
    r[b + 3] = _mm512_shuffle_ps(t[b + 1], t[b + 3], 0xEE);
  }
#pragma GCC unroll 2
  for (int k = 0; k < 2; ++k) {
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const int b = 8 * k + j;
      t[b] = _mm512_shuffle_f32x4(r[b], r[b + 4], 0x88);
      t[b + 4] = _mm512_shuffle_f32x4(r[b], r[b + 4], 0xDD);
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) {
    r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
    r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xDD);
  }
}

}  // namespace ferry::ep::cpu::simd
