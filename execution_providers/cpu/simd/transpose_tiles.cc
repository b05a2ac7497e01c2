// Implementation of simd/transpose_tiles.h. The x86 variants are compiled with per-function
// target attributes and picked by __builtin_cpu_supports, so the build's -march does not matter.
// Tiles with a long and a short side (2-6) go through shuffles of whole vectors; the others
// are walked in 64x64 macro blocks (in L1: 16 KB read, 16 KB written for
// 4-byte elements), and inside them in register-sized micro blocks, so each loaded and stored
// cache line is used whole before it leaves L1.
//
// GCC 12 warns inside its own AVX-512 intrinsics (the unused merge operand __Y): a false positive,
// silenced for this file only.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "execution_providers/cpu/simd/transpose_tiles.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#define FERRY_TILE_X86 1
#include <immintrin.h>

#include "execution_providers/cpu/simd/transpose16_avx512.h"
#endif

namespace ferry::ep::cpu::simd {
namespace {

constexpr int64_t kMacro = 64;

/// Tiles with 2-4 rows or columns, the short side a constant: each output row written whole (few
/// rows), or each output row gathered from a contiguous input with a constant stride (few
/// columns). Returns false for other tiles.
template <typename T, int N>
void few_rows(const T* in, int64_t ldi, T* out, int64_t ldo, int64_t cols) {
  for (int64_t c = 0; c < cols; ++c)
    for (int r = 0; r < N; ++r) out[c * ldo + r] = in[r * ldi + c];
}
template <typename T, int N>
void few_cols(const T* in, int64_t ldi, T* out, int64_t ldo, int64_t rows) {
  for (int c = 0; c < N; ++c) {
    T* dst = out + c * ldo;
    for (int64_t r = 0; r < rows; ++r) dst[r] = in[r * ldi + c];
  }
}
template <typename T>
bool tile_short_side(const T* in, int64_t ldi, T* out, int64_t ldo, int64_t rows, int64_t cols) {
  switch (rows <= cols ? rows : 0) {
    case 2: return few_rows<T, 2>(in, ldi, out, ldo, cols), true;
    case 3: return few_rows<T, 3>(in, ldi, out, ldo, cols), true;
    case 4: return few_rows<T, 4>(in, ldi, out, ldo, cols), true;
    default: break;
  }
  switch (cols < rows ? cols : 0) {
    case 2: return few_cols<T, 2>(in, ldi, out, ldo, rows), true;
    case 3: return few_cols<T, 3>(in, ldi, out, ldo, rows), true;
    case 4: return few_cols<T, 4>(in, ldi, out, ldo, rows), true;
    default: return false;
  }
}

/// Portable blocked transpose: each output row of a macro block is written whole, the input read
/// with its stride from L1.
template <typename T>
void tile_portable(const T* in, int64_t ldi, T* out, int64_t ldo, int64_t rows, int64_t cols) {
  if (tile_short_side(in, ldi, out, ldo, rows, cols)) return;
  for (int64_t r0 = 0; r0 < rows; r0 += kMacro) {
    const int64_t r1 = std::min(rows, r0 + kMacro);
    for (int64_t c0 = 0; c0 < cols; c0 += kMacro) {
      const int64_t c1 = std::min(cols, c0 + kMacro);
      for (int64_t c = c0; c < c1; ++c) {
        T* dst = out + c * ldo;
        const T* src = in + c;
        for (int64_t r = r0; r < r1; ++r) dst[r] = src[r * ldi];
      }
    }
  }
}

struct Bytes16 {
  uint64_t lo, hi;
};

#ifdef FERRY_TILE_X86

/// 16x16 block of 4-byte elements, nr x nc of it valid (the rest neither read nor written).
__attribute__((target("avx512f"))) void block16_avx512(const uint32_t* in, int64_t ldi, uint32_t* out, int64_t ldo,
                                                        int64_t nr, int64_t nc) {
  __m512 r[16];
  const bool full = nr == 16 && nc == 16;
  const __mmask16 cmask = static_cast<__mmask16>((1u << nc) - 1);
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) {
    if (full) r[i] = _mm512_loadu_ps(in + i * ldi);
    else r[i] = i < nr ? _mm512_maskz_loadu_ps(cmask, in + i * ldi) : _mm512_setzero_ps();
  }
  simd::transpose16x16_ps(r);
  const __mmask16 rmask = static_cast<__mmask16>((1u << nr) - 1);
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) {
    if (full) _mm512_storeu_ps(out + i * ldo, r[i]);
    else if (i < nc) _mm512_mask_storeu_ps(out + i * ldo, rmask, r[i]);
  }
}

