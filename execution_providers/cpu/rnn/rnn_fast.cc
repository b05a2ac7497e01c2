// Packed gate GEMM and vectorized activations for the recurrent kernels (see rnn_fast.h). The
// AVX-512 and AVX2+FMA bodies are compiled with target attributes and chosen at run time, so the
// build needs no -march flag.
// GCC 12 warns inside its own AVX-512 shuffle intrinsics (the unused merge operand __Y): a false
// positive, silenced for this file only (as in simd/vmath.cc).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "execution_providers/cpu/rnn/rnn_fast.h"

#include "execution_providers/cpu/simd/vmath.h"

#include <immintrin.h>

#include "execution_providers/cpu/simd/transpose16_avx512.h"

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

/// One row over NB consecutive blocks at once (x: the first; block i's panels at x.panels + i *
/// bstride, its columns at x.c + i * kB): NB weight streams in flight, for batch-1 recurrences
/// whose panels come from the shared cache.
template <int NB, int NP>
__attribute__((target("avx512f"))) void multi_avx512(const BlockArgs& x, int64_t bstride) {
  __m512 acc[NB][NP];
#pragma GCC unroll 4
  for (int i = 0; i < NB; ++i)
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) acc[i][p] = _mm512_setzero_ps();
  for (int64_t j = 0; j < x.k; ++j) {
    const __m512 av = _mm512_set1_ps(x.a[j]);
    const float* row = x.panels + j * x.kstride;
#pragma GCC unroll 4
    for (int i = 0; i < NB; ++i)
#pragma GCC unroll 4
      for (int p = 0; p < NP; ++p) acc[i][p] = _mm512_fmadd_ps(av, _mm512_loadu_ps(row + i * bstride + p * kB), acc[i][p]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < NB; ++i)
#pragma GCC unroll 4
    for (int p = 0; p < NP; ++p) {
      __m512 v = acc[i][p];
      if (x.bias) v = _mm512_add_ps(v, _mm512_loadu_ps(x.bias + i * kB + p * x.gate_stride));
      _mm512_storeu_ps(x.c + i * kB + p * x.gate_stride, v);
    }
}

/// multi_avx512 for nb in 2..4 blocks of `gates` in 1..4.
void multi_blocks_avx512(const BlockArgs& x, int64_t nb, int64_t gates, int64_t bstride) {
  switch (nb * 10 + gates) {
    case 44: multi_avx512<4, 4>(x, bstride); break;
    case 43: multi_avx512<4, 3>(x, bstride); break;
    case 42: multi_avx512<4, 2>(x, bstride); break;
    case 41: multi_avx512<4, 1>(x, bstride); break;
    case 34: multi_avx512<3, 4>(x, bstride); break;
    case 33: multi_avx512<3, 3>(x, bstride); break;
    case 32: multi_avx512<3, 2>(x, bstride); break;
    case 31: multi_avx512<3, 1>(x, bstride); break;
    case 24: multi_avx512<2, 4>(x, bstride); break;
    case 23: multi_avx512<2, 3>(x, bstride); break;
    case 22: multi_avx512<2, 2>(x, bstride); break;
    default: multi_avx512<2, 1>(x, bstride); break;
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

/// dst[j * stride + u] = src[u * k + j] for u < 16, j < k: sixteen rows of W transposed into
/// panel rows, by 16 x 16 tiles in registers (each panel row written whole).
static_assert(kB == 16, "transpose_rows16_avx512 fills panels of 16 hidden units");
__attribute__((target("avx512f"))) void transpose_rows16_avx512(const float* src, int64_t k, float* dst, int64_t stride) {
  int64_t j = 0;
  for (; j + 16 <= k; j += 16) {
    __m512 r[16];
#pragma GCC unroll 16
    for (int u = 0; u < 16; ++u) r[u] = _mm512_loadu_ps(src + u * k + j);
    simd::transpose16x16_ps(r);
#pragma GCC unroll 16
    for (int c = 0; c < 16; ++c) _mm512_storeu_ps(dst + (j + c) * stride, r[c]);
  }
  for (; j < k; ++j)
    for (int u = 0; u < 16; ++u) dst[j * stride + u] = src[u * k + j];
}

}  // namespace

PackedGates pack_gates(const float* w, int64_t gates, int64_t hidden, int64_t k) {
  PackedGates p;
  p.gates = gates;
  p.hidden = hidden;
  p.k = k;
  p.blocks = (hidden + kB - 1) / kB;
  p.data.reset(new float[static_cast<size_t>(p.blocks * gates * k * kB)]);  // every float written below
  const int64_t stride = gates * kB;
  for (int64_t blk = 0; blk < p.blocks; ++blk)
    for (int64_t g = 0; g < gates; ++g) {
      float* dst = p.data.get() + blk * gates * k * kB + g * kB;
      const float* src = w + (g * hidden + blk * kB) * k;
      const int64_t units = std::min(kB, hidden - blk * kB);
      if (units == kB && isa() == Isa::kAvx512) {
        transpose_rows16_avx512(src, k, dst, stride);
        continue;
      }
      for (int64_t j = 0; j < k; ++j) {
        for (int64_t u = 0; u < units; ++u) dst[j * stride + u] = src[u * k + j];
        std::fill(dst + j * stride + units, dst + j * stride + kB, 0.0f);
      }
    }
  return p;
}

void gate_gemm(const float* a, int64_t lda, int64_t rows, const PackedGates& w, int64_t block_begin,
               int64_t block_end, float* c, int64_t ldc, const float* bias) {
  if (rows <= 0) return;
  const int64_t hp = w.padded_hidden();
  auto args = [&](int64_t blk) {
    return BlockArgs{a, lda, w.block(blk), w.k, w.gates * kB, c + blk * kB, ldc, hp, bias ? bias + blk * kB : nullptr};
  };
  int64_t blk = block_begin;
  if (rows == 1 && w.gates <= 4 && isa() == Isa::kAvx512)
    for (int64_t nb; (nb = std::min<int64_t>(4, block_end - blk)) > 1; blk += nb)
      multi_blocks_avx512(args(blk), nb, w.gates, w.gates * w.k * kB);
  for (; blk < block_end; ++blk) block_gemm(args(blk), rows, w.gates);
}

void gate_gemm_parallel(const runtime::ThreadPool& pool, const float* a, int64_t lda, int64_t rows,
                        const PackedGates& w, float* c, int64_t ldc, const float* bias) {
  // Tasks: row chunks x blocks; a chunk of 64 rows reuses a block's panels from cache.
  constexpr int64_t kRowChunk = 64;
  const int64_t chunks = (rows + kRowChunk - 1) / kRowChunk;
  const int64_t tasks = chunks * w.blocks;
  const double cost = block_cost_ns(w, std::min(rows, kRowChunk));
  pool.parallel_for(tasks, cost, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t chunk = t / w.blocks, blk = t % w.blocks;
      const int64_t r0 = chunk * kRowChunk;
      gate_gemm(a + r0 * lda, lda, std::min(kRowChunk, rows - r0), w, blk, blk + 1, c + r0 * ldc, ldc, bias);
    }
  });
}

void sigmoid_inplace(float* v, int64_t n) { simd::sigmoid(v, v, n); }

void tanh_inplace(float* v, int64_t n) { simd::tanh(v, v, n); }

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
