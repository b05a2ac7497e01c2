// Packed gate GEMM and vectorized activations for the recurrent kernels (see rnn_fast.h). The
// AVX-512 and AVX2+FMA bodies are compiled with target attributes and chosen at run time, so the
// build needs no -march flag.
#include "execution_providers/cpu/rnn/rnn_fast.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

namespace ferry::ep::cpu::rnn {
namespace {

constexpr int64_t kB = PackedGates::kBlock;

enum class Isa { kPortable, kAvx2, kAvx512 };

Isa detect_isa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Isa::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::kAvx2;
  return Isa::kPortable;
}

Isa isa() {
  static const Isa level = detect_isa();
  return level;
}

/// Geometry of one gate_gemm call for one block: its gates' panels, interleaved by k (row j of
/// gate g at panels + j * kstride + g * kB).
struct BlockArgs {
  const float* a;
  int64_t lda;
  const float* panels;  // row 0 of the first gate handled
  int64_t k;
  int64_t kstride;      // floats between rows j and j + 1 (gates * kB)
  float* c;             // column of gate 0 of this block in row 0
  int64_t ldc;
  int64_t gate_stride;  // Hp: columns between gates in c and bias
  const float* bias;    // same column as c, or null
};

// ---- AVX-512: one zmm per panel row; MR rows x NP panels accumulators.
template <int MR, int NP>
__attribute__((target("avx512f"))) void block_avx512(const BlockArgs& x) {
  __m512 acc[MR][NP];
#pragma GCC unroll 4
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) acc[m][p] = _mm512_setzero_ps();
  for (int64_t j = 0; j < x.k; ++j) {
    __m512 b[NP];
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) {
      b[p] = _mm512_loadu_ps(x.panels + j * x.kstride + p * kB);
      asm("" : "+v"(b[p]));  // keep in a register: one load per k, not one per row
    }
#pragma GCC unroll 4
    for (int m = 0; m < MR; ++m) {
      const __m512 av = _mm512_set1_ps(x.a[m * x.lda + j]);
#pragma GCC unroll 4
      for (int p = 0; p < NP; ++p) acc[m][p] = _mm512_fmadd_ps(av, b[p], acc[m][p]);
    }
  }
#pragma GCC unroll 4
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) {
      __m512 v = acc[m][p];
      if (x.bias) v = _mm512_add_ps(v, _mm512_loadu_ps(x.bias + p * x.gate_stride));
      _mm512_storeu_ps(x.c + m * x.ldc + p * x.gate_stride, v);
    }
}

// ---- AVX2+FMA: two ymm per panel row; MR rows x 1 panel.
template <int MR>
__attribute__((target("avx2,fma"))) void panel_avx2(const BlockArgs& x) {
  __m256 lo[MR], hi[MR];
#pragma GCC unroll 4
  for (int m = 0; m < MR; ++m) lo[m] = hi[m] = _mm256_setzero_ps();
  for (int64_t j = 0; j < x.k; ++j) {
    __m256 b0 = _mm256_loadu_ps(x.panels + j * x.kstride);
    __m256 b1 = _mm256_loadu_ps(x.panels + j * x.kstride + 8);
    asm("" : "+x"(b0), "+x"(b1));
#pragma GCC unroll 4
    for (int m = 0; m < MR; ++m) {
      const __m256 av = _mm256_set1_ps(x.a[m * x.lda + j]);
      lo[m] = _mm256_fmadd_ps(av, b0, lo[m]);
      hi[m] = _mm256_fmadd_ps(av, b1, hi[m]);
    }
  }
#pragma GCC unroll 4
  for (int m = 0; m < MR; ++m) {
    __m256 v0 = lo[m], v1 = hi[m];
    if (x.bias) {
      v0 = _mm256_add_ps(v0, _mm256_loadu_ps(x.bias));
      v1 = _mm256_add_ps(v1, _mm256_loadu_ps(x.bias + 8));
    }
    _mm256_storeu_ps(x.c + m * x.ldc, v0);
    _mm256_storeu_ps(x.c + m * x.ldc + 8, v1);
  }
}