/// Few rows (R = rows, 2 to 6) into a contiguous output (ldo == rows), e.g. NCHW -> NHWC
/// with 3 channels: each 16 columns are rows * 16 output elements, every output vector built
/// from the rows' vectors by a chain of two-source permutes.
template <int R>
__attribute__((target("avx512f"))) void interleave_avx512(const uint32_t* in, int64_t ldi, uint32_t* out,
                                                           int64_t cols) {
  // idx[k][j]: output vector k, step j (j = 0 combines rows 0 and 1; j > 0 adds row j + 1).
  alignas(64) int32_t idx[R][R - 1][16];
  for (int k = 0; k < R; ++k)
    for (int t = 0; t < 16; ++t) {
      const int m = 16 * k + t, row = m % R, col = m / R;
      idx[k][0][t] = row == 0 ? col : row == 1 ? 16 + col : 0;
      for (int j = 2; j < R; ++j) idx[k][j - 1][t] = row == j ? 16 + col : t;
    }
  __m512i v[R];
  for (int64_t c0 = 0; c0 < cols; c0 += 16) {
    const int64_t n = std::min<int64_t>(16, cols - c0);
    const __mmask16 cmask = static_cast<__mmask16>((1u << n) - 1);
#pragma GCC unroll 6
    for (int j = 0; j < R; ++j) v[j] = _mm512_maskz_loadu_epi32(cmask, in + j * ldi + c0);
    uint32_t* dst = out + c0 * R;
#pragma GCC unroll 6
    for (int k = 0; k < R; ++k) {
      const int64_t valid = n * R - 16 * k;
      if (valid <= 0) break;
      __m512i acc = _mm512_permutex2var_epi32(v[0], _mm512_load_si512(idx[k][0]), v[1]);
#pragma GCC unroll 6
      for (int j = 2; j < R; ++j) acc = _mm512_permutex2var_epi32(acc, _mm512_load_si512(idx[k][j - 1]), v[j]);
      if (valid >= 16) _mm512_storeu_si512(dst + 16 * k, acc);
      else _mm512_mask_storeu_epi32(dst + 16 * k, static_cast<__mmask16>((1u << valid) - 1), acc);
    }
  }
}

/// Few columns (C = cols, 2 to 6) of a contiguous input (ldi == cols), e.g. NHWC -> NCHW
/// with 3 channels: each 16 rows are cols * 16 input elements, split into one vector per column.
template <int C>
__attribute__((target("avx512f"))) void deinterleave_avx512(const uint32_t* in, uint32_t* out, int64_t ldo,
                                                             int64_t rows) {
  // idx[c][j]: output column c, step j (j = 0 combines input vectors 0 and 1; j > 0 adds j + 1).
  alignas(64) int32_t idx[C][C - 1][16];
  for (int c = 0; c < C; ++c)
    for (int t = 0; t < 16; ++t) {
      const int m = t * C + c;
      idx[c][0][t] = m < 32 ? m : 0;
      for (int j = 2; j < C; ++j) idx[c][j - 1][t] = m / 16 == j ? 16 + m % 16 : t;
    }
  __m512i v[C];
  for (int64_t r0 = 0; r0 < rows; r0 += 16) {
    const int64_t n = std::min<int64_t>(16, rows - r0);
    const uint32_t* src = in + r0 * C;
#pragma GCC unroll 6
    for (int j = 0; j < C; ++j) {
      const int64_t valid = std::clamp<int64_t>(n * C - 16 * j, 0, 16);
      v[j] = _mm512_maskz_loadu_epi32(static_cast<__mmask16>((1u << valid) - 1), src + 16 * j);
    }
    const __mmask16 rmask = static_cast<__mmask16>((1u << n) - 1);
#pragma GCC unroll 6
    for (int c = 0; c < C; ++c) {
      __m512i acc = _mm512_permutex2var_epi32(v[0], _mm512_load_si512(idx[c][0]), v[1]);
#pragma GCC unroll 6
      for (int j = 2; j < C; ++j) acc = _mm512_permutex2var_epi32(acc, _mm512_load_si512(idx[c][j - 1]), v[j]);
      _mm512_mask_storeu_epi32(out + c * ldo + r0, rmask, acc);
    }
  }
}

