// AVX-512 bodies of attention_tiles.h, compiled with target attributes and chosen at run time
// (no -march). S^T is [keys, mp] with mp = the block's rows rounded up to 16; padding lanes hold
// zero scores and are never written to y.
// GCC 12 warns inside its own AVX-512 intrinsics (masked loads' unused merge operand): a false
// positive, silenced for this file only (as in simd/vmath.cc).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "execution_providers/cpu/fused/attention_tiles.h"

#include <immintrin.h>

#include "execution_providers/cpu/simd/transpose16_avx512.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>


namespace ferry::ep::cpu::attn {
namespace {

#define FERRY_AVX512 __attribute__((target("avx512f")))

/// S^T rows [j0, j0 + J) = qt^T · k rows: qt is [d, mp] (NI vectors of 16 rows), k rows ldk apart.
template <int NI, int J>
FERRY_AVX512 void qk_tile(const float* qt, int64_t mp, int64_t d, const float* k, int64_t ldk, float* st) {
  __m512 acc[J][NI];
#pragma GCC unroll 24
  for (int j = 0; j < J; ++j)
#pragma GCC unroll 2
    for (int n = 0; n < NI; ++n) acc[j][n] = _mm512_setzero_ps();
  for (int64_t x = 0; x < d; ++x) {
    __m512 q[NI];
#pragma GCC unroll 2
    for (int n = 0; n < NI; ++n) q[n] = _mm512_loadu_ps(qt + x * mp + 16 * n);
#pragma GCC unroll 24
    for (int j = 0; j < J; ++j) {
      const __m512 kk = _mm512_set1_ps(k[j * ldk + x]);
#pragma GCC unroll 2
      for (int n = 0; n < NI; ++n) acc[j][n] = _mm512_fmadd_ps(kk, q[n], acc[j][n]);
    }
  }
#pragma GCC unroll 24
  for (int j = 0; j < J; ++j)
#pragma GCC unroll 2
    for (int n = 0; n < NI; ++n) _mm512_storeu_ps(st + j * mp + 16 * n, acc[j][n]);
}

/// S^T rows for n keys: tiles of J keys, then 4, then 1.
template <int NI, int J>
FERRY_AVX512 void qk_rows(const float* qt, int64_t mp, int64_t d, const float* k, int64_t ldk, int64_t n, float* st) {
  int64_t j = 0;
  for (; j + J <= n; j += J) qk_tile<NI, J>(qt, mp, d, k + j * ldk, ldk, st + j * mp);
  for (; j + 4 <= n; j += 4) qk_tile<NI, 4>(qt, mp, d, k + j * ldk, ldk, st + j * mp);
  for (; j < n; ++j) qk_tile<NI, 1>(qt, mp, d, k + j * ldk, ldk, st + j * mp);
}

/// One chunk of P·V for a tile of R output rows x C vectors of 16 columns (the last masked by
/// `last`): n keys of V (rows ldv apart, starting at the tile's first column) against S^T's rows
/// (st points at the chunk's first key, tile's first row). Partial sums live in `part` (rows
/// `ldp` apart, unmasked vectors); the first chunk starts from zero, the last one writes y rows
/// (ldy apart) multiplied by inv[r].
struct PvChunk {
  const float* st;
  int64_t mp;
  const float* v;
  int64_t ldv, n;
  bool first, final;
  __mmask16 last;
  float* part;
  int64_t ldp;
  const float* inv;
  float* y;
  int64_t ldy;
};

template <int R, int C>
FERRY_AVX512 void pv_tile(const PvChunk& t) {
  __m512 acc[R][C];
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c)
      acc[r][c] = t.first ? _mm512_setzero_ps() : _mm512_loadu_ps(t.part + r * t.ldp + 16 * c);
  const float* st = t.st;
  const float* v = t.v;
  for (int64_t j = 0; j < t.n; ++j, v += t.ldv, st += t.mp) {
    __m512 vv[C];
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c)
      vv[c] = c + 1 < C ? _mm512_loadu_ps(v + 16 * c) : _mm512_maskz_loadu_ps(t.last, v + 16 * c);
#pragma GCC unroll 6
    for (int r = 0; r < R; ++r) {
      const __m512 p = _mm512_set1_ps(st[r]);
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_fmadd_ps(p, vv[c], acc[r][c]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < R; ++r) {
    const __m512 f = _mm512_set1_ps(t.inv[r]);
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) {
      if (!t.final) _mm512_storeu_ps(t.part + r * t.ldp + 16 * c, acc[r][c]);
      else if (c + 1 < C) _mm512_storeu_ps(t.y + r * t.ldy + 16 * c, _mm512_mul_ps(acc[r][c], f));
      else _mm512_mask_storeu_ps(t.y + r * t.ldy + 16 * c, t.last, _mm512_mul_ps(acc[r][c], f));
    }
  }
}

using PvFn = void (*)(const PvChunk&);
template <int R>
constexpr std::array<PvFn, 4> pv_row = {pv_tile<R, 1>, pv_tile<R, 2>, pv_tile<R, 3>, pv_tile<R, 4>};
constexpr int kPvRows = 6;
constexpr std::array<std::array<PvFn, 4>, kPvRows> pv_table = {pv_row<1>, pv_row<2>, pv_row<3>,
                                                                 pv_row<4>, pv_row<5>, pv_row<6>};
/// Keys per P·V chunk: the chunk's V rows (up to 256 B each) stay in L2 while every row tile of
/// the block passes over them.
constexpr int64_t kPvKeys = 256;

/// exp(x) for x <= 0 (scores minus their maximum): Cephes' expf polynomial on the reduced argument,
/// scaled by 2^n with vscalefps; below -104 the result is 0 (as the float exp underflows), NaN stays NaN.
FERRY_AVX512 inline __m512 exp_nonpositive(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x);  // operand order: a NaN x is returned
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

/// Softmax down the columns of S^T [keys, mp] (exp(x - column max), in place); inv[i] = 1 / column
/// i's sum. Lanes are independent, so a column of -inf (every key hidden) gives NaN, as the
/// row-wise softmax does; a NaN score never becomes the maximum and propagates through exp.
FERRY_AVX512 void softmax_columns(float* st, int64_t keys, int64_t mp, float* inv) {
  for (int64_t i = 0; i < mp; i += 16) {
    __m512 mx = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    for (int64_t j = 0; j < keys; ++j) mx = _mm512_max_ps(_mm512_loadu_ps(st + j * mp + i), mx);
    __m512 sum = _mm512_setzero_ps();
    for (int64_t j = 0; j < keys; ++j) {
      const __m512 e = exp_nonpositive(_mm512_sub_ps(_mm512_loadu_ps(st + j * mp + i), mx));
      _mm512_storeu_ps(st + j * mp + i, e);
      sum = _mm512_add_ps(sum, e);
    }
    _mm512_storeu_ps(inv + i, _mm512_div_ps(_mm512_set1_ps(1.0f), sum));
  }
}

/// st[j * mp + r] += bias[r * ld + j] for r < m, j < keys: 16 x 16 tiles transposed in registers
/// (rows past m read as zero), the last keys one by one.
FERRY_AVX512 void add_transposed(const float* bias, int64_t ld, int64_t m, int64_t keys, float* st, int64_t mp) {
  const int64_t full = keys / 16 * 16;
  for (int64_t r0 = 0; r0 < m; r0 += 16) {
    const int64_t rows = std::min<int64_t>(16, m - r0);
    for (int64_t j0 = 0; j0 < full; j0 += 16) {
      __m512 x[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) x[i] = i < rows ? _mm512_loadu_ps(bias + (r0 + i) * ld + j0) : _mm512_setzero_ps();
      simd::transpose16x16_ps(x);
      const __mmask16 lanes = static_cast<__mmask16>((1u << rows) - 1u);
#pragma GCC unroll 16
      for (int j = 0; j < 16; ++j) {
        float* dst = st + (j0 + j) * mp + r0;
        _mm512_mask_storeu_ps(dst, lanes, _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, dst), x[j]));
      }
    }
    for (int64_t r = r0; r < r0 + rows; ++r)
      for (int64_t j = full; j < keys; ++j) st[j * mp + r] += bias[r * ld + j];
  }
}

}  // namespace

