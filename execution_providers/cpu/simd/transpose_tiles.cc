// Implementation of simd/transpose_tiles.h. The x86 variants are compiled with per-function
// target attributes and picked by __builtin_cpu_supports, so the build's -march does not matter.
// Every variant walks the tile in 64x64 macro blocks (in L1: 16 KB read, 16 KB written for
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
#endif

namespace ferry::ep::cpu::simd {
namespace {

constexpr int64_t kMacro = 64;

/// Portable blocked transpose: each output row of a macro block is written whole, the input read
/// with its stride from L1.
template <typename T>
void tile_portable(const T* in, int64_t ldi, T* out, int64_t ldo, int64_t rows, int64_t cols) {
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
  __m512 r[16], t[16];
  const bool full = nr == 16 && nc == 16;
  const __mmask16 cmask = static_cast<__mmask16>((1u << nc) - 1);
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) {
    if (full) r[i] = _mm512_loadu_ps(in + i * ldi);
    else r[i] = i < nr ? _mm512_maskz_loadu_ps(cmask, in + i * ldi) : _mm512_setzero_ps();
  }
#pragma GCC unroll 8
  for (int k = 0; k < 8; ++k) {
    t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
  }
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
  const __mmask16 rmask = static_cast<__mmask16>((1u << nr) - 1);
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) {
    if (full) _mm512_storeu_ps(out + i * ldo, r[i]);
    else if (i < nc) _mm512_mask_storeu_ps(out + i * ldo, rmask, r[i]);
  }
}

__attribute__((target("avx512f"))) void tile4_avx512(const uint32_t* in, int64_t ldi, uint32_t* out, int64_t ldo,
                                                      int64_t rows, int64_t cols) {
  for (int64_t r0 = 0; r0 < rows; r0 += kMacro) {
    const int64_t r1 = std::min(rows, r0 + kMacro);
    for (int64_t c0 = 0; c0 < cols; c0 += kMacro) {
      const int64_t c1 = std::min(cols, c0 + kMacro);
      for (int64_t r = r0; r < r1; r += 16)
        for (int64_t c = c0; c < c1; c += 16)
          block16_avx512(in + r * ldi + c, ldi, out + c * ldo + r, ldo, std::min<int64_t>(16, r1 - r),
                         std::min<int64_t>(16, c1 - c));
    }
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

__attribute__((target("avx2"))) void tile4_avx2(const uint32_t* in, int64_t ldi, uint32_t* out, int64_t ldo,
                                                 int64_t rows, int64_t cols) {
  for (int64_t r0 = 0; r0 < rows; r0 += kMacro) {
    const int64_t r1 = std::min(rows, r0 + kMacro);
    for (int64_t c0 = 0; c0 < cols; c0 += kMacro) {
      const int64_t c1 = std::min(cols, c0 + kMacro);
      const int64_t rf = r0 + (r1 - r0) / 8 * 8, cf = c0 + (c1 - c0) / 8 * 8;  // ends of the full blocks
      for (int64_t r = r0; r < rf; r += 8)
        for (int64_t c = c0; c < cf; c += 8) block8_avx2(in + r * ldi + c, ldi, out + c * ldo + r, ldo);
      // Edges: the columns past cf for every row, then the rows past rf for the full columns.
      for (int64_t c = cf; c < c1; ++c)
        for (int64_t r = r0; r < r1; ++r) out[c * ldo + r] = in[r * ldi + c];
      for (int64_t c = c0; c < cf; ++c)
        for (int64_t r = rf; r < r1; ++r) out[c * ldo + r] = in[r * ldi + c];
    }
  }
}

using Tile4 = void (*)(const uint32_t*, int64_t, uint32_t*, int64_t, int64_t, int64_t);

Tile4 pick_tile4() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return tile4_avx512;
  if (__builtin_cpu_supports("avx2")) return tile4_avx2;
  return tile_portable<uint32_t>;
}

#else

using Tile4 = void (*)(const uint32_t*, int64_t, uint32_t*, int64_t, int64_t, int64_t);
Tile4 pick_tile4() { return tile_portable<uint32_t>; }

#endif

const Tile4 g_tile4 = pick_tile4();

}  // namespace

bool tile_isa_supported(TileIsa isa) {
#ifdef FERRY_TILE_X86
  __builtin_cpu_init();
  if (isa == TileIsa::kAvx512) return __builtin_cpu_supports("avx512f");
  if (isa == TileIsa::kAvx2) return __builtin_cpu_supports("avx2");
  return true;
#else
  return isa == TileIsa::kPortable;
#endif
}

void transpose_tile4(TileIsa isa, const uint32_t* in, int64_t ldi, uint32_t* out, int64_t ldo, int64_t rows,
                     int64_t cols) {
#ifdef FERRY_TILE_X86
  if (isa == TileIsa::kAvx512) return tile4_avx512(in, ldi, out, ldo, rows, cols);
  if (isa == TileIsa::kAvx2) return tile4_avx2(in, ldi, out, ldo, rows, cols);
#endif
  (void)isa;
  tile_portable(in, ldi, out, ldo, rows, cols);
}

void transpose_tile(const void* in, int64_t ldi, void* out, int64_t ldo, int64_t rows, int64_t cols,
                    size_t elem_size) {
  switch (elem_size) {
    case 1:
      return tile_portable(static_cast<const uint8_t*>(in), ldi, static_cast<uint8_t*>(out), ldo, rows, cols);
    case 2:
      return tile_portable(static_cast<const uint16_t*>(in), ldi, static_cast<uint16_t*>(out), ldo, rows, cols);
    case 4:
      return g_tile4(static_cast<const uint32_t*>(in), ldi, static_cast<uint32_t*>(out), ldo, rows, cols);
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

}  // namespace ferry::ep::cpu::simd