__attribute__((target("avx512f"))) void tile4_avx512(const uint32_t* in, int64_t ldi, uint32_t* out, int64_t ldo,
                                                      int64_t rows, int64_t cols) {
  if (ldo == rows && cols >= 16) {
    switch (rows) {
      case 2: return interleave_avx512<2>(in, ldi, out, cols);
      case 3: return interleave_avx512<3>(in, ldi, out, cols);
      case 4: return interleave_avx512<4>(in, ldi, out, cols);
      case 5: return interleave_avx512<5>(in, ldi, out, cols);
      case 6: return interleave_avx512<6>(in, ldi, out, cols);
      default: break;
    }
  }
  if (ldi == cols && rows >= 16) {
    switch (cols) {
      case 2: return deinterleave_avx512<2>(in, out, ldo, rows);
      case 3: return deinterleave_avx512<3>(in, out, ldo, rows);
      case 4: return deinterleave_avx512<4>(in, out, ldo, rows);
      case 5: return deinterleave_avx512<5>(in, out, ldo, rows);
      case 6: return deinterleave_avx512<6>(in, out, ldo, rows);
      default: break;
    }
  }
  for (int64_t r0 = 0; r0 < rows; r0 += kMacro) {
    const int64_t r1 = std::min(rows, r0 + kMacro);
    for (int64_t c0 = 0; c0 < cols; c0 += kMacro) {
      const int64_t c1 = std::min(cols, c0 + kMacro);
      const auto block = [&](int64_t r, int64_t c) {
        block16_avx512(in + r * ldi + c, ldi, out + c * ldo + r, ldo, std::min<int64_t>(16, r1 - r),
                       std::min<int64_t>(16, c1 - c));
      };
      if (ldo > ldi) {  // along the output rows (see tile_blocks)
        for (int64_t c = c0; c < c1; c += 16)
          for (int64_t r = r0; r < r1; r += 16) block(r, c);
      } else {
        for (int64_t r = r0; r < r1; r += 16)
          for (int64_t c = c0; c < c1; c += 16) block(r, c);
      }
    }
  }
}

/// Macro blocks of full B x B register blocks (Block), the edges element by element.
template <typename T, int64_t B, void (*Block)(const T*, int64_t, T*, int64_t)>
void tile_blocks(const T* in, int64_t ldi, T* out, int64_t ldo, int64_t rows, int64_t cols) {
  if (tile_short_side(in, ldi, out, ldo, rows, cols)) return;
  for (int64_t r0 = 0; r0 < rows; r0 += kMacro) {
    const int64_t r1 = std::min(rows, r0 + kMacro);
    for (int64_t c0 = 0; c0 < cols; c0 += kMacro) {
      const int64_t c1 = std::min(cols, c0 + kMacro);
      const int64_t rf = r0 + (r1 - r0) / B * B, cf = c0 + (c1 - c0) / B * B;  // ends of the full blocks
      // The inner loop walks along the longer rows (of the output when ldo > ldi), the other
      // side's partly used lines staying in L1 until the next step of the outer loop (NHWC ->
      // NCHW tiles: 1.4-1.6x faster than walking the input rows; other shapes: about equal).
      if (ldo > ldi) {
        for (int64_t c = c0; c < cf; c += B)
          for (int64_t r = r0; r < rf; r += B) Block(in + r * ldi + c, ldi, out + c * ldo + r, ldo);
      } else {
        for (int64_t r = r0; r < rf; r += B)
          for (int64_t c = c0; c < cf; c += B) Block(in + r * ldi + c, ldi, out + c * ldo + r, ldo);
      }
      // Edges: the columns past cf for every row, then the rows past rf for the full columns.
      for (int64_t c = cf; c < c1; ++c)
        for (int64_t r = r0; r < r1; ++r) out[c * ldo + r] = in[r * ldi + c];
      for (int64_t c = c0; c < cf; ++c)
        for (int64_t r = rf; r < r1; ++r) out[c * ldo + r] = in[r * ldi + c];
    }
  }
}