bool tiles_available() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return yes;
}

FERRY_AVX512 void attention_block(const TileBlock& b) {
  const int64_t m = b.m, mp = (m + 15) / 16 * 16, keys = b.nk[0] + b.nk[1];
  thread_local std::vector<float> qt_buf, st_buf;  // reused: a fresh block per call page-faults
  if (qt_buf.size() < static_cast<size_t>(b.d * mp)) qt_buf.resize(static_cast<size_t>(b.d * mp));
  if (st_buf.size() < static_cast<size_t>(keys * mp)) st_buf.resize(static_cast<size_t>(keys * mp));
  float* qt = qt_buf.data();
  float* st = st_buf.data();
  alignas(64) float inv[kTileRows];

  // Q^T, scaled; padding rows zero.
  if (m < mp) std::fill(qt, qt + b.d * mp, 0.0f);
  for (int64_t r = 0; r < m; ++r) {
    const float* src = b.q + r * b.ldq;
    for (int64_t x = 0; x < b.d; ++x) qt[x * mp + r] = src[x] * b.scale;
  }
  for (int seg = 0, j0 = 0; seg < 2; j0 += b.nk[seg], ++seg) {
    if (b.nk[seg] == 0) continue;
    if (mp == 16) qk_rows<1, 24>(qt, mp, b.d, b.k[seg], b.ldk[seg], b.nk[seg], st + j0 * mp);
    else qk_rows<2, 12>(qt, mp, b.d, b.k[seg], b.ldk[seg], b.nk[seg], st + j0 * mp);
  }
  if (b.bias != nullptr) {
    if (b.bias_ld == 0) {  // one row of bias for every query row: add it down S^T's columns
      for (int64_t j = 0; j < keys; ++j) {
        const __m512 add = _mm512_set1_ps(b.bias[j * b.bias_sj]);
        for (int64_t i = 0; i < mp; i += 16)
          _mm512_storeu_ps(st + j * mp + i, _mm512_add_ps(_mm512_loadu_ps(st + j * mp + i), add));
      }
    } else if (b.bias_sj == 0) {
      for (int64_t r = 0; r < m; ++r)
        for (int64_t j = 0; j < keys; ++j) st[j * mp + r] += b.bias[r * b.bias_ld];
    } else {
      add_transposed(b.bias, b.bias_ld, m, keys, st, mp);
    }
  }
  if (b.causal)  // key j is hidden from rows r <= j - first_hidden
    for (int64_t j = std::max<int64_t>(b.first_hidden, 0); j < keys; ++j)
      std::fill(st + j * mp, st + j * mp + std::min(m, j - b.first_hidden + 1),
                -std::numeric_limits<float>::infinity());
  softmax_columns(st, keys, mp, inv);
  if (b.nan_to_zero) {  // divide P itself, then NaN -> 0
    for (int64_t j = 0; j < keys; ++j)
      for (int64_t i = 0; i < mp; i += 16) {
        const __m512 p = _mm512_mul_ps(_mm512_loadu_ps(st + j * mp + i), _mm512_loadu_ps(inv + i));
        _mm512_storeu_ps(st + j * mp + i, _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(p, p, _CMP_ORD_Q), p));
      }
    std::fill(inv, inv + mp, 1.0f);
  }
  // P·V in chunks of keys (the cache's, then the new ones), each chunk over every row tile.
  const int64_t ldp = (b.dv + 15) / 16 * 16;
  thread_local std::vector<float> part_buf;
  if (part_buf.size() < static_cast<size_t>(m * ldp)) part_buf.resize(static_cast<size_t>(m * ldp));
  PvChunk t{};
  t.mp = mp;
  t.ldp = ldp;
  t.ldy = b.ldy;
  for (int64_t j0 = 0; j0 < keys; j0 += kPvKeys) {
    const int64_t j1 = std::min(keys, j0 + kPvKeys);
    for (int seg = 0, base = 0; seg < 2; base += b.nk[seg], ++seg) {
      const int64_t lo = std::max<int64_t>(j0, base), hi = std::min<int64_t>(j1, base + b.nk[seg]);
      if (lo >= hi) continue;
      t.n = hi - lo;
      t.first = lo == 0;
      t.final = hi == keys;
      for (int64_t r0 = 0; r0 < m; r0 += kPvRows) {
        const int64_t rows = std::min<int64_t>(kPvRows, m - r0);
        t.st = st + lo * mp + r0;
        t.inv = inv + r0;
        for (int64_t c0 = 0; c0 < b.dv; c0 += 64) {
          const int64_t cols = std::min<int64_t>(64, b.dv - c0), vecs = (cols + 15) / 16;
          t.last = static_cast<__mmask16>((1u << (cols - 16 * (vecs - 1))) - 1u);
          t.v = b.v[seg] + (lo - base) * b.ldv[seg] + c0;
          t.ldv = b.ldv[seg];
          t.part = part_buf.data() + r0 * ldp + c0;
          t.y = b.y + r0 * b.ldy + c0;
          pv_table[static_cast<size_t>(rows - 1)][static_cast<size_t>(vecs - 1)](t);
        }
      }
    }
  }
}

}  // namespace ferry::ep::cpu::attn