void panel_portable(const BlockArgs& x, int64_t rows) {
  for (int64_t m = 0; m < rows; ++m) {
    float acc[kB] = {};
    const float* a = x.a + m * x.lda;
    for (int64_t j = 0; j < x.k; ++j) {
      const float av = a[j];
      const float* b = x.panels + j * x.kstride;
      for (int64_t u = 0; u < kB; ++u) acc[u] += av * b[u];
    }
    for (int64_t u = 0; u < kB; ++u) x.c[m * x.ldc + u] = acc[u] + (x.bias ? x.bias[u] : 0.0f);
  }
}

template <int NP> void rows_avx512(BlockArgs x, int64_t rows) {
  for (int64_t m0 = 0; m0 < rows; m0 += 4) {
    switch (std::min<int64_t>(4, rows - m0)) {
      case 4: block_avx512<4, NP>(x); break;
      case 3: block_avx512<3, NP>(x); break;
      case 2: block_avx512<2, NP>(x); break;
      default: block_avx512<1, NP>(x); break;
    }
    x.a += 4 * x.lda;
    x.c += 4 * x.ldc;
  }
}

void block_gemm(const BlockArgs& x, int64_t rows, int64_t gates) {
  switch (isa()) {
    case Isa::kAvx512:
      for (int64_t g0 = 0; g0 < gates; g0 += 4) {
        BlockArgs y = x;
        y.panels += g0 * kB;
        y.c += g0 * x.gate_stride;
        if (y.bias) y.bias += g0 * x.gate_stride;
        switch (std::min<int64_t>(4, gates - g0)) {
          case 4: rows_avx512<4>(y, rows); break;
          case 3: rows_avx512<3>(y, rows); break;
          case 2: rows_avx512<2>(y, rows); break;
          default: rows_avx512<1>(y, rows); break;
        }
      }
      return;
    case Isa::kAvx2:
      for (int64_t g = 0; g < gates; ++g) {
        BlockArgs y = x;
        y.panels += g * kB;
        y.c += g * x.gate_stride;
        if (y.bias) y.bias += g * x.gate_stride;
        for (int64_t m0 = 0; m0 < rows; m0 += 4) {
          switch (std::min<int64_t>(4, rows - m0)) {
            case 4: panel_avx2<4>(y); break;
            case 3: panel_avx2<3>(y); break;
            case 2: panel_avx2<2>(y); break;
            default: panel_avx2<1>(y); break;
          }
          y.a += 4 * x.lda;
          y.c += 4 * x.ldc;
        }
      }
      return;
    case Isa::kPortable:
      for (int64_t g = 0; g < gates; ++g) {
        BlockArgs y = x;
        y.panels += g * kB;
        y.c += g * x.gate_stride;
        if (y.bias) y.bias += g * x.gate_stride;
        panel_portable(y, rows);
      }
      return;
  }
}

// ---- exp-based activations. Cephes expf / tanhf polynomials.
constexpr float kExpHi = 88.3762626647949f, kExpLo = -88.3762626647949f;
constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kP0 = 1.9875691500e-4f, kP1 = 1.3981999507e-3f, kP2 = 8.3334519073e-3f, kP3 = 4.1665795894e-2f,
                kP4 = 1.6666665459e-1f, kP5 = 5.0000001201e-1f;
constexpr float kT0 = -5.70498872745e-3f, kT1 = 2.06390887954e-2f, kT2 = -5.37397155531e-2f, kT3 = 1.33314422036e-1f,
                kT4 = -3.33332819422e-1f;

__attribute__((target("avx512f"))) inline __m512 exp512(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(kExpLo)), _mm512_set1_ps(kExpHi));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kP0);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP5));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