/// 8x8 transposes of 16-bit elements within each 128-bit lane of r[0..8) (SSE2 unpack pattern):
/// lane l of result j holds column j (+ 8 l) of the 8 rows.
__attribute__((target("avx2"))) inline void transpose8x8_epi16_lanes(__m256i* r) {
  __m256i a[8], b[8];
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    a[2 * k] = _mm256_unpacklo_epi16(r[2 * k], r[2 * k + 1]);
    a[2 * k + 1] = _mm256_unpackhi_epi16(r[2 * k], r[2 * k + 1]);
  }
#pragma GCC unroll 2
  for (int k = 0; k < 2; ++k) {
    const int q = 4 * k;
    b[q] = _mm256_unpacklo_epi32(a[q], a[q + 2]);
    b[q + 1] = _mm256_unpackhi_epi32(a[q], a[q + 2]);
    b[q + 2] = _mm256_unpacklo_epi32(a[q + 1], a[q + 3]);
    b[q + 3] = _mm256_unpackhi_epi32(a[q + 1], a[q + 3]);
  }
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    r[2 * j] = _mm256_unpacklo_epi64(b[j], b[j + 4]);
    r[2 * j + 1] = _mm256_unpackhi_epi64(b[j], b[j + 4]);
  }
}

/// Full 16x16 block of 2-byte elements.
__attribute__((target("avx2"))) void block16_epi16_avx2(const uint16_t* in, int64_t ldi, uint16_t* out,
                                                         int64_t ldo) {
  __m256i r[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) r[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i * ldi));
  transpose8x8_epi16_lanes(r);
  transpose8x8_epi16_lanes(r + 8);
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + j * ldo), _mm256_permute2x128_si256(r[j], r[j + 8], 0x20));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + (j + 8) * ldo),
                        _mm256_permute2x128_si256(r[j], r[j + 8], 0x31));
  }
}

/// Full 8x8 block of 4-byte elements.
__attribute__((target("avx2"))) void block8_avx2(const uint32_t* in, int64_t ldi, uint32_t* out, int64_t ldo) {
  __m256 r[8], t[8];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(reinterpret_cast<const float*>(in + i * ldi));
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    t[2 * k] = _mm256_unpacklo_ps(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm256_unpackhi_ps(r[2 * k], r[2 * k + 1]);
  }
#pragma GCC unroll 2
  for (int k = 0; k < 2; ++k) {
    const int b = 4 * k;
    r[b] = _mm256_shuffle_ps(t[b], t[b + 2], 0x44);
    r[b + 1] = _mm256_shuffle_ps(t[b], t[b + 2], 0xEE);
    r[b + 2] = _mm256_shuffle_ps(t[b + 1], t[b + 3], 0x44);
    r[b + 3] = _mm256_shuffle_ps(t[b + 1], t[b + 3], 0xEE);
  }
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    t[j] = _mm256_permute2f128_ps(r[j], r[j + 4], 0x20);
    t[j + 4] = _mm256_permute2f128_ps(r[j], r[j + 4], 0x31);
  }
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) _mm256_storeu_ps(reinterpret_cast<float*>(out + i * ldo), t[i]);
}

/// 1- and 2-byte elements (ES bytes) with 2-4 rows into a contiguous output (ldo == rows), and
/// 2-4 columns of a contiguous input (ldi == cols), e.g. uint8 images NCHW <-> NHWC: each output
/// vector is the OR of one byte shuffle (pshufb) of every input vector of a 16-byte step; the
/// tail goes element by element.
template <typename T, int R>
__attribute__((target("ssse3"))) void interleave_ssse3(const T* in, int64_t ldi, T* out, int64_t cols) {
  constexpr int ES = sizeof(T), V = 16 / ES;
  alignas(16) uint8_t mask[R][R][16];  // [output vector][row][byte]
  for (int k = 0; k < R; ++k)
    for (int j = 0; j < R; ++j)
      for (int b = 0; b < 16; ++b) {
        const int m = V * k + b / ES;
        mask[k][j][b] = m % R == j ? static_cast<uint8_t>((m / R) * ES + b % ES) : 0x80;
      }
  int64_t c0 = 0;
  for (; c0 + V <= cols; c0 += V) {
    __m128i v[R];
#pragma GCC unroll 4
    for (int j = 0; j < R; ++j) v[j] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + j * ldi + c0));
