// Vectorised float kernels shared by the CPU element-wise, normalisation, softmax, attention and
// few-row MatMul/Gemm kernels. Each function is compiled for AVX-512, AVX2+FMA and the baseline
// (SSE2), and the widest the CPU supports is chosen once at load (GCC target_clones, an ifunc),
// so nothing here depends on the build machine's -march.
//
// Accuracy over the whole float range, measured against double on every 41st float (all three
// instruction sets): exp 1.0 ulp, sigmoid 2.4, silu 3.1, tanh 1.6, erf 1.2, softplus 1.6 (exp:
// Cephes' polynomial with 2^n applied so that subnormal results round once and overflow gives
// +inf; sigmoid, silu, tanh, erf and softplus through e^-|.|, which cannot overflow; erf: Norbert
// Juffa's faithfully rounded erff, the polynomials onnxruntime's MLAS uses; softplus: Cephes' logf
// polynomial for log1p). +-inf and NaN behave as in <cmath> (silu(-inf) is NaN, as
// -inf * sigmoid(-inf) is).
//
// Pointers may alias exactly (y == x, in place); partial overlap is not allowed. n may be 0.
#pragma once

#include <cstdint>

namespace ferry::ep::cpu::simd {

// ---- unary: y[i] = f(x[i]) -------------------------------------------------------------------
void exp(const float* x, float* y, int64_t n);
void tanh(const float* x, float* y, int64_t n);
void sigmoid(const float* x, float* y, int64_t n);
void erf(const float* x, float* y, int64_t n);
void relu(const float* x, float* y, int64_t n);
/// x * sigmoid(x).
void silu(const float* x, float* y, int64_t n);
/// log(1 + e^x), as max(x, 0) + log1p(e^-|x|).
void softplus(const float* x, float* y, int64_t n);
/// 0.5 x (1 + erf(x / sqrt 2)).
void gelu_erf(const float* x, float* y, int64_t n);
/// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
void gelu_tanh(const float* x, float* y, int64_t n);

// ---- binary: out[i] = a[i*sa] op b[i*sb], sa and sb 0 (broadcast one value) or 1 ---------------
enum class BinaryOp { kAdd, kSub, kMul, kDiv };
void binary(BinaryOp op, const float* a, int64_t sa, const float* b, int64_t sb, float* out, int64_t n);

// ---- rows ------------------------------------------------------------------------------------
float reduce_max(const float* x, int64_t n);  ///< -inf for n == 0; NaN if any element is NaN
float reduce_sum(const float* x, int64_t n);
/// The sum accumulated in double (as the reference Reduce kernels do).
double reduce_sum_double(const float* x, int64_t n);
/// y = softmax(x) over n contiguous elements (log_softmax when `log`). n >= 1.
void softmax(const float* x, float* y, int64_t n, bool log);
/// y = exp(x - max x) over n contiguous elements (softmax before its division); returns the sum
/// of y, by which the caller divides (or divides what it computes from y). n >= 1.
float softmax_exp(const float* x, float* y, int64_t n);
/// Mean and 1/sqrt(var + eps) of n elements (rms: mean is 0 and var is the mean square),
/// accumulated in double as the reference kernels do.
void moments(const float* x, int64_t n, bool rms, double eps, double* mean, double* inv_std);
/// y = (x - mean) * inv_std * scale (+ bias when not null); x - mean is as exact as in double
/// (mean is applied as two floats), so rows with a large mean and small spread keep their digits.
void normalize(const float* x, float* y, int64_t n, double mean, double inv_std, const float* scale,
               const float* bias);
/// y = x * scale.
void scale(const float* x, float* y, int64_t n, float s);

// ---- few rows x packed panels -----------------------------------------------------------------
// Products of a few rows by a weight matrix stored in column panels (oneDNN's BA16a64b layout
// for a [K, N] matrix, which its brgemm matmul prefers for f32 weights): panel j holds columns
// [64 j, 64 j + 64) for all Kp = round_up(K, 16) rows, row after row, 64 floats each, padding
// zero. A decode step (one token: M = 1) reads each weight once, so it runs at memory bandwidth;
// these loops stream each panel front to back.
constexpr int64_t kGemvPanel = 64;  ///< columns per panel
constexpr int64_t kGemvKBlock = 16;  ///< rows are padded to a multiple of this

/// For each of m rows i (m is 1 or 2): y[i*ldy + n] = alpha * sum_k a[i*lda + k] * w(k, n)
/// (+ bias[n] when bias is not null) for the columns n of panels [panel_begin, panel_end) that
/// are below n_total. `panels`: the packed matrix of k rows (padded to kp rows).
void gemv_panels(const float* a, int64_t lda, int64_t m, int64_t k, const float* panels, int64_t kp,
                 int64_t n_total, int64_t panel_begin, int64_t panel_end, float alpha, const float* bias,
                 float* y, int64_t ldy);

}  // namespace ferry::ep::cpu::simd
