// Products of a few rows by a weight matrix stored in column panels (oneDNN's BA16a64b layout
// for a [K, N] matrix, which its brgemm matmul prefers for f32 weights): panel j holds columns
// [64 j, 64 j + 64) for all Kp = round_up(K, 16) rows, row after row, 64 floats each, padding
// zero. A decode step (one token: M = 1) reads each weight once, so it runs at memory bandwidth;
// these loops stream each panel front to back. Compiled for AVX-512, AVX2+FMA and the baseline,
// the widest chosen at load (target_clones), like simd/vmath.
#pragma once

#include <cstdint>

namespace ferry::ep::cpu::simd {

constexpr int64_t kGemvPanel = 64;  ///< columns per panel
constexpr int64_t kGemvKBlock = 16;  ///< rows are padded to a multiple of this

/// For each of m rows i (m is 1 or 2): y[i*ldy + n] = alpha * sum_k a[i*lda + k] * w(k, n)
/// (+ bias[n] when bias is not null) for the columns n of panels [panel_begin, panel_end) that
/// are below n_total. `panels`: the packed matrix of k rows (padded to kp rows).
void gemv_panels(const float* a, int64_t lda, int64_t m, int64_t k, const float* panels, int64_t kp,
                 int64_t n_total, int64_t panel_begin, int64_t panel_end, float alpha, const float* bias,
                 float* y, int64_t ldy);

}  // namespace ferry::ep::cpu::simd