#pragma GCC unroll 4
    for (int k = 0; k < R; ++k) {
      __m128i acc = _mm_shuffle_epi8(v[0], _mm_load_si128(reinterpret_cast<const __m128i*>(mask[k][0])));
#pragma GCC unroll 4
      for (int j = 1; j < R; ++j)
        acc = _mm_or_si128(acc, _mm_shuffle_epi8(v[j], _mm_load_si128(reinterpret_cast<const __m128i*>(mask[k][j]))));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + c0 * R + V * k), acc);
    }
  }
  for (; c0 < cols; ++c0)
    for (int r = 0; r < R; ++r) out[c0 * R + r] = in[r * ldi + c0];
}

template <typename T, int C>
__attribute__((target("ssse3"))) void deinterleave_ssse3(const T* in, T* out, int64_t ldo, int64_t rows) {
  constexpr int ES = sizeof(T), V = 16 / ES;
  alignas(16) uint8_t mask[C][C][16];  // [output column][input vector][byte]
  for (int c = 0; c < C; ++c)
    for (int j = 0; j < C; ++j)
      for (int b = 0; b < 16; ++b) {
        const int m = (b / ES) * C + c;
        mask[c][j][b] = m / V == j ? static_cast<uint8_t>((m % V) * ES + b % ES) : 0x80;
      }
  int64_t r0 = 0;
  for (; r0 + V <= rows; r0 += V) {
    __m128i v[C];
#pragma GCC unroll 4
    for (int j = 0; j < C; ++j) v[j] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + r0 * C + V * j));
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) {
      __m128i acc = _mm_shuffle_epi8(v[0], _mm_load_si128(reinterpret_cast<const __m128i*>(mask[c][0])));
#pragma GCC unroll 4
      for (int j = 1; j < C; ++j)
        acc = _mm_or_si128(acc, _mm_shuffle_epi8(v[j], _mm_load_si128(reinterpret_cast<const __m128i*>(mask[c][j]))));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + c * ldo + r0), acc);
    }
  }
  for (; r0 < rows; ++r0)
    for (int c = 0; c < C; ++c) out[c * ldo + r0] = in[r0 * C + c];
}

/// The SSSE3 shuffles above where they apply (2-4 rows or columns, contiguous), else Blocks.
template <typename T, int64_t B, void (*Block)(const T*, int64_t, T*, int64_t)>
void tile_small_x86(const T* in, int64_t ldi, T* out, int64_t ldo, int64_t rows, int64_t cols) {
  if (ldo == rows && rows <= cols) {
    switch (rows) {
      case 2: return interleave_ssse3<T, 2>(in, ldi, out, cols);
      case 3: return interleave_ssse3<T, 3>(in, ldi, out, cols);
      case 4: return interleave_ssse3<T, 4>(in, ldi, out, cols);
      default: break;
    }
  }
  if (ldi == cols && cols < rows) {
    switch (cols) {
      case 2: return deinterleave_ssse3<T, 2>(in, out, ldo, rows);
      case 3: return deinterleave_ssse3<T, 3>(in, out, ldo, rows);
      case 4: return deinterleave_ssse3<T, 4>(in, out, ldo, rows);
      default: break;
    }
  }
  tile_blocks<T, B, Block>(in, ldi, out, ldo, rows, cols);
}

/// Full 16x16 block of bytes (SSE2, every x86-64 CPU has it).
void block16_epi8_sse2(const uint8_t* in, int64_t ldi, uint8_t* out, int64_t ldo) {
  __m128i r[16], a[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) r[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i * ldi));
#pragma GCC unroll 8
  for (int k = 0; k < 8; ++k) {
    a[2 * k] = _mm_unpacklo_epi8(r[2 * k], r[2 * k + 1]);
    a[2 * k + 1] = _mm_unpackhi_epi8(r[2 * k], r[2 * k + 1]);
  }
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    const int q = 4 * k;
    r[q] = _mm_unpacklo_epi16(a[q], a[q + 2]);
    r[q + 1] = _mm_unpackhi_epi16(a[q], a[q + 2]);
    r[q + 2] = _mm_unpacklo_epi16(a[q + 1], a[q + 3]);
    r[q + 3] = _mm_unpackhi_epi16(a[q + 1], a[q + 3]);
  }