__attribute__((target("avx512f"))) inline __m512 sigmoid16(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  return _mm512_div_ps(one, _mm512_add_ps(one, exp512(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

__attribute__((target("avx512f"))) inline __m512 tanh16(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512i sign_bit = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  const __m512i xi = _mm512_castps_si512(x);
  const __m512 ax = _mm512_castsi512_ps(_mm512_andnot_si512(sign_bit, xi));
  // |x| >= 0.625: 1 - 2 / (exp(2|x|) + 1); smaller: odd polynomial (no cancellation).
  const __m512 e = exp512(_mm512_add_ps(ax, ax));
  const __m512 big = _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, one)));
  const __m512 z = _mm512_mul_ps(ax, ax);
  __m512 p = _mm512_set1_ps(kT0);
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(kT1));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(kT2));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(kT3));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(kT4));
  const __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, z), ax, ax);
  const __mmask16 is_small = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_LT_OQ);
  const __m512 t = _mm512_mask_blend_ps(is_small, big, small);
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(t), _mm512_and_si512(sign_bit, xi)));
}

__attribute__((target("avx512f"))) void sigmoid_avx512(float* v, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(v + i, sigmoid16(_mm512_loadu_ps(v + i)));
  if (i < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(v + i, mask, sigmoid16(_mm512_maskz_loadu_ps(mask, v + i)));
  }
}

__attribute__((target("avx512f"))) void tanh_avx512(float* v, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(v + i, tanh16(_mm512_loadu_ps(v + i)));
  if (i < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(v + i, mask, tanh16(_mm512_maskz_loadu_ps(mask, v + i)));
  }
}

__attribute__((target("avx2,fma"))) inline __m256 exp256(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(kExpLo)), _mm256_set1_ps(kExpHi));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kP0);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP5));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // 2^n: n in [-128, 128] after the clamp; split in two factors so neither exponent overflows.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i half = _mm256_srai_epi32(ni, 1);
  const __m256 f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, _mm256_set1_epi32(127)), 23));
  const __m256 f2 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), _mm256_set1_epi32(127)), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, f1), f2);
}

__attribute__((target("avx2,fma"))) void sigmoid_avx2(float* v, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_loadu_ps(v + i)));
    _mm256_storeu_ps(v + i, _mm256_div_ps(one, _mm256_add_ps(one, e)));
  }
  for (; i < n; ++i) v[i] = 1.0f / (1.0f + std::exp(-v[i]));
}

__attribute__((target("avx2,fma"))) void tanh_avx2(float* v, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(v + i);
    const __m256 ax = _mm256_andnot_ps(sign_mask, x);
    const __m256 e = exp256(_mm256_add_ps(ax, ax));
    const __m256 big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
    const __m256 z = _mm256_mul_ps(ax, ax);
    __m256 p = _mm256_set1_ps(kT0);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(kT1));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(kT2));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(kT3));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(kT4));
    const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), ax, ax);
    const __m256 t = _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
    _mm256_storeu_ps(v + i, _mm256_or_ps(t, _mm256_and_ps(sign_mask, x)));
  }
  for (; i < n; ++i) v[i] = std::tanh(v[i]);
}

}  // namespace

PackedGates pack_gates(const float* w, int64_t gates, int64_t hidden, int64_t k) {
  PackedGates p;
  p.gates = gates;
  p.hidden = hidden;
  p.k = k;
  p.blocks = (hidden + kB - 1) / kB;
  p.data.assign(static_cast<size_t>(p.blocks * gates * k * kB), 0.0f);
  for (int64_t blk = 0; blk < p.blocks; ++blk)
    for (int64_t g = 0; g < gates; ++g) {
      float* dst = p.data.data() + blk * gates * k * kB + g * kB;
      for (int64_t u = 0; u < kB && blk * kB + u < hidden; ++u) {
        const float* src = w + (g * hidden + blk * kB + u) * k;
        for (int64_t j = 0; j < k; ++j) dst[j * gates * kB + u] = src[j];
      }
    }
  return p;
}

void gate_gemm(const float* a, int64_t lda, int64_t rows, const PackedGates& w, int64_t block_begin,
               int64_t block_end, float* c, int64_t ldc, const float* bias) {
  if (rows <= 0) return;
  const int64_t hp = w.padded_hidden();
  for (int64_t blk = block_begin; blk < block_end; ++blk) {
    BlockArgs x{a, lda, w.block(blk), w.k, w.gates * kB, c + blk * kB, ldc, hp, bias ? bias + blk * kB : nullptr};
    block_gemm(x, rows, w.gates);
  }
}

void gate_gemm_parallel(const runtime::ThreadPool& pool, const float* a, int64_t lda, int64_t rows,
                        const PackedGates& w, float* c, int64_t ldc, const float* bias) {
  // Tasks: row chunks x blocks; a chunk of 64 rows reuses a block's panels from cache.
  constexpr int64_t kRowChunk = 64;
  const int64_t chunks = (rows + kRowChunk - 1) / kRowChunk;
  const int64_t tasks = chunks * w.blocks;
  const double cost = static_cast<double>(std::min(rows, kRowChunk) * w.gates * kB * w.k) * kGemmNsPerMac;
  pool.parallel_for(tasks, cost, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t chunk = t / w.blocks, blk = t % w.blocks;
      const int64_t r0 = chunk * kRowChunk;
      gate_gemm(a + r0 * lda, lda, std::min(kRowChunk, rows - r0), w, blk, blk + 1, c + r0 * ldc, ldc, bias);
    }
  });
}

void sigmoid_inplace(float* v, int64_t n) {
  switch (isa()) {
    case Isa::kAvx512: sigmoid_avx512(v, n); return;
    case Isa::kAvx2: sigmoid_avx2(v, n); return;
    case Isa::kPortable:
      for (int64_t i = 0; i < n; ++i) v[i] = 1.0f / (1.0f + std::exp(-v[i]));
      return;
  }
}

void tanh_inplace(float* v, int64_t n) {
  switch (isa()) {
    case Isa::kAvx512: tanh_avx512(v, n); return;
    case Isa::kAvx2: tanh_avx2(v, n); return;
    case Isa::kPortable:
      for (int64_t i = 0; i < n; ++i) v[i] = std::tanh(v[i]);
      return;
  }
}

PackedWeights pack_weights(const Tensor& w, int64_t hidden, const std::vector<int64_t>& splits) {
  PackedWeights out;
  const int64_t dirs = w.dim(0), rows = w.dim(1), k = w.dim(2);
  for (int64_t d = 0; d < dirs; ++d) {
    std::vector<PackedGates> groups;
    int64_t g0 = 0;
    for (int64_t n : splits) {
      groups.push_back(pack_gates(w.data<float>() + (d * rows + g0 * hidden) * k, n, hidden, k));
      g0 += n;
    }
    out.dirs.push_back(std::move(groups));
  }
  return out;
}

void prepack_inputs(const KernelInfo& info, const RecurrentAttributes& attrs, int64_t gates,
                    const std::vector<int64_t>& w_splits, const std::vector<int64_t>& r_splits,
                    PackedWeights& w, PackedWeights& r) {
  const Tensor* rt = info.constant_input(2);
  const Tensor* wt = info.constant_input(1);
  auto fits = [&](const Tensor* t, int64_t hidden) {
    return t && t->dtype() == DataType::kFloat && t->rank() == 3 && t->dim(0) == attrs.num_directions &&
           t->dim(1) == gates * hidden;
  };
  int64_t hidden = attrs.hidden_size;
  if (hidden <= 0 && rt && rt->rank() == 3) hidden = rt->dim(2);
  if (hidden <= 0) return;
  if (fits(rt, hidden) && rt->dim(2) == hidden) {
    r = pack_weights(*rt, hidden, r_splits);
    info.mark_prepacked(2);
  }
  if (fits(wt, hidden)) {
    w = pack_weights(*wt, hidden, w_splits);
    info.mark_prepacked(1);
  }
}

}  // namespace ferry::ep::cpu::rnn