#pragma GCC unroll 2
  for (int k = 0; k < 2; ++k) {
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const int q = 8 * k;
      a[q + 2 * j] = _mm_unpacklo_epi32(r[q + j], r[q + j + 4]);
      a[q + 2 * j + 1] = _mm_unpackhi_epi32(r[q + j], r[q + j + 4]);
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 * j * ldo), _mm_unpacklo_epi64(a[j], a[j + 8]));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + (2 * j + 1) * ldo), _mm_unpackhi_epi64(a[j], a[j + 8]));
  }
}

#endif

/// The tile function for each element size (index log2 size; 16 bytes last) under one ISA.
struct TileSet {
  void (*f1)(const uint8_t*, int64_t, uint8_t*, int64_t, int64_t, int64_t);
  void (*f2)(const uint16_t*, int64_t, uint16_t*, int64_t, int64_t, int64_t);
  void (*f4)(const uint32_t*, int64_t, uint32_t*, int64_t, int64_t, int64_t);
};

bool isa_supported(TileIsa isa) {
#ifdef FERRY_TILE_X86
  __builtin_cpu_init();
  if (isa == TileIsa::kAvx512) return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2");
  if (isa == TileIsa::kAvx2) return __builtin_cpu_supports("avx2");
  return true;
#else
  return isa == TileIsa::kPortable;
#endif
}

TileSet tile_set(TileIsa isa) {
#ifdef FERRY_TILE_X86
  if (isa == TileIsa::kAvx512)
    return {tile_small_x86<uint8_t, 16, block16_epi8_sse2>, tile_small_x86<uint16_t, 16, block16_epi16_avx2>,
            tile4_avx512};
  if (isa == TileIsa::kAvx2)
    return {tile_small_x86<uint8_t, 16, block16_epi8_sse2>, tile_small_x86<uint16_t, 16, block16_epi16_avx2>,
            tile_blocks<uint32_t, 8, block8_avx2>};
  return {tile_blocks<uint8_t, 16, block16_epi8_sse2>, tile_portable<uint16_t>, tile_portable<uint32_t>};
#else
  (void)isa;
  return {tile_portable<uint8_t>, tile_portable<uint16_t>, tile_portable<uint32_t>};
#endif
}

TileIsa best_isa() {
  if (isa_supported(TileIsa::kAvx512)) return TileIsa::kAvx512;
  if (isa_supported(TileIsa::kAvx2)) return TileIsa::kAvx2;
  return TileIsa::kPortable;
}

void tile_any(const TileSet& set, const void* in, int64_t ldi, void* out, int64_t ldo, int64_t rows, int64_t cols,
              size_t elem_size) {
  switch (elem_size) {
    case 1:
      return set.f1(static_cast<const uint8_t*>(in), ldi, static_cast<uint8_t*>(out), ldo, rows, cols);
    case 2:
      return set.f2(static_cast<const uint16_t*>(in), ldi, static_cast<uint16_t*>(out), ldo, rows, cols);
    case 4:
      return set.f4(static_cast<const uint32_t*>(in), ldi, static_cast<uint32_t*>(out), ldo, rows, cols);
    case 8:
      return tile_portable(static_cast<const uint64_t*>(in), ldi, static_cast<uint64_t*>(out), ldo, rows, cols);
    case 16:
      return tile_portable(static_cast<const Bytes16*>(in), ldi, static_cast<Bytes16*>(out), ldo, rows, cols);
    default:
      break;
  }
  const auto* src = static_cast<const unsigned char*>(in);
  auto* dst = static_cast<unsigned char*>(out);
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(dst + (c * ldo + r) * elem_size, src + (r * ldi + c) * elem_size, elem_size);
}

}  // namespace

bool tile_isa_supported(TileIsa isa) { return isa_supported(isa); }

void transpose_tile_with(TileIsa isa, const void* in, int64_t ldi, void* out, int64_t ldo, int64_t rows,
                         int64_t cols, size_t elem_size) {
  tile_any(tile_set(isa), in, ldi, out, ldo, rows, cols, elem_size);
}

void transpose_tile(const void* in, int64_t ldi, void* out, int64_t ldo, int64_t rows, int64_t cols,
                    size_t elem_size) {
  static const TileSet best = tile_set(best_isa());  // chosen once, on first use
  tile_any(best, in, ldi, out, ldo, rows, cols, elem_size);
}

}  // namespace ferry::ep::cpu::simd
